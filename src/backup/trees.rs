//! The tree builder: a thread that receives finished directories from the
//! walker in post-order, waits for their files' content, and stores their
//! trees. The walker thus never waits on the seal pool at a directory
//! boundary, and the pool never idles while the walker lists a directory.

use super::pipeline::{FileSlot, Pipeline, Progress};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::parts::{chunk_list_records, tree_records};
use crate::format::tree::{Content, Entry, Piece, Tree, INLINE_PIECES_MAX};
use crossbeam_channel::Receiver;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// A directory's tree id, set once its tree is stored.
pub type TreeRef = Arc<OnceLock<Id>>;

pub enum Pending {
    Ready(Entry),
    /// A file whose content the pool is still storing.
    File(Entry, Arc<FileSlot>, PathBuf),
    /// A subdirectory, built before its parent (post-order).
    Dir(Entry, TreeRef),
}

pub struct DirJob {
    pub pending: Vec<Pending>,
    pub tree: TreeRef,
}

/// Builds trees until the walker hangs up; returns the files that failed.
pub fn build(
    jobs: Receiver<DirJob>,
    pipeline: &Pipeline,
    progress: &Progress,
    warn: &(dyn Fn(&str) + Sync),
) -> Result<Vec<(Vec<u8>, String)>> {
    use std::os::unix::ffi::OsStrExt;
    let mut failed = Vec::new();
    for job in jobs {
        let mut tree = Tree { entries: Vec::with_capacity(job.pending.len()) };
        for p in job.pending {
            match p {
                Pending::Ready(e) => tree.entries.push(e),
                Pending::File(mut e, slot, path) => match slot.wait() {
                    Ok((pieces, hash)) => {
                        // What was read, should the file have changed meanwhile.
                        e.size = pieces.iter().map(Piece::len).sum();
                        e.hash = hash;
                        e.content = content(pipeline, pieces)?;
                        tree.entries.push(e);
                    }
                    Err(why) => {
                        warn(&format!("{}: {why}", path.display()));
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                        failed.push((path.as_os_str().as_bytes().to_vec(), why));
                    }
                },
                Pending::Dir(mut e, sub) => {
                    let id = sub
                        .get()
                        .ok_or_else(|| Error::Invalid("internal: a directory finished before its child".into()))?;
                    e.subtree = Some(*id);
                    tree.entries.push(e);
                }
            }
        }
        tree.sort();
        let id = pipeline.put_objects(tree_records(&tree.entries, pipeline.keys()))?;
        let _ = job.tree.set(id);
    }
    Ok(failed)
}

fn content(pipeline: &Pipeline, pieces: Vec<Piece>) -> Result<Content> {
    if pieces.len() <= INLINE_PIECES_MAX {
        return Ok(Content::Inline(pieces));
    }
    let id = pipeline.put_objects(chunk_list_records(&pieces, pipeline.keys()))?;
    Ok(Content::List { id, pieces: pieces.len() as u64 })
}
