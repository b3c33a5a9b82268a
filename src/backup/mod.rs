//! `backup`: walk the source paths, store what changed since the parent
//! snapshot, and commit a new snapshot.
//!
//! A snapshot's root tree mirrors the absolute source paths: backing up
//! `/home/ann/src` gives a root with `home/ann/src`, the ancestors carrying
//! their real metadata, so every path in a snapshot is the path it had.

mod exclude;
mod pipeline;
mod read;
mod trees;
mod walk;

pub(crate) use exclude::CACHEDIR_SIGNATURE;
pub use exclude::{Excludes, Own};
pub use pipeline::Progress;
pub(crate) use walk::{kind_of, stat_entry};

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::snapshot::{Counters, Snapshot};
use crate::format::tree::{Entry, Kind, Tree};
use crate::format::Time;
use crate::repo::Repo;
use crate::sys;
use pipeline::{FileSlot, Pipeline};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use trees::{Origin, Pending, TreeRef};
use walk::Walker;

/// Where a streamed file's content comes from.
#[derive(Clone, Debug)]
pub enum StreamSource {
    Stdin,
    /// A shell command's standard output; the backup fails (no snapshot)
    /// when the command exits nonzero.
    Command(String),
}

/// A file stored from a stream rather than read from disk (a database
/// dump), at `path` in the snapshot.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Where the file appears in the snapshot: an absolute path, or a name
    /// (then at the root). Directories on the way that are not on disk
    /// are made up (0755, owned by the user running the backup).
    pub path: PathBuf,
    pub source: StreamSource,
}

pub struct Options {
    pub paths: Vec<PathBuf>,
    pub streams: Vec<Stream>,
    pub host: String,
    pub tags: Vec<String>,
    pub description: String,
    /// The time to record; `None` is now.
    pub time: Option<Time>,
    /// The snapshot to compare against; `None` picks the newest one with the
    /// same host and paths.
    pub parent: Option<Id>,
    pub excludes: Excludes,
    pub warn: Box<dyn Fn(&str) + Sync + Send>,
    /// Estimate the total for the progress (`Progress::bytes_total`): the
    /// parent's size, else a scan of the sources' sizes beside the backup.
    pub estimate: bool,
    /// Do everything but store: read, chunk and seal, and count what would
    /// be added; write no record and no snapshot.
    pub dry_run: bool,
}

/// Bytes of the regular files under `paths` (symlinks not followed,
/// unreadable directories and strata's own skipped): an estimate for the
/// progress.
fn scan_sizes(paths: &[PathBuf], own: &exclude::Own) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    // With the device of the source walked (none for a source itself).
    let mut stack: Vec<(PathBuf, Option<u64>)> = paths.iter().map(|p| (p.clone(), None)).collect();
    while let Some((p, source_dev)) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if m.is_file() {
            total += m.len();
        } else if m.is_dir() && source_dev.is_none_or(|d| own.dir(m.dev(), m.ino(), d).is_none()) {
            let d = source_dev.unwrap_or(m.dev());
            stack.extend(std::fs::read_dir(&p).into_iter().flatten().flatten().map(|e| (e.path(), Some(d))));
        }
    }
    total
}

/// Makes a source path absolute and clean without following its last
/// component (a symlink given as a source is stored as a symlink).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    let abs =
        if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map_err(|e| Error::io(".", e))?.join(p) };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    // A directory that does not exist leaves the path as it is: a source
    // there is missing, which the backup reports.
    let parent = match out.parent().map(|d| (d, d.canonicalize())) {
        Some((_, Ok(d))) => Some(d),
        Some((_, Err(e))) if e.kind() == std::io::ErrorKind::NotFound => None,
        Some((d, Err(e))) => return Err(Error::io(d, e)),
        None => None,
    };
    Ok(match (parent, out.file_name()) {
        (Some(d), Some(n)) => d.join(n),
        _ => out,
    })
}

/// Source paths as a tree of components; `true` marks a source itself.
#[derive(Default)]
struct Node {
    source: bool,
    /// A streamed file: its index in `Options::streams`.
    stream: Option<usize>,
    children: BTreeMap<Vec<u8>, Node>,
}

impl Node {
    /// Whether a source on disk is at or below this node.
    fn has_disk_source(&self) -> bool {
        self.source || self.children.values().any(Node::has_disk_source)
    }
}

/// A stream's path in the snapshot, checked: absolute, clean, and neither
/// at nor below a source path (nor above one).
fn stream_path(s: &Stream, sources: &[PathBuf]) -> Result<PathBuf> {
    let shown = s.path.display();
    let mut out = PathBuf::from("/");
    for c in s.path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir => {}
            _ => return Err(Error::Invalid(format!("stream file name {shown}: no '.' or '..' components"))),
        }
    }
    if out == Path::new("/") {
        return Err(Error::Invalid("stream file name: empty".into()));
    }
    if let Some(src) = sources.iter().find(|p| out.starts_with(p) || p.starts_with(&out)) {
        return Err(Error::Invalid(format!("stream file name {shown}: overlaps the source path {}", src.display())));
    }
    Ok(out)
}

/// Backs up; returns the snapshot, and its id unless it was a dry run.
pub fn run(repo: &Repo, opts: Options, progress: Arc<Progress>) -> Result<(Option<Id>, Snapshot)> {
    let started = std::time::Instant::now();
    let time = opts.time.unwrap_or_else(Time::now);
    // A source that does not exist (a disk not attached tonight, a service
    // not deployed yet) is reported and left out, as restic does; the
    // snapshot still names it among its paths, so the next backup finds
    // this one as its parent. If none exists, there is nothing to back up.
    let (mut paths, mut missing) = (Vec::new(), Vec::new());
    for p in &opts.paths {
        let abs = absolute(p)?;
        match std::fs::symlink_metadata(&abs) {
            Ok(_) => paths.push(abs),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(abs),
            Err(e) => return Err(Error::io(&abs, e)),
        }
    }
    for v in [&mut paths, &mut missing] {
        v.sort();
        v.dedup();
    }
    let mut stream_paths = Vec::new();
    for s in &opts.streams {
        let p = stream_path(s, &paths)?;
        if stream_paths.contains(&p) {
            return Err(Error::Invalid(format!("stream file name {}: given twice", p.display())));
        }
        stream_paths.push(p);
    }
    if paths.is_empty() && stream_paths.is_empty() {
        if let Some(first) = missing.first() {
            let more =
                if missing.len() > 1 { format!(" (nor do {} more sources)", missing.len() - 1) } else { String::new() };
            return Err(Error::Invalid(format!("nothing to back up: {} does not exist{more}", first.display())));
        }
        return Err(Error::Invalid("nothing to back up: give a path or a stream".into()));
    }
    let mut path_bytes: Vec<Vec<u8>> =
        paths.iter().chain(&missing).chain(&stream_paths).map(|p| p.as_os_str().as_bytes().to_vec()).collect();
    path_bytes.sort();

    let all = repo.snapshots()?;
    let parent = match opts.parent {
        Some(id) => {
            Some(all.iter().find(|(i, _)| *i == id).cloned().ok_or_else(|| Error::NoSuchSnapshot(id.to_hex()))?)
        }
        None => all.iter().rev().find(|(_, s)| s.host == opts.host && s.paths == path_bytes).cloned(),
    };
    let own = exclude::Own::of(repo.path(), opts.excludes.cache_dir.as_deref());
    if opts.estimate {
        match &parent {
            Some((_, s)) => progress.bytes_total.store(s.counters.bytes, std::sync::atomic::Ordering::Relaxed),
            None => {
                // Detached: it must not hold the backup up at its end.
                let (paths, progress, own) = (paths.clone(), progress.clone(), own.clone());
                std::thread::spawn(move || {
                    progress.bytes_total.store(scan_sizes(&paths, &own).max(1), std::sync::atomic::Ordering::Relaxed)
                });
            }
        }
    }
    let parent_root = match &parent {
        Some((_, s)) => Some(repo.tree(&s.tree)?),
        None => None,
    };

    let mut root = Node::default();
    for p in &paths {
        let mut node = &mut root;
        for c in p.components() {
            if let Component::Normal(n) = c {
                node = node.children.entry(n.as_bytes().to_vec()).or_default();
            }
        }
        node.source = true;
    }
    for (i, p) in stream_paths.iter().enumerate() {
        let mut node = &mut root;
        for c in p.components() {
            if let Component::Normal(n) = c {
                node = node.children.entry(n.as_bytes().to_vec()).or_default();
            }
        }
        node.stream = Some(i);
    }

    let pipeline = Pipeline::start(repo.records().clone(), progress.clone(), opts.dry_run);
    let chunker = repo.config().chunker()?;
    let (dirs_tx, dirs_rx) = crossbeam_channel::bounded(64);
    let (reads_tx, reads_rx) = crossbeam_channel::bounded(2 * read::READERS);
    let warn = &*opts.warn;
    let changed = std::sync::Mutex::new(Vec::new());
    let readers = read::Readers { pipeline: &pipeline, progress: &progress, chunker, warn, changed: &changed };
    // Records `repair` removed: files that use them are read again.
    let lost = repo.missing()?;
    let streams: Vec<_> = opts.streams.iter().map(|_| FileSlot::new()).collect();
    let stream_entry = stream_entry(time);
    let (walked, built, streamed) = std::thread::scope(|scope| {
        let builder = scope.spawn(|| trees::build(dirs_rx, &pipeline, &progress, warn));
        for _ in 0..read::READERS {
            let (rx, readers) = (reads_rx.clone(), &readers);
            scope.spawn(move || readers.run(rx));
        }
        drop(reads_rx);
        // Streams are read beside the walk, each on its own thread.
        let streaming: Vec<_> = opts
            .streams
            .iter()
            .zip(&streams)
            .map(|(s, slot)| {
                let readers = &readers;
                scope.spawn(move || readers.stream(&s.source, slot))
            })
            .collect();
        let mut walker = Walker {
            repo,
            lost: &lost,
            excludes: &opts.excludes,
            own,
            progress: &progress,
            warn,
            counters: Default::default(),
            failed: Vec::new(),
            links: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            root_dev: 0,
            depth: 0,
            unshown: 0,
            dirs: dirs_tx,
            reads: reads_tx,
        };
        for p in &missing {
            walker.record(p, "does not exist: left out");
        }
        let sources = Sources { streams: &streams, stream_entry: &stream_entry };
        let root = walk_sources(&mut walker, &root, &sources, parent.as_ref().map(|(_, s)| s), parent_root.as_ref());
        let walked = root.map(|r| (r, std::mem::take(&mut walker.counters), std::mem::take(&mut walker.failed)));
        drop(walker); // hangs up on the readers and the builder
        let streamed: Vec<std::result::Result<(), String>> = streaming
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err("the stream reader panicked".into())))
            .collect();
        let built = builder.join().unwrap_or_else(|_| Err(Error::Invalid("the tree builder panicked".into())));
        (walked, built, streamed)
    });
    pipeline.finish()?;
    // A stream that failed (a dump command exiting nonzero) fails the
    // backup: a snapshot without the dump would pass for a good one.
    if let Some(why) = streamed.into_iter().find_map(|r| r.err()) {
        return Err(Error::Invalid(why));
    }
    let built = built?;
    let (root_tree, counters_walk, mut failed) = walked?;
    let tree = *root_tree.get().ok_or_else(|| Error::Invalid("internal: the root tree was not built".into()))?;
    failed.extend(built.failed);
    failed.extend(changed.into_inner().unwrap_or_else(|e| e.into_inner()));

    let stored = built.counters;
    let counters = Counters {
        files: stored.files,
        bytes: stored.bytes,
        files_new: stored.files_new,
        files_changed: stored.files_changed,
        errors: failed.len() as u64,
        bytes_read: progress.bytes_read.load(std::sync::atomic::Ordering::Relaxed),
        bytes_added: progress.bytes_added.load(std::sync::atomic::Ordering::Relaxed),
        chunks_added: progress.chunks_added.load(std::sync::atomic::Ordering::Relaxed),
        ..counters_walk
    };
    let snapshot = Snapshot {
        time,
        host: opts.host,
        user: sys::current_user(),
        paths: path_bytes,
        tags: opts.tags,
        description: opts.description,
        parent: parent.map(|(id, _)| id),
        tree,
        counters,
        failed,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let id = if opts.dry_run { None } else { Some(repo.commit(&snapshot)?) };
    if id.is_some() && !lost.is_empty() {
        match repo.clear_stored_again(&lost) {
            // In the audit log too.
            Ok(n) => log::info!("{n} of the {} records repair removed are stored again", lost.len()),
            Err(e) => warn(&format!("the snapshot is written, but marking records stored again failed: {e}")),
        }
    }
    Ok((id, snapshot))
}

/// The streamed files, for the walk to place in their directories.
struct Sources<'a> {
    streams: &'a [Arc<FileSlot>],
    /// The entry of a streamed file (or, as a directory, of a made-up
    /// directory on the way to one).
    stream_entry: &'a Entry,
}

/// A streamed file's entry: the user running the backup, 0600, the time
/// of the backup.
fn stream_entry(time: Time) -> Entry {
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    Entry {
        mode: 0o600,
        uid,
        gid,
        user: sys::user_name(uid).unwrap_or_default(),
        group: sys::group_name(gid).unwrap_or_default(),
        mtime: time,
        ctime: time,
        ..Entry::new(Vec::new(), Kind::File)
    }
}

/// Walks the sources, from the root of the snapshot's tree.
fn walk_sources(
    w: &mut Walker,
    root: &Node,
    sources: &Sources,
    parent: Option<&Snapshot>,
    parent_root: Option<&Tree>,
) -> Result<TreeRef> {
    if root.source {
        // Backing up "/" itself.
        let fd = sys::open_dir(Path::new("/")).map_err(|e| Error::io("/", e))?;
        w.root_dev = sys::fstat(fd.as_raw_fd()).map_err(|e| Error::io("/", e))?.st_dev;
        let prev = parent.map(|s| Entry { subtree: Some(s.tree), ..Entry::new(Vec::new(), Kind::Dir) });
        w.walk_dir(fd, Path::new("/"), prev.as_ref())
    } else {
        virtual_dir(w, Path::new("/"), root, sources, parent_root)
    }
}

/// Stores the tree of an ancestor directory of the sources: only the
/// children on the way to a source, each with its real metadata (made up
/// for a directory that holds only streamed files and is not on disk).
fn virtual_dir(w: &mut Walker, path: &Path, node: &Node, sources: &Sources, parent: Option<&Tree>) -> Result<TreeRef> {
    let fd = match sys::open_dir(path) {
        Ok(fd) => Some(fd),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !node.has_disk_source() => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    w.open_dir();
    let mut pending = Vec::new();
    for (name, child) in &node.children {
        let child_path = path.join(sys::os(name));
        let prev = parent.and_then(|t| t.find(name));
        if let Some(i) = child.stream {
            let entry = Entry { name: name.clone(), ..sources.stream_entry.clone() };
            pending.push(Pending::File(entry, sources.streams[i].clone(), child_path, Origin::New));
            continue;
        }
        let Some(fd) = &fd else {
            // A made-up directory holding streamed files only.
            let entry = Entry { name: name.clone(), kind: Kind::Dir, mode: 0o755, ..sources.stream_entry.clone() };
            let prev_tree = match prev.and_then(|p| p.subtree) {
                Some(id) => Some(w.repo.tree(&id)?),
                None => None,
            };
            let sub = virtual_dir(w, &child_path, child, sources, prev_tree.as_ref())?;
            pending.push(Pending::Dir(entry, sub));
            continue;
        };
        if child.source {
            w.root_dev = match sys::fstatat(fd.as_raw_fd(), name) {
                Ok(st) => st.st_dev,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    w.record(&child_path, "vanished before it was read: left out");
                    continue;
                }
                Err(e) => return Err(Error::io(&child_path, e)),
            };
            if let Some(p) = w.entry(fd.as_raw_fd(), name, &child_path, prev, true)? {
                pending.push(p);
            }
            continue;
        }
        let entry = match sys::fstatat(fd.as_raw_fd(), name) {
            Ok(st) => w.base_entry(fd.as_raw_fd(), name, &st, Kind::Dir, &child_path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !child.has_disk_source() => {
                Entry { name: name.clone(), kind: Kind::Dir, mode: 0o755, ..sources.stream_entry.clone() }
            }
            Err(e) => return Err(Error::io(&child_path, e)),
        };
        let prev_tree = match prev.and_then(|p| p.subtree) {
            Some(id) => Some(w.repo.tree(&id)?),
            None => None,
        };
        let sub = virtual_dir(w, &child_path, child, sources, prev_tree.as_ref())?;
        pending.push(Pending::Dir(entry, sub));
    }
    w.finish_dir(pending)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_size_estimate_counts_regular_files_once_and_follows_no_symlink() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/one"), vec![0; 1000]).unwrap();
        std::fs::write(d.path().join("a/b/two"), vec![0; 24]).unwrap();
        std::os::unix::fs::symlink("/usr", d.path().join("a/usr")).unwrap();
        assert_eq!(super::scan_sizes(&[d.path().join("a")], &Default::default()), 1024);
    }
}
