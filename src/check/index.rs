//! The chunk index against what references it and what it names: every
//! entry decoded, every referenced chunk indexed (merged with one scan of
//! the index, not looked up one by one), every entry's record stored and
//! every record indexed.

use super::{Check, Stage, PROBLEMS_MAX};
use crate::crypto::Id;
use crate::error::Result;
use crate::repo::KeySet;

impl Check<'_> {
    /// Every index entry: counted, a malformed one reported; returns the
    /// set of record keys the entries name.
    pub(super) fn index_pass(&mut self) -> Result<KeySet> {
        let mut named = KeySet::default();
        let (report, problems, progress) = (&mut self.report, &mut self.problems, self.progress);
        self.v.scan_index(&mut |e| {
            match e {
                Ok(e) => {
                    named.add(&e);
                    report.chunks += 1;
                    report.chunk_bytes += e.stored as u64;
                    if report.chunks % 65536 == 0 {
                        progress(Stage::Index(report.chunks));
                    }
                }
                Err(bad) => match bad.id {
                    Some(id) => problems.add_used("index_entry_damaged", &id, bad.detail),
                    None => {
                        problems.add("index_entry_damaged", None, None, format!("chunk index: {}", bad.detail));
                    }
                },
            }
            Ok(true)
        })?;
        Ok(named)
    }

    /// The chunks referenced since the last call must be indexed: sorted
    /// and merged with a scan of the index (one sequential read instead of
    /// a lookup per reference). The last call also counts what no snapshot
    /// references.
    pub(super) fn resolve_refs(&mut self, last: bool) -> Result<()> {
        let mut refs = std::mem::take(&mut self.refs);
        refs.sort_unstable();
        refs.dedup();
        let mut next = 0;
        let (report, problems, referenced) = (&mut self.report, &mut self.problems, &self.referenced);
        let mut unindexed = Vec::new();
        self.v.scan_index(&mut |e| {
            let id = match &e {
                Ok(e) => e.id,
                Err(bad) => match bad.id {
                    Some(id) => id,
                    None => return Ok(true),
                },
            };
            while next < refs.len() && refs[next] < id {
                unindexed.push(refs[next]);
                next += 1;
            }
            if next < refs.len() && refs[next] == id {
                next += 1;
            }
            if let (true, Ok(e)) = (last, &e) {
                if !referenced.contains(&e.id) {
                    report.reclaimable_chunks += 1;
                    report.reclaimable_bytes += e.stored as u64;
                }
            }
            Ok(last || next < refs.len())
        })?;
        unindexed.extend_from_slice(&refs[next..]);
        for id in unindexed {
            problems.add_used("chunk_unindexed", &id, "no chunk index entry".into());
        }
        Ok(())
    }

    /// The chunk records against the index entries: as sets of keys, and
    /// only when they differ looked up one by one.
    pub(super) fn records_pass(&mut self, named: &KeySet) -> Result<()> {
        if self.v.record_keys()? == *named {
            return Ok(());
        }
        let mut matched = 0u64;
        let mut strays: Vec<Option<Id>> = Vec::new();
        self.v.scan_chunk_records(&mut |id, entry| {
            match entry {
                Some(_) => matched += 1,
                None if strays.len() < PROBLEMS_MAX => strays.push(id),
                None => {}
            }
            Ok(true)
        })?;
        for id in strays {
            match id {
                Some(id) => match self.problems.find("chunk_unindexed", &id) {
                    Some(i) => self.problems.list[i].detail.push_str("; its record is stored"),
                    None => self.problems.add_used(
                        "record_unindexed",
                        &id,
                        "a chunk record no index entry names: space prune cannot give back".into(),
                    ),
                },
                None => {
                    self.problems.add(
                        "record_unindexed",
                        None,
                        None,
                        "a chunks record with a key of neither layout".into(),
                    );
                }
            }
        }
        if matched < named.len() {
            let (v, problems) = (&self.v, &mut self.problems);
            v.scan_index(&mut |e| {
                if let Ok(e) = e {
                    if !v.chunk_stored(&e)? {
                        problems.add_used("chunk_missing", &e.id, "indexed, but its record is not stored".into());
                    }
                }
                Ok(true)
            })?;
        }
        Ok(())
    }
}
