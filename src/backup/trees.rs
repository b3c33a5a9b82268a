//! The tree builder: a thread that receives directories' entries from the
//! walker, in name order and in batches, waits for their files' content,
//! and stores their trees. The walker thus never waits on the seal pool at
//! a directory boundary, and the pool never idles while the walker lists a
//! directory. A huge directory is never held whole: its tree is written in
//! parts as its entries come (`format::parts::TreeWriter`).

use super::pipeline::{FileSlot, Pipeline, Progress};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::parts::{chunk_list_records, TreeWriter};
use crate::format::snapshot::Counters;
use crate::format::tree::{Content, Entry, Kind, Piece, INLINE_PIECES_MAX};
use crossbeam_channel::Receiver;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// A directory's tree id, set once its tree is stored.
pub type TreeRef = Arc<OnceLock<Id>>;

pub enum Pending {
    Ready(Entry),
    /// A file whose content the pool is still storing.
    File(Entry, Arc<FileSlot>, PathBuf, Origin),
    /// A subdirectory, built before its parent (post-order).
    Dir(Entry, TreeRef),
}

/// Why a file's content is read: it is new, it changed since the parent
/// snapshot, or it is a further link to a file read already.
#[derive(Clone, Copy)]
pub enum Origin {
    New,
    Changed,
    Linked,
}

/// What the builder stored: the files that failed, and the counts of the
/// files in the trees (files, bytes, new and changed ones), taken from what
/// was read, so a file that failed or changed size while read is counted
/// as stored.
#[derive(Default)]
pub struct Built {
    pub failed: Vec<(Vec<u8>, String)>,
    pub counters: Counters,
}

/// A batch of one directory's entries, in name order.
pub struct DirJob {
    /// How deep the directory is in the walk (0: the root), which tells the
    /// builder which of its open directories the entries belong to: the
    /// walk is depth-first, so a subdirectory's batches all come between
    /// two of its parent's.
    pub depth: usize,
    pub pending: Vec<Pending>,
    /// On the directory's last batch: where its tree id goes.
    pub done: Option<TreeRef>,
}

/// Builds trees until the walker hangs up.
pub fn build(
    jobs: Receiver<DirJob>,
    pipeline: &Pipeline,
    progress: &Progress,
    warn: &(dyn Fn(&str) + Sync),
) -> Result<Built> {
    use std::os::unix::ffi::OsStrExt;
    let mut built = Built::default();
    let c = &mut built.counters;
    let mut open: Vec<TreeWriter> = Vec::new();
    let internal = |what: &str| Error::Invalid(format!("internal: the tree builder got {what}"));
    for job in jobs {
        // Ancestors that have sent nothing yet are opened too.
        while open.len() <= job.depth {
            open.push(TreeWriter::tree(pipeline.keys()));
        }
        if open.len() != job.depth + 1 {
            return Err(internal("a directory's entries out of turn"));
        }
        let tree = open.last_mut().ok_or_else(|| internal("no directory"))?;
        for p in job.pending {
            let entry = match p {
                Pending::Ready(e) => e,
                Pending::File(mut e, slot, path, origin) => match slot.wait() {
                    Ok((pieces, hash)) => {
                        match origin {
                            Origin::New => c.files_new += 1,
                            Origin::Changed => c.files_changed += 1,
                            Origin::Linked => {}
                        }
                        // What was read, should the file have changed meanwhile.
                        e.size = pieces.iter().map(Piece::len).sum();
                        if let Some((mtime, ctime)) = slot.times() {
                            (e.mtime, e.ctime) = (mtime, ctime);
                        }
                        e.hash = hash;
                        e.content = content(pipeline, pieces)?;
                        e
                    }
                    Err(why) => {
                        // A file cut short by an aborted backup is not its own failure.
                        pipeline.check()?;
                        warn(&format!("{}: {why}", path.display()));
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                        built.failed.push((path.as_os_str().as_bytes().to_vec(), why));
                        continue;
                    }
                },
                Pending::Dir(mut e, sub) => {
                    let id = sub.get().ok_or_else(|| internal("a directory before its child"))?;
                    e.subtree = Some(*id);
                    e
                }
            };
            if entry.kind == Kind::File {
                c.files += 1;
                c.bytes += entry.size;
            }
            let parts = tree.push(entry);
            if !parts.is_empty() {
                pipeline.put_objects(parts)?;
            }
        }
        if let Some(done) = job.done {
            let tree = open.pop().ok_or_else(|| internal("no directory"))?;
            let id = pipeline.put_objects(tree.finish())?;
            let _ = done.set(id);
        }
    }
    Ok(built)
}

fn content(pipeline: &Pipeline, pieces: Vec<Piece>) -> Result<Content> {
    if pieces.len() <= INLINE_PIECES_MAX {
        return Ok(Content::Inline(pieces));
    }
    let id = pipeline.put_objects(chunk_list_records(&pieces, pipeline.keys()))?;
    Ok(Content::List { id, pieces: pieces.len() as u64 })
}
