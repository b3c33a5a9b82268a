//! What a backup leaves out: glob patterns (a pattern with a '/' matches the
//! whole absolute path, one without matches any single name, as in restic and
//! rsync), directories tagged with a valid CACHEDIR.TAG, other filesystems,
//! and always strata's own directories (`Own`).

use crate::error::{Error, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};

/// The signature a CACHEDIR.TAG must begin with (bford.info/cachedir).
pub const CACHEDIR_SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";

#[derive(Default)]
pub struct Excludes {
    by_path: Option<GlobSet>,
    by_name: Option<GlobSet>,
    pub caches: bool,
    /// Names whose presence in a directory leaves it out.
    pub if_present: Vec<Vec<u8>>,
    /// Regular files larger than this are left out.
    pub larger_than: Option<u64>,
    pub one_file_system: bool,
    /// strata's cache of buckets, always left out (`Own`).
    pub cache_dir: Option<PathBuf>,
}

fn glob(p: &str) -> Result<Glob> {
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| Error::Invalid(format!("exclude pattern {p:?}: {e}")))
}

impl Excludes {
    /// `patterns` from `--exclude`, `files` from `--exclude-file` (one
    /// pattern a line; blank lines and lines starting with '#' ignored).
    pub fn new(patterns: &[String], files: &[std::path::PathBuf]) -> Result<Excludes> {
        let mut all: Vec<String> = patterns.to_vec();
        for f in files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Error::Invalid(format!("--exclude-file {}: {e}", f.display())))?;
            all.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
        }
        let (mut paths, mut names) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut np, mut nn) = (0, 0);
        for p in &all {
            let p = p.trim_end_matches('/');
            if p.contains('/') {
                // A relative pattern with a '/' may match at any depth.
                let anchored =
                    if p.starts_with('/') || p.starts_with("**") { p.to_string() } else { format!("**/{p}") };
                paths.add(glob(&anchored)?);
                np += 1;
            } else {
                names.add(glob(p)?);
                nn += 1;
            }
        }
        let build = |b: GlobSetBuilder, n| -> Result<Option<GlobSet>> {
            if n == 0 {
                return Ok(None);
            }
            b.build().map(Some).map_err(|e| Error::Invalid(format!("exclude patterns: {e}")))
        };
        Ok(Excludes { by_path: build(paths, np)?, by_name: build(names, nn)?, ..Excludes::default() })
    }

    /// The `--exclude-if-present` names: each a file name, no path.
    pub fn set_if_present(&mut self, names: &[String]) -> Result<()> {
        for n in names {
            if n.is_empty() || n.contains('/') || n == "." || n == ".." {
                return Err(Error::Invalid(format!("--exclude-if-present {n:?}: give a file name, without '/'")));
            }
        }
        self.if_present = names.iter().map(|n| n.as_bytes().to_vec()).collect();
        Ok(())
    }

    pub fn matches(&self, path: &Path, name: &[u8]) -> bool {
        self.by_name.as_ref().is_some_and(|g| g.is_match(crate::sys::os(name)))
            || self.by_path.as_ref().is_some_and(|g| g.is_match(path))
    }
}

/// What every backup leaves out wherever its walk meets it (a source path
/// itself is backed up as asked): the repository written to, since a copy
/// of it inside itself is taken while it changes and grows the repository
/// by its own size at each backup; strata's cache of buckets (as borg
/// leaves its cache out); and strata mounts, views of backups,
/// where the walk would read every snapshot (or, for another user's mount,
/// which even root may not look at, fail on it at every backup).
#[derive(Clone, Default)]
pub struct Own {
    /// The repository's directory: (device, inode).
    repo: Option<(u64, u64)>,
    /// The cache directory: (device, inode).
    cache: Option<(u64, u64)>,
    /// The strata mounts: device, mount point.
    mounts: Vec<(u64, Vec<u8>)>,
}

/// What `Own` says of a directory.
#[derive(Debug, PartialEq, Eq)]
pub enum OwnDir {
    Repository,
    Cache,
    Mount,
}

impl OwnDir {
    /// What it is, for the log.
    pub fn what(&self) -> &'static str {
        match self {
            OwnDir::Repository => "the repository backed up to",
            OwnDir::Cache => "strata's cache",
            OwnDir::Mount => "a strata mount",
        }
    }
}

impl Own {
    pub fn of(repo: &Path, cache: Option<&Path>) -> Own {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        let mounts = strata_mounts(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default());
        Own { repo: id(repo), cache: cache.and_then(id), mounts }
    }

    /// What the directory of device `dev` and inode `ino` is, met in the
    /// walk of a source on device `source_dev` (a source inside a strata
    /// mount is walked as any other).
    pub fn dir(&self, dev: u64, ino: u64, source_dev: u64) -> Option<OwnDir> {
        if self.repo == Some((dev, ino)) {
            Some(OwnDir::Repository)
        } else if self.cache == Some((dev, ino)) {
            Some(OwnDir::Cache)
        } else if dev != source_dev && self.mounts.iter().any(|(d, _)| *d == dev) {
            Some(OwnDir::Mount)
        } else {
            None
        }
    }

    /// Whether `path` is where a strata mount is: for one that cannot be
    /// looked at (another user's, without allow_other).
    pub fn is_mount_point(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        self.mounts.iter().any(|(_, at)| at == path.as_os_str().as_bytes())
    }
}

/// The strata mounts in a mountinfo text: filesystem type `fuse` (or
/// `fuse.strata`), source `strata` (`strata mount` names it so); their
/// devices and mount points.
fn strata_mounts(mountinfo: &str) -> Vec<(u64, Vec<u8>)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let mut t = tail.split(' ');
            let (fstype, source) = (t.next()?, t.next()?);
            if !(fstype == "fuse" || fstype == "fuse.strata") || source != "strata" {
                return None;
            }
            let mut h = head.split(' ');
            let (major, minor) = h.nth(2)?.split_once(':')?;
            let at = unescape(h.nth(1)?);
            Some((libc::makedev(major.parse().ok()?, minor.parse().ok()?), at))
        })
        .collect()
}

/// A mountinfo field: space, tab, newline and backslash come as octal
/// escapes (`\040`).
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8).wrapping_add(c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strata_mounts_are_found_by_type_and_source() {
        let text = "\
24 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
45 27 0:40 / /mnt/b ro,nosuid,nodev,noatime - fuse strata ro,user_id=0,group_id=0
46 27 0:41 / /mnt/a\\040b\\134 ro shared:9 - fuse.strata strata ro
47 27 0:42 / /mnt/o ro - fuse.sshfs strata ro
48 27 0:43 / /mnt/p ro - fuse other ro";
        let found = vec![(libc::makedev(0, 40), b"/mnt/b".to_vec()), (libc::makedev(0, 41), b"/mnt/a b\\".to_vec())];
        assert_eq!(strata_mounts(text), found);
    }

    #[test]
    fn names_and_paths() {
        let x = Excludes::new(&["*.tmp".into(), "/home/*/cache".into(), "build/out".into()], &[]).unwrap();
        assert!(x.matches(Path::new("/a/b/x.tmp"), b"x.tmp"));
        assert!(!x.matches(Path::new("/a/b/x.tmpl"), b"x.tmpl"));
        assert!(x.matches(Path::new("/home/u/cache"), b"cache"));
        assert!(!x.matches(Path::new("/home/u/v/cache"), b"cache"));
        assert!(x.matches(Path::new("/src/p/build/out"), b"out"));
    }

    #[test]
    fn bad_pattern_is_named() {
        let e = Excludes::new(&["a[".into()], &[]).err().unwrap().to_string();
        assert!(e.contains("a["), "{e}");
    }
}
