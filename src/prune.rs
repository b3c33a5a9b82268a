//! `prune`: give back the space of records no snapshot reaches, by mark and
//! sweep under the writer lock (so no backup adds references meanwhile).
//!
//! Mark: walk every remaining snapshot's trees and chunk lists and put each
//! id reached into a Bloom filter. The filter may hold ids that were never
//! put (false positives, about 1 %), so the live set it describes is larger
//! than the truth, never smaller: a record that any snapshot reaches is
//! never deleted. A tree that cannot be read stops the prune before any
//! deletion, since what it references is unknown.
//!
//! Sweep: scan the chunk index and the tree family; delete what the filter
//! does not hold, in batches, each chunk's record with its index entry.
//! Then compact the stretch of the chunks family that lost records, with
//! blob garbage collection, so the space leaves the blob files for real.
//!
//! A crash at any moment leaves only complete snapshots: everything deleted
//! was unreachable, and deletions not yet durable are garbage that the next
//! prune finds again.

use crate::bloom::Bloom;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::tree::Content;
use crate::repo::Repo;
use std::collections::HashSet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub snapshots: u64,
    /// Trees and chunk lists read while marking.
    pub trees_walked: u64,
    pub chunks: u64,
    pub chunks_removed: u64,
    /// Stored bytes of the chunks removed (or that would be).
    pub chunk_bytes_removed: u64,
    pub objects: u64,
    /// Trees and chunk lists removed.
    pub objects_removed: u64,
    pub object_bytes_removed: u64,
    pub size_before: u64,
    pub size_after: u64,
    pub dry_run: bool,
}

/// Where prune is, for a progress display.
pub enum Stage {
    Counting,
    /// Marking: trees read so far.
    Marking(u64),
    /// Sweeping: records looked at so far, of the total.
    Sweeping(u64, u64),
    Compacting,
}

/// Deletes are written in batches of this many records.
const DELETE_BATCH: usize = 4096;
/// Trees known to be marked with all they reach, so that a subtree shared
/// by many snapshots is walked once. Exact but bounded: when full it is
/// cleared, which costs a re-walk, never a wrong answer.
const WALKED_MAX: usize = 1 << 18;

struct Mark<'a> {
    repo: &'a Repo,
    live: Bloom,
    walked: HashSet<Id>,
    trees: u64,
    progress: &'a dyn Fn(Stage),
}

impl Mark<'_> {
    fn tree(&mut self, id: &Id, snapshot: &Id) -> Result<()> {
        if self.walked.contains(id) {
            return Ok(());
        }
        self.live.insert(id);
        let (tree, parts) = self.repo.tree_parts(id).map_err(|e| unreadable(snapshot, e))?;
        parts.iter().for_each(|p| self.live.insert(p));
        self.trees += 1;
        if self.trees % 1024 == 0 {
            (self.progress)(Stage::Marking(self.trees));
        }
        for e in &tree.entries {
            match &e.content {
                Content::Inline(pieces) => pieces.iter().filter_map(|p| p.id()).for_each(|c| self.live.insert(&c)),
                Content::List { id, .. } => {
                    self.live.insert(id);
                    self.trees += 1;
                    let (pieces, parts) = self.repo.chunk_list_parts(id).map_err(|e| unreadable(snapshot, e))?;
                    parts.iter().for_each(|p| self.live.insert(p));
                    pieces.iter().filter_map(|p| p.id()).for_each(|c| self.live.insert(&c));
                }
            }
            if let Some(sub) = &e.subtree {
                self.tree(sub, snapshot)?;
            }
        }
        if self.walked.len() >= WALKED_MAX {
            self.walked.clear();
        }
        self.walked.insert(*id);
        Ok(())
    }
}

/// Fault injection for the crash tests: with `STRATA_CRASH_AT=<point>` in
/// the environment, the process kills itself (SIGKILL, no clean-up, as a
/// power cut would) when prune reaches that point. Points: `prune:marked`,
/// `prune:batch:<n>` (after the n-th delete batch is written), `prune:swept`,
/// `prune:flushed`, `prune:compacted`; and `repair:removed` (the damaged
/// records deleted, not yet marked missing).
pub(crate) fn crash_point(point: impl FnOnce() -> String) {
    if let Some(want) = std::env::var_os("STRATA_CRASH_AT") {
        if want == point().as_str() {
            unsafe { libc::raise(libc::SIGKILL) };
        }
    }
}

fn unreadable(snapshot: &Id, e: Error) -> Error {
    Error::Invalid(format!(
        "snapshot {}: {e}; prune stopped before deleting anything (run `strata check`)",
        snapshot.short()
    ))
}

/// Runs a prune (or, with `dry_run`, says what it would remove). The
/// repository must be open for writing.
pub fn run(repo: &Repo, dry_run: bool, progress: &dyn Fn(Stage)) -> Result<Report> {
    let records = repo.records();
    let mut report = Report { dry_run, size_before: repo.size_on_disk(), ..Report::default() };
    (progress)(Stage::Counting);
    records.scan_chunks(&mut |_| {
        report.chunks += 1;
        Ok(true)
    })?;
    records.scan_objects(&mut |_, _| {
        report.objects += 1;
        Ok(true)
    })?;

    let snapshots = repo.snapshots()?;
    report.snapshots = snapshots.len() as u64;
    let mut mark =
        Mark { repo, live: Bloom::new(report.chunks + report.objects), walked: HashSet::new(), trees: 0, progress };
    for (id, s) in &snapshots {
        mark.tree(&s.tree, id)?;
    }
    report.trees_walked = mark.trees;
    let live = mark.live;
    drop(mark.walked);
    crash_point(|| "prune:marked".into());

    let total = report.chunks + report.objects;
    let mut seen = 0u64;
    let mut writer = records.writer();
    let mut queued = 0usize;
    let mut batches = 0u32;
    let mut write = |writer: &mut crate::repo::RecordWriter| -> Result<()> {
        writer.write()?;
        batches += 1;
        crash_point(|| format!("prune:batch:{batches}"));
        Ok(())
    };
    let tick = |seen: &mut u64| {
        *seen += 1;
        if *seen % 8192 == 0 {
            (progress)(Stage::Sweeping(*seen, total));
        }
    };
    let mut garbage = crate::repo::Garbage::default();
    records.scan_chunks(&mut |c| {
        tick(&mut seen);
        let dead = !live.contains(&c.id);
        garbage.note(&c, dead);
        if dead {
            report.chunks_removed += 1;
            report.chunk_bytes_removed += c.stored as u64;
            if !dry_run {
                writer.delete_chunk(&c);
                queued += 1;
                if queued >= DELETE_BATCH {
                    write(&mut writer)?;
                    queued = 0;
                }
            }
        }
        Ok(true)
    })?;
    records.scan_objects(&mut |id, len| {
        tick(&mut seen);
        if !live.contains(&id) {
            report.objects_removed += 1;
            report.object_bytes_removed += len as u64;
            if !dry_run {
                writer.delete_object(&id);
                queued += 1;
                if queued >= DELETE_BATCH {
                    write(&mut writer)?;
                    queued = 0;
                }
            }
        }
        Ok(true)
    })?;
    if dry_run {
        report.size_after = report.size_before.saturating_sub(report.chunk_bytes_removed + report.object_bytes_removed);
        return Ok(report);
    }
    write(&mut writer)?;
    // What repair marked missing and no snapshot uses any more is no
    // longer awaited.
    let unused: Vec<Id> = repo.missing()?.into_iter().filter(|id| !live.contains(id)).collect();
    repo.unmark_missing(&unused, "are used by no snapshot any more")?;
    crash_point(|| "prune:swept".into());
    records.flush()?;
    crash_point(|| "prune:flushed".into());
    (progress)(Stage::Compacting);
    records.compact(&garbage)?;
    crash_point(|| "prune:compacted".into());
    report.size_after = repo.size_on_disk();
    repo.log_event(
        "prune",
        format!(
            "removed {} chunks ({} bytes) and {} trees ({} bytes)",
            report.chunks_removed, report.chunk_bytes_removed, report.objects_removed, report.object_bytes_removed
        ),
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tree::{Entry, Kind, Piece, Tree};
    use crate::repo::testing::memory_repo;

    /// Commits a snapshot of one file with the given chunks (and, for many,
    /// a chunk list) in a subdirectory; returns its id and the chunk ids.
    fn backup(repo: &Repo, secs: i64, chunks: &[&[u8]]) -> (Id, Vec<Id>) {
        let records = repo.records();
        let mut w = records.writer();
        let mut pieces = Vec::new();
        for c in chunks {
            let id = repo.keys().id(c);
            if !records.has_chunk(&id).unwrap() {
                w.put_chunk(&id, records.seal(&id, c));
            }
            pieces.push(Piece::Data { id, len: c.len() as u32 });
        }
        let mut put = |plain: Vec<u8>| {
            let id = repo.keys().id(&plain);
            w.put_object(&id, records.seal(&id, &plain));
            id
        };
        let list = put(crate::format::tree::encode_chunk_list(&pieces));
        let file = Entry {
            content: Content::List { id: list, pieces: pieces.len() as u64 },
            ..Entry::new(b"f".to_vec(), Kind::File)
        };
        let sub = put(Tree { entries: vec![file] }.encode());
        let dir = Entry { subtree: Some(sub), ..Entry::new(b"d".to_vec(), Kind::Dir) };
        let root = put(Tree { entries: vec![dir] }.encode());
        w.write().unwrap();
        let (id, _) = crate::repo::testing::snapshot_of(repo, secs, "h", &[], root);
        (id, pieces.iter().filter_map(|p| p.id()).collect())
    }

    #[test]
    fn prune_removes_exactly_what_no_snapshot_reaches() {
        let repo = memory_repo();
        let (a, a_chunks) = backup(&repo, 100, &[b"one", b"two", b"shared"]);
        let (_b, b_chunks) = backup(&repo, 200, &[b"three", b"shared"]);
        // A crashed backup's leftovers: a chunk and a tree no snapshot names.
        let mut w = repo.records().writer();
        let orphan = repo.keys().id(b"orphan");
        w.put_chunk(&orphan, repo.records().seal(&orphan, b"orphan"));
        let orphan_tree = Tree { entries: vec![Entry::new(b"lost".to_vec(), Kind::File)] }.encode();
        let orphan_tree_id = repo.keys().id(&orphan_tree);
        w.put_object(&orphan_tree_id, repo.records().seal(&orphan_tree_id, &orphan_tree));
        w.write().unwrap();

        let dry = run(&repo, true, &|_| {}).unwrap();
        assert_eq!((dry.chunks_removed, dry.objects_removed), (1, 1), "{dry:?}");
        assert!(repo.records().has_chunk(&orphan).unwrap(), "a dry run deletes nothing");

        let snap_a = repo.snapshots().unwrap().into_iter().find(|(i, _)| *i == a).unwrap();
        repo.forget(&[snap_a]).unwrap();
        let r = run(&repo, false, &|_| {}).unwrap();
        // one, two and the orphan; a's chunk list, file tree and root, and
        // the orphan tree.
        assert_eq!(r.chunks_removed, 3, "{r:?}");
        assert_eq!(r.objects_removed, 4, "{r:?}");
        assert!(!repo.records().has_object(&orphan_tree_id).unwrap());
        for c in &a_chunks[..2] {
            assert!(!repo.records().has_chunk(c).unwrap());
        }
        for c in &b_chunks {
            assert!(repo.records().has_chunk(c).unwrap(), "a live chunk was removed");
            repo.chunk(c).unwrap();
        }
        assert_eq!(run(&repo, false, &|_| {}).unwrap().chunks_removed, 0, "a second prune finds nothing");
        assert_eq!(repo.audit_log().unwrap().last().unwrap().action, "prune");
    }

    #[test]
    fn an_unreadable_tree_stops_prune_before_any_deletion() {
        let repo = memory_repo();
        let (_, chunks) = backup(&repo, 100, &[b"x"]);
        let (_, s) = repo.snapshots().unwrap().pop().unwrap();
        // Lose the root tree.
        let mut w = repo.records().writer();
        w.delete_object(&s.tree);
        w.write().unwrap();
        let orphan = repo.keys().id(b"orphan");
        let mut w = repo.records().writer();
        w.put_chunk(&orphan, repo.records().seal(&orphan, b"orphan"));
        w.write().unwrap();
        let e = run(&repo, false, &|_| {}).unwrap_err().to_string();
        assert!(e.contains("prune stopped before deleting anything") && e.contains(&s.tree.to_hex()), "{e}");
        assert!(repo.records().has_chunk(&orphan).unwrap());
        assert!(repo.records().has_chunk(&chunks[0]).unwrap());
    }
}
