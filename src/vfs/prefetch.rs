//! Read-ahead for the mount. Trees are mostly read whole, file by file,
//! depth first in name order (tar, cp -r and rsync do), so the first read of
//! a file queues the files after it in that order for decoding on
//! background threads, crossing into subdirectories and back out; and
//! sequential reads queue the next chunks of the file.
//!
//! Small files are then handed to the kernel's page cache (FUSE notify
//! store): reading them costs no round trip to this process. The kernel
//! sends no request for them, so to learn how far the reader got, the first
//! file of every block of `BLOCK` entries in a directory is only decoded,
//! not handed over: its read (answered at once, from decoded chunks) queues
//! the next files while the reader still has a block of handed-over files
//! before it.

use super::{child_key, ino_of, EntryNode, Vfs};
use crate::crypto::Id;
use crate::format::tree::{Content, Entry, Kind, Piece, Tree};
use crate::reader::FileMap;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// Hands file data to the kernel's page cache: (inode, offset, bytes). Best
/// effort: the kernel may have forgotten the inode.
pub type PageSink = Box<dyn Fn(u64, u64, &[u8]) + Send + Sync>;

/// Entries in a block; read-ahead reaches `2 * BLOCK` files ahead.
const BLOCK: usize = 16;
/// Directories read-ahead may enter at a time, for trees of empty ones.
const MAX_DIRS: usize = 64;
/// Larger files are not handed over whole; their first chunk is decoded.
const PUSH_MAX: u64 = 4 << 20;
/// Handed-over inodes remembered; the set is cleared when it grows past this.
const PUSHED_MAX: usize = 1 << 16;

pub(super) enum Job {
    /// Queue the files after this one (in walk order).
    After(Arc<EntryNode>),
    /// Queue the files of this directory from this entry on.
    From(Arc<EntryNode>, usize),
    /// Decode a chunk into the chunk cache.
    Chunk(Id),
    /// Decode a small file and hand it to the page sink.
    Push { ino: u64, map: FileMap },
}

pub struct Prefetch {
    tx: Sender<(Id, Job)>,
    sink: OnceLock<PageSink>,
    pushed: Mutex<HashSet<u64>>,
}

pub(super) type Jobs = Receiver<(Id, Job)>;

impl Prefetch {
    pub(super) fn new() -> (Prefetch, Jobs) {
        let (tx, rx) = crossbeam_channel::bounded(128);
        (Prefetch { tx, sink: OnceLock::new(), pushed: Mutex::new(HashSet::new()) }, rx)
    }

    fn queue(&self, snap: Id, job: Job) -> bool {
        self.tx.try_send((snap, job)).is_ok()
    }

    /// Marks `ino` as handed over; false if it already was.
    fn claim(&self, ino: u64) -> bool {
        let mut pushed = self.pushed.lock().unwrap_or_else(|e| e.into_inner());
        if pushed.len() >= PUSHED_MAX {
            pushed.clear();
        }
        pushed.insert(ino)
    }

    fn unclaim(&self, ino: u64) {
        self.pushed.lock().unwrap_or_else(|e| e.into_inner()).remove(&ino);
    }
}

/// Starts one prefetch thread per core. They hold only a weak reference, so
/// dropping the Vfs ends them.
pub(super) fn spawn(vfs: &Arc<Vfs>, jobs: Jobs) -> crate::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for i in 0..threads {
        let (rx, weak) = (jobs.clone(), Arc::downgrade(vfs));
        std::thread::Builder::new()
            .name(format!("strata-prefetch-{i}"))
            .spawn(move || {
                for (snap, job) in rx {
                    let Some(vfs) = weak.upgrade() else { break };
                    if let Err(e) = vfs.run(job) {
                        eprintln!("strata: prefetch in snapshot {} failed: {e}", snap.short());
                    }
                }
            })
            .map_err(|e| crate::Error::io("prefetch thread", e))?;
    }
    Ok(())
}

impl Vfs {
    /// From now on, small files about to be read are handed to `sink`.
    pub fn set_page_sink(&self, sink: PageSink) {
        let _ = self.prefetch.sink.set(sink);
    }

    fn run(&self, job: Job) -> crate::Result<()> {
        match job {
            Job::After(file) => {
                if let Some(dir) = &file.parent {
                    if let Some(tree) = dir.entry.subtree.and_then(|id| self.cached_tree(&id)) {
                        let next = tree.entries.partition_point(|e| e.name <= file.entry.name);
                        self.window(dir.clone(), next, true);
                    }
                }
                Ok(())
            }
            Job::From(dir, start) => {
                self.window(dir, start, false);
                Ok(())
            }
            Job::Chunk(id) if !self.reader.has_or_loading(&id) => self.reader.chunk(&self.repo, &id).map(drop),
            Job::Chunk(_) => Ok(()),
            Job::Push { ino, map } => {
                let Some(sink) = self.prefetch.sink.get() else { return Ok(()) };
                if self.node(ino).is_err() {
                    // Not (or no longer) known to the kernel, which would drop
                    // the data: decode it for the read to come.
                    self.prefetch.unclaim(ino);
                    let first = map.pieces().iter().find_map(Piece::id);
                    return first.map_or(Ok(()), |id| self.run(Job::Chunk(id)));
                }
                let result = match map.pieces() {
                    // The common case, a file of one chunk: no copy.
                    [Piece::Data { id, len }] => self.reader.chunk(&self.repo, id).map(|data| {
                        if let Some(data) = data.get(..*len as usize) {
                            sink(ino, 0, data)
                        }
                    }),
                    _ => self.reader.read(&self.repo, &map, 0, map.size() as usize).map(|data| sink(ino, 0, &data)),
                };
                if result.is_err() {
                    self.prefetch.unclaim(ino);
                }
                result
            }
        }
    }

    /// Queues the next data chunks after `offset` for decoding.
    pub(super) fn prefetch_after(&self, node: &EntryNode, map: &FileMap, offset: u64) {
        let Some((i, _)) = map.find(offset) else {
            return;
        };
        let ids = map.pieces()[i..].iter().filter_map(Piece::id);
        for id in ids.take(3) {
            if !self.reader.has_or_loading(&id) && !self.prefetch.queue(node.snap, Job::Chunk(id)) {
                break;
            }
        }
    }

    /// On the first read of a file, queues the files after it.
    pub(super) fn prefetch_after_file(&self, file: Arc<EntryNode>) {
        self.prefetch.queue(file.snap, Job::After(file));
    }

    /// On listing a directory, queues its files from entry `start` on, to be
    /// decoded only: the kernel learns of them only from the listing's
    /// reply, and until then drops what is handed to it.
    pub(super) fn prefetch_from(&self, dir: Arc<EntryNode>, start: usize) {
        self.prefetch.queue(dir.snap, Job::From(dir, start));
    }

    /// A tree, or `None` on an error, which the reader's own access will
    /// report with the path.
    fn cached_tree(&self, id: &Id) -> Option<Arc<Tree>> {
        self.load_tree(id).ok()
    }

    /// Queues the next `2 * BLOCK` files in walk order, starting at entry
    /// `start` of directory `dir`: into subdirectories as they come, and on
    /// into the directories holding `dir` when it runs out. Small files are
    /// handed over if `push`.
    fn window(&self, dir: Arc<EntryNode>, start: usize, push: bool) {
        struct Frame {
            tree: Arc<Tree>,
            key: [u8; 32],
            next: usize,
        }
        let snap = dir.snap;
        let Some(tree) = dir.entry.subtree.and_then(|id| self.cached_tree(&id)) else { return };
        let mut frames = vec![Frame { tree, key: dir.key, next: start }];
        // The outermost directory entered; its parent's entries come next.
        let mut outer = dir;
        let (mut files, mut dirs) = (0, 0);
        while files < 2 * BLOCK && dirs < MAX_DIRS {
            let Some(f) = frames.last_mut() else {
                let Some(parent) = outer.parent.clone() else { break };
                let Some(tree) = parent.entry.subtree.and_then(|id| self.cached_tree(&id)) else { break };
                let next = tree.entries.partition_point(|e| e.name <= outer.entry.name);
                frames.push(Frame { tree, key: parent.key, next });
                outer = parent;
                dirs += 1;
                continue;
            };
            let Some(e) = f.tree.entries.get(f.next) else {
                frames.pop();
                continue;
            };
            let i = f.next;
            f.next += 1;
            match e.kind {
                Kind::File => {
                    files += 1;
                    if !self.queue_file(snap, &f.key, &f.tree, i, push) {
                        break; // the queue is full: the prefetchers are busy enough
                    }
                }
                Kind::Dir => {
                    let key = child_key(&snap, &f.key, e);
                    dirs += 1;
                    if let Some(sub) = e.subtree.and_then(|id| self.cached_tree(&id)) {
                        frames.push(Frame { tree: sub, key, next: 0 });
                    }
                }
                _ => {}
            }
        }
    }

    /// Queues entry `i` of `tree` (a directory with key `parent_key`), a
    /// regular file: its first chunk is decoded, and if `push`, it is small
    /// and not the first file of its block, the whole file is handed over.
    /// False if the queue is full.
    fn queue_file(&self, snap: Id, parent_key: &[u8; 32], tree: &Tree, i: usize, push: bool) -> bool {
        let first_data = |e: &Entry| match &e.content {
            Content::Inline(pieces) if e.kind == Kind::File => pieces.iter().find_map(Piece::id),
            _ => None,
        };
        let e = &tree.entries[i];
        let (Content::Inline(pieces), Some(id)) = (&e.content, first_data(e)) else { return true };
        let pf = &self.prefetch;
        let wire = tree.entries[i / BLOCK * BLOCK..i].iter().all(|e| first_data(e).is_none());
        if wire || !push || pf.sink.get().is_none() || e.size > PUSH_MAX {
            return self.reader.has_or_loading(&id) || pf.queue(snap, Job::Chunk(id));
        }
        let ino = ino_of(&child_key(&snap, parent_key, e));
        if !pf.claim(ino) {
            return true;
        }
        let queued = pf.queue(snap, Job::Push { ino, map: FileMap::new(pieces.clone()) });
        if !queued {
            pf.unclaim(ino);
        }
        queued
    }
}
