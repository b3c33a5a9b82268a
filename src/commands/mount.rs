//! `strata mount`: checks the mountpoint, mounts, keeps the snapshot list
//! fresh, and unmounts cleanly on Ctrl-C, SIGTERM or `fusermount3 -u`.

use super::open;
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd};
use std::path::Path;
use std::time::Duration;
use strata::cli::{Global, MountArgs};
use strata::repo::Access;
use strata::vfs::{Mode, Vfs};

fn check_mountpoint(p: &Path) -> Result<()> {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        // What a FUSE mount whose process died leaves behind.
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => bail!(
            "mountpoint {}: a mount whose process has died (unmount it with `fusermount3 -u {}`)",
            p.display(),
            p.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("mountpoint {}", p.display())),
    };
    if !meta.is_dir() {
        bail!("mountpoint {}: not a directory", p.display());
    }
    let canon = p.canonicalize().with_context(|| format!("mountpoint {}", p.display()))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // Field 5 of mountinfo is the mount point (octal-escaped).
    let escaped = canon.to_string_lossy().replace(' ', "\\040");
    if mounts.lines().any(|l| l.split(' ').nth(4) == Some(escaped.as_str())) {
        bail!("mountpoint {}: already a mount point (unmount it with `fusermount3 -u {}`)", p.display(), p.display());
    }
    if std::fs::read_dir(p).with_context(|| format!("mountpoint {}", p.display()))?.next().is_some() {
        bail!("mountpoint {}: not empty", p.display());
    }
    Ok(())
}

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts, so
/// `wait_for_signal` alone receives them.
fn block_signals() -> libc::sigset_t {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits up to `timeout` for a blocked signal; true when one came.
fn wait_for_signal(set: &libc::sigset_t, timeout: Duration) -> bool {
    let ts =
        libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as libc::c_long };
    unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) > 0 }
}

pub fn run(g: &Global, a: &MountArgs) -> Result<i32> {
    check_mountpoint(&a.mountpoint)?;
    if !Path::new("/dev/fuse").exists() {
        bail!("/dev/fuse is missing: load the fuse module (modprobe fuse) or install fuse3");
    }
    // Detach before any thread exists (forking a threaded process is unsafe);
    // the parent waits until the child reports the mount ready.
    // The log file is opened now, so a bad one is an error before detaching.
    let log = a
        .log_file
        .as_ref()
        .map(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("--log-file {}", p.display()))
        })
        .transpose()?;
    let ready_pipe = if a.daemon { Some(daemonize()?) } else { None };
    let result = mount(g, a, ready_pipe, log);
    if let Err(e) = &result {
        if let Some(fd) = ready_pipe {
            let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
            let _ = write!(f, "strata: error: {e:#}");
        }
    }
    result
}

fn mount(g: &Global, a: &MountArgs, ready: Option<i32>, log: Option<std::fs::File>) -> Result<i32> {
    let signals = block_signals();
    let repo = open(g, Access::Read)?;
    let mode = match (&a.snapshot, &a.at) {
        (None, None) => Mode::Repo,
        (spec, at) => {
            Mode::Snapshot(super::choose(&repo, spec.as_deref(), at.as_deref(), &super::selection(&a.select)?)?.0)
        }
    };
    let live = matches!(mode, Mode::Repo);
    let vfs = Vfs::new(repo, mode, a.cache_size)?;
    vfs.set_list_hash(a.list_hash);
    let mut opts = vec![
        fuser::MountOption::RO,
        fuser::MountOption::FSName("strata".into()),
        fuser::MountOption::Subtype("strata".into()),
        fuser::MountOption::DefaultPermissions,
        fuser::MountOption::NoAtime,
    ];
    for o in &a.options {
        opts.push(match o.as_str() {
            "allow_other" => fuser::MountOption::AllowOther,
            "allow_root" => fuser::MountOption::AllowRoot,
            "ro" => continue,
            other => fuser::MountOption::CUSTOM(other.to_string()),
        });
    }
    if opts.contains(&fuser::MountOption::AllowOther) && opts.contains(&fuser::MountOption::AllowRoot) {
        bail!("-o allow_other and -o allow_root exclude each other; give one");
    }
    // Root reads past any ACL: only others need them checked.
    let acls = opts.contains(&fuser::MountOption::AllowOther) || unsafe { libc::geteuid() } != 0;
    let fs = strata::fuse::Fs::new(vfs.clone(), 8, acls);
    let session = fuser::Session::new(fs, &a.mountpoint, &opts)
        .with_context(|| format!("mounting on {}", a.mountpoint.display()))?;
    // Read-ahead hands small files straight to the kernel's page cache.
    let pages = strata::fuse::PageStore::new(session.as_fd()).context("duplicating the /dev/fuse descriptor")?;
    let session = session.spawn().context("starting the FUSE session")?;
    vfs.set_page_sink(Box::new(move |ino, offset, data| pages.store(ino, offset, data)));
    match ready {
        Some(fd) => {
            let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
            let _ = f.write_all(b"ok");
            drop(f);
            // Only now leave the terminal: the password prompt needed it.
            unsafe { libc::setsid() };
            redirect_stdio(log)?;
        }
        None => eprintln!(
            "mounted on {} (Ctrl-C or `fusermount3 -u {}` to unmount)",
            a.mountpoint.display(),
            a.mountpoint.display()
        ),
    }
    let notifier = session.notifier();
    let mut since_refresh = Duration::ZERO;
    let mut lazy = false;
    loop {
        if wait_for_signal(&signals, Duration::from_millis(500)) {
            if lazy {
                eprintln!(
                    "strata: stopping while {} is still in use: its users now get \"Transport endpoint is not connected\"",
                    a.mountpoint.display()
                );
                std::mem::forget(session);
                return Ok(1);
            }
            match unmount(&a.mountpoint, false) {
                Ok(()) => {
                    wait_until_finished(&session.guard, Duration::from_secs(5));
                    std::mem::forget(session);
                    return Ok(0);
                }
                Err(busy) if busy.contains("busy") => {
                    // Never leave a dead mount: detach it now, serve whoever
                    // is inside until they leave, then exit.
                    eprintln!(
                        "strata: {} is in use ({}): detached, and served until they leave; \
                         interrupt again to stop now",
                        a.mountpoint.display(),
                        holders(&a.mountpoint)
                    );
                    if let Err(e) = unmount(&a.mountpoint, true) {
                        eprintln!("strata: {e}");
                    }
                    lazy = true;
                    continue;
                }
                Err(e) => {
                    eprintln!("strata: {e}");
                    break;
                }
            }
        }
        if session.guard.is_finished() {
            // Unmounted from outside (fusermount3 -u). Dropping the session
            // would unmount the path again, and with it any new mount made
            // there since: leave it alone.
            std::mem::forget(session);
            return Ok(0);
        }
        since_refresh += Duration::from_millis(500);
        if live && since_refresh >= Duration::from_secs(2) {
            since_refresh = Duration::ZERO;
            match vfs.refresh() {
                Ok(Some(stale)) => strata::fuse::invalidate(&notifier, &stale),
                Ok(None) => {}
                Err(e) => eprintln!("strata: refreshing the snapshot list: {e}"),
            }
        }
    }
    drop(session);
    Ok(0)
}

/// Unmounts `dir` (lazily: detached now, gone when the last user leaves);
/// the error is fusermount3's words.
fn unmount(dir: &Path, lazy: bool) -> std::result::Result<(), String> {
    let out = std::process::Command::new("fusermount3")
        .arg(if lazy { "-uz" } else { "-u" })
        .arg(dir)
        .output()
        .map_err(|e| format!("running fusermount3 to unmount {}: {e}", dir.display()))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!("unmounting {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim())),
    }
}

fn wait_until_finished<T>(guard: &std::thread::JoinHandle<T>, limit: Duration) {
    let end = std::time::Instant::now() + limit;
    while !guard.is_finished() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The processes with their working directory, root or an open file inside
/// `dir`: "pid 123 (bash), ...".
fn holders(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let inside = |p: std::path::PathBuf| p.starts_with(&dir);
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() {
            continue;
        }
        let p = e.path();
        let uses = ["cwd", "root"].iter().any(|l| std::fs::read_link(p.join(l)).is_ok_and(inside))
            || std::fs::read_dir(p.join("fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|f| std::fs::read_link(f.path()).is_ok_and(inside));
        if uses {
            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            found.push(format!("pid {pid} ({})", comm.trim()));
        }
    }
    if found.is_empty() {
        "by a process not found".into()
    } else {
        found.join(", ")
    }
}

/// Forks; the parent waits for the child's "ok" (or error text) and exits.
fn daemonize() -> Result<i32> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("creating a pipe: {}", std::io::Error::last_os_error());
    }
    match unsafe { libc::fork() } {
        -1 => bail!("fork: {}", std::io::Error::last_os_error()),
        0 => {
            // The session (and terminal) is left once mounted, after any
            // password prompt.
            unsafe { libc::close(fds[0]) };
            Ok(fds[1])
        }
        _ => {
            unsafe { libc::close(fds[1]) };
            let mut f = unsafe { std::fs::File::from_raw_fd(fds[0]) };
            let mut msg = String::new();
            let _ = f.read_to_string(&mut msg);
            if msg == "ok" {
                std::process::exit(0);
            }
            eprintln!(
                "{}",
                if msg.is_empty() { "strata: error: the mount process died before mounting" } else { &msg }
            );
            std::process::exit(1);
        }
    }
}

/// Detached: stdin and stdout to /dev/null; stderr (the mount's log: EIO
/// with path and chunk, refresh failures) appended to `log`, else to
/// syslog (facility daemon), a line per message.
fn redirect_stdio(log: Option<std::fs::File>) -> Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").context("opening /dev/null")?;
    unsafe {
        libc::dup2(null.as_raw_fd(), 0);
        libc::dup2(null.as_raw_fd(), 1);
    }
    if let Some(f) = log {
        unsafe { libc::dup2(f.as_raw_fd(), 2) };
        return Ok(());
    }
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        unsafe { libc::dup2(null.as_raw_fd(), 2) };
        return Ok(());
    }
    unsafe {
        libc::dup2(fds[1], 2);
        libc::close(fds[1]);
        libc::openlog(c"strata".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON);
    }
    let lines = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(lines).split(b'\n').map_while(|l| l.ok()) {
            if let Ok(msg) = std::ffi::CString::new(line) {
                unsafe { libc::syslog(libc::LOG_WARNING, c"%s".as_ptr(), msg.as_ptr()) };
            }
        }
    });
    Ok(())
}
