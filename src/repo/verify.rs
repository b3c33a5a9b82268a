//! What `check` needs to see of the stored records, in the layout only this
//! module tree knows: every record by kind, as sealed bytes (so a check
//! without the key can verify checksums), chunk records by key without
//! their bytes, and the store's files.

use super::records::ChunkEntry;
use super::Repo;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::record;
use crate::format::snapshot::Snapshot;
use crate::format::Time;
use crate::store::files::{self, Damage, FileKind, StoreFile};
use crate::store::{Cf, Checker};

/// A record met while reading a blob file through.
pub enum BlobRecord {
    /// A chunk record, with its index entry when that entry names this
    /// very record (else it is a copy compaction has not dropped yet, or a
    /// record nothing indexes).
    Chunk { id: Id, entry: Option<ChunkEntry> },
    /// Anything else: another family's record, or a key of neither layout.
    Other,
}

/// Sees a snapshot or meta record (or why its key is bad), and its sealed bytes.
pub type SealedVisit<'a> = dyn FnMut(Result<Sealed>, &[u8]) -> Result<()> + 'a;
/// Sees a tree or chunk list's id (`None` for a bad key) and sealed bytes.
pub type ObjectVisit<'a> = dyn FnMut(Option<Id>, &[u8]) -> Result<()> + 'a;

/// A set of chunk record keys, as a count and a sum of their hashes: two
/// sets are equal when both are (the odds of a false match are 2^-128).
/// What `check` compares the index entries and the records by, in two
/// sequential scans instead of a lookup per record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    count: u64,
    sum: u128,
}

impl KeySet {
    fn add_key(&mut self, key: &[u8]) {
        let h = blake3::hash(key);
        self.count += 1;
        self.sum = self.sum.wrapping_add(u128::from_le_bytes(h.as_bytes()[..16].try_into().expect("16 bytes")));
    }

    /// Adds the key of the record an index entry names.
    pub fn add(&mut self, entry: &ChunkEntry) {
        self.add_key(entry.key());
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A chunk index entry that does not parse.
pub struct BadEntry {
    pub id: Option<Id>,
    pub detail: String,
}

/// A sealed record of the small families, for `check`.
pub enum Sealed {
    Snapshot {
        time: Time,
        id: Id,
    },
    /// A hold, tag change or audit entry (`what` says which).
    Meta {
        what: &'static str,
        key: Vec<u8>,
        id: Option<Id>,
    },
}

/// A check's read-only access to the store. Over the in-memory store
/// (unit tests) there are no files, and keys come from a plain scan.
pub struct Verifier<'a> {
    repo: &'a Repo,
    checker: Option<Checker>,
}

impl Repo {
    pub fn verifier(&self) -> Result<Verifier<'_>> {
        Ok(Verifier { repo: self, checker: self.store.checker()? })
    }

    /// Verifies a sealed record: opened (authenticated, decompressed, its
    /// content hashed to its id) when the keys are loaded, giving the
    /// plaintext; else by its stored checksum alone, giving `None`.
    pub fn verify_record(&self, what: &str, id: &Id, bytes: Vec<u8>) -> Result<Option<Vec<u8>>> {
        if self.keys().is_locked() {
            return if record::verify(&bytes) { Ok(None) } else { Err(Error::corrupt(what, "checksum mismatch")) };
        }
        record::open(self.keys(), id, bytes, what).map(Some)
    }
}

impl Verifier<'_> {
    /// The live files of every family; none over the in-memory store.
    pub fn files(&self) -> Result<Vec<StoreFile>> {
        match &self.checker {
            Some(c) => c.files(&Cf::ALL),
            None => Ok(Vec::new()),
        }
    }

    /// Checks every block of a table file: `Some(problem)` when one fails.
    pub fn verify_table(&self, f: &StoreFile) -> Option<String> {
        files::verify_table(&f.path)
    }

    /// Reads a blob file through, handing each intact record to `record`;
    /// returns the damage found (see `classify` for a damaged record's key).
    pub fn read_blob_file(
        &self,
        f: &StoreFile,
        record: &mut dyn FnMut(BlobRecord, Vec<u8>) -> Result<()>,
        bytes_read: &mut dyn FnMut(u64),
    ) -> Result<Vec<Damage>> {
        debug_assert_eq!(f.kind, FileKind::Blob);
        files::read_blob_file(&f.path, &mut |key, value| record(self.classify(f.cf, key), value), bytes_read)
    }

    /// What the record under `key` in family `cf` is.
    pub fn classify(&self, cf: Cf, key: &[u8]) -> BlobRecord {
        let records = self.repo.records();
        match cf {
            Cf::Chunks => match records.chunk_id_of_key(key) {
                Some(id) => {
                    let entry = records.chunk_entry(&id).ok().flatten().filter(|e| e.has_key(key));
                    BlobRecord::Chunk { id, entry }
                }
                None => BlobRecord::Other,
            },
            _ => BlobRecord::Other,
        }
    }

    /// Every chunk index entry, in id order; a malformed one is an `Err`
    /// naming the chunk (when its key is an id) and the scan goes on.
    pub fn scan_index(&self, f: &mut dyn FnMut(Result<ChunkEntry, BadEntry>) -> Result<bool>) -> Result<()> {
        let ordered = self.repo.config().ordered_chunks();
        self.repo.store.scan(Cf::ChunkIndex, b"", &mut |k, v| {
            let entry = match Id::from_slice(k) {
                Some(id) => ChunkEntry::parse(id, v, ordered)
                    .ok_or_else(|| BadEntry { id: Some(id), detail: format!("an entry of {} bytes", v.len()) }),
                None => Err(BadEntry { id: None, detail: format!("a key of {} bytes is not a chunk id", k.len()) }),
            };
            f(entry)
        })
    }

    /// The key of every chunk record, in key order (write order), without
    /// reading the records: its chunk id, and the id's index entry when it
    /// names this record.
    pub fn scan_chunk_records(&self, f: &mut dyn FnMut(Option<Id>, Option<ChunkEntry>) -> Result<bool>) -> Result<()> {
        let records = self.repo.records();
        let mut visit = |key: &[u8]| -> Result<bool> {
            let id = records.chunk_id_of_key(key);
            let entry = id.and_then(|id| records.chunk_entry(&id).ok().flatten()).filter(|e| e.has_key(key));
            f(id, entry)
        };
        match &self.checker {
            Some(c) => c.scan_keys(Cf::Chunks, b"", &mut visit),
            None => self.repo.store.scan(Cf::Chunks, b"", &mut |k, _| visit(k)),
        }
    }

    /// The keys of every chunk record, read without the records.
    pub fn record_keys(&self) -> Result<KeySet> {
        let mut set = KeySet::default();
        let mut visit = |key: &[u8]| -> Result<bool> {
            set.add_key(key);
            Ok(true)
        };
        match &self.checker {
            Some(c) => c.scan_keys(Cf::Chunks, b"", &mut visit)?,
            None => self.repo.store.scan(Cf::Chunks, b"", &mut |k, _| visit(k))?,
        }
        Ok(set)
    }

    /// Whether the record an index entry names is stored (its bytes unread).
    pub fn chunk_stored(&self, entry: &ChunkEntry) -> Result<bool> {
        match &self.checker {
            Some(c) => c.contains_key(Cf::Chunks, entry.key()),
            None => self.repo.store.contains(Cf::Chunks, entry.key()),
        }
    }

    /// A chunk's stored record, read with the store's checksums verified;
    /// `None` when it is missing.
    pub fn read_chunk(&self, entry: &ChunkEntry) -> Result<Option<Vec<u8>>> {
        match &self.checker {
            Some(c) => c.get(Cf::Chunks, entry.key()),
            None => self.repo.store.get(Cf::Chunks, entry.key()),
        }
    }

    /// Every record of the snapshot and meta families, sealed. A snapshot
    /// key that does not parse is reported as `Err` to `f` and the scan
    /// goes on.
    pub fn scan_sealed(&self, f: &mut SealedVisit) -> Result<()> {
        let store = &self.repo.store;
        store.scan(Cf::Snapshots, b"", &mut |k, v| {
            let s = Snapshot::parse_key(k)
                .map(|(time, id)| Sealed::Snapshot { time, id })
                .ok_or_else(|| Error::corrupt("snapshot index", format!("a key of {} bytes", k.len())));
            f(s, v)?;
            Ok(true)
        })?;
        for (prefix, what) in
            [(super::meta::HOLD, "hold"), (super::meta::TAGS, "tags"), (super::meta::LOG, "audit log entry")]
        {
            let end = super::meta::end_of(prefix);
            store.scan(Cf::Meta, prefix, &mut |k, v| {
                if k >= end.as_slice() {
                    return Ok(false);
                }
                let id = v.get(..32).and_then(Id::from_slice);
                f(Ok(Sealed::Meta { what, key: k.to_vec(), id }), v.get(32..).unwrap_or_default())?;
                Ok(true)
            })?;
        }
        Ok(())
    }

    /// Every tree and chunk list, sealed.
    pub fn scan_objects(&self, f: &mut ObjectVisit) -> Result<()> {
        self.repo.store.scan(Cf::Trees, b"", &mut |k, v| {
            f(Id::from_slice(k), v)?;
            Ok(true)
        })
    }
}
