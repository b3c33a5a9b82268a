//! `strata run PROFILE`: the unattended job. Each step is this program run
//! again on the profile (`strata --profile P backup --json`, ...), so a
//! step does exactly what the command does by hand, and its JSON result
//! goes into one summary and the metrics file.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use strata::cli::{Global, RunArgs};
use strata::format::Time;
use strata::profile::Profile;

/// What a run keeps between runs, per profile.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct State {
    /// When this profile's run last pruned (ns since the epoch).
    last_prune_ns: Option<i64>,
    /// The part of the data the next check reads (1-based).
    next_part: Option<u32>,
    /// When a run last succeeded (ns since the epoch).
    last_success_ns: Option<i64>,
}

/// `$XDG_STATE_HOME/strata`, else `~/.local/state/strata`.
fn state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
        .join("strata")
}

struct Step {
    name: &'static str,
    ok: bool,
    code: i32,
    seconds: f64,
    result: Value,
    error: Option<String>,
}

struct Runner<'a> {
    g: &'a Global,
    profile_name: &'a str,
    config: PathBuf,
    steps: Vec<Step>,
}

impl Runner<'_> {
    /// This program on the profile: `strata --config F --profile P ARGS`.
    fn strata(&self, args: &[String]) -> Command {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("strata"));
        let mut c = Command::new(exe);
        c.arg("--config").arg(&self.config).arg("--profile").arg(self.profile_name);
        if let Some(r) = &self.g.repo {
            c.arg("--repo").arg(r);
        }
        if let Some(f) = &self.g.password_file {
            c.arg("--password-file").arg(f);
        }
        if let Some(p) = &self.g.password_command {
            c.arg("--password-command").arg(p);
        }
        c.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// Runs a step; `ok_codes` are the exit codes that count as success.
    fn step(&mut self, name: &'static str, args: &[String], ok_codes: &[i32]) -> bool {
        let start = Instant::now();
        let out = self.strata(args).output();
        let (code, stdout, stderr) = match out {
            Ok(o) => (
                o.status.code().unwrap_or(1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (1, String::new(), format!("strata: error: {e}")),
        };
        // Warnings and errors stay visible (in the journal, under systemd).
        eprint!("{stderr}");
        // The last JSON document printed is the step's result.
        let result = stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()).unwrap_or(Value::Null);
        let ok = ok_codes.contains(&code);
        let why = stderr.lines().rev().find_map(|l| l.strip_prefix("strata: error: ")).unwrap_or("").to_string();
        let error = (!ok).then(|| format!("{name} failed (exit {code}): {why}"));
        self.steps.push(Step { name, ok, code, seconds: start.elapsed().as_secs_f64(), result, error });
        ok
    }

    fn hook(&mut self, name: &'static str, cmd: &str, env: &[(&str, String)]) -> bool {
        let start = Instant::now();
        let status = Command::new("/bin/sh")
            .args(["-c", cmd])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .status();
        let (ok, code, error) = match status {
            Ok(s) if s.success() => (true, 0, None),
            Ok(s) => (false, s.code().unwrap_or(1), Some(format!("{name} hook {cmd:?} failed ({s})"))),
            Err(e) => (false, 1, Some(format!("{name} hook {cmd:?}: {e}"))),
        };
        let result = json!({"command": cmd});
        self.steps.push(Step { name, ok, code, seconds: start.elapsed().as_secs_f64(), result, error });
        ok
    }

    fn failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.ok)
    }
}

pub fn run(g: &Global, a: &RunArgs) -> Result<i32> {
    let name = g.profile.as_deref().ok_or_else(|| anyhow!("which profile? `strata run PROFILE`"))?;
    let config = strata::profile::config_path(g.config.as_deref());
    let profile = strata::profile::load(&config, name)?;
    let started = Instant::now();
    let dir = state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("state directory {}", dir.display()))?;
    let file = strata::vfs::component(name);
    // Two runs of one profile never overlap.
    let lock_path = dir.join(format!("{file}.lock"));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("lock file {}", lock_path.display()))?;
    if !strata::sys::try_lock(lock.as_raw_fd()).with_context(|| format!("lock file {}", lock_path.display()))? {
        bail!("profile {name}: another run is in progress (lock {} held)", lock_path.display());
    }
    let state_path = dir.join(format!("{file}.json"));
    let mut state: State =
        std::fs::read(&state_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();

    let mut r = Runner { g, profile_name: name, config: config.clone(), steps: Vec::new() };
    let env = [("STRATA_PROFILE", name.to_string())];
    let mut all_ok = profile.hooks.before.iter().all(|h| r.hook("before", h, &env));
    let mut partial = false;
    if all_ok {
        all_ok = r.step("backup", &["backup".into(), "--json".into()], &[0, 3]);
        partial = r.steps.last().is_some_and(|s| s.code == 3);
    }
    let now = Time::now();
    if all_ok {
        if let Some(ret) = &profile.retention {
            let mut args = vec!["forget".to_string(), "--json".into()];
            args.extend(ret.args());
            let due = prune_due(ret, state.last_prune_ns, now)?;
            if due {
                args.push("--prune".into());
            }
            all_ok = r.step("forget", &args, &[0]);
            if all_ok && due {
                state.last_prune_ns = Some(now.as_nanos() as i64);
            }
        }
    }
    if all_ok && profile.mirror.as_ref().is_some_and(|m| !m.targets.is_empty()) {
        all_ok = r.step("mirror", &["mirror".into(), "--json".into()], &[0]);
    }
    if let (true, Some(c)) = (all_ok, &profile.check) {
        let mut args = vec!["check".to_string(), "--json".into()];
        if c.read_data_parts > 0 {
            let n = state.next_part.filter(|n| (1..=c.read_data_parts).contains(n)).unwrap_or(1);
            args.extend(["--read-data-subset".into(), format!("{n}/{}", c.read_data_parts)]);
            state.next_part = Some(n % c.read_data_parts + 1);
        }
        if let Some(age) = &c.max_age {
            args.extend(["--max-age".into(), age.clone()]);
        }
        all_ok = r.step("check", &args, &[0]);
    }
    if all_ok {
        let snapshot = r.steps.iter().find(|s| s.name == "backup").map(|s| s.result["snapshot"].clone());
        let snap = snapshot.and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let env = [("STRATA_PROFILE", name.to_string()), ("STRATA_SNAPSHOT", snap)];
        all_ok = profile.hooks.after.iter().all(|h| r.hook("after", h, &env));
    }
    if !all_ok {
        let why = r.failure().and_then(|s| s.error.clone()).unwrap_or_default();
        let env = [("STRATA_PROFILE", name.to_string()), ("STRATA_ERROR", why)];
        for h in &profile.hooks.on_error {
            r.hook("on-error", h, &env);
        }
    }
    let code = if !all_ok {
        1
    } else if partial {
        3
    } else {
        0
    };
    if all_ok {
        state.last_success_ns = Some(Time::now().as_nanos() as i64);
    }
    if let Err(e) = write_atomic(&state_path, &serde_json::to_vec(&state)?) {
        super::warn(&format!("state file {}: {e:#}", state_path.display()));
    }
    let seconds = started.elapsed().as_secs_f64();
    let snapshots = count_snapshots(&r);
    let metrics_path = a.metrics_file.clone().or_else(|| profile.metrics_file.clone());
    if let Some(p) = &metrics_path {
        let text = metrics(name, &r, code, seconds, &state, snapshots, repo_size(&profile, g));
        write_atomic(p, text.as_bytes()).with_context(|| format!("metrics file {}", p.display()))?;
    }
    summary(name, &r, code, seconds, a.json);
    Ok(code)
}

fn prune_due(ret: &strata::profile::Retention, last: Option<i64>, now: Time) -> Result<bool> {
    let Some(every) = &ret.prune_every else {
        return Ok(false);
    };
    let every = strata::timespec::parse_duration(every)
        .ok_or_else(|| anyhow!("retention.prune-every {every:?}: expected a duration like 7d or 12h"))?;
    Ok(last.is_none_or(|l| now.as_nanos() as i64 - l >= every.as_nanos() as i64))
}

/// The snapshot count after the run, by asking the repository.
fn count_snapshots(r: &Runner) -> Option<u64> {
    let out = r.strata(&["snapshots".into(), "--json".into()]).stderr(Stdio::null()).output().ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.as_array().map(|a| a.len() as u64)
}

/// Bytes a local repository occupies on disk.
fn repo_size(p: &Profile, g: &Global) -> Option<u64> {
    let repo = g.repo.clone().or_else(|| p.repository.as_ref().map(PathBuf::from))?;
    if repo.to_string_lossy().starts_with("s3://") {
        return None;
    }
    fn size(p: &Path) -> u64 {
        let Ok(m) = std::fs::symlink_metadata(p) else { return 0 };
        if m.is_dir() {
            std::fs::read_dir(p).into_iter().flatten().flatten().map(|e| size(&e.path())).sum()
        } else {
            m.len()
        }
    }
    Some(size(&repo))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// Prometheus text format: HELP and TYPE, then `name{profile="..."} value`.
fn metrics(
    name: &str,
    r: &Runner,
    code: i32,
    seconds: f64,
    state: &State,
    snapshots: Option<u64>,
    size: Option<u64>,
) -> String {
    let label = name.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let backup = r.steps.iter().find(|s| s.name == "backup").map(|s| &s.result);
    let b = |k: &str| backup.and_then(|v| v[k].as_u64());
    let secs = |ns: i64| ns as f64 / 1e9;
    let rows: Vec<(&str, &str, Option<f64>)> = vec![
        ("strata_last_run_timestamp_seconds", "When the last run ended", Some(secs(Time::now().as_nanos() as i64))),
        ("strata_last_success_timestamp_seconds", "When a run last succeeded", state.last_success_ns.map(secs)),
        (
            "strata_last_run_status",
            "Exit status of the last run (0 ok, 1 failed, 3 files unreadable)",
            Some(code as f64),
        ),
        ("strata_last_run_duration_seconds", "How long the last run took", Some(seconds)),
        ("strata_backup_files", "Files in the last snapshot", b("files").map(|v| v as f64)),
        ("strata_backup_bytes", "Bytes of the files in the last snapshot", b("bytes").map(|v| v as f64)),
        ("strata_backup_bytes_read", "Bytes the last backup read", b("bytes_read").map(|v| v as f64)),
        (
            "strata_backup_bytes_added",
            "Bytes the last backup added to the repository",
            b("bytes_added").map(|v| v as f64),
        ),
        ("strata_backup_errors", "Files the last backup could not read", b("errors").map(|v| v as f64)),
        ("strata_snapshots", "Snapshots in the repository", snapshots.map(|v| v as f64)),
        ("strata_repository_size_bytes", "Bytes the repository occupies on disk", size.map(|v| v as f64)),
    ];
    let mut out = String::new();
    for (metric, help, value) in rows {
        let Some(v) = value else { continue };
        out.push_str(&format!("# HELP {metric} {help}\n# TYPE {metric} gauge\n{metric}{{profile=\"{label}\"}} {v}\n"));
    }
    out
}

fn summary(name: &str, r: &Runner, code: i32, seconds: f64, as_json: bool) {
    if as_json {
        let steps: Vec<Value> = r
            .steps
            .iter()
            .map(|s| {
                json!({"step": s.name, "ok": s.ok, "exit_code": s.code, "duration": s.seconds,
                       "result": s.result, "error": s.error})
            })
            .collect();
        let error = r.failure().and_then(|s| s.error.clone());
        println!(
            "{}",
            json!({"profile": name, "exit_code": code, "ok": code != 1, "duration": seconds, "steps": steps,
                   "error": error})
        );
        return;
    }
    println!("profile {name}:");
    for s in &r.steps {
        let what = match (s.name, &s.result) {
            ("backup", v) if v["snapshot"].is_string() => format!(
                "snapshot {}, {} files, {} added",
                v["short_id"].as_str().unwrap_or(""),
                v["files"],
                super::human(v["bytes_added"].as_u64().unwrap_or(0))
            ),
            ("forget", v) if v["groups"].is_array() => {
                let removed: usize = v["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|g| g["remove"].as_array().map_or(0, Vec::len))
                    .sum();
                let pruned = if v["prune"].is_null() { "" } else { ", pruned" };
                format!("{removed} snapshots removed{pruned}")
            }
            _ => String::new(),
        };
        let mark = if s.ok { "ok" } else { "FAILED" };
        println!("  {:<9} {mark:<6} {:>6.1}s  {what}", s.name, s.seconds);
    }
    let verdict = match code {
        0 => "done".to_string(),
        3 => "done, but some files could not be read (listed above)".to_string(),
        _ => format!("failed: {}", r.failure().and_then(|s| s.error.clone()).unwrap_or_default()),
    };
    println!("{verdict} in {seconds:.1}s");
}
