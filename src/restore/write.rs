//! The content writers: a pool that writes each created file's data and
//! then its attributes, and what they report back to the walk.

use super::select::XattrFilter;
use crate::format::tree::{Entry, Piece};
use crate::reader::{FileMap, Reader};
use crate::repo::Repo;
use crate::sys;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};

/// A created regular file whose content and attributes a worker writes.
pub(super) struct FileJob {
    pub(super) fd: OwnedFd,
    pub(super) entry: Entry,
    /// The directory it is in, as the user named it.
    pub(super) dir: Arc<Path>,
    /// The file was created with another owner than the entry's.
    pub(super) chown: bool,
    /// The file was created without the entry's final mode.
    pub(super) chmod: bool,
}

/// What the content writers report back to the walk.
#[derive(Default)]
pub(super) struct Written {
    pub(super) errors: Mutex<Vec<String>>,
    /// Files created by the walk whose content was not written, and their bytes.
    pub(super) failed: AtomicU64,
    pub(super) failed_bytes: AtomicU64,
    /// The target's filesystem is full: the restore stops.
    pub(super) full: OnceLock<String>,
    /// The xattrs to set.
    pub(super) xattrs: XattrFilter,
    /// Xattrs that could not be set, by name and errno: how many files
    /// failed so after the first, which alone is reported on its own.
    pub(super) xattr_failures: Mutex<HashMap<(Vec<u8>, i32), u64>>,
}

impl Written {
    pub(super) fn fail(&self, msg: String) {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
    }

    /// Records `err` at `path` as what stops the restore, if it says the
    /// filesystem is full (or the owner's quota is); returns whether it did.
    pub(super) fn note_full(&self, path: &Path, err: &std::io::Error) -> bool {
        let full = matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT));
        if full {
            let _ = self.full.set(format!("{}: {err}", path.display()));
        }
        full
    }

    /// The message for xattr `name` failing to be set on `path` with `err`,
    /// unless the same name failed the same way before: a target that
    /// refuses an xattr refuses it on every file, and one line says so.
    pub(super) fn xattr_failed(&self, path: &Path, name: &[u8], err: &std::io::Error) -> Option<String> {
        let lossy = String::from_utf8_lossy(name);
        let msg = format!("{}: setting xattr {lossy}: {err}", path.display());
        let Some(errno) = err.raw_os_error() else { return Some(msg) };
        let mut seen = self.xattr_failures.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(&(name.to_vec(), errno)) {
            Some(more) => {
                *more += 1;
                None
            }
            None => {
                seen.insert((name.to_vec(), errno), 0);
                Some(format!(
                    "{msg} (further files where it fails so are counted at the end; --exclude-xattr '{lossy}' leaves \
                     it out)"
                ))
            }
        }
    }

    /// One line for each xattr that failed on more files than it was
    /// reported for.
    pub(super) fn xattr_summary(&self) -> Vec<String> {
        let seen = self.xattr_failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<_> = seen.iter().filter(|(_, &n)| n > 0).collect();
        lines.sort();
        lines
            .into_iter()
            .map(|((name, errno), n)| {
                let err = std::io::Error::from_raw_os_error(*errno);
                format!("setting xattr {} failed on {n} more files the same way: {err}", String::from_utf8_lossy(name))
            })
            .collect()
    }
}

/// Writes a file's data, skipping holes, then its attributes through the
/// fd. A file whose content cannot be written whole (a chunk that cannot be
/// read, a failed write) is removed, not left plausible with a hole of
/// zeros, and reported; the restore goes on, unless the disk is full.
pub(super) fn write_file(repo: &Repo, reader: &Reader, job: FileJob, written: &Written) {
    let FileJob { fd, entry: e, dir, chown, chmod } = job;
    let path = dir.join(sys::os(&e.name));
    let fail = |why: String| written.fail(format!("{}: {why}", path.display()));
    // Removes the file, counted as not restored; says what became of it.
    let discard = |fd: OwnedFd| {
        drop(fd);
        written.failed.fetch_add(1, AtomicOrdering::Relaxed);
        written.failed_bytes.fetch_add(e.size, AtomicOrdering::Relaxed);
        match std::fs::remove_file(&path) {
            Ok(()) => "not restored".to_string(),
            Err(rm) => format!("left incomplete (removing it: {rm})"),
        }
    };
    // Out of room: not even an empty file stays to look restored.
    if written.full.get().is_some() {
        discard(fd);
        return;
    }
    let map = match FileMap::load(repo, &e) {
        Ok(m) => m,
        Err(err) => return fail(format!("{}: {err}", discard(fd))),
    };
    let raw = fd.as_raw_fd();
    let (mut at, mut end) = (0u64, 0u64);
    for piece in map.pieces() {
        if let Piece::Data { id, .. } = piece {
            match reader.chunk(repo, id) {
                Ok(data) => {
                    if let Err(err) = write_all_at(raw, &data, at) {
                        let gone = discard(fd);
                        if !written.note_full(&path, &err) {
                            fail(format!("{gone}: writing: {err}"));
                        }
                        return;
                    }
                    end = at + data.len() as u64;
                }
                Err(err) => return fail(format!("{}: damaged in the repository: {err}", discard(fd))),
            }
        }
        at += piece.len();
    }
    // Only a trailing hole leaves the size short.
    if end != map.size() && unsafe { libc::ftruncate(raw, map.size() as libc::off_t) } != 0 {
        let err = std::io::Error::last_os_error();
        return fail(format!("{}: setting size: {err}", discard(fd)));
    }
    // Same order as `Restorer::metadata`: chown clears setuid and capabilities.
    if chown && unsafe { libc::fchown(raw, e.uid, e.gid) } != 0 {
        fail(format!("setting owner: {}", std::io::Error::last_os_error()));
    }
    for (k, v) in e.xattrs.iter().filter(|(k, _)| written.xattrs.wants(k)) {
        if let Err(err) = sys::fset_xattr(raw, k, v) {
            if let Some(msg) = written.xattr_failed(&path, k, &err) {
                written.fail(msg);
            }
        }
    }
    if chmod && unsafe { libc::fchmod(raw, e.mode as libc::mode_t) } != 0 {
        fail(format!("setting mode: {}", std::io::Error::last_os_error()));
    }
    let t = libc::timespec { tv_sec: e.mtime.secs as libc::time_t, tv_nsec: e.mtime.nanos as libc::c_long };
    if unsafe { libc::futimens(raw, [t, t].as_ptr()) } != 0 {
        fail(format!("setting times: {}", std::io::Error::last_os_error()));
    }
}

fn write_all_at(fd: RawFd, mut data: &[u8], mut at: u64) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), at as libc::off_t) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
        at += n as u64;
    }
    Ok(())
}
