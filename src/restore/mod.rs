//! `restore`: materialise a snapshot's tree (or part of it) on disk, with
//! every attribute the backup kept. Works through directory fds, so deep
//! paths restore; sets a directory's times after its contents; writes holes
//! as holes; recreates hardlinks as links; verifies every chunk against its
//! id and carries on past a bad one, reporting it.

use crate::error::{Error, Result};
use crate::format::tree::{join_path, Entry, Kind};
use crate::reader::Reader;
use crate::repo::{Repo, TreeCursor};
use crate::sorted_names::SortedNames;
use crate::sys;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;

mod select;
mod write;

pub use select::{globs, PathGlobs, XattrFilter};
use write::{write_file, FileJob, Written};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Overwrite {
    /// Keep every existing file.
    Never,
    /// Replace an existing file whose type, size or mtime differ.
    IfChanged,
    /// Replace every existing file.
    Always,
}

/// Told of every action: ("create" | "overwrite" | "delete" | "skip", path).
pub type Report = Box<dyn FnMut(&str, &Path)>;

pub struct Options {
    /// `None`: the target must be empty or absent.
    pub overwrite: Option<Overwrite>,
    pub delete: bool,
    pub dry_run: bool,
    pub include: Option<PathGlobs>,
    pub exclude: Option<PathGlobs>,
    pub xattrs: XattrFilter,
    pub report: Report,
    pub warn: Box<dyn FnMut(&str)>,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub deleted: u64,
    pub errors: Vec<String>,
}

/// A target directory's names, sorted, as restore merges them with a tree's.
type Existing = std::iter::Peekable<SortedNames>;

/// The owner an entry created in the directory being restored gets, learnt
/// from the first one created there (the process's fsuid, and the
/// directory's group when it is setgid; a filesystem may squash either).
/// Entries already created with their own owner skip the chown, and files
/// then also start with their final permission bits: the attribute calls
/// are most of the cost of a small file.
#[derive(Clone, Copy)]
enum FreshOwner {
    Unseen,
    Known(u32, u32),
    Unknown,
}

struct Restorer<'a> {
    repo: &'a Repo,
    written: &'a Written,
    /// To the content writers; `None` in a dry run.
    files: Option<crossbeam_channel::Sender<FileJob>>,
    opts: Options,
    root: OwnedFd,
    owners: bool,
    /// First restored path (relative to the target) of each hardlink group.
    links: HashMap<(u64, u64), Vec<u8>>,
    /// The directory whose entries are being created: its path, and the
    /// owner a new entry gets there.
    here: Arc<Path>,
    fresh_owner: FreshOwner,
    /// Where the repository read from is, should the target hold it (as
    /// the target's path joined with the way there): never deleted,
    /// replaced or restored over.
    repo_at: Option<PathBuf>,
    /// The process's umask, which `openat` applies to a new file's mode.
    umask: u32,
    /// Which --include patterns matched a path so far.
    included: Vec<bool>,
    summary: Summary,
}

/// Restores `entry` (a directory's contents, or one other entry) into `target`.
pub fn run(repo: &Repo, entry: &Entry, target: &Path, mut opts: Options) -> Result<Summary> {
    let is_dir = entry.kind == Kind::Dir;
    // The target as it is on disk (its parent's, should it not exist yet).
    let on_disk = sys::resolve_new(target);
    let repo_at = match (std::fs::canonicalize(repo.path()), on_disk) {
        (Ok(r), Some(t)) if t.starts_with(&r) => {
            return Err(Error::Invalid(format!(
                "restore target {} is inside the repository {}: restore somewhere else",
                target.display(),
                repo.path().display()
            )));
        }
        (Ok(r), Some(t)) => r.strip_prefix(&t).ok().map(|inside| target.join(inside)),
        _ => None,
    };
    match std::fs::read_dir(target) {
        Ok(mut it) => {
            if it.next().is_some() && opts.overwrite.is_none() {
                return Err(Error::Invalid(format!(
                    "restore target {} is not empty: choose --overwrite never|if-changed|always",
                    target.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !opts.dry_run {
                std::fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
            }
        }
        Err(e) => return Err(Error::io(target, e)),
    }
    let root = if opts.dry_run && !target.exists() {
        sys::open_dir(Path::new("/")).map_err(|e| Error::io("/", e))?
    } else {
        sys::open_dir(target).map_err(|e| Error::io(target, e))?
    };
    let owners = sys::is_root();
    let reader = Reader::new(64 << 20);
    let written = Written { xattrs: std::mem::take(&mut opts.xattrs), ..Written::default() };
    let mut r = Restorer {
        repo,
        written: &written,
        files: None,
        opts,
        root,
        owners,
        links: HashMap::new(),
        here: Arc::from(target),
        fresh_owner: FreshOwner::Unseen,
        repo_at,
        umask: sys::umask(),
        included: Vec::new(),
        summary: Summary::default(),
    };
    r.included = vec![false; r.opts.include.as_ref().map_or(0, |g| g.patterns.len())];
    if !r.owners {
        (r.opts.warn)("not running as root: file owners are not restored");
    }
    // File contents are written by a pool, in parallel with the walk, which
    // creates every entry in order; directory times are set by the walk
    // after their entries exist (writing a file's data leaves them alone).
    let result = std::thread::scope(|scope| {
        // Twice the cores: a worker waiting for a chunk from disk leaves its
        // core to another (restore of the bench corpus, cold: 4.4 s -> 3.4 s).
        let workers = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
        let (tx, rx) = crossbeam_channel::bounded::<FileJob>(4 * workers);
        for _ in 0..workers {
            let (rx, reader, written) = (rx.clone(), &reader, &written);
            scope.spawn(move || {
                for job in rx {
                    write_file(repo, reader, job, written);
                }
            });
        }
        if !r.opts.dry_run {
            r.files = Some(tx);
        }
        let root_fd = r.root.as_raw_fd();
        let result = if is_dir {
            (|| {
                let id = entry.subtree.ok_or_else(|| Error::corrupt("directory entry", "no tree"))?;
                let tree = TreeCursor::open(repo, &id)?;
                let exists = !r.opts.dry_run || target.exists();
                r.dir_contents(root_fd, Some(tree), target, b"", exists, true)?;
                if !r.opts.dry_run {
                    r.metadata(root_fd, b".", entry, target, owners);
                }
                Ok(())
            })()
        } else {
            let present = (!r.opts.dry_run || target.exists()) && sys::fstatat(root_fd, &entry.name).is_ok();
            r.entry(root_fd, entry.clone(), target, b"", present, true).map(drop)
        };
        r.files = None; // the workers finish the queue, and the scope joins them
        result
    });
    let mut late = std::mem::take(&mut *written.errors.lock().unwrap_or_else(|e| e.into_inner()));
    late.extend(written.xattr_summary());
    // A pattern that matched nothing is most likely a mistake (as borg
    // says): the restore would end, quietly, with less than was wanted.
    if let (Some(g), Ok(())) = (&r.opts.include, &result) {
        for (p, _) in g.patterns.iter().zip(&r.included).filter(|(_, hit)| !**hit) {
            late.push(format!("--include {p:?}: matched nothing in the restored tree"));
        }
    }
    for msg in late {
        (r.opts.warn)(&msg);
        r.summary.errors.push(msg);
    }
    r.summary.files -= written.failed.load(AtomicOrdering::Relaxed);
    r.summary.bytes -= written.failed_bytes.load(AtomicOrdering::Relaxed);
    if let Some(why) = written.full.get() {
        return Err(Error::Invalid(format!(
            "restore into {} stopped, its filesystem is full: {why}; {} files were restored before that \
             (make room, then run the same restore with --overwrite if-changed to finish it)",
            target.display(),
            r.summary.files
        )));
    }
    result.map(|()| r.summary)
}

fn owner_of(st: std::io::Result<libc::stat>) -> FreshOwner {
    st.map_or(FreshOwner::Unknown, |st| FreshOwner::Known(st.st_uid, st.st_gid))
}

impl Restorer<'_> {
    fn fail(&mut self, path: &Path, why: impl std::fmt::Display) {
        let msg = format!("{}: {why}", path.display());
        (self.opts.warn)(&msg);
        self.summary.errors.push(msg);
    }

    /// Names already in a target directory, sorted as a tree's entries
    /// are; a listing failure is reported.
    fn existing(&mut self, dir: RawFd, path: &Path) -> Option<Existing> {
        match SortedNames::read(dir) {
            Ok(names) => Some(names.peekable()),
            Err(e) => {
                self.fail(path, format!("listing the existing directory: {e}"));
                None
            }
        }
    }

    /// Moves past the existing names before `name` (all that are left for
    /// `None`): they are not in the tree, and --delete deletes them.
    /// Returns whether `name` itself exists.
    fn pass_existing(
        &mut self,
        dir: RawFd,
        (path, rel): (&Path, &[u8]),
        there: &mut Option<Existing>,
        name: Option<&[u8]>,
    ) -> bool {
        if name.is_none() && !self.opts.delete {
            return false;
        }
        while let Some(names) = there.as_mut() {
            let order = match names.peek() {
                None => break,
                Some(Ok(next)) => name.map(|name| next.as_slice().cmp(name)),
                Some(Err(_)) => {
                    if let Some(Err(e)) = names.next() {
                        self.fail(path, format!("listing the existing directory: {e}"));
                    }
                    *there = None;
                    break;
                }
            };
            match order {
                Some(Ordering::Greater) => break,
                Some(Ordering::Equal) => {
                    names.next();
                    return true;
                }
                _ => {
                    if let (Some(Ok(extra)), true) = (names.next(), self.opts.delete) {
                        self.delete_extra(dir, (path, rel), &extra);
                    }
                }
            }
        }
        false
    }

    /// Whether `path` is the repository read from, or a directory above it
    /// (telling why it is left alone).
    fn holds_repo(&mut self, path: &Path) -> bool {
        let holds = self.repo_at.as_deref().is_some_and(|r| r.starts_with(path));
        if holds {
            let why = if self.repo_at.as_deref() == Some(path) { "is" } else { "holds" };
            (self.opts.warn)(&format!("{}: left alone: it {why} the repository restored from", path.display()));
            (self.opts.report)("skip", path);
            self.summary.skipped += 1;
        }
        holds
    }

    /// Deletes `name`, which the snapshot lacks, unless --include or
    /// --exclude leave its path out of the restore: a restore of a part
    /// deletes only within that part.
    fn delete_extra(&mut self, dir: RawFd, (path, rel): (&Path, &[u8]), name: &[u8]) {
        let p = path.join(sys::os(name));
        let rel = join_path(rel, name);
        let at = Path::new(sys::os(&rel));
        let chosen = self.opts.include.as_ref().is_none_or(|g| g.set.is_match(at))
            && !self.opts.exclude.as_ref().is_some_and(|g| g.set.is_match(at));
        if !chosen || self.holds_repo(&p) {
            return;
        }
        (self.opts.report)("delete", &p);
        self.summary.deleted += 1;
        if !self.opts.dry_run {
            if let Err(e) = remove_all(dir, name) {
                self.fail(&p, format!("deleting: {e}"));
            }
        }
    }

    fn selected(&mut self, rel: &[u8]) -> (bool, bool) {
        let p = Path::new(sys::os(rel));
        let excluded = self.opts.exclude.as_ref().is_some_and(|g| g.set.is_match(p));
        let included = match &self.opts.include {
            None => true,
            Some(g) if self.included.iter().all(|&hit| hit) => g.set.is_match(p),
            Some(g) => {
                let hits = g.set.matches(p);
                for i in &hits {
                    self.included[i / 2] = true;
                }
                !hits.is_empty()
            }
        };
        (excluded, included)
    }

    /// Restores a tree's entries (none without a tree) into the open
    /// directory `dir`, read a part at a time: a huge directory is never
    /// held whole. `list`: the directory may hold entries already (false
    /// for one just made, and in a dry run for one that would be).
    /// `chosen`: an ancestor matched --include (or there is none).
    fn dir_contents(
        &mut self,
        dir: RawFd,
        tree: Option<TreeCursor>,
        path: &Path,
        rel: &[u8],
        list: bool,
        chosen: bool,
    ) -> Result<bool> {
        let mut there = if list { self.existing(dir, path) } else { None };
        let parent = (std::mem::replace(&mut self.here, Arc::from(path)), self.fresh_owner);
        // A default ACL, not the umask, then masks a new entry's mode: every
        // entry gets its chown and chmod, as it would without this shortcut.
        let acl = sys::fhas_xattr(dir, b"system.posix_acl_default");
        self.fresh_owner = if acl { FreshOwner::Unknown } else { FreshOwner::Unseen };
        let restored = self.dir_entries(dir, tree, path, rel, &mut there, chosen);
        (self.here, self.fresh_owner) = parent;
        restored
    }

    /// `dir_contents` in the directory's own context; the existing names
    /// are merged with the tree's as both come, in the same order.
    fn dir_entries(
        &mut self,
        dir: RawFd,
        mut tree: Option<TreeCursor>,
        path: &Path,
        rel: &[u8],
        there: &mut Option<Existing>,
        chosen: bool,
    ) -> Result<bool> {
        let mut any = false;
        // Each entry's path and relative path, built in place.
        let (mut child, mut child_rel) = (path.as_os_str().as_bytes().to_vec(), rel.to_vec());
        if !child.is_empty() && !child.ends_with(b"/") {
            child.push(b'/');
        }
        if !child_rel.is_empty() {
            child_rel.push(b'/');
        }
        let (base, rel_base) = (child.len(), child_rel.len());
        while let Some(cursor) = tree.as_mut() {
            let run = match cursor.next_run() {
                Ok(Some(run)) => run,
                Ok(None) => break,
                Err(err) => {
                    // The entries restored so far stay; the rest are
                    // reported lost, and no name past them is deleted.
                    self.fail(path, err);
                    return Ok(any);
                }
            };
            for e in run {
                let present = self.pass_existing(dir, (path, rel), there, Some(&e.name));
                child.truncate(base);
                child.extend_from_slice(&e.name);
                child_rel.truncate(rel_base);
                child_rel.extend_from_slice(&e.name);
                any |= self.entry(dir, e, Path::new(sys::os(&child)), &child_rel, present, chosen)?;
            }
        }
        self.pass_existing(dir, (path, rel), there, None);
        Ok(any)
    }

    /// Restores one entry; returns whether anything was restored.
    fn entry(&mut self, dir: RawFd, e: Entry, path: &Path, rel: &[u8], present: bool, chosen: bool) -> Result<bool> {
        if self.written.full.get().is_some() {
            // `run` says why.
            return Err(Error::Invalid("restore stopped: the target's filesystem is full".into()));
        }
        let (excluded, included) = self.selected(rel);
        if excluded {
            return Ok(false);
        }
        let chosen = chosen && (self.opts.include.is_none() || included) || (self.opts.include.is_some() && included);
        let st = if present { sys::fstatat(dir, &e.name).ok() } else { None };
        let same_kind_dir =
            st.as_ref().is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR) && e.kind == Kind::Dir;
        // Into a directory above the repository, as into any other; the
        // repository itself, and anything holding it, is never replaced.
        let over_repo = self.repo_at.as_deref() == Some(path) || !same_kind_dir;
        if st.is_some() && over_repo && self.holds_repo(path) {
            return Ok(false);
        }

        if e.kind == Kind::Dir {
            if !same_kind_dir {
                if let Some(st) = &st {
                    if !self.may_replace(dir, &e, st, path) {
                        return Ok(false);
                    }
                    self.remove(dir, &e.name, path)?;
                }
            }
            let creating = !same_kind_dir;
            if creating && chosen {
                (self.opts.report)("create", path);
            }
            let tree = match e.subtree.map(|id| TreeCursor::open(self.repo, &id)).transpose() {
                Ok(t) => t,
                Err(err) => {
                    self.fail(path, err);
                    return Ok(false);
                }
            };
            let dry = self.opts.dry_run;
            if creating && !dry {
                if let Err(err) = sys::mkdirat(dir, &e.name, 0o700) {
                    if !self.written.note_full(path, &err) {
                        self.fail(path, format!("creating directory: {err}"));
                    }
                    return Ok(false);
                }
            }
            // A dry run reads the directory that is there (none when it
            // would be created): what the real run would find.
            let fd = if creating && dry {
                None
            } else {
                match sys::openat(dir, &e.name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) {
                    Ok(fd) => Some(fd),
                    Err(err) => {
                        self.fail(path, format!("opening directory: {err}"));
                        return Ok(false);
                    }
                }
            };
            let (inner, exists) = fd.as_ref().map_or((dir, false), |fd| (fd.as_raw_fd(), true));
            let any = self.dir_contents(inner, tree, path, rel, exists && !creating, chosen)?;
            if !chosen && !any && creating {
                if !dry {
                    let _ = sys::unlinkat(dir, &e.name, true);
                }
                return Ok(false);
            }
            self.summary.dirs += 1;
            if !dry {
                let chown = self.owners;
                self.metadata(dir, &e.name, &e, path, chown);
            }
            return Ok(true);
        }

        if !chosen {
            return Ok(false);
        }
        if let Some(st) = &st {
            if !self.may_replace(dir, &e, st, path) {
                return Ok(false);
            }
            (self.opts.report)("overwrite", path);
            if !self.opts.dry_run {
                self.remove(dir, &e.name, path)?;
            }
        } else {
            (self.opts.report)("create", path);
        }
        if e.kind == Kind::File {
            self.summary.files += 1;
            self.summary.bytes += e.size;
        }
        if self.opts.dry_run {
            return Ok(true);
        }
        let (file, size) = (e.kind == Kind::File, e.size);
        if let Err(err) = self.create(dir, e, path, rel) {
            if file {
                self.summary.files -= 1;
                self.summary.bytes -= size;
            }
            if !matches!(&err, Error::Io { error, .. } if self.written.note_full(path, error)) {
                self.fail(path, err);
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether the entry `st` (named `e.name` in `dir`) is to be replaced.
    fn may_replace(&mut self, dir: RawFd, e: &Entry, st: &libc::stat, path: &Path) -> bool {
        let replace = match self.opts.overwrite {
            None | Some(Overwrite::Never) => false,
            Some(Overwrite::Always) => true,
            Some(Overwrite::IfChanged) => {
                let kind = st.st_mode & libc::S_IFMT;
                let same = match e.kind {
                    Kind::File => {
                        kind == libc::S_IFREG
                            && st.st_size as u64 == e.size
                            && st.st_mtime == e.mtime.secs
                            && st.st_mtime_nsec as u32 == e.mtime.nanos
                    }
                    Kind::Symlink => {
                        kind == libc::S_IFLNK && sys::readlinkat(dir, &e.name).is_ok_and(|t| t == e.target)
                    }
                    Kind::Fifo => kind == libc::S_IFIFO,
                    Kind::CharDev => kind == libc::S_IFCHR && st.st_rdev == e.rdev,
                    Kind::BlockDev => kind == libc::S_IFBLK && st.st_rdev == e.rdev,
                    _ => false,
                };
                !same
            }
        };
        if !replace {
            (self.opts.report)("skip", path);
            self.summary.skipped += 1;
        }
        replace
    }

    fn remove(&mut self, dir: RawFd, name: &[u8], path: &Path) -> Result<()> {
        remove_all(dir, name).map_err(|e| Error::io(path, e))
    }

    fn create(&mut self, dir: RawFd, e: Entry, path: &Path, rel: &[u8]) -> Result<()> {
        let io = |err| Error::io(path, err);
        match e.kind {
            Kind::File => {
                if let Some(group) = e.link_group() {
                    if let Some(first) = self.links.get(&group) {
                        return sys::linkat(self.root.as_raw_fd(), first, dir, &e.name).map_err(io);
                    }
                }
                // Until it is known to get its final owner, a file stays its
                // creator's alone while it is written.
                let final_bits = matches!(self.fresh_owner, FreshOwner::Known(..)) && !self.needs_chown(&e);
                let mode = if final_bits { e.mode & 0o777 } else { 0o600 };
                let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
                let fd = sys::openat(dir, &e.name, flags, mode).map_err(io)?;
                if let FreshOwner::Unseen = self.fresh_owner {
                    self.fresh_owner = owner_of(sys::fstat(fd.as_raw_fd()));
                }
                if let Some(group) = e.link_group() {
                    self.links.insert(group, rel.to_vec());
                }
                let chmod = !final_bits || e.mode & 0o7777 != mode & !self.umask;
                let chown = self.needs_chown(&e);
                let job = FileJob { fd, entry: e, dir: self.here.clone(), chown, chmod };
                if let Some(files) = &self.files {
                    files.send(job).map_err(|_| Error::Invalid("restore workers stopped".into()))?;
                }
                return Ok(());
            }
            Kind::Symlink => sys::symlinkat(&e.target, dir, &e.name).map_err(io)?,
            Kind::Fifo => sys::mknodat(dir, &e.name, libc::S_IFIFO | 0o600, 0).map_err(io)?,
            Kind::CharDev => sys::mknodat(dir, &e.name, libc::S_IFCHR | 0o600, e.rdev).map_err(io)?,
            Kind::BlockDev => sys::mknodat(dir, &e.name, libc::S_IFBLK | 0o600, e.rdev).map_err(io)?,
            Kind::Dir => unreachable!("directories are created by `entry`"),
        }
        if let FreshOwner::Unseen = self.fresh_owner {
            self.fresh_owner = owner_of(sys::fstatat(dir, &e.name));
        }
        let chown = self.needs_chown(&e);
        self.metadata(dir, &e.name, &e, path, chown);
        Ok(())
    }

    /// Whether an entry created in the current directory is to be chowned.
    fn needs_chown(&self, e: &Entry) -> bool {
        self.owners && !matches!(self.fresh_owner, FreshOwner::Known(u, g) if (u, g) == (e.uid, e.gid))
    }

    /// Owner, xattrs, mode, then times: chown clears setuid bits and file
    /// capabilities, so it goes first.
    fn metadata(&mut self, dir: RawFd, name: &[u8], e: &Entry, path: &Path, chown: bool) {
        if chown {
            if let Err(err) = sys::fchownat(dir, name, e.uid, e.gid) {
                self.fail(path, format!("setting owner: {err}"));
            }
        }
        for (k, v) in e.xattrs.iter().filter(|(k, _)| self.written.xattrs.wants(k)) {
            if let Err(err) = sys::set_xattr_at(dir, name, k, v) {
                if let Some(msg) = self.written.xattr_failed(path, k, &err) {
                    (self.opts.warn)(&msg);
                    self.summary.errors.push(msg);
                }
            }
        }
        if e.kind != Kind::Symlink {
            if let Err(err) = sys::fchmodat(dir, name, e.mode) {
                self.fail(path, format!("setting mode: {err}"));
            }
        }
        if let Err(err) = sys::utimensat(dir, name, e.mtime.secs, e.mtime.nanos) {
            self.fail(path, format!("setting times: {err}"));
        }
    }
}

/// Removes `name` in `dir`, recursively for a directory.
fn remove_all(dir: RawFd, name: &[u8]) -> std::io::Result<()> {
    let st = sys::fstatat(dir, name)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let fd = sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
        for child in sys::read_dir_names(fd.as_raw_fd())? {
            remove_all(fd.as_raw_fd(), &child)?;
        }
        sys::unlinkat(dir, name, true)
    } else {
        sys::unlinkat(dir, name, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tree::{Content, Tree};
    use crate::repo::testing::memory_repo;

    /// A tree naming an entry `../escape` (written by a compromised client,
    /// say) is refused as corrupt: a restore creates nothing outside its
    /// target, nor anything in it from that tree.
    #[test]
    fn a_tree_with_a_name_leading_out_of_the_target_restores_nothing() {
        let repo = memory_repo();
        let file =
            |name: &[u8]| Entry { content: Content::Inline(Vec::new()), ..Entry::new(name.to_vec(), Kind::File) };
        let plain = Tree { entries: vec![file(b"../escape"), file(b"ok")] }.encode();
        let id = repo.keys().id(&plain);
        let mut w = repo.records().writer();
        w.put_object(&id, repo.records().seal(&id, &plain));
        w.write().unwrap();
        let root = Entry { subtree: Some(id), ..Entry::new(Vec::new(), Kind::Dir) };
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let opts = Options {
            overwrite: None,
            delete: false,
            dry_run: false,
            include: None,
            exclude: None,
            xattrs: XattrFilter::default(),
            report: Box::new(|_, _| {}),
            warn: Box::new(|_| {}),
        };
        let e = run(&repo, &root, &target, opts).unwrap_err().to_string();
        assert!(e.contains(&format!("tree {id}")) && e.contains("\"../escape\" is not a file name"), "{e}");
        assert!(!dir.path().join("escape").exists());
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }
}
