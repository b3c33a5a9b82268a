//! The one owner of how records are keyed in the store: which column family
//! holds what, the chunk keys in write order, the chunk index entries, and
//! batches. Backup, restore, the mount and prune ask `Records` for what they
//! need (put, has, read, scan, delete); none builds a key or a batch itself.

use crate::crypto::{Id, Keys};
use crate::error::{Error, Result};
use crate::format::config::Config;
use crate::format::record;
use crate::store::{Batch, Cf, Durability, Store};
use std::sync::Arc;

/// How a writer keys the chunks it stores, and the chunk index entries
/// that find them.
///
/// RocksDB writes values to blob files in key order, one flush at a time:
/// keyed by id (a hash), the chunks of files backed up one after another
/// lie scattered across a blob file, and reading a tree back costs a random
/// disk read per small file. So from config version 2 on, a chunk's key is
/// its write order (big-endian), then its id; its index entry is the stored
/// length (u32 LE) then that order. Version 1 repositories key chunks by id,
/// with the length alone in the index.
enum ChunkKeys {
    ById,
    /// The order of the next chunk: clock nanoseconds when the writer
    /// started, plus one per chunk. A backup writes far fewer chunks than
    /// nanoseconds pass, so the next one starts above it; a clock set back
    /// costs only locality, as the id keeps every key unique.
    Ordered(u64),
}

impl ChunkKeys {
    fn for_writer(ordered: bool) -> ChunkKeys {
        if !ordered {
            return ChunkKeys::ById;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        ChunkKeys::Ordered(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX >> 1))
    }

    /// The chunk index entry and the chunks key for a chunk of `stored` bytes.
    fn next(&mut self, id: &Id, stored: u32) -> (Vec<u8>, Vec<u8>) {
        let mut entry = stored.to_le_bytes().to_vec();
        match self {
            ChunkKeys::ById => (entry, id.0.to_vec()),
            ChunkKeys::Ordered(order) => {
                *order = order.wrapping_add(1);
                entry.extend_from_slice(&order.to_be_bytes());
                (entry, Self::key(&order.to_be_bytes(), id))
            }
        }
    }

    fn key(order: &[u8; 8], id: &Id) -> Vec<u8> {
        [&order[..], &id.0].concat()
    }
}

/// A chunk as its index entry describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkEntry {
    pub id: Id,
    /// Bytes of the stored record.
    pub stored: u32,
    /// The chunks-family key of its record.
    key: Vec<u8>,
}

impl ChunkEntry {
    /// The chunks-family key of its record.
    pub(super) fn key(&self) -> &[u8] {
        &self.key
    }

    /// Whether the record stored under `key` is the one this entry names.
    pub(super) fn has_key(&self, key: &[u8]) -> bool {
        self.key == key
    }

    /// The chunk stored under chunks-family `key` as a record of `stored`
    /// bytes, and its index entry: what a bucket's pack index says of a
    /// chunk is enough to rebuild the entry. `None` for a key of neither
    /// layout.
    pub(super) fn of_record(key: &[u8], stored: u32, ordered: bool) -> Option<(ChunkEntry, Vec<u8>)> {
        let mut entry = stored.to_le_bytes().to_vec();
        let id = match (ordered, key.len()) {
            (true, 40) => {
                entry.extend_from_slice(&key[..8]);
                Id::from_slice(&key[8..])?
            }
            (false, 32) => Id::from_slice(key)?,
            _ => return None,
        };
        Some((ChunkEntry { id, stored, key: key.to_vec() }, entry))
    }

    /// Decodes an index entry; `None` when it is malformed.
    pub(super) fn parse(id: Id, entry: &[u8], ordered: bool) -> Option<ChunkEntry> {
        let stored = u32::from_le_bytes(entry.get(..4)?.try_into().ok()?);
        let key = if ordered {
            let order: &[u8; 8] = entry.get(4..)?.try_into().ok()?;
            ChunkKeys::key(order, &id)
        } else {
            if entry.len() != 4 {
                return None;
            }
            id.0.to_vec()
        };
        Some(ChunkEntry { id, stored, key })
    }
}

/// The stored records of one repository, and their layout. Cheap to clone
/// (the store is shared), so pipeline threads each hold one.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn Store>,
    keys: Keys,
    level: i32,
    ordered: bool,
}

impl Records {
    pub fn new(store: Arc<dyn Store>, keys: Keys, config: &Config) -> Records {
        Records { store, keys, level: config.compression, ordered: config.ordered_chunks() }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    #[cfg(test)]
    fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The stored record of `plaintext` under `id`.
    pub fn seal(&self, id: &Id, plaintext: &[u8]) -> Vec<u8> {
        record::seal(&self.keys, id, plaintext, self.level)
    }

    /// The chunk id in a chunks-family key; `None` for a key of neither
    /// layout.
    pub(super) fn chunk_id_of_key(&self, key: &[u8]) -> Option<Id> {
        match (self.ordered, key.len()) {
            (true, 40) => Id::from_slice(&key[8..]),
            (false, 32) => Id::from_slice(key),
            _ => None,
        }
    }

    pub fn has_chunk(&self, id: &Id) -> Result<bool> {
        self.store.contains(Cf::ChunkIndex, &id.0)
    }

    /// Whether a tree or chunk list is stored.
    pub fn has_object(&self, id: &Id) -> Result<bool> {
        self.store.contains(Cf::Trees, &id.0)
    }

    /// A chunk's index entry, `None` when it is not indexed.
    pub fn chunk_entry(&self, id: &Id) -> Result<Option<ChunkEntry>> {
        let Some(entry) = self.store.get(Cf::ChunkIndex, &id.0)? else { return Ok(None) };
        ChunkEntry::parse(*id, &entry, self.ordered)
            .map(Some)
            .ok_or_else(|| Error::corrupt(format!("chunk index entry {id}"), "wrong length"))
    }

    /// Stored bytes of a tree or chunk list; `None` when it is not stored.
    pub fn object_len(&self, id: &Id) -> Result<Option<usize>> {
        Ok(self.store.get(Cf::Trees, &id.0)?.map(|v| v.len()))
    }

    /// A chunk's plaintext, verified against its id.
    pub fn chunk(&self, id: &Id) -> Result<Vec<u8>> {
        let entry = self.chunk_entry(id)?.ok_or_else(|| Error::Missing { what: "chunk", id: id.to_hex() })?;
        self.open(Cf::Chunks, &entry.key, "chunk", id)
    }

    /// A tree or chunk list's plaintext; `what` names it in errors.
    pub fn object(&self, what: &'static str, id: &Id) -> Result<Vec<u8>> {
        self.open(Cf::Trees, &id.0, what, id)
    }

    fn open(&self, cf: Cf, key: &[u8], what: &'static str, id: &Id) -> Result<Vec<u8>> {
        let bytes = self.store.get(cf, key)?.ok_or_else(|| Error::Missing { what, id: id.to_hex() })?;
        record::open(&self.keys, id, bytes, &format!("{what} {id}"))
    }

    /// A batch writer; chunks it puts are keyed in the order put.
    pub fn writer(&self) -> RecordWriter {
        RecordWriter { records: self.clone(), chunk_keys: ChunkKeys::for_writer(self.ordered), batch: Batch::default() }
    }

    /// Every indexed chunk, in id order. `f` returns `false` to stop.
    pub fn scan_chunks(&self, f: &mut dyn FnMut(ChunkEntry) -> Result<bool>) -> Result<()> {
        let ordered = self.ordered;
        self.store.scan(Cf::ChunkIndex, b"", &mut |k, v| {
            let id = Id::from_slice(k).ok_or_else(|| Error::corrupt("chunk index", "a key is not a chunk id"))?;
            let entry = ChunkEntry::parse(id, v, ordered)
                .ok_or_else(|| Error::corrupt(format!("chunk index entry {id}"), "wrong length"))?;
            f(entry)
        })
    }

    /// Every stored tree and chunk list: its id and stored bytes.
    pub fn scan_objects(&self, f: &mut dyn FnMut(Id, usize) -> Result<bool>) -> Result<()> {
        self.store.scan(Cf::Trees, b"", &mut |k, v| {
            let id = Id::from_slice(k).ok_or_else(|| Error::corrupt("tree index", "a key is not an object id"))?;
            f(id, v.len())
        })
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    /// Gives the space of deleted records back to the filesystem. The
    /// index and tree families are small and compacted whole. In the chunks
    /// family, a stretch of write order that lost records is compacted:
    /// with its live records moved to new blob files where garbage is at
    /// least `RELOCATE_SHARE` of it, else only so that blob files holding
    /// nothing live are dropped (no data rewritten, as restic leaves packs
    /// with little garbage alone). Moving costs more than the stretch: a
    /// compaction takes whole table files, and so moves the live records of
    /// the newer stretches they share (forgetting all but the newest backup
    /// of the bench took 2.9 s when the dead corpus was "moved", 0.15 s
    /// when its keys were only dropped).
    pub fn compact(&self, garbage: &Garbage) -> Result<()> {
        self.store.compact(Cf::ChunkIndex, &[], false)?;
        self.store.compact(Cf::Trees, &[], true)?;
        if !self.ordered {
            // Keyed by id: garbage lies everywhere.
            if garbage.dead_bytes() > 0 {
                self.store.compact(Cf::Chunks, &[], true)?;
            }
            return Ok(());
        }
        // (An empty list would mean every key.)
        let (relocate, drop_only) = garbage.ranges();
        if !relocate.is_empty() {
            self.store.compact(Cf::Chunks, &relocate, true)?;
        }
        if !drop_only.is_empty() {
            self.store.compact(Cf::Chunks, &drop_only, false)?;
        }
        Ok(())
    }
}

/// A stretch of write order holds this many chunk positions (`order >>
/// STRETCH_BITS`): a backup's chunks are consecutive, so one stretch is
/// about one backup's worth of up to 4096 chunks.
const STRETCH_BITS: u32 = 12;
/// A stretch whose garbage is at least this share of its bytes (1/n) has
/// its live chunks moved, so all of its space comes back.
const RELOCATE_SHARE: u64 = 10;

/// First and last key, inclusive.
type KeyRange = (Vec<u8>, Vec<u8>);

/// Live and dead bytes by stretch of write order, as prune's sweep sees
/// them: where compaction pays. Memory: one entry per stretch that lost a
/// record (about one per 4096 chunks), not per chunk.
#[derive(Debug, Default)]
pub struct Garbage {
    stretches: std::collections::BTreeMap<u64, (u64, u64)>,
    dead: u64,
    /// Live bytes by stretch, for stretches not (yet) known to hold
    /// garbage: one entry per 4096 chunk positions at most.
    live: std::collections::HashMap<u64, u64>,
}

impl Garbage {
    fn stretch(c: &ChunkEntry) -> Option<u64> {
        let order: [u8; 8] = c.key.get(..8)?.try_into().ok()?;
        (c.key.len() == 40).then(|| u64::from_be_bytes(order) >> STRETCH_BITS)
    }

    /// Notes a chunk the sweep keeps (`dead` false) or deletes.
    pub fn note(&mut self, c: &ChunkEntry, dead: bool) {
        let bytes = c.stored as u64;
        if dead {
            self.dead += bytes;
        }
        let Some(s) = Garbage::stretch(c) else { return };
        if dead {
            let live = self.live.remove(&s).unwrap_or(0);
            let e = self.stretches.entry(s).or_insert((live, 0));
            e.1 += bytes;
        } else if let Some(e) = self.stretches.get_mut(&s) {
            e.0 += bytes;
        } else {
            *self.live.entry(s).or_default() += bytes;
        }
    }

    pub fn dead_bytes(&self) -> u64 {
        self.dead
    }

    /// Key ranges (inclusive) to compact with relocation, and without.
    fn ranges(&self) -> (Vec<KeyRange>, Vec<KeyRange>) {
        let mut relocate: Vec<(u64, u64)> = Vec::new();
        let mut drop_only: Vec<(u64, u64)> = Vec::new();
        for (&s, &(live, dead)) in &self.stretches {
            // A stretch with nothing live needs no moving: its blob files
            // hold only garbage once its keys are dropped.
            let worth_moving = live > 0 && dead * RELOCATE_SHARE >= live + dead;
            let to = if worth_moving { &mut relocate } else { &mut drop_only };
            match to.last_mut() {
                Some((_, hi)) if *hi + 1 == s => *hi = s,
                _ => to.push((s, s)),
            }
        }
        let keys = |v: Vec<(u64, u64)>| {
            v.into_iter()
                .map(|(lo, hi)| {
                    let first = (lo << STRETCH_BITS).to_be_bytes().to_vec();
                    let last =
                        [&((hi << STRETCH_BITS) | ((1 << STRETCH_BITS) - 1)).to_be_bytes()[..], &[0xff; 32]].concat();
                    (first, last)
                })
                .collect()
        };
        (keys(relocate), keys(drop_only))
    }
}

/// Queues puts and deletes and writes them as one batch. Writes are
/// deferred (durable at the next `Records::flush`); see `store`.
pub struct RecordWriter {
    records: Records,
    chunk_keys: ChunkKeys,
    batch: Batch,
}

impl RecordWriter {
    /// Queues a sealed chunk record and its index entry.
    pub fn put_chunk(&mut self, id: &Id, record: Vec<u8>) {
        let (entry, key) = self.chunk_keys.next(id, record.len() as u32);
        self.batch.put(Cf::ChunkIndex, id.0.to_vec(), entry);
        self.batch.put(Cf::Chunks, key, record);
    }

    /// Queues a sealed tree or chunk-list record.
    pub fn put_object(&mut self, id: &Id, record: Vec<u8>) {
        self.batch.put(Cf::Trees, id.0.to_vec(), record);
    }

    /// Queues the removal of a chunk: its record and its index entry, in
    /// one batch, so neither outlives the other.
    pub fn delete_chunk(&mut self, chunk: &ChunkEntry) {
        self.batch.delete(Cf::Chunks, chunk.key.clone());
        self.batch.delete(Cf::ChunkIndex, chunk.id.0.to_vec());
    }

    pub fn delete_object(&mut self, id: &Id) {
        self.batch.delete(Cf::Trees, id.0.to_vec());
    }

    /// Bytes queued (of puts; deletes count their keys).
    pub fn bytes(&self) -> usize {
        self.batch.bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Writes what is queued, as one atomic batch.
    pub fn write(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.records.store.write(std::mem::take(&mut self.batch), Durability::Deferred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn records(ordered: bool) -> Records {
        let config = Config::sample(if ordered { 2 } else { 1 });
        Records::new(Arc::new(MemoryStore::new()), Keys::new([1; 32], Some([2; 32])), &config)
    }

    #[test]
    fn chunks_put_read_scan_and_delete_in_both_layouts() {
        for ordered in [false, true] {
            let r = records(ordered);
            let mut w = r.writer();
            let ids: Vec<Id> = (0..5u8)
                .map(|i| {
                    let data = vec![i; 100 + i as usize];
                    let id = r.keys().id(&data);
                    w.put_chunk(&id, r.seal(&id, &data));
                    id
                })
                .collect();
            w.write().unwrap();
            for (i, id) in ids.iter().enumerate() {
                assert!(r.has_chunk(id).unwrap());
                assert_eq!(r.chunk(id).unwrap(), vec![i as u8; 100 + i]);
            }
            let mut seen = Vec::new();
            r.scan_chunks(&mut |c| {
                seen.push(c);
                Ok(true)
            })
            .unwrap();
            assert_eq!(seen.len(), 5);
            let mut w = r.writer();
            w.delete_chunk(seen.iter().find(|c| c.id == ids[2]).unwrap());
            w.write().unwrap();
            assert!(!r.has_chunk(&ids[2]).unwrap());
            // Nothing of the deleted chunk is left in either family.
            assert_eq!(r.store().range(Cf::Chunks, b"", None).unwrap().len(), 4);
            assert!(matches!(r.chunk(&ids[2]), Err(Error::Missing { .. })));
            assert_eq!(r.chunk(&ids[3]).unwrap(), vec![3u8; 103]);
        }
    }

    #[test]
    fn ordered_keys_follow_write_order_and_index_entries_point_at_them() {
        let r = records(true);
        let mut w = r.writer();
        let mut ids = Vec::new();
        for i in 0..4u8 {
            let id = r.keys().id(&[i]);
            w.put_chunk(&id, r.seal(&id, &[i]));
            ids.push(id);
        }
        w.write().unwrap();
        let chunks = r.store().range(Cf::Chunks, b"", None).unwrap();
        let in_key_order: Vec<Id> = chunks.iter().map(|(k, _)| Id::from_slice(&k[8..]).unwrap()).collect();
        assert_eq!(in_key_order, ids);
        for (key, record) in &chunks {
            let e = r.chunk_entry(&Id::from_slice(&key[8..]).unwrap()).unwrap().unwrap();
            assert_eq!(e.stored as usize, record.len());
            assert_eq!(&e.key, key);
        }
    }

    #[test]
    fn garbage_picks_stretches_to_relocate_and_to_drop_only() {
        let entry = |order: u64, stored: u32| ChunkEntry {
            id: Id([0; 32]),
            stored,
            key: ChunkKeys::key(&order.to_be_bytes(), &Id([0; 32])),
        };
        let mut g = Garbage::default();
        let base = 7 << STRETCH_BITS;
        // Stretch 7: half garbage; 8: all garbage; 9: 1 % garbage; 10: none.
        // Only 7 has live chunks worth moving.
        g.note(&entry(base, 100), false);
        g.note(&entry(base + 1, 100), true);
        g.note(&entry(base + (1 << STRETCH_BITS), 50), true);
        g.note(&entry(base + (2 << STRETCH_BITS), 1), true);
        g.note(&entry(base + (2 << STRETCH_BITS) + 5, 99), false);
        g.note(&entry(base + (3 << STRETCH_BITS), 500), false);
        assert_eq!(g.dead_bytes(), 151);
        let (relocate, drop_only) = g.ranges();
        let stretch = |k: &[u8]| u64::from_be_bytes(k[..8].try_into().unwrap()) >> STRETCH_BITS;
        let spans = |v: &[(Vec<u8>, Vec<u8>)]| v.iter().map(|(a, b)| (stretch(a), stretch(b))).collect::<Vec<_>>();
        assert_eq!(spans(&relocate), [(7, 7)]);
        assert_eq!(spans(&drop_only), [(8, 9)]);
        // A range covers every key of its stretches.
        assert!(drop_only[0].0 <= entry(base + (1 << STRETCH_BITS), 0).key);
        assert!(drop_only[0].1 >= entry(base + (3 << STRETCH_BITS) - 1, 0).key);
    }

    #[test]
    fn an_index_entry_rebuilt_from_the_record_key_is_the_one_written() {
        for ordered in [false, true] {
            let r = records(ordered);
            let id = r.keys().id(b"chunk");
            let mut w = r.writer();
            w.put_chunk(&id, r.seal(&id, b"chunk"));
            w.write().unwrap();
            let written = r.chunk_entry(&id).unwrap().unwrap();
            let (rebuilt, entry) = ChunkEntry::of_record(written.key(), written.stored, ordered).unwrap();
            assert_eq!(rebuilt, written);
            assert_eq!(Some(entry), r.store().get(Cf::ChunkIndex, &id.0).unwrap());
        }
        assert!(ChunkEntry::of_record(&[0; 39], 5, true).is_none());
    }

    #[test]
    fn a_malformed_index_entry_is_an_error_naming_the_chunk() {
        let r = records(true);
        let id = Id([9; 32]);
        let mut b = Batch::default();
        b.put(Cf::ChunkIndex, id.0.to_vec(), vec![1, 2, 3]);
        r.store().write(b, Durability::Sync).unwrap();
        let e = r.chunk(&id).unwrap_err().to_string();
        assert!(e.contains(&id.to_hex()) && e.contains("wrong length"), "{e}");
    }
}
