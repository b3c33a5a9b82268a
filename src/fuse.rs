//! The fuser adapter: the only module that imports fuser. Each callback asks
//! `vfs`, replies, and maps a `VfsError` to an errno chosen on purpose.
//! Whatever may touch the repository (lookups, attributes, opens, reads,
//! listings, statfs, the content-hash xattr) runs on worker threads that
//! reply themselves, so one slow load never blocks the rest of the mount.

use crate::format::Time;
use crate::vfs::{Attr, NodeType, Stale, Vfs, VfsError};
use fuser::{
    FileAttr, FileType, Filesystem, KernelConfig, ReplyAttr, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty,
    ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Job = Box<dyn FnOnce() + Send>;

pub struct Fs {
    vfs: Arc<Vfs>,
    jobs: crossbeam_channel::Sender<Job>,
    /// The kernel opens files without asking us (answer ENOSYS to open).
    no_open: bool,
    /// Likewise for directories.
    no_opendir: bool,
    /// Ask the kernel to enforce POSIX ACLs.
    acls: bool,
}

/// Hands data to the kernel's page cache for an inode (FUSE_NOTIFY_STORE),
/// written to a duplicate of the session's /dev/fuse descriptor. fuser's
/// `Notifier::store` reports the kernel's ENOENT as success; read-ahead
/// needs it: the kernel does not hold the inode (yet) and dropped the data.
pub struct PageStore(OwnedFd);

impl PageStore {
    pub fn new(dev: BorrowedFd<'_>) -> io::Result<PageStore> {
        dev.try_clone_to_owned().map(PageStore)
    }

    pub fn store(&self, ino: u64, offset: u64, data: &[u8]) -> io::Result<()> {
        const FUSE_NOTIFY_STORE: i32 = 4;
        const HEAD: usize = 16 + 24; // fuse_out_header, fuse_notify_store_out
        let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "page store of over 4 GiB");
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let len = u32::try_from(HEAD + data.len()).map_err(|_| too_big())?;
        let mut head = [0u8; HEAD];
        head[0..4].copy_from_slice(&len.to_ne_bytes());
        head[4..8].copy_from_slice(&FUSE_NOTIFY_STORE.to_ne_bytes());
        // unique (8..16) is 0 for a notification.
        head[16..24].copy_from_slice(&ino.to_ne_bytes());
        head[24..32].copy_from_slice(&offset.to_ne_bytes());
        head[32..36].copy_from_slice(&size.to_ne_bytes());
        let iov = [
            libc::iovec { iov_base: head.as_ptr() as *mut libc::c_void, iov_len: HEAD },
            libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() },
        ];
        // SAFETY: both buffers outlive the call, which only reads them.
        let n = unsafe { libc::writev(self.0.as_raw_fd(), iov.as_ptr(), 2) };
        match n {
            n if n < 0 => Err(io::Error::last_os_error()),
            n if n as usize != HEAD + data.len() => Err(io::Error::new(io::ErrorKind::WriteZero, "short page store")),
            _ => Ok(()),
        }
    }
}

/// Tells the kernel to drop what a new snapshot list made stale (see
/// `Vfs::refresh`): names first, then attributes and cached listings.
pub fn invalidate(notifier: &fuser::Notifier, stale: &Stale) {
    for (dir, name) in &stale.entries {
        if let Err(e) = notifier.inval_entry(*dir, OsStr::from_bytes(name)) {
            log::warn!("the kernel kept the name {:?} in inode {dir}: {e}", String::from_utf8_lossy(name));
        }
    }
    for &ino in &stale.inodes {
        if let Err(e) = notifier.inval_inode(ino, 0, 0) {
            log::warn!("the kernel kept the attributes of inode {ino}: {e}");
        }
    }
}

fn errno(e: VfsError) -> libc::c_int {
    match e {
        VfsError::NotFound => libc::ENOENT,
        VfsError::NotDir => libc::ENOTDIR,
        VfsError::IsDir => libc::EISDIR,
        VfsError::NotLink => libc::EINVAL,
        VfsError::NoData => libc::ENODATA,
        VfsError::Range => libc::ERANGE,
        VfsError::BadHandle => libc::EBADF,
        VfsError::Io => libc::EIO,
    }
}

fn system_time(t: Time) -> SystemTime {
    if t.secs >= 0 {
        UNIX_EPOCH + Duration::new(t.secs as u64, t.nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + Duration::from_nanos(t.nanos as u64)
    }
}

fn file_type(k: NodeType) -> FileType {
    match k {
        NodeType::Dir => FileType::Directory,
        NodeType::File => FileType::RegularFile,
        NodeType::Symlink => FileType::Symlink,
        NodeType::Fifo => FileType::NamedPipe,
        NodeType::CharDev => FileType::CharDevice,
        NodeType::BlockDev => FileType::BlockDevice,
    }
}

fn file_attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: a.ino,
        size: a.size,
        blocks: a.blocks,
        atime: system_time(a.mtime),
        mtime: system_time(a.mtime),
        ctime: system_time(a.ctime),
        crtime: system_time(a.mtime),
        kind: file_type(a.kind),
        perm: a.perm,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev as u32,
        blksize: 1 << 20,
        flags: 0,
    }
}

impl Fs {
    /// `workers` threads serve reads and listings. With `acls` the kernel
    /// checks access against the snapshot's POSIX ACLs, not the mode bits
    /// alone (whose group bits are the ACL mask: an ACL that denies the
    /// owning group would not be honoured, nor one that grants a user
    /// more). It then asks for the ACL of each file a caller does not own,
    /// once: wanted wherever anyone but root can reach the mount.
    pub fn new(vfs: Arc<Vfs>, workers: usize, acls: bool) -> Fs {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(256);
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("strata-fuse-{i}"))
                .spawn(move || {
                    for job in rx {
                        // A panic fails its request (the reply, dropped,
                        // answers EIO), not the worker: a dead worker would
                        // leave the queue to fill and the mount to hang.
                        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                            log::error!("a request failed with an internal error (reported as EIO)");
                        }
                    }
                })
                .expect("spawning a FUSE worker thread");
        }
        Fs { vfs, jobs: tx, no_open: false, no_opendir: false, acls }
    }

    fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        // The channel lives as long as `self`; should it ever be closed the
        // job (and its reply) is dropped, which fuser answers with EIO.
        let _ = self.jobs.send(Box::new(job));
    }
}

/// Fault injection for the tests, as prune's `STRATA_CRASH_AT`: with
/// `STRATA_FAULT=stall:NAME` a lookup of NAME takes 3 s on its worker (a
/// slow load), with `STRATA_FAULT=panic:NAME` it panics there.
fn fault(name: &[u8]) {
    static FAULT: std::sync::OnceLock<Option<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    let fault = FAULT.get_or_init(|| {
        let v = std::env::var("STRATA_FAULT").ok()?;
        let (kind, name) = v.split_once(':')?;
        Some((kind.to_string(), name.as_bytes().to_vec()))
    });
    match fault {
        Some((kind, n)) if n == name && kind == "stall" => std::thread::sleep(Duration::from_secs(3)),
        Some((kind, n)) if n == name && kind == "panic" => panic!("injected fault (STRATA_FAULT)"),
        _ => {}
    }
}

fn reply_data(reply: ReplyData, data: Result<impl std::ops::Deref<Target = [u8]>, VfsError>) {
    match data {
        Ok(d) => reply.data(&d),
        Err(e) => reply.error(errno(e)),
    }
}

fn reply_xattr(reply: ReplyXattr, size: u32, data: Result<Vec<u8>, VfsError>) {
    match data {
        Ok(d) if size == 0 => reply.size(d.len() as u32),
        Ok(d) if d.len() > size as usize => reply.error(libc::ERANGE),
        Ok(d) => reply.data(&d),
        Err(e) => reply.error(errno(e)),
    }
}

impl Filesystem for Fs {
    fn init(&mut self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), libc::c_int> {
        // Best effort: an older kernel simply keeps its defaults. The
        // kernel's read-ahead stays capped by the mount's bdi (read_ahead_kb,
        // 128 KiB by default); raising that by hand to 4 MiB cut the
        // requests for two large files fourfold, and 1-4 MiB saved no time:
        // large files are bound by decoding, not by round trips.
        let _ = config.set_max_readahead(1 << 20);
        // Reads go by inode, so opening a file needs no round trip to us.
        self.no_open = config.add_capabilities(fuser::consts::FUSE_NO_OPEN_SUPPORT).is_ok();
        self.no_opendir = config.add_capabilities(fuser::consts::FUSE_NO_OPENDIR_SUPPORT).is_ok();
        if self.acls && config.add_capabilities(fuser::consts::FUSE_POSIX_ACL).is_err() {
            log::warn!("this kernel cannot enforce POSIX ACLs on FUSE mounts: access is checked by mode bits only");
        }
        // Always readdirplus (not "auto"): every listed entry then reaches
        // the kernel with its attributes, so walking a tree after listing it
        // (find, then tar) needs no lookups, and read-ahead can hand the
        // listed files' data to the kernel.
        let _ = config.add_capabilities(
            fuser::consts::FUSE_ASYNC_READ
                | fuser::consts::FUSE_CACHE_SYMLINKS
                | fuser::consts::FUSE_PARALLEL_DIROPS
                | fuser::consts::FUSE_DO_READDIRPLUS,
        );
        Ok(())
    }

    // Everything that may load a tree or chunk list runs on a worker: the
    // session thread only reads requests and answers what memory holds.
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let (vfs, name) = (self.vfs.clone(), name.as_bytes().to_vec());
        self.spawn(move || {
            fault(&name);
            match vfs.lookup(parent, &name) {
                Ok((a, ttl)) => reply.entry(&ttl, &file_attr(&a), 0),
                Err(e) => reply.error(errno(e)),
            }
        });
    }

    fn forget(&mut self, _req: &Request<'_>, ino: u64, nlookup: u64) {
        self.vfs.forget(ino, nlookup);
    }

    fn batch_forget(&mut self, _req: &Request<'_>, nodes: &[fuser::fuse_forget_one]) {
        for n in nodes {
            self.vfs.forget(n.nodeid, n.nlookup);
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        let vfs = self.vfs.clone();
        self.spawn(move || match vfs.getattr(ino) {
            Ok((a, ttl)) => reply.attr(&ttl, &file_attr(&a)),
            Err(e) => reply.error(errno(e)),
        });
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        reply_data(reply, self.vfs.readlink(ino));
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(libc::EROFS);
        }
        let (vfs, no_open) = (self.vfs.clone(), self.no_open);
        self.spawn(move || match vfs.open(ino) {
            // ENOSYS with no-open support means "open without asking me
            // again"; the kernel then keeps the page cache, as we ask here.
            Ok(()) if no_open => reply.error(libc::ENOSYS),
            // Content never changes: keep the page cache across opens.
            Ok(()) => reply.opened(0, fuser::consts::FOPEN_KEEP_CACHE),
            Err(e) => reply.error(errno(e)),
        });
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let offset = offset.max(0) as u64;
        if let Some(result) = self.vfs.read_cached(ino, offset, size) {
            return reply_data(reply, result);
        }
        let vfs = self.vfs.clone();
        self.spawn(move || reply_data(reply, vfs.read(ino, offset, size)));
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _flags: i32,
        _lock: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn opendir(&mut self, _req: &Request<'_>, _ino: u64, _flags: i32, reply: ReplyOpen) {
        if self.no_opendir {
            // "Open without asking me again", caching listings as below.
            return reply.error(libc::ENOSYS);
        }
        reply.opened(0, fuser::consts::FOPEN_CACHE_DIR | fuser::consts::FOPEN_KEEP_CACHE);
    }

    fn readdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, offset: i64, mut reply: ReplyDirectory) {
        let vfs = self.vfs.clone();
        self.spawn(move || match vfs.readdir(ino, offset, 512) {
            Ok(entries) => {
                for e in entries {
                    if reply.add(e.ino, e.next, file_type(e.kind), OsStr::from_bytes(&e.name)) {
                        break;
                    }
                }
                reply.ok();
                vfs.listed(ino, offset, false);
            }
            Err(e) => reply.error(errno(e)),
        });
    }

    fn readdirplus(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, offset: i64, mut reply: ReplyDirectoryPlus) {
        let vfs = self.vfs.clone();
        self.spawn(move || match vfs.readdirplus(ino, offset, 256) {
            Ok(entries) => {
                for (e, listed) in entries {
                    let name = OsStr::from_bytes(&e.name);
                    if reply.add(e.ino, e.next, name, &listed.ttl, &file_attr(&listed.attr), 0) {
                        break;
                    }
                    vfs.keep(&listed);
                }
                reply.ok();
                vfs.listed(ino, offset, true);
            }
            Err(e) => reply.error(errno(e)),
        });
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        let vfs = self.vfs.clone();
        self.spawn(move || {
            let blocks = vfs.repo_bytes().div_ceil(4096);
            reply.statfs(blocks, 0, 0, vfs.live_inodes() as u64, 0, 4096, 255, 4096);
        });
    }

    fn getxattr(&mut self, _req: &Request<'_>, ino: u64, name: &OsStr, size: u32, reply: ReplyXattr) {
        // Every xattr, the content hash too, is in the entry, in memory
        // (and `ls -l` asks for two a file): answered here.
        reply_xattr(reply, size, self.vfs.getxattr(ino, name.as_bytes()));
    }

    fn listxattr(&mut self, _req: &Request<'_>, ino: u64, size: u32, reply: ReplyXattr) {
        reply_xattr(reply, size, self.vfs.listxattr(ino));
    }

    fn access(&mut self, _req: &Request<'_>, _ino: u64, mask: i32, reply: ReplyEmpty) {
        if mask & libc::W_OK != 0 {
            reply.error(libc::EROFS)
        } else {
            reply.ok()
        }
    }

    fn lseek(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, offset: i64, whence: i32, reply: ReplyLseek) {
        let data = match whence {
            libc::SEEK_DATA => true,
            libc::SEEK_HOLE => false,
            _ => return reply.error(libc::EINVAL),
        };
        let vfs = self.vfs.clone();
        self.spawn(move || match vfs.lseek(ino, offset.max(0) as u64, data) {
            Ok(o) => reply.offset(o as i64),
            Err(VfsError::NoData) => reply.error(libc::ENXIO),
            Err(e) => reply.error(errno(e)),
        });
    }
}
