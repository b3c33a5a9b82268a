//! What `--read-data` reads, and how: all of it front to back through the
//! blob files (a flipped byte anywhere in them is found), or a subset,
//! chosen by chunk id, in write order through the store. Records are
//! verified on worker threads while the next ones are read.

use super::{vanished, Check, Stage};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::repo::{BlobRecord, ChunkEntry, Repo};
use crate::store::files::{FileKind, StoreFile};
use crate::store::Cf;
use std::sync::Mutex;

/// Which chunks `--read-data` reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Subset {
    All,
    /// The n-th (1-based) of `of` parts: the chunks whose id, as a number,
    /// is n-1 modulo `of`.
    Part {
        n: u64,
        of: u64,
    },
    /// This share (0, 1] of the chunks: those whose id, as a fraction, is
    /// below it.
    Share(f64),
    /// About this many stored bytes: the share of the indexed bytes.
    Bytes(u64),
}

impl std::str::FromStr for Subset {
    type Err = String;
    fn from_str(s: &str) -> Result<Subset, String> {
        let s = s.trim();
        let bad = || format!("{s:?}: expected n/t (the n-th of t parts), a percentage (10%) or a size (500M, 2G)");
        if let Some((n, t)) = s.split_once('/') {
            let (n, of): (u64, u64) = (n.parse().map_err(|_| bad())?, t.parse().map_err(|_| bad())?);
            if n == 0 || n > of {
                return Err(format!("{s:?}: the part n of n/t must be 1 to t"));
            }
            return Ok(Subset::Part { n, of });
        }
        if let Some(p) = s.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(format!("{s:?}: a percentage must be above 0 and at most 100"));
            }
            return Ok(Subset::Share(p / 100.0));
        }
        crate::cli::parse_size(s).map(Subset::Bytes).ok_or_else(bad)
    }
}

impl std::fmt::Display for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subset::All => write!(f, "all"),
            Subset::Part { n, of } => write!(f, "{n}/{of}"),
            Subset::Share(s) => write!(f, "{}%", s * 100.0),
            Subset::Bytes(b) => write!(f, "{b} bytes"),
        }
    }
}

/// A subset made concrete: a test on chunk ids.
#[derive(Clone, Copy)]
enum Select {
    All,
    Part(u64, u64),
    /// Ids below this, as big-endian numbers of their first 8 bytes.
    Below(u64),
}

impl Select {
    fn new(s: Subset, indexed_bytes: u64) -> Select {
        let share = |x: f64| if x >= 1.0 { Select::All } else { Select::Below((x * u64::MAX as f64) as u64) };
        match s {
            Subset::All => Select::All,
            Subset::Part { n, of } => Select::Part(n - 1, of),
            Subset::Share(x) => share(x),
            Subset::Bytes(b) => share(b as f64 / indexed_bytes.max(1) as f64),
        }
    }

    fn picks(self, id: &Id) -> bool {
        let x = u64::from_be_bytes(id.0[..8].try_into().expect("8 bytes"));
        match self {
            Select::All => true,
            Select::Part(rest, of) => x % of == rest,
            Select::Below(b) => x < b,
        }
    }
}

impl Check<'_> {
    /// Reads chunk data: all of it front to back through the blob files, or
    /// a subset in write order through the store.
    pub(super) fn data(&mut self, subset: Subset, files: &[StoreFile]) -> Result<()> {
        let blob_files: Vec<&StoreFile> =
            files.iter().filter(|f| f.kind == FileKind::Blob && f.cf == Cf::Chunks).collect();
        let select = Select::new(subset, self.report.chunk_bytes);
        let through_files = matches!(select, Select::All) && !files.is_empty();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
        let (tx, rx) = crossbeam_channel::bounded::<(ChunkEntry, Vec<u8>)>(workers * 8);
        let failed: Mutex<Vec<(ChunkEntry, String)>> = Mutex::new(Vec::new());
        let repo = self.repo;
        let verify = |(entry, bytes): (ChunkEntry, Vec<u8>)| {
            if let Err(e) = verify_chunk(repo, &entry, bytes) {
                failed.lock().unwrap_or_else(|e| e.into_inner()).push((entry, e));
            }
        };
        let mut suspects: Vec<(Id, String, Option<String>)> = Vec::new();
        let mut reread = false;
        let result = std::thread::scope(|scope| -> Result<()> {
            for _ in 0..workers {
                let rx = rx.clone();
                scope.spawn(move || rx.iter().for_each(verify));
            }
            drop(rx);
            let r = if through_files {
                let total: u64 = blob_files.iter().map(|f| f.size).sum();
                self.read_files(&blob_files, total, &tx, &mut suspects, &mut reread)
            } else {
                self.read_selected(select, &tx)
            };
            drop(tx);
            r
        });
        result?;
        for (entry, e) in failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            suspects.push((entry.id, e, None));
        }
        // A damaged record in a blob file may be a stale copy (relocated by
        // prune, awaiting garbage collection): the chunk is damaged only if
        // its live record, read through the store, is.
        for (id, detail, file) in suspects {
            let live = match self.repo.records().chunk_entry(&id) {
                Ok(Some(entry)) => self.read_one(&entry),
                _ => continue,
            };
            match (live, file) {
                // Garbage no snapshot reads: the data is intact, the disk
                // under it perhaps not.
                (Ok(()), Some(file)) => self.report.warnings.push(format!(
                    "{file}: a stale copy of chunk {id} (awaiting prune's garbage collection; the live one is \
                     sound) is damaged: {detail}"
                )),
                (Ok(()), None) => {}
                (Err(e), file) => {
                    let detail = match file {
                        Some(f) => format!("{e} (in {f})"),
                        None => e,
                    };
                    self.problems.add_used("chunk_damaged", &id, detail);
                }
            }
        }
        if through_files && !reread {
            // Every live record lies in a live blob file, and each was read
            // whole: every chunk stored was verified, and the rest of what
            // was read are stale copies.
            let missing = self.problems.list.iter().filter(|p| p.kind == "chunk_missing").count() as u64;
            let live = self.report.chunks.saturating_sub(missing);
            self.report.stale_copies_read = self.report.chunks_read.saturating_sub(live);
            self.report.chunks_read = self.report.chunks_read.min(live);
        }
        if reread {
            // Part of a blob file could not be framed: read every chunk
            // through the store to learn which are lost.
            let mut bad = Vec::new();
            let mut read = 0;
            self.v.scan_chunk_records(&mut |_, entry| {
                if let Some(entry) = entry {
                    read += 1;
                    if let Err(e) = self.read_one(&entry) {
                        bad.push((entry.id, e));
                    }
                }
                Ok(true)
            })?;
            self.report.chunks_read = read;
            for (id, e) in bad {
                self.problems.add_used("chunk_damaged", &id, e);
            }
        }
        Ok(())
    }

    /// Opens one chunk's live record through the store.
    fn read_one(&self, entry: &ChunkEntry) -> std::result::Result<(), String> {
        match self.v.read_chunk(entry) {
            Ok(Some(bytes)) => verify_chunk(self.repo, entry, bytes),
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn read_files(
        &mut self,
        files: &[&StoreFile],
        total: u64,
        tx: &crossbeam_channel::Sender<(ChunkEntry, Vec<u8>)>,
        suspects: &mut Vec<(Id, String, Option<String>)>,
        reread: &mut bool,
    ) -> Result<()> {
        let mut done = 0u64;
        let mut last = 0u64;
        for f in files {
            let (report, progress) = (&mut self.report, self.progress);
            // The chunks met in this file: where it is damaged, RocksDB
            // may refuse them all, so each is then read through the store.
            let mut met = Vec::new();
            let damage = self.v.read_blob_file(
                f,
                &mut |record, bytes| {
                    if let BlobRecord::Chunk { entry: Some(entry), .. } = record {
                        report.chunks_read += 1;
                        met.push(entry.clone());
                        tx.send((entry, bytes)).map_err(|_| Error::Invalid("check: a verifier stopped".into()))?;
                    }
                    Ok(())
                },
                &mut |n| {
                    done += n;
                    if done - last >= 8 << 20 {
                        last = done;
                        progress(Stage::Reading(done, total));
                    }
                },
            );
            self.report.bytes_read = done;
            let damage = match damage {
                Ok(d) => d,
                Err(_) if vanished(f) => continue,
                Err(e) => {
                    self.problems.add("blob_file_damaged", None, Some(&f.path), e.to_string());
                    *reread = true;
                    continue;
                }
            };
            if !damage.is_empty() {
                for entry in met {
                    if let Err(e) = self.read_one(&entry) {
                        let detail = format!("{e} (in {})", f.path.display());
                        self.problems.add_used("chunk_damaged", &entry.id, detail);
                    }
                }
            }
            for d in damage {
                let at = format!("{} at byte {}", f.path.display(), d.offset);
                let chunk = d.key.as_deref().map(|k| self.v.classify(Cf::Chunks, k));
                match chunk {
                    Some(BlobRecord::Chunk { id, entry: Some(_) }) => {
                        suspects.push((id, d.detail, Some(at)));
                    }
                    // Garbage, as a stale copy below: what no index entry
                    // names no snapshot reads (one it should is reported
                    // as unindexed).
                    Some(BlobRecord::Chunk { entry: None, .. }) => self.report.warnings.push(format!(
                        "{at}: a record no index entry names (garbage for prune) is damaged: {}",
                        d.detail
                    )),
                    _ => {
                        let detail = format!("at byte {}: {}", d.offset, d.detail);
                        self.problems.add("blob_file_damaged", None, Some(&f.path), detail);
                        // A damaged key hides which chunk it held.
                        *reread |= d.rest_unread || d.key.is_some();
                    }
                }
            }
        }
        (self.progress)(Stage::Reading(done, total));
        Ok(())
    }

    fn read_selected(&mut self, select: Select, tx: &crossbeam_channel::Sender<(ChunkEntry, Vec<u8>)>) -> Result<()> {
        let mut total = 0u64;
        self.v.scan_index(&mut |e| {
            if let Ok(e) = e {
                if select.picks(&e.id) {
                    total += e.stored as u64;
                }
            }
            Ok(true)
        })?;
        let (v, report, problems, progress) = (&self.v, &mut self.report, &mut self.problems, self.progress);
        let mut last = 0u64;
        v.scan_chunk_records(&mut |_, entry| {
            let Some(entry) = entry.filter(|e| select.picks(&e.id)) else { return Ok(true) };
            match v.read_chunk(&entry) {
                Ok(Some(bytes)) => {
                    report.chunks_read += 1;
                    report.bytes_read += bytes.len() as u64;
                    if report.bytes_read - last >= 8 << 20 {
                        last = report.bytes_read;
                        progress(Stage::Reading(report.bytes_read, total));
                    }
                    tx.send((entry, bytes)).map_err(|_| Error::Invalid("check: a verifier stopped".into()))?;
                }
                // Reported by the index check.
                Ok(None) => {}
                Err(e) => problems.add_used("chunk_damaged", &entry.id, e.to_string()),
            }
            Ok(true)
        })?;
        progress(Stage::Reading(report.bytes_read, total));
        Ok(())
    }
}

/// A chunk record's length against its index entry, then the record itself
/// (opened, or its checksum without the key).
fn verify_chunk(repo: &Repo, entry: &ChunkEntry, bytes: Vec<u8>) -> std::result::Result<(), String> {
    if bytes.len() != entry.stored as usize {
        return Err(format!("{} bytes stored, the index says {}", bytes.len(), entry.stored));
    }
    repo.verify_record(&format!("chunk {}", entry.id), &entry.id, bytes).map(drop).map_err(|e| e.to_string())
}
