//! The backup walker: visits the source tree through directory fds (so paths
//! longer than PATH_MAX work), builds each directory's tree bottom-up, reuses
//! unchanged files' content from the parent snapshot without reading them,
//! and feeds the rest to the pipeline.

use super::exclude::{Excludes, Own, OwnDir, CACHEDIR_SIGNATURE};
use super::pipeline::{FileSlot, Progress};
use super::read::ReadJob;
use super::trees::{DirJob, Origin, Pending, TreeRef};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::snapshot::Counters;
use crate::format::tree::{Content, Entry, Kind, DEPTH_MAX};
use crate::format::Time;
use crate::repo::{Repo, TreeCursor};
use crate::sorted_names::SortedNames;
use crate::sys;
use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(super) struct Walker<'a> {
    pub repo: &'a Repo,
    /// Records `repair` removed (`Repo::missing`).
    pub lost: &'a HashSet<Id>,
    pub excludes: &'a Excludes,
    pub own: Own,
    pub progress: &'a Progress,
    pub warn: &'a (dyn Fn(&str) + Sync),
    pub counters: Counters,
    pub failed: Vec<(Vec<u8>, String)>,
    /// Hardlinked files already read in this backup, by (dev, ino).
    pub links: HashMap<(u64, u64), Arc<FileSlot>>,
    pub users: HashMap<u32, String>,
    pub groups: HashMap<u32, String>,
    /// Device of the source path being walked: --one-file-system and
    /// strata mounts leave the others out.
    pub root_dev: u64,
    /// Directories being walked, counting the current one.
    pub depth: usize,
    /// Entries walked since the progress line's path was last set.
    pub unshown: u32,
    /// Directories' entries, to the tree builder.
    pub dirs: crossbeam_channel::Sender<DirJob>,
    /// Opened files, to the readers.
    pub reads: crossbeam_channel::Sender<ReadJob>,
}

pub(crate) fn kind_of(mode: u32) -> Option<Kind> {
    Some(match mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        libc::S_IFIFO => Kind::Fifo,
        libc::S_IFCHR => Kind::CharDev,
        libc::S_IFBLK => Kind::BlockDev,
        _ => return None,
    })
}

pub(super) fn mtime(st: &libc::stat) -> Time {
    Time { secs: st.st_mtime, nanos: st.st_mtime_nsec as u32 }
}

pub(super) fn ctime(st: &libc::stat) -> Time {
    Time { secs: st.st_ctime, nanos: st.st_ctime_nsec as u32 }
}

pub(super) fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

/// The entry for a stat result: no owner names, xattrs or content.
pub(crate) fn stat_entry(name: &[u8], st: &libc::stat, kind: Kind) -> Entry {
    Entry {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: mtime(st),
        ctime: ctime(st),
        size: if kind == Kind::File { st.st_size as u64 } else { 0 },
        dev: st.st_dev,
        ino: st.st_ino,
        nlink: st.st_nlink,
        rdev: if matches!(kind, Kind::CharDev | Kind::BlockDev) { st.st_rdev } else { 0 },
        ..Entry::new(name.to_vec(), kind)
    }
}

impl Walker<'_> {
    pub(super) fn record(&mut self, path: &Path, why: impl std::fmt::Display) {
        let msg = format!("{}: {why}", path.display());
        (self.warn)(&msg);
        self.counters.errors += 1;
        self.progress.errors.fetch_add(1, Ordering::Relaxed);
        self.failed.push((path_bytes(path), why.to_string()));
    }

    /// The entry for a stat result, with owner names and xattrs.
    pub fn base_entry(&mut self, dir: RawFd, name: &[u8], st: &libc::stat, kind: Kind, path: &Path) -> Entry {
        let mut entry = self.owned_entry(name, st, kind);
        entry.xattrs = self.xattrs(path, sys::xattrs_at(dir, name));
        entry
    }

    /// The entry for a stat result, with owner names.
    fn owned_entry(&mut self, name: &[u8], st: &libc::stat, kind: Kind) -> Entry {
        let user = self.users.entry(st.st_uid).or_insert_with(|| sys::user_name(st.st_uid).unwrap_or_default()).clone();
        let group =
            self.groups.entry(st.st_gid).or_insert_with(|| sys::group_name(st.st_gid).unwrap_or_default()).clone();
        Entry { user, group, ..stat_entry(name, st, kind) }
    }

    /// Extended attributes as read, or none with the failure recorded.
    fn xattrs(&mut self, path: &Path, read: io::Result<Vec<(Vec<u8>, Vec<u8>)>>) -> Vec<(Vec<u8>, Vec<u8>)> {
        read.unwrap_or_else(|e| {
            self.record(path, format!("reading extended attributes: {e}"));
            Vec::new()
        })
    }

    /// Builds the entry for `name` in `dir` (`source`: a source path
    /// itself); `None` when it is skipped.
    pub fn entry(
        &mut self,
        dir: RawFd,
        name: &[u8],
        path: &Path,
        parent: Option<&Entry>,
        source: bool,
    ) -> Result<Option<Pending>> {
        if self.excludes.matches(path, name) {
            return Ok(None);
        }
        let st = match sys::fstatat(dir, name) {
            Ok(st) => st,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && !source && self.own.is_mount_point(path) => {
                // Another user's mount, which root may not look at either.
                log::info!("{}: left out: {}", path.display(), OwnDir::Mount.what());
                return Ok(None);
            }
            Err(e) => {
                let why = if e.kind() == io::ErrorKind::NotFound {
                    "vanished before it was read".to_string()
                } else {
                    e.to_string()
                };
                self.record(path, why);
                return Ok(None);
            }
        };
        let Some(kind) = kind_of(st.st_mode) else {
            (self.warn)(&format!("{}: socket skipped", path.display()));
            return Ok(None);
        };
        // Extended attributes are read below: through the fd where the
        // entry is opened anyway (no path lookup through /proc).
        let mut entry = self.owned_entry(name, &st, kind);
        // The progress line shows a path now and then, not every entry's
        // (a format and a lock each).
        self.unshown += 1;
        if self.unshown >= 64 || kind == Kind::Dir {
            self.unshown = 0;
            self.progress.current.lock().unwrap_or_else(|e| e.into_inner()).clone_from(&path.display().to_string());
        }
        if !matches!(kind, Kind::File | Kind::Dir) {
            entry.xattrs = self.xattrs(path, sys::xattrs_at(dir, name));
        }
        match kind {
            Kind::Symlink => match sys::readlinkat(dir, name) {
                Ok(t) => entry.target = t,
                Err(e) => {
                    self.record(path, format!("reading symlink: {e}"));
                    return Ok(None);
                }
            },
            Kind::Dir => {
                if self.depth >= DEPTH_MAX {
                    self.record(path, format!("nested deeper than {DEPTH_MAX} directories: left out"));
                    return Ok(None);
                }
                if let Some(own) = if source { None } else { self.own.dir(st.st_dev, st.st_ino, self.root_dev) } {
                    log::info!("{}: left out: {}", path.display(), own.what());
                    return Ok(None);
                }
                let parent_dir = parent.filter(|p| p.kind == Kind::Dir);
                let subtree = if self.excludes.one_file_system && st.st_dev != self.root_dev {
                    entry.xattrs = self.xattrs(path, sys::xattrs_at(dir, name));
                    self.open_dir();
                    self.finish_dir(Vec::new())?
                } else {
                    let fd = match sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) {
                        Ok(fd) => fd,
                        Err(e) => {
                            self.record(path, format!("opening directory: {e}"));
                            return Ok(None);
                        }
                    };
                    if self.excludes.caches && is_cache_dir(fd.as_raw_fd()) {
                        return Ok(None);
                    }
                    if let Some(marker) =
                        self.excludes.if_present.iter().find(|m| sys::fstatat(fd.as_raw_fd(), m).is_ok())
                    {
                        log::info!("{}: left out: it holds {}", path.display(), String::from_utf8_lossy(marker));
                        return Ok(None);
                    }
                    entry.xattrs = self.xattrs(path, sys::fxattrs(fd.as_raw_fd()));
                    self.walk_dir(fd, path, parent_dir)?
                };
                self.counters.dirs += 1;
                return Ok(Some(Pending::Dir(entry, subtree)));
            }
            Kind::File => {
                if self.excludes.larger_than.is_some_and(|max| entry.size > max) && !source {
                    log::info!("{}: left out: {} bytes, over --exclude-larger-than", path.display(), entry.size);
                    return Ok(None);
                }
                self.progress.files.fetch_add(1, Ordering::Relaxed);
                if let Some(group) = entry.link_group() {
                    if let Some(slot) = self.links.get(&group).cloned() {
                        entry.xattrs = self.xattrs(path, sys::xattrs_at(dir, name));
                        return Ok(Some(Pending::File(entry, slot, path.to_path_buf(), Origin::Linked)));
                    }
                }
                let unchanged = parent.filter(|p| {
                    p.kind == Kind::File
                        && p.size == entry.size
                        && p.mtime == entry.mtime
                        && p.ctime == entry.ctime
                        && p.ino == entry.ino
                        && !self.lacks(&p.content)
                });
                if let Some(p) = unchanged {
                    entry.xattrs = self.xattrs(path, sys::xattrs_at(dir, name));
                    self.counters.files_unchanged += 1;
                    self.progress.bytes_unchanged.fetch_add(entry.size, Ordering::Relaxed);
                    entry.content = p.content.clone();
                    entry.hash = p.hash;
                    return Ok(Some(Pending::Ready(entry)));
                }
                let origin = if parent.is_some() { Origin::Changed } else { Origin::New };
                let Some(slot) = self.read_file(dir, name, path, &mut entry)? else {
                    return Ok(None);
                };
                if let Some(group) = entry.link_group() {
                    self.links.insert(group, slot.clone());
                }
                return Ok(Some(Pending::File(entry, slot, path.to_path_buf(), origin)));
            }
            Kind::Fifo | Kind::CharDev | Kind::BlockDev => {}
        }
        Ok(Some(Pending::Ready(entry)))
    }

    /// Whether `content` uses a record `repair` removed: the file is read
    /// again, which stores it again should the file still hold its data.
    fn lacks(&self, content: &Content) -> bool {
        !self.lost.is_empty() && self.repo.content_uses(content, self.lost)
    }

    /// Opens a file and queues it for the readers; its slot fills as they go.
    fn read_file(&mut self, dir: RawFd, name: &[u8], path: &Path, entry: &mut Entry) -> Result<Option<Arc<FileSlot>>> {
        // O_NONBLOCK: should the file have been replaced by a FIFO since it
        // was listed, opening that would wait for a writer, perhaps forever
        // (the fstat below then tells it apart). Regular files ignore it.
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd = match sys::openat(dir, name, flags | libc::O_NOATIME, 0).or_else(|_| sys::openat(dir, name, flags, 0))
        {
            Ok(fd) => fd,
            Err(e) => {
                let why = if e.kind() == io::ErrorKind::NotFound {
                    "vanished before it was read".to_string()
                } else {
                    format!("opening: {e}")
                };
                self.record(path, why);
                return Ok(None);
            }
        };
        let before = sys::fstat(fd.as_raw_fd()).map_err(|e| Error::io(path, e))?;
        if before.st_ino != entry.ino || before.st_mode & libc::S_IFMT != libc::S_IFREG {
            self.record(path, "replaced while being read");
            return Ok(None);
        }
        entry.size = before.st_size as u64;
        entry.xattrs = self.xattrs(path, sys::fxattrs(fd.as_raw_fd()));
        let slot = FileSlot::new();
        let job = ReadJob { fd, before, path: path.to_path_buf(), slot: slot.clone() };
        self.reads.send(job).map_err(|_| Error::Invalid("the file readers stopped".into()))?;
        Ok(Some(slot))
    }

    /// Walks an open directory; its tree id is set once the builder stores
    /// it. Its entries go to the builder in batches, and the parent
    /// snapshot's tree of it is read a part at a time, and its names are
    /// sorted on disk when there are many (`SortedNames`): a huge directory
    /// is never held.
    pub fn walk_dir(&mut self, fd: OwnedFd, path: &Path, parent: Option<&Entry>) -> Result<TreeRef> {
        let names = match SortedNames::read(fd.as_raw_fd()) {
            Ok(n) => Some(n),
            Err(e) => {
                self.record(path, format!("listing directory: {e}"));
                None
            }
        };
        let unreadable = |e: Error| format!("{}: parent snapshot's tree unreadable, reading all: {e}", path.display());
        let mut parent_tree = match parent.and_then(|p| p.subtree) {
            Some(id) => match TreeCursor::open(self.repo, &id) {
                Ok(t) => Some(t),
                Err(e) => {
                    (self.warn)(&unreadable(e));
                    None
                }
            },
            None => None,
        };
        self.open_dir();
        let mut pending = Vec::new();
        for name in names.into_iter().flatten() {
            let name = match name {
                Ok(name) => name,
                Err(e) => {
                    self.record(path, format!("listing directory: {e}"));
                    break;
                }
            };
            let child = path.join(sys::os(&name));
            let mut lost = false;
            let prev = match parent_tree.as_mut().map(|t| t.find(&name)) {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    (self.warn)(&unreadable(e));
                    lost = true;
                    None
                }
                None => None,
            };
            if let Some(p) = self.entry(fd.as_raw_fd(), &name, &child, prev, false)? {
                pending.push(p);
                if pending.len() == BATCH {
                    self.send(std::mem::take(&mut pending), None)?;
                }
            }
            if lost {
                parent_tree = None;
            }
        }
        self.finish_dir(pending)
    }

    /// Starts a directory: the entries sent until its `finish_dir` are its.
    pub fn open_dir(&mut self) {
        self.depth += 1;
    }

    /// Hands the current directory's last entries to the tree builder.
    pub fn finish_dir(&mut self, pending: Vec<Pending>) -> Result<TreeRef> {
        let tree = TreeRef::default();
        self.send(pending, Some(tree.clone()))?;
        self.depth -= 1;
        Ok(tree)
    }

    fn send(&mut self, pending: Vec<Pending>, done: Option<TreeRef>) -> Result<()> {
        let job = DirJob { depth: self.depth - 1, pending, done };
        self.dirs.send(job).map_err(|_| Error::Invalid("the tree builder stopped".into()))
    }
}

/// Entries handed to the tree builder at a time. With the builder's queue,
/// this bounds the entries in flight (waiting for their content) however
/// large a directory is.
const BATCH: usize = 256;

fn is_cache_dir(dir: RawFd) -> bool {
    let Ok(fd) = sys::openat(dir, b"CACHEDIR.TAG", libc::O_RDONLY | libc::O_NOFOLLOW, 0) else {
        return false;
    };
    let mut buf = [0u8; CACHEDIR_SIGNATURE.len()];
    matches!(sys::pread_exact(fd.as_raw_fd(), &mut buf, 0), Ok(n) if n == buf.len() && buf == CACHEDIR_SIGNATURE)
}
