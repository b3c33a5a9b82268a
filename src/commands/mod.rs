//! One thin handler per subcommand: parse what clap gave, call the library,
//! print. Shared here: getting the password and opening the repository.

pub mod backup;
pub mod check;
pub mod diff;
pub mod dump;
pub mod find;
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
pub mod repair;
pub mod restore;
pub mod rewrite;
pub mod run;
pub mod snapshots;
pub mod stats;
pub mod tag;

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsStr;
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use strata::cli::{Global, SelectArgs};
use strata::crypto::Id;
use strata::format::snapshot::Snapshot;
use strata::format::tree::{Entry, Kind};
use strata::repo::{Access, CacheOptions, PasswordSource, Repo, Selection};
use strata::s3::Bucket;

/// Where the repository is: a directory, or a bucket (`s3://BUCKET/PREFIX`).
pub enum Place<'a> {
    Dir(&'a Path),
    Bucket(Bucket),
}

pub fn place(g: &Global) -> Result<Place<'_>> {
    let path =
        g.repo.as_deref().ok_or_else(|| anyhow!("no repository given: use -r/--repo or set STRATA_REPOSITORY"))?;
    match bucket(&path.to_string_lossy())? {
        Some(b) => Ok(Place::Bucket(b)),
        None => Ok(Place::Dir(path)),
    }
}

/// The repository directory; a bucket is refused, as `what` needs one.
pub fn repo_path<'a>(g: &'a Global, what: &str) -> Result<&'a Path> {
    match place(g)? {
        Place::Dir(p) => Ok(p),
        Place::Bucket(b) => Err(read_only(&b, what)),
    }
}

fn read_only(b: &Bucket, what: &str) -> anyhow::Error {
    anyhow!(
        "repository {}: {what} needs a repository directory; a bucket is read-only to strata \
         (back up to a directory and `strata mirror` it to the bucket)",
        b.url()
    )
}

/// A bucket named by an `s3://BUCKET/PREFIX` argument, with the endpoint
/// and credentials from the environment; `None` for anything else but a
/// URL of another scheme (`sftp:`, `rest:`...), which is an error.
pub fn bucket(url: &str) -> Result<Option<Bucket>> {
    let Some((bucket, prefix)) = strata::s3::parse_url(url) else {
        let scheme = url.split_once(':').map(|(s, _)| s).filter(|s| s.len() > 1 && !s.contains('/'));
        if url.contains("://")
            || scheme.is_some_and(|s| ["s3", "sftp", "rest", "b2", "azure", "gs", "rclone"].contains(&s))
        {
            bail!("{url}: not a directory or s3://BUCKET/PREFIX (the only remote strata opens)");
        }
        return Ok(None);
    };
    let endpoint = strata::s3::Endpoint::from_env(None).with_context(|| url.to_string())?;
    Ok(Some(Bucket::new(endpoint, &bucket, &prefix)))
}

pub fn cache(g: &Global) -> CacheOptions {
    CacheOptions {
        dir: g.cache_dir.clone().unwrap_or_else(CacheOptions::default_dir),
        limit: g.cache_limit,
        fresh: false,
    }
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

/// The password as the library asks for it.
pub fn password_source(g: &Global) -> impl Fn() -> strata::Result<Vec<u8>> + '_ {
    move || password(g, false).map_err(|e| strata::Error::Invalid(format!("{e:#}")))
}

pub fn open(g: &Global, access: Access) -> Result<Repo> {
    open_in(g, access, Some(&password_source(g)), &cache(g))
}

/// Opens the repository, a directory or a bucket (read-only); without a
/// password source, keyless.
pub fn open_with(g: &Global, access: Access, password: Option<PasswordSource>) -> Result<Repo> {
    open_in(g, access, password, &cache(g))
}

/// `open_with`, a bucket through the cache `cache`.
pub fn open_in(g: &Global, access: Access, password: Option<PasswordSource>, cache: &CacheOptions) -> Result<Repo> {
    match place(g)? {
        Place::Dir(path) => Ok(match password {
            Some(pw) => Repo::open_waiting(path, access, pw, g.retry_lock.unwrap_or_default())?,
            None => Repo::open_keyless(path, access)?,
        }),
        Place::Bucket(b) if access == Access::Write => Err(read_only(&b, "writing")),
        Place::Bucket(b) => Ok(Repo::open_bucket(b, cache, password)?),
    }
}

/// The selection `--host`, `--path` and `--tag` make (a relative path is
/// taken from here, without touching the filesystem: the snapshot may be
/// of another machine).
pub fn selection(a: &SelectArgs) -> Result<Selection> {
    let path = a.source_path.as_ref().map(|p| -> Result<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        let abs = if p.is_absolute() { p.clone() } else { std::env::current_dir()?.join(p) };
        let mut clean = std::path::PathBuf::from("/");
        for c in abs.components() {
            match c {
                std::path::Component::Normal(n) => clean.push(n),
                std::path::Component::ParentDir => {
                    clean.pop();
                }
                _ => {}
            }
        }
        Ok(clean.as_os_str().as_bytes().to_vec())
    });
    Ok(Selection { host: a.host.clone(), path: path.transpose()?, tag: a.tag.clone() })
}

/// The snapshot `spec` names, or with `at` the newest at or before that
/// time, among those `sel` selects.
pub fn choose(repo: &Repo, spec: Option<&str>, at: Option<&str>, sel: &Selection) -> Result<(Id, Snapshot)> {
    let Some(t) = at else {
        let spec =
            spec.ok_or_else(|| anyhow!("no snapshot given: name one (latest, an id, a time) or use --at TIME"))?;
        return Ok(repo.resolve_in(spec, sel)?);
    };
    let time = strata::timespec::parse(t).ok_or_else(|| {
        anyhow!(
            "--at {t:?}: not a time (try 2026-11-20T14:00 (local time), 2026-11-20T14:00:00Z, @1763647200, \
             'yesterday 14:00' or '2h ago')"
        )
    })?;
    repo.snapshot_at_in(time, sel)?.ok_or_else(|| anyhow!("--at {t}: no snapshot is that old (among those selected)"))
}

/// What a `SNAPSHOT[:PATH]` argument (with `--at`: `PATH` alone) names:
/// the snapshot, the path within it ("" for its root) and the entry there.
pub fn source_entry(
    repo: &Repo,
    source: &OsStr,
    at: Option<&str>,
    select: &SelectArgs,
) -> Result<(Id, Snapshot, Vec<u8>, Entry)> {
    let sel = selection(select)?;
    let source = source.as_bytes();
    let ((id, snap), path) = match at {
        Some(_) => (choose(repo, None, at, &sel)?, source.strip_prefix(b":").unwrap_or(source)),
        None => split_source(repo, source, &sel)?,
    };
    let path = trim_slashes(path).to_vec();
    let entry = if path.is_empty() {
        Entry { subtree: Some(snap.tree), mode: 0o755, mtime: snap.time, ..Entry::new(Vec::new(), Kind::Dir) }
    } else {
        repo.lookup(&snap.tree, &path)?
            .ok_or_else(|| anyhow!("/{}: no such path in snapshot {}", path_str(&path), id.short()))?
    };
    Ok((id, snap, path, entry))
}

/// `path` without leading and trailing '/'.
pub fn trim_slashes(path: &[u8]) -> &[u8] {
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    let end = path.iter().rposition(|&b| b != b'/').map_or(start, |i| i + 1);
    &path[start..end]
}

/// `SNAPSHOT[:PATH]`: a snapshot's time has colons of its own (and
/// `2026-01-01T12` names a snapshot too), so the snapshot is the longest
/// prefix before a colon that names one. The path is bytes, as names are.
fn split_source<'a>(repo: &Repo, source: &'a [u8], sel: &Selection) -> Result<((Id, Snapshot), &'a [u8])> {
    let mut first_error = None;
    for i in (0..source.len()).rev().filter(|&i| source[i] == b':') {
        let Ok(prefix) = std::str::from_utf8(&source[..i]) else { continue };
        match repo.resolve_in(prefix, sel) {
            Ok(found) => return Ok((found, &source[i + 1..])),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (std::str::from_utf8(source).ok().map(|whole| repo.resolve_in(whole, sel)), first_error) {
        (Some(Ok(found)), _) => Ok((found, b"")),
        (_, Some(e)) | (Some(Err(e)), None) => Err(e.into()),
        (None, None) => Err(anyhow!("{}: not a snapshot", path_str(source))),
    }
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

/// RFC 3339 with nanoseconds, for JSON: a file's time in full.
pub fn time_full(t: strata::format::Time) -> String {
    t.to_chrono().format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub fn path_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Prints `parts` as one line on standard output, as bytes: a path that is
/// not UTF-8 prints as it is (as find(1) prints it), so it can be given
/// back to `restore` or `dump`. (JSON output has to make such a name valid
/// UTF-8, as restic's does.)
pub fn print_bytes(parts: &[&[u8]]) {
    let mut line = parts.concat();
    line.push(b'\n');
    if let Err(e) = std::io::stdout().lock().write_all(&line) {
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}
