//! Key-value storage behind the repository: a `Store` trait over named column
//! families, its RocksDB implementation, and an in-memory one for tests.
//!
//! Durability contract, which the snapshot commit protocol relies on:
//! `write(.., Durability::Deferred)` may be lost in a crash until `flush()`
//! returns; `write(.., Durability::Sync)` is durable when it returns (in a
//! checksummed table file, not only a log), and so is everything written
//! before a completed `flush()`.

pub mod files;
mod memory;
mod rocks;

pub use files::Checker;
pub use memory::MemoryStore;
pub use rocks::{OpenMode, RocksStore};

use crate::error::Result;

/// Column families. FROZEN names (see `Cf::name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// The repository config and other small singletons.
    Meta,
    /// Key files, by key id.
    Keys,
    /// Chunk records, by write order then chunk id (by id alone in version
    /// 1 repositories; see `repo::records::ChunkKeys`); large values, kept in blob files.
    Chunks,
    /// Chunk id -> stored length, then the chunk's write order: existence
    /// checks without touching blobs, and where the chunk is stored.
    ChunkIndex,
    /// Tree and chunk-list records, by id.
    Trees,
    /// Snapshot records, by time then id.
    Snapshots,
}

impl Cf {
    pub const ALL: [Cf; 6] = [Cf::Meta, Cf::Keys, Cf::Chunks, Cf::ChunkIndex, Cf::Trees, Cf::Snapshots];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Keys => "keys",
            Cf::Chunks => "chunks",
            Cf::ChunkIndex => "chunk_index",
            Cf::Trees => "trees",
            Cf::Snapshots => "snapshots",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Not logged; durable once a later `flush()` returns.
    Deferred,
    /// Logged, synced and flushed to a table file before `write` returns.
    Sync,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub(crate) puts: Vec<(Cf, Vec<u8>, Vec<u8>)>,
    pub(crate) deletes: Vec<(Cf, Vec<u8>)>,
    bytes: usize,
}

impl Batch {
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let (key, value) = (key.into(), value.into());
        self.bytes += key.len() + value.len();
        self.puts.push((cf, key, value));
    }

    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        let key = key.into();
        self.bytes += key.len();
        self.deletes.push((cf, key));
    }

    /// Bytes of keys and values queued.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }
}

/// A scan's visitor: gets each key and value, returns whether to go on.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

pub trait Store: Send + Sync {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>>;

    fn contains(&self, cf: Cf, key: &[u8]) -> Result<bool> {
        Ok(self.get(cf, key)?.is_some())
    }

    fn write(&self, batch: Batch, durability: Durability) -> Result<()>;

    /// Makes every earlier write durable.
    fn flush(&self) -> Result<()>;

    /// Entries with keys in `[from, to)`, in key order. For small families
    /// (snapshots, keys); never for chunks.
    fn range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// The entry with the greatest key below `key`.
    fn last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>>;

    /// Calls `f` on every entry with a key at or after `from`, in key order,
    /// without holding them all; `f` returns `false` to stop. Writes made
    /// during the scan may or may not be seen.
    fn scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()>;

    /// Rewrites the family's keys in the `ranges` (`[from, to]`, inclusive;
    /// none means all keys) so that deleted entries give their space back:
    /// blob files that held only deleted values go; with `relocate`, the
    /// live values of the range move to new blob files, so that the files
    /// they shared with deleted ones go too.
    fn compact(&self, _cf: Cf, _ranges: &[(Vec<u8>, Vec<u8>)], _relocate: bool) -> Result<()> {
        Ok(())
    }

    /// Merges the small files that commits leave behind, where they pile
    /// up; cheap when there are few. Called after each commit.
    fn tidy(&self) -> Result<()> {
        Ok(())
    }

    /// A read-only view of the store's files for `check` (none for the
    /// in-memory store).
    fn checker(&self) -> Result<Option<Checker>> {
        Ok(None)
    }

    /// For a reader beside a writer: see what the writer committed since open.
    fn refresh(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every store must have, run against each implementation.
    use super::*;

    pub fn check(s: &dyn Store) {
        let mut b = Batch::default();
        b.put(Cf::Snapshots, b"b".to_vec(), b"2".to_vec());
        b.put(Cf::Snapshots, b"a".to_vec(), b"1".to_vec());
        b.put(Cf::Snapshots, b"d".to_vec(), b"4".to_vec());
        b.put(Cf::Chunks, b"a".to_vec(), b"chunk".to_vec());
        s.write(b, Durability::Deferred).unwrap();
        s.flush().unwrap();
        assert_eq!(s.get(Cf::Snapshots, b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(s.get(Cf::Chunks, b"a").unwrap().as_deref(), Some(&b"chunk"[..]));
        assert!(s.contains(Cf::Chunks, b"a").unwrap());
        assert!(!s.contains(Cf::Trees, b"a").unwrap());
        let keys: Vec<Vec<u8>> =
            s.range(Cf::Snapshots, b"a", Some(b"d")).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(s.range(Cf::Snapshots, b"", None).unwrap().len(), 3);
        assert_eq!(s.last_before(Cf::Snapshots, b"c").unwrap().unwrap().0, b"b");
        assert_eq!(s.last_before(Cf::Snapshots, b"b").unwrap().unwrap().0, b"a");
        assert!(s.last_before(Cf::Snapshots, b"a").unwrap().is_none());
        assert_eq!(s.last_before(Cf::Snapshots, b"z").unwrap().unwrap().0, b"d");
        let mut seen = Vec::new();
        s.scan(Cf::Snapshots, b"b", &mut |k, v| {
            seen.push((k.to_vec(), v.to_vec()));
            Ok(seen.len() < 2)
        })
        .unwrap();
        assert_eq!(seen, vec![(b"b".to_vec(), b"2".to_vec()), (b"d".to_vec(), b"4".to_vec())]);
        let mut b = Batch::default();
        b.delete(Cf::Snapshots, b"b".to_vec());
        s.write(b, Durability::Sync).unwrap();
        assert!(s.get(Cf::Snapshots, b"b").unwrap().is_none());
        s.compact(Cf::Snapshots, &[], true).unwrap();
        s.compact(Cf::Snapshots, &[(b"a".to_vec(), b"c".to_vec())], false).unwrap();
        assert_eq!(s.range(Cf::Snapshots, b"", None).unwrap().len(), 2);
    }
}
