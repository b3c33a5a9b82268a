//! `stats`: what snapshots hold and what they cost. One walk of their
//! trees (a tree shared by snapshots is read once), counting each chunk
//! once: the data the snapshots restore, the unique data behind it, and
//! what that takes in the repository.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Content, Piece};
use crate::repo::Repo;
use std::collections::HashSet;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub snapshots: u64,
    /// Files and directories, summed over the snapshots.
    pub files: u64,
    pub dirs: u64,
    /// Bytes restoring every snapshot would write (files' sizes, summed).
    pub restore_bytes: u64,
    /// Distinct chunks the snapshots use, and their plain bytes.
    pub chunks: u64,
    pub unique_bytes: u64,
    /// Stored bytes of those chunks (compressed, sealed), and of the trees
    /// and chunk lists.
    pub stored_chunk_bytes: u64,
    pub stored_tree_bytes: u64,
    pub trees: u64,
    /// unique / stored chunk bytes.
    pub compression_ratio: f64,
    /// restore / unique bytes.
    pub dedup_ratio: f64,
}

/// The statistics of `snapshots`.
pub fn of(repo: &Repo, snapshots: &[(Id, Snapshot)]) -> Result<Stats> {
    let mut st = Stats { snapshots: snapshots.len() as u64, ..Stats::default() };
    let mut trees = HashSet::new();
    let mut chunks = HashSet::new();
    for (_, s) in snapshots {
        st.files += s.counters.files;
        st.dirs += s.counters.dirs;
        st.restore_bytes += s.counters.bytes;
        walk(repo, &s.tree, &mut trees, &mut chunks, &mut st)?;
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    st.compression_ratio = ratio(st.unique_bytes, st.stored_chunk_bytes);
    st.dedup_ratio = ratio(st.restore_bytes, st.unique_bytes);
    Ok(st)
}

fn object_bytes(repo: &Repo, what: &'static str, id: &Id) -> Result<u64> {
    Ok(repo.records().object_len(id)?.ok_or_else(|| Error::Missing { what, id: id.to_hex() })? as u64)
}

fn walk(repo: &Repo, tree: &Id, trees: &mut HashSet<Id>, chunks: &mut HashSet<Id>, st: &mut Stats) -> Result<()> {
    if !trees.insert(*tree) {
        return Ok(());
    }
    let (t, parts) = repo.tree_parts(tree)?;
    for id in std::iter::once(tree).chain(&parts) {
        st.trees += 1;
        st.stored_tree_bytes += object_bytes(repo, "tree", id)?;
    }
    for e in t.entries {
        let listed;
        let pieces: &[Piece] = match &e.content {
            Content::Inline(p) => p,
            Content::List { id, .. } => {
                let parts;
                (listed, parts) = repo.chunk_list_parts(id)?;
                if trees.insert(*id) {
                    for id in std::iter::once(id).chain(&parts) {
                        st.trees += 1;
                        st.stored_tree_bytes += object_bytes(repo, "chunk list", id)?;
                    }
                }
                &listed
            }
        };
        for p in pieces {
            if let Piece::Data { id, len } = p {
                if chunks.insert(*id) {
                    st.chunks += 1;
                    st.unique_bytes += *len as u64;
                    let entry = repo.records().chunk_entry(id)?;
                    st.stored_chunk_bytes +=
                        entry.ok_or_else(|| Error::Missing { what: "chunk", id: id.to_hex() })?.stored as u64;
                }
            }
        }
        if let Some(sub) = &e.subtree {
            walk(repo, sub, trees, chunks, st)?;
        }
    }
    Ok(())
}
