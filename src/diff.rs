//! `diff`: what changed between two snapshots, or from a snapshot to a live
//! directory. Subtrees with the same id are identical and skipped, so the
//! cost grows with the change, not the tree; file content is compared by
//! hash or chunk list, never by reading chunks. A live file whose size,
//! times and inode match its entry is taken as unchanged (as backup does);
//! otherwise it is hashed and compared with the stored hash.

use crate::backup::Own;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::tree::{join_path, Content, Entry, Kind};
use crate::repo::Repo;
use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

/// One change, at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `+`
    Added,
    /// `-`
    Removed,
    /// `M`: content (or a symlink's target, a device's number) differs.
    Modified,
    /// `T`: the type differs (a file became a directory, say).
    TypeChanged,
    /// `U`: only metadata (mode, owner, times, xattrs), with `metadata`.
    Metadata,
}

impl Change {
    pub fn marker(self) -> &'static str {
        match self {
            Change::Added => "+",
            Change::Removed => "-",
            Change::Modified => "M",
            Change::TypeChanged => "T",
            Change::Metadata => "U",
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Totals {
    pub files_added: u64,
    pub files_removed: u64,
    pub dirs_added: u64,
    pub dirs_removed: u64,
    pub others_added: u64,
    pub others_removed: u64,
    pub modified: u64,
    pub type_changed: u64,
    pub metadata_changed: u64,
    /// File bytes added and removed (a modified file counts its new size
    /// added and its old size removed).
    pub bytes_added: u64,
    pub bytes_removed: u64,
}

pub struct Differ<'a> {
    repo: &'a Repo,
    /// Also report metadata changes.
    pub metadata: bool,
    pub totals: Totals,
    out: &'a mut dyn FnMut(Change, &[u8], &Entry),
}

fn same_content(a: &Entry, b: &Entry) -> bool {
    match a.kind {
        Kind::File if a.hash.is_some() && b.hash.is_some() => a.hash == b.hash,
        Kind::File => match (&a.content, &b.content) {
            (Content::List { id: x, .. }, Content::List { id: y, .. }) => x == y,
            (Content::Inline(x), Content::Inline(y)) => x == y,
            _ => false,
        },
        Kind::Symlink => a.target == b.target,
        Kind::CharDev | Kind::BlockDev => a.rdev == b.rdev,
        Kind::Dir | Kind::Fifo => true,
    }
}

fn same_metadata(a: &Entry, b: &Entry) -> bool {
    (a.mode, a.uid, a.gid, a.mtime, &a.xattrs) == (b.mode, b.uid, b.gid, b.mtime, &b.xattrs)
}

impl<'a> Differ<'a> {
    pub fn new(repo: &'a Repo, metadata: bool, out: &'a mut dyn FnMut(Change, &[u8], &Entry)) -> Differ<'a> {
        Differ { repo, metadata, totals: Totals::default(), out }
    }

    /// The changes from entry `a` to entry `b` at `path` (either absent).
    pub fn entries(&mut self, path: &[u8], a: Option<&Entry>, b: Option<&Entry>) -> Result<()> {
        match (a, b) {
            (None, None) => Ok(()),
            (Some(a), None) => self.whole(Change::Removed, path, a),
            (None, Some(b)) => self.whole(Change::Added, path, b),
            (Some(a), Some(b)) if a.kind != b.kind => {
                self.totals.type_changed += 1;
                (self.out)(Change::TypeChanged, path, b);
                Ok(())
            }
            (Some(a), Some(b)) => {
                if !same_content(a, b) {
                    self.totals.modified += 1;
                    if a.kind == Kind::File {
                        self.totals.bytes_removed += a.size;
                        self.totals.bytes_added += b.size;
                    }
                    (self.out)(Change::Modified, path, b);
                } else if self.metadata && !same_metadata(a, b) {
                    self.totals.metadata_changed += 1;
                    (self.out)(Change::Metadata, path, b);
                }
                match (a.subtree, b.subtree) {
                    (Some(x), Some(y)) => self.trees(path, &x, &y),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The changes between two trees under `path`.
    pub fn trees(&mut self, path: &[u8], a: &Id, b: &Id) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let (ta, tb) = (self.repo.tree(a)?, self.repo.tree(b)?);
        let (mut i, mut j) = (0, 0);
        while i < ta.entries.len() || j < tb.entries.len() {
            let (ea, eb) = (ta.entries.get(i), tb.entries.get(j));
            let order = match (ea, eb) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            let (ea, eb) = match order {
                std::cmp::Ordering::Less => (ea, None),
                std::cmp::Ordering::Greater => (None, eb),
                std::cmp::Ordering::Equal => (ea, eb),
            };
            let name = ea.or(eb).map(|e| e.name.clone()).unwrap_or_default();
            self.entries(&join_path(path, &name), ea, eb)?;
            i += usize::from(ea.is_some());
            j += usize::from(eb.is_some());
        }
        Ok(())
    }

    /// An entry added or removed whole: it, then everything below it.
    fn whole(&mut self, change: Change, path: &[u8], e: &Entry) -> Result<()> {
        self.count(change, e);
        (self.out)(change, path, e);
        if let Some(sub) = e.subtree {
            for child in self.repo.tree(&sub)?.entries {
                self.whole(change, &join_path(path, &child.name), &child)?;
            }
        }
        Ok(())
    }
}

/// A live directory to compare a stored tree with.
pub struct Live {
    dir: OwnedFd,
    /// Where it is, for messages.
    path: std::path::PathBuf,
    /// What backup leaves out wherever it meets it, and the device of the
    /// directory compared: left out here too, so the repository does not
    /// show as added, nor a strata mount below get walked (every snapshot).
    own: Arc<(Own, u64)>,
}

impl Live {
    pub fn open(path: &Path, own: Own) -> Result<Live> {
        let dir = sys::open_dir(path).map_err(|e| Error::io(path, e))?;
        let dev = sys::fstat(dir.as_raw_fd()).map_err(|e| Error::io(path, e))?.st_dev;
        // Absolute, as mountinfo names mount points.
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(Live { dir, path, own: Arc::new((own, dev)) })
    }
}

impl Differ<'_> {
    /// The changes from the stored tree `tree` (none: an empty directory)
    /// to the live directory `live`, both at `path`.
    pub fn live(&mut self, path: &[u8], tree: Option<&Id>, live: &Live) -> Result<()> {
        let stored = match tree {
            Some(id) => self.repo.tree(id)?.entries,
            None => Vec::new(),
        };
        let fd = live.dir.as_raw_fd();
        let mut names = sys::read_dir_names(fd).map_err(|e| Error::io(&live.path, e))?;
        names.sort();
        let (mut i, mut j) = (0, 0);
        while i < stored.len() || j < names.len() {
            let order = match (stored.get(i), names.get(j)) {
                (Some(a), Some(n)) => a.name.cmp(n),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            let a = (order != std::cmp::Ordering::Greater).then(|| &stored[i]);
            let name = if order == std::cmp::Ordering::Less { None } else { Some(names[j].as_slice()) };
            let child = join_path(path, a.map_or_else(|| name.unwrap_or_default(), |a| &a.name));
            let b = match name {
                Some(n) => live_entry(fd, n, &live.path.join(sys::os(n)), live)?,
                None => None,
            };
            self.live_entries(&child, a, b, fd, live)?;
            i += usize::from(a.is_some());
            j += usize::from(name.is_some());
        }
        Ok(())
    }

    fn live_entries(&mut self, path: &[u8], a: Option<&Entry>, b: Option<Entry>, fd: RawFd, live: &Live) -> Result<()> {
        let sub = |b: &Entry| -> Result<Live> {
            let p = live.path.join(sys::os(&b.name));
            let dir = sys::openat(fd, &b.name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)
                .map_err(|e| Error::io(&p, e))?;
            Ok(Live { dir, path: p, own: live.own.clone() })
        };
        match (a, b) {
            (None, None) => Ok(()),
            (Some(a), None) => self.whole(Change::Removed, path, a),
            (None, Some(b)) => {
                self.count(Change::Added, &b);
                (self.out)(Change::Added, path, &b);
                if b.kind == Kind::Dir {
                    self.live(path, None, &sub(&b)?)?;
                }
                Ok(())
            }
            (Some(a), Some(b)) if a.kind != b.kind => {
                self.totals.type_changed += 1;
                (self.out)(Change::TypeChanged, path, &b);
                Ok(())
            }
            (Some(a), Some(b)) => {
                if !self.same_live_content(a, &b, fd, live)? {
                    self.totals.modified += 1;
                    if a.kind == Kind::File {
                        self.totals.bytes_removed += a.size;
                        self.totals.bytes_added += b.size;
                    }
                    (self.out)(Change::Modified, path, &b);
                } else if self.metadata && !same_metadata(a, &b) {
                    self.totals.metadata_changed += 1;
                    (self.out)(Change::Metadata, path, &b);
                }
                if b.kind == Kind::Dir {
                    self.live(path, a.subtree.as_ref(), &sub(&b)?)?;
                }
                Ok(())
            }
        }
    }

    fn same_live_content(&self, a: &Entry, b: &Entry, fd: RawFd, live: &Live) -> Result<bool> {
        if a.kind != Kind::File {
            return Ok(same_content(a, b));
        }
        if a.size != b.size {
            return Ok(false);
        }
        if (a.mtime, a.ctime, a.ino) == (b.mtime, b.ctime, b.ino) {
            return Ok(true);
        }
        // Without a stored hash (a tree from before strata kept one) only
        // the times can tell.
        let Some(want) = a.hash else {
            return Ok(a.mtime == b.mtime);
        };
        let p = live.path.join(sys::os(&b.name));
        let f = sys::openat(fd, &b.name, libc::O_RDONLY | libc::O_NOFOLLOW, 0).map_err(|e| Error::io(&p, e))?;
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        loop {
            let n = sys::pread_exact(f.as_raw_fd(), &mut buf, at).map_err(|e| Error::io(&p, e))?;
            h.update(&buf[..n]);
            at += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok(*h.finalize().as_bytes() == want)
    }

    fn count(&mut self, change: Change, e: &Entry) {
        let added = change == Change::Added;
        let t = &mut self.totals;
        match e.kind {
            Kind::File if added => (t.files_added, t.bytes_added) = (t.files_added + 1, t.bytes_added + e.size),
            Kind::File => (t.files_removed, t.bytes_removed) = (t.files_removed + 1, t.bytes_removed + e.size),
            Kind::Dir if added => t.dirs_added += 1,
            Kind::Dir => t.dirs_removed += 1,
            _ if added => t.others_added += 1,
            _ => t.others_removed += 1,
        }
    }
}

/// The live entry `name` in `dir` as backup would record it (no content,
/// no owner names); `None` when it vanished, is a socket, or is what backup
/// leaves out of its own (`Own`).
fn live_entry(dir: RawFd, name: &[u8], path: &Path, live: &Live) -> Result<Option<Entry>> {
    let (own, dev) = &*live.own;
    let st = match sys::fstatat(dir, name) {
        Ok(st) => st,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && own.is_mount_point(path) => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let Some(kind) = crate::backup::kind_of(st.st_mode) else {
        return Ok(None);
    };
    if let Some(what) = (kind == Kind::Dir).then(|| own.dir(st.st_dev, st.st_ino, *dev)).flatten() {
        log::info!("{}: left out: {}", path.display(), what.what());
        return Ok(None);
    }
    let mut e = crate::backup::stat_entry(name, &st, kind);
    e.xattrs = sys::xattrs_at(dir, name).map_err(|err| Error::io(path, err))?;
    if kind == Kind::Symlink {
        e.target = sys::readlinkat(dir, name).map_err(|err| Error::io(path, err))?;
    }
    Ok(Some(e))
}
