//! Read-ahead for the mount. Files are mostly read whole and in directory
//! order (tar, rsync, cp -r), so the first read of a file queues the files
//! after it for decoding on background threads, and sequential reads queue
//! the next chunks of the file.
//!
//! Small files are then handed to the kernel's page cache (FUSE notify
//! store): reading them costs no round trip to this process. The kernel
//! sends no request for them, so to learn how far the reader got, the first
//! file of every block of `BLOCK` entries is only decoded, not handed over:
//! its read (answered at once, from decoded chunks) queues the next block
//! while the reader still has a block of handed-over files before it.

use super::{child_key, ino_of, EntryNode, Vfs};
use crate::crypto::Id;
use crate::format::tree::{Content, Kind, Piece, Tree};
use crate::reader::FileMap;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// Hands file data to the kernel's page cache: (inode, offset, bytes). Best
/// effort: the kernel may have forgotten the inode.
pub type PageSink = Box<dyn Fn(u64, u64, &[u8]) + Send + Sync>;

/// Entries in a block; the window reaches two blocks ahead.
const BLOCK: usize = 16;
/// Larger files are not handed over whole; their first chunk is decoded.
const PUSH_MAX: u64 = 4 << 20;
/// Handed-over inodes remembered; the set is cleared when it grows past this.
const PUSHED_MAX: usize = 1 << 16;

pub(super) enum Job {
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
            Job::Chunk(id) if !self.reader.has_or_loading(&id) => self.reader.chunk(&self.repo, &id).map(drop),
            Job::Chunk(_) => Ok(()),
            Job::Push { ino, map } => {
                let Some(sink) = self.prefetch.sink.get() else { return Ok(()) };
                if self.node(ino).is_err() {
                    // Not (or no longer) known to the kernel: it would drop the data.
                    self.prefetch.unclaim(ino);
                    return Ok(());
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
        let ids = map.pieces()[i..].iter().filter_map(|p| match p {
            Piece::Data { id, .. } => Some(*id),
            Piece::Hole { .. } => None,
        });
        for id in ids.take(3) {
            if !self.reader.has_or_loading(&id) && !self.prefetch.queue(node.snap, Job::Chunk(id)) {
                break;
            }
        }
    }

    /// On the first read of a file, queues the files after it.
    pub(super) fn prefetch_siblings(&self, node: &EntryNode) {
        let Some((tree, parent_key)) = node.parent else { return };
        let Ok(tree) = self.tree(&tree, node) else { return };
        let start = tree.entries.partition_point(|e| e.name < node.entry.name) + 1;
        self.prefetch_files(node.snap, &parent_key, &tree, start, true);
    }

    /// Queues the files of a directory (`tree`, whose node has key
    /// `parent_key`) from `start` to the end of the next block. Files are
    /// only handed over if `push`: not while listing, when the kernel does
    /// not know the inodes yet.
    pub(super) fn prefetch_files(&self, snap: Id, parent_key: &[u8; 32], tree: &Tree, start: usize, push: bool) {
        let pf = &self.prefetch;
        let sink = push && pf.sink.get().is_some();
        let first = start / BLOCK * BLOCK;
        let end = (first + 2 * BLOCK).max(start + BLOCK).min(tree.entries.len());
        let mut wire_seen = false;
        for (i, e) in tree.entries.iter().enumerate().take(end).skip(first) {
            if i % BLOCK == 0 {
                wire_seen = false;
            }
            let Content::Inline(pieces) = &e.content else { continue };
            let first_data = pieces.iter().find_map(|p| match p {
                Piece::Data { id, .. } => Some(*id),
                Piece::Hole { .. } => None,
            });
            let (Kind::File, Some(id)) = (e.kind, first_data) else { continue };
            let wire = !std::mem::replace(&mut wire_seen, true);
            if i < start {
                continue;
            }
            let queued = if wire || !sink || e.size > PUSH_MAX {
                self.reader.has_or_loading(&id) || pf.queue(snap, Job::Chunk(id))
            } else {
                let ino = ino_of(&child_key(&snap, parent_key, e));
                if !pf.claim(ino) {
                    continue;
                }
                let ok = pf.queue(snap, Job::Push { ino, map: FileMap::new(pieces.clone()) });
                if !ok {
                    pf.unclaim(ino);
                }
                ok
            };
            if !queued {
                break; // the queue is full: the prefetchers are busy enough
            }
        }
    }
}
