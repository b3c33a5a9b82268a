//! Shared helpers: a temp repository per test, a command wrapper, a source
//! tree with every kind of entry, an attribute-by-attribute tree comparison
//! with readable differences, and a mount guard.

#![allow(dead_code)]

pub mod mount;
pub mod pg;
pub mod s3;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_strata")
}

/// A repository in a temp dir, plus scratch space.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    /// More environment for its commands (a bucket's endpoint, say).
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        let last = self.stdout.lines().rev().find(|l| l.starts_with('{') || l.starts_with('[')).unwrap_or("null");
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Repo {
    /// A fresh encrypted repository with cheap key derivation.
    pub fn new() -> Repo {
        let r = Repo::uninit();
        r.run(&["init", "--kdf-memory", "64", "--kdf-iterations", "1"]).ok();
        r
    }

    pub fn uninit() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        Repo { dir, path, env: Vec::new() }
    }

    /// Commands, with the password, against an existing repository at
    /// `path` (a mirror, say).
    pub fn at(path: &Path) -> Repo {
        Repo { dir: tempfile::tempdir().unwrap(), path: path.to_path_buf(), env: Vec::new() }
    }

    /// Commands, with the password, against the repository mirrored at
    /// `url` on `server`, with a cache of their own.
    pub fn in_bucket(server: &s3::S3Server, url: &str) -> Repo {
        let mut r = Repo::at(Path::new(url));
        r.env = server.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        r.env.push(("STRATA_CACHE_DIR".into(), r.scratch("cache").to_string_lossy().into_owned()));
        r
    }

    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.arg("-r").arg(&self.path).env("STRATA_PASSWORD", PASSWORD).env_remove("STRATA_REPOSITORY");
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    pub fn run_os<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    /// Runs strata; returns the result and its peak resident memory (bytes),
    /// sampled from /proc every 20 ms. (Not wait4's ru_maxrss: a spawned
    /// child's counts the test process's own peak, recorded at its exec.)
    pub fn run_peak_rss(&self, args: &[&str]) -> (Run, u64) {
        use std::io::Read;
        use std::process::Stdio;
        let mut child = self.cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                r.read_to_string(&mut s).unwrap();
                s
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak = 0;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            let text = std::fs::read_to_string(&status_file).unwrap_or_default();
            let hwm = text.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| v.trim().trim_end_matches(" kB"));
            peak = peak.max(hwm.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) << 10);
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let run = Run { code: status.code().unwrap_or(-1), stdout: out.join().unwrap(), stderr: err.join().unwrap() };
        (run, peak)
    }

    /// Backs up `paths`; returns the JSON summary.
    pub fn backup(&self, paths: &[&Path], extra: &[&str]) -> serde_json::Value {
        let mut args: Vec<&std::ffi::OsStr> = vec!["backup".as_ref(), "--json".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.extend(paths.iter().map(|p| p.as_os_str()));
        let r = self.run_os(&args);
        assert!(r.code == 0 || r.code == 3, "backup failed ({}):\n{}\n{}", r.code, r.stdout, r.stderr);
        r.json()
    }

    /// A source directory `src` holding the given files, backed up once.
    pub fn with_source(files: &[(&str, &[u8])]) -> (Repo, PathBuf) {
        let repo = Repo::new();
        let src = repo.scratch("src");
        std::fs::create_dir_all(&src).unwrap();
        for (name, data) in files {
            let path = src.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, data).unwrap();
        }
        repo.backup(&[&src], &[]);
        (repo, src)
    }

    pub fn snapshots(&self) -> Vec<serde_json::Value> {
        self.run(&["snapshots", "--json"]).ok().json().as_array().unwrap().clone()
    }
}

/// A strata command run as the unprivileged user nobody (uid 65534),
/// with the password, against `repo`.
pub fn as_nobody(repo: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin(), "-r"]).arg(repo);
    c.env("STRATA_PASSWORD", PASSWORD).env("HOME", "/tmp");
    c
}

/// A strata command with no password in reach: no password or repository
/// in its environment, stdin closed; `-r repo` when given.
pub fn keyless_cmd(repo: Option<&Path>) -> Command {
    let mut c = Command::new(bin());
    if let Some(r) = repo {
        c.arg("-r").arg(r);
    }
    for v in ["STRATA_PASSWORD", "STRATA_PASSWORD_FILE", "STRATA_PASSWORD_COMMAND", "STRATA_REPOSITORY"] {
        c.env_remove(v);
    }
    c.stdin(std::process::Stdio::null());
    c
}

/// Runs `cmd` (output discarded) and kill -9s it after `ms` milliseconds.
pub fn kill_9_after(cmd: &mut Command, ms: u64) {
    let mut child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(ms));
    // SAFETY: a plain kill(2) of our own child, which we then reap.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

/// Fails a test when FUSE is missing under CI; otherwise says why it skips.
pub fn fuse_available() -> bool {
    let missing = if !Path::new("/dev/fuse").exists() {
        Some("/dev/fuse is missing")
    } else if Command::new("fusermount3").arg("-V").output().is_err() {
        Some("fusermount3 is not installed")
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("FUSE test cannot run under CI: {why}")
        }
        Some(why) => {
            eprintln!("skipping FUSE test: {why}");
            false
        }
    }
}

pub fn sh(script: &str) -> Output {
    let o = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(o.status.success(), "{script}: {}", String::from_utf8_lossy(&o.stderr));
    o
}
