//! Read-ahead for the mount. Trees are mostly read whole, file by file,
//! depth first in name order (tar, cp -r and rsync do), so reading a file
//! keeps the next files in that order queued for decoding on background
//! threads, crossing into subdirectories and back out; and sequential reads
//! queue the next chunks of the file. A walk remembers where it stopped, so
//! each step queues only the files not yet queued. It starts `AHEAD_MIN`
//! files ahead of the reader and reaches further as the reader keeps to its
//! order, up to `AHEAD_MAX` files and `AHEAD_BYTES`.
//!
//! Small files are then handed to the kernel's page cache (FUSE notify
//! store): reading them costs no round trip to this process. The kernel
//! sends no request for them, so to learn how far the reader got, every
//! `BLOCK`th file of a walk is only decoded, not handed over: its read
//! (answered at once, from decoded chunks) moves the walk on while the
//! reader still has the files after it before it.
//!
//! Listing a directory hands over its first `LISTED_AHEAD` files the same
//! way (`find` then `tar`, or `ls` then `cat`), unless a walk waits there.

use super::{child_key, ino_of, EntryNode, NodeKind, Vfs};
use crate::crypto::Id;
use crate::format::tree::{Content, Entry, Kind, Piece, Tree};
use crate::reader::FileMap;
use crossbeam_channel::{Receiver, Sender};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Hands file data to the kernel's page cache: (inode, offset, bytes). An
/// error of kind `NotFound` means the kernel does not hold the inode: not
/// yet (a listing's reader links its entries after our reply), or no more.
pub type PageSink = Box<dyn Fn(u64, u64, &[u8]) -> std::io::Result<()> + Send + Sync>;

/// Files a walk keeps queued ahead of the reader: twice as many as it has
/// read in walk order, within these bounds...
const AHEAD_MIN: u64 = 128;
const AHEAD_MAX: u64 = 2048;
/// ...and at most this many bytes of them (a fraction of the chunk cache).
const AHEAD_BYTES: u64 = 64 << 20;
/// One file in this many is a tripwire: decoded, not handed over.
const BLOCK: u64 = 64;
/// Files a directory listing queues for decoding.
const LISTED_AHEAD: u64 = 32;
/// Directories a walk may enter in one step, for trees of empty ones.
const MAX_DIRS: usize = 64;
/// Walks remembered: as many trees read at once keep their read-ahead.
const WALKS: usize = 4;
/// Larger files are not handed over whole; their first chunk is decoded.
/// (Handing over a large file's chunks as a sequential read neared them
/// halved its requests but saved no time: decoding bounds such reads.)
const PUSH_MAX: u64 = 4 << 20;
/// Chunks queued for decoding from a sequential read's end on. Three kept
/// two threads busy only two thirds of the time; eight, nearly always.
const CHUNKS_AHEAD: usize = 8;
/// Handed-over inodes remembered; the set is cleared when it grows past this.
const PUSHED_MAX: usize = 1 << 16;
/// Waits before handing a file over again when the kernel did not know its
/// inode yet.
const PUSH_RETRY_MS: [u64; 3] = [1, 2, 8];
/// Chunks handed over that are remembered at most.
const HANDED_MAX: usize = 1 << 16;

pub(super) enum Job {
    /// This file is being read: keep the files after it (in walk order) queued.
    After(Arc<EntryNode>),
    /// Queue the first files of this directory; hand the small ones over if
    /// `push` (the kernel has the listing).
    From { dir: Arc<EntryNode>, push: bool },
    /// Decode a chunk into the chunk cache; queued at this `Prefetch::seq`.
    Chunk(Id, u64),
    /// Decode a small file and hand it to the page sink.
    Push { ino: u64, map: FileMap },
}

pub struct Prefetch {
    tx: Sender<(Id, Job)>,
    sink: OnceLock<PageSink>,
    pushed: Mutex<HashSet<u64>>,
    /// Counts queued chunks, to order them against `handed`.
    seq: AtomicU64,
    /// Chunks the kernel has in full, by `seq` when it got them.
    handed: Mutex<HashMap<Id, u64>>,
    /// Most recently used first.
    walks: Mutex<Vec<Walk>>,
}

struct Frame {
    tree: Arc<Tree>,
    key: [u8; 32],
    next: usize,
}

/// Where a depth-first walk through a snapshot's tree stands.
struct Walk {
    snap: Id,
    /// The directories entered, innermost last, each at its next entry.
    frames: Vec<Frame>,
    /// The outermost directory entered, or the file the walk starts after:
    /// the entries after it in its parent come next.
    outer: Arc<EntryNode>,
    /// What it queued so far.
    at: Pos,
    /// The files queued and not yet known to be read: inode → `at` when it
    /// was queued. A read of one of them tells how far the reader got.
    queued: HashMap<u64, Pos>,
    /// The file the walk stopped at because the kernel did not know it yet
    /// (its directory was not listed); reading it resumes the walk.
    stuck: Option<u64>,
    /// Whether it ever stopped so: then the reader is listing as it goes
    /// (cp -r), and read-ahead stays near it.
    was_stuck: bool,
}

impl Walk {
    fn new(frames: Vec<Frame>, outer: Arc<EntryNode>) -> Walk {
        let (at, queued) = (Pos::default(), HashMap::new());
        Walk { snap: outer.snap, frames, outer, at, queued, stuck: None, was_stuck: false }
    }
}

/// A place in a walk: files, and bytes of them, queued before it.
#[derive(Clone, Copy, Default)]
struct Pos {
    files: u64,
    bytes: u64,
}

/// What became of a file the walk reached.
enum Queued {
    /// Queued (or handed over before): its inode and the bytes queued.
    Yes(u64, u64),
    /// Not a file with data: nothing to queue.
    No,
    /// The queue is full: stop here for now.
    Full,
    /// The kernel does not know the file yet: stop here until it is read.
    Unlisted(u64),
}

pub(super) type Jobs = Receiver<(Id, Job)>;

impl Prefetch {
    pub(super) fn new() -> (Prefetch, Jobs) {
        let (tx, rx) = crossbeam_channel::bounded(4 * AHEAD_MAX as usize);
        let walks = Mutex::new(Vec::new());
        let (pushed, seq, handed) = (Mutex::default(), AtomicU64::new(0), Mutex::default());
        (Prefetch { tx, sink: OnceLock::new(), pushed, seq, handed, walks }, rx)
    }

    fn queue(&self, snap: Id, job: Job) -> bool {
        self.tx.try_send((snap, job)).is_ok()
    }

    fn queue_chunk(&self, snap: Id, id: Id) -> bool {
        self.queue(snap, Job::Chunk(id, self.seq.fetch_add(1, Ordering::Relaxed)))
    }

    /// Whether the kernel got all of chunk `id` after `seq`: then decoding
    /// it, as queued at `seq`, would be for nothing.
    fn handed_over_since(&self, id: &Id, seq: u64) -> bool {
        self.handed.lock().unwrap_or_else(|e| e.into_inner()).get(id).is_some_and(|&at| at > seq)
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
                        log::warn!("prefetch in snapshot {} failed: {e}", snap.short());
                    }
                }
            })
            .map_err(|e| crate::Error::io("prefetch thread", e))?;
    }
    Ok(())
}

impl Vfs {
    /// The kernel has all of chunk `id` in its page cache (pushed, or read
    /// past): it is demoted in the chunk cache, so that data streamed
    /// through (a large file, pushed files) neither pushes out what is
    /// decoded ahead nor grows the cache to its bound (fresh memory costs a
    /// page fault and a cleared page per 4 KiB), and read-ahead queued
    /// before it is skipped.
    pub(super) fn handed_over(&self, id: &Id) {
        self.reader.cache.demote(id);
        let mut handed = self.prefetch.handed.lock().unwrap_or_else(|e| e.into_inner());
        if handed.len() >= HANDED_MAX {
            handed.clear();
        }
        handed.insert(*id, self.prefetch.seq.load(Ordering::Relaxed));
    }

    /// From now on, small files about to be read are handed to `sink`.
    pub fn set_page_sink(&self, sink: PageSink) {
        let _ = self.prefetch.sink.set(sink);
    }

    fn run(&self, job: Job) -> crate::Result<()> {
        match job {
            Job::After(file) => {
                self.read_ahead(&file);
                Ok(())
            }
            Job::From { dir, push } => {
                // A walk that stopped in this directory for want of its
                // listing goes on from the first read in it, handing its
                // files over in order; pushing them here too would only
                // race that walk.
                if push && !self.walk_waits_in(&dir.key) {
                    self.hand_over_listed(&dir);
                } else if let Some(mut walk) = self.walk(dir) {
                    self.advance(&mut walk, Pos { files: LISTED_AHEAD, bytes: AHEAD_BYTES }, false);
                }
                Ok(())
            }
            Job::Chunk(id, queued) => {
                if self.reader.has_or_loading(&id) || self.prefetch.handed_over_since(&id, queued) {
                    return Ok(());
                }
                self.reader.chunk(&self.repo, &id).map(drop)
            }
            Job::Push { ino, map } => {
                let Some(sink) = self.prefetch.sink.get() else { return Ok(()) };
                let Ok(NodeKind::Entry(node)) = self.node(ino) else {
                    // Not (or no longer) known to the kernel, which would drop
                    // the data: decode it for the read to come.
                    self.prefetch.unclaim(ino);
                    let first = map.pieces().iter().find_map(Piece::id);
                    return first.map_or(Ok(()), |id| self.reader.chunk(&self.repo, &id).map(drop));
                };
                if node.last_end.load(Ordering::Relaxed) != u64::MAX {
                    // The reader got here first (it outran read-ahead): the
                    // kernel has the data. Skipping such files lets
                    // read-ahead catch up; tar of share/man alone (21k
                    // files) overtook it on 7k of them.
                    return Ok(());
                }
                // A file of one chunk (the common case) is not copied.
                let data = match self.reader.read_data(&self.repo, &map, 0, map.size() as usize) {
                    Ok(data) => data,
                    Err(e) => {
                        self.prefetch.unclaim(ino);
                        return Err(e);
                    }
                };
                // The kernel links a listing's entries only once it has our
                // reply, which may come after this job runs: wait a little
                // for it (the data stays decoded), then leave the file to
                // its own read. An immediate second try lost that race one
                // time in six in the read-ahead test.
                let mut result = sink(ino, 0, &data);
                for wait_ms in PUSH_RETRY_MS {
                    if !matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(wait_ms));
                    result = sink(ino, 0, &data);
                }
                match result {
                    Ok(()) => map.pieces().iter().filter_map(Piece::id).for_each(|id| self.handed_over(&id)),
                    Err(_) => self.prefetch.unclaim(ino),
                }
                Ok(())
            }
        }
    }

    /// Queues the data chunks from `offset` on for decoding.
    pub(super) fn prefetch_after(&self, node: &EntryNode, map: &FileMap, offset: u64) {
        let Some((i, _)) = map.find(offset) else {
            return;
        };
        let ids = map.pieces()[i..].iter().filter_map(Piece::id);
        for id in ids.take(CHUNKS_AHEAD) {
            if !self.reader.has_or_loading(&id) && !self.prefetch.queue_chunk(node.snap, id) {
                break;
            }
        }
    }

    /// On the first read of a file, queues the files after it.
    pub(super) fn prefetch_after_file(&self, file: Arc<EntryNode>) {
        self.prefetch.queue(file.snap, Job::After(file));
    }

    /// On listing a directory, queues its first files. With `push` (the
    /// reply went out with every entry's attributes, so the kernel links
    /// them) small ones are handed over; if not, decoded only.
    pub(super) fn prefetch_listed(&self, dir: Arc<EntryNode>, push: bool) {
        self.prefetch.queue(dir.snap, Job::From { dir, push });
    }

    /// A tree, or `None` on an error, which the reader's own access will
    /// report with the path.
    fn cached_tree(&self, id: &Id) -> Option<Arc<Tree>> {
        self.load_tree(id).ok()
    }

    /// `file` is being read from its start: moves on the walk it belongs
    /// to, or starts a walk after it.
    fn read_ahead(&self, file: &Arc<EntryNode>) {
        let ino = file.ino();
        let mut walks = self.prefetch.walks.lock().unwrap_or_else(|e| e.into_inner());
        let found = walks.iter().position(|w| w.stuck == Some(ino) || w.queued.contains_key(&ino));
        let (mut walk, reached) = match found {
            Some(i) => {
                let mut walk = walks.remove(i);
                let reached = if walk.stuck.take() == Some(ino) {
                    // The walk stopped here: the reader reads this one itself.
                    if let Some(f) = walk.frames.last_mut() {
                        f.next += 1;
                    }
                    walk.at
                } else {
                    // Try again where it stopped: the kernel may know it by now.
                    walk.queued[&ino]
                };
                walk.queued.retain(|_, at| at.files > reached.files);
                (walk, reached)
            }
            None => (Walk::new(Vec::new(), file.clone()), Pos::default()),
        };
        let ahead = if walk.was_stuck { AHEAD_MIN } else { (2 * reached.files).clamp(AHEAD_MIN, AHEAD_MAX) };
        let upto = Pos { files: reached.files + ahead, bytes: reached.bytes + AHEAD_BYTES };
        self.advance(&mut walk, upto, true);
        walks.insert(0, walk);
        walks.truncate(WALKS);
    }

    /// Whether a walk stopped in the directory with `key`, waiting for its
    /// listing.
    fn walk_waits_in(&self, key: &[u8; 32]) -> bool {
        let walks = self.prefetch.walks.lock().unwrap_or_else(|e| e.into_inner());
        walks.iter().any(|w| w.stuck.is_some() && w.frames.last().is_some_and(|f| &f.key == key))
    }

    /// Hands over the first small files of `dir`, just listed: its own
    /// only, as its subdirectories' entries are not linked until they are
    /// listed in turn.
    fn hand_over_listed(&self, dir: &EntryNode) {
        let Some(tree) = dir.entry.subtree.and_then(|id| self.cached_tree(&id)) else { return };
        let mut at = Pos::default();
        for e in &tree.entries {
            if at.files >= LISTED_AHEAD || at.bytes >= AHEAD_BYTES {
                break;
            }
            match self.queue_file(dir.snap, &dir.key, e, true) {
                Queued::Yes(_, bytes) => {
                    at.files += 1;
                    at.bytes += bytes;
                }
                Queued::No => {}
                Queued::Full | Queued::Unlisted(_) => break,
            }
        }
    }

    /// A walk starting at the first entry of directory `dir`.
    fn walk(&self, dir: Arc<EntryNode>) -> Option<Walk> {
        let tree = dir.entry.subtree.and_then(|id| self.cached_tree(&id))?;
        Some(Walk::new(vec![Frame { tree, key: dir.key, next: 0 }], dir))
    }

    /// Queues files in walk order until `walk` reaches `upto`: into
    /// subdirectories as they come, and on into the directories holding
    /// the one it started in when that runs out. Small files are handed
    /// over if `push`.
    fn advance(&self, walk: &mut Walk, upto: Pos, push: bool) {
        let mut dirs = 0;
        while walk.at.files < upto.files && walk.at.bytes < upto.bytes && dirs < MAX_DIRS {
            let Some(f) = walk.frames.last_mut() else {
                let Some(parent) = walk.outer.parent.clone() else { break };
                let Some(tree) = parent.entry.subtree.and_then(|id| self.cached_tree(&id)) else { break };
                let next = tree.entries.partition_point(|e| e.name <= walk.outer.entry.name);
                walk.frames.push(Frame { tree, key: parent.key, next });
                walk.outer = parent;
                dirs += 1;
                continue;
            };
            let Some(e) = f.tree.entries.get(f.next) else {
                walk.frames.pop();
                continue;
            };
            match e.kind {
                Kind::File => {
                    let wire = walk.at.files % BLOCK == BLOCK - 1;
                    match self.queue_file(walk.snap, &f.key, e, push && !wire) {
                        Queued::Yes(ino, bytes) => {
                            walk.queued.insert(ino, walk.at);
                            walk.at.files += 1;
                            walk.at.bytes += bytes;
                        }
                        Queued::No => {}
                        Queued::Full => break,
                        Queued::Unlisted(ino) => {
                            walk.stuck = Some(ino);
                            walk.was_stuck = true;
                            break;
                        }
                    }
                }
                Kind::Dir => {
                    dirs += 1;
                    let key = child_key(&walk.snap, &f.key, e);
                    if let Some(tree) = e.subtree.and_then(|id| self.cached_tree(&id)) {
                        f.next += 1;
                        walk.frames.push(Frame { tree, key, next: 0 });
                        continue;
                    }
                }
                _ => {}
            }
            f.next += 1;
        }
    }

    /// Queues entry `e` of the directory with key `parent_key`, a regular
    /// file: if `push` and it is small, it is handed over whole; if not,
    /// its first chunk is decoded, or a large file's first `CHUNKS_AHEAD`.
    fn queue_file(&self, snap: Id, parent_key: &[u8; 32], e: &Entry, push: bool) -> Queued {
        let (Kind::File, Content::Inline(pieces)) = (e.kind, &e.content) else { return Queued::No };
        if !pieces.iter().any(|p| p.id().is_some()) {
            return Queued::No;
        }
        let ino = ino_of(&child_key(&snap, parent_key, e));
        let pf = &self.prefetch;
        if !push || pf.sink.get().is_none() || e.size > PUSH_MAX {
            // A large file's first chunks, as its reader's read-ahead would.
            let n = if e.size > PUSH_MAX { CHUNKS_AHEAD } else { 1 };
            let data = || pieces.iter().filter_map(|p| p.id().map(|id| (id, p.len()))).take(n);
            let queued = data().all(|(id, _)| self.reader.has_or_loading(&id) || pf.queue_chunk(snap, id));
            let bytes = data().map(|(_, len)| len).sum();
            return if queued { Queued::Yes(ino, bytes) } else { Queued::Full };
        }
        if self.node(ino).is_err() {
            // Not listed yet: the kernel would drop what is handed over.
            return Queued::Unlisted(ino);
        }
        if !pf.claim(ino) {
            return Queued::Yes(ino, 0);
        }
        if pf.queue(snap, Job::Push { ino, map: FileMap::new(pieces.clone()) }) {
            Queued::Yes(ino, e.size)
        } else {
            pf.unclaim(ino);
            Queued::Full
        }
    }
}
