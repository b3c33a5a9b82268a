//! A mount guard: starts `strata mount` in the background, waits for the
//! mount with a deadline (never a fixed sleep), and on drop unmounts and
//! reaps the process, so no test leaves a mount behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mount {
    pub dir: PathBuf,
    child: Option<Child>,
}

pub fn is_mounted(dir: &Path) -> bool {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let want = canon.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// Polls `cond` every 20 ms until it holds or `deadline` passes.
pub fn wait_until(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

impl Mount {
    /// Mounts `repo` on a new directory `dir` with extra `args`.
    pub fn start(repo: &super::Repo, dir: &Path, args: &[&str]) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let mut cmd = repo.cmd();
        cmd.arg("mount").args(args).arg(dir).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let ok = wait_until(Duration::from_secs(30), || is_mounted(dir) || matches!(child.try_wait(), Ok(Some(_))));
        if !ok || !is_mounted(dir) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("mount on {} did not come up: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
        }
        Mount { dir: dir.to_path_buf(), child: Some(child) }
    }

    /// The mount process's peak resident memory (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let pid = self.child.as_ref().expect("mount process running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).expect("VmHWM in status");
        kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() << 10
    }

    /// Waits for the mount process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let mut code = None;
        wait_until(limit, || {
            code = child.try_wait().ok().flatten().map(|s| s.code().unwrap_or(-1));
            code.is_some()
        });
        if code.is_some() {
            self.child = None;
        }
        code
    }

    /// Sends SIGTERM (as Ctrl-C would) and returns at once.
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
    }

    /// Kills the mount process outright (SIGKILL), leaving a dead mount that
    /// the guard's drop still unmounts.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Unmounts with SIGTERM, as a user's Ctrl-C would; returns the exit code.
    pub fn stop(mut self) -> i32 {
        let mut child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let code = wait_child(&mut child, Duration::from_secs(20));
        assert!(!is_mounted(&self.dir), "still mounted after SIGTERM");
        code
    }
}

fn wait_child(child: &mut Child, limit: Duration) -> i32 {
    let mut code = None;
    wait_until(limit, || {
        code = child.try_wait().ok().flatten().map(|s| s.code().unwrap_or(-1));
        code.is_some()
    });
    code.unwrap_or_else(|| {
        let _ = child.kill();
        child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1)
    })
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            wait_child(&mut child, Duration::from_secs(10));
        }
        if is_mounted(&self.dir) {
            let _ = Command::new("fusermount3").arg("-u").arg("-z").arg(&self.dir).status();
        }
    }
}
