//! One thin handler per subcommand: parse what clap gave, call the library,
//! print. Shared here: getting the password and opening the repository.

pub mod backup;
pub mod check;
pub mod forget;
pub mod generate;
pub mod hold;
pub mod init;
pub mod key;
pub mod log;
pub mod ls;
pub mod mirror;
pub mod mount;
pub mod prune;
pub mod restore;
pub mod snapshots;
pub mod tag;

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use strata::cli::Global;
use strata::repo::{Access, Repo};

pub fn repo_path(g: &Global) -> Result<&Path> {
    let path =
        g.repo.as_deref().ok_or_else(|| anyhow!("no repository given: use -r/--repo or set STRATA_REPOSITORY"))?;
    let s = path.to_string_lossy();
    if s.contains("://") || s.starts_with("s3:") {
        bail!(
            "repository {s}: a bucket is opened only by `strata mirror` in this build; \
             pull it into a directory with `strata mirror {s} DIR`"
        );
    }
    Ok(path)
}

/// The password, from (in order) --password-file, --password-command,
/// STRATA_PASSWORD, or a prompt on the terminal.
pub fn password(g: &Global, confirm: bool) -> Result<Vec<u8>> {
    if let Some(f) = &g.password_file {
        return first_line(&std::fs::read(f).with_context(|| format!("password file {}", f.display()))?);
    }
    if let Some(cmd) = &g.password_command {
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("password command {cmd:?}"))?;
        if !out.status.success() {
            bail!("password command {cmd:?} failed: {}", out.status);
        }
        return first_line(&out.stdout);
    }
    if let Some(p) = std::env::var_os("STRATA_PASSWORD") {
        use std::os::unix::ffi::OsStrExt;
        return Ok(p.as_bytes().to_vec());
    }
    let pw = prompt("Password: ")?;
    if confirm && prompt("Repeat password: ")? != pw {
        bail!("the passwords do not match");
    }
    Ok(pw)
}

fn first_line(b: &[u8]) -> Result<Vec<u8>> {
    let line = b.split(|&c| c == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        bail!("the password is empty");
    }
    Ok(line.to_vec())
}

/// Reads a line from the terminal with echo off.
pub fn prompt(msg: &str) -> Result<Vec<u8>> {
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty");
    let Ok(mut tty) = tty else {
        bail!(
            "no password given and no terminal to ask on: set STRATA_PASSWORD, --password-file or --password-command"
        );
    };
    use std::os::fd::AsRawFd;
    let fd = tty.as_raw_fd();
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let have_termios = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if have_termios {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    write!(tty, "{msg}")?;
    tty.flush()?;
    let mut line = Vec::new();
    let r = std::io::BufReader::new(&tty).read_until(b'\n', &mut line);
    if have_termios {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    writeln!(tty)?;
    r?;
    first_line(&line)
}

pub fn open(g: &Global, access: Access) -> Result<Repo> {
    let path = repo_path(g)?;
    let pw = || password(g, false).map_err(|e| strata::Error::Invalid(format!("{e:#}")));
    Ok(Repo::open_waiting(path, access, &pw, g.retry_lock.unwrap_or_default())?)
}

pub fn is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress line (spinner, elapsed time, message) on a terminal; none
/// when stderr is not one.
pub fn spinner() -> Option<indicatif::ProgressBar> {
    is_tty().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    })
}

pub fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// Bytes in a short human form (binary units).
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn time_str(t: strata::format::Time) -> String {
    t.to_chrono().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn path_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
