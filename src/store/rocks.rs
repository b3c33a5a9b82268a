//! The RocksDB store: one database per repository, a column family per `Cf`.
//!
//! Chunk records go to RocksDB's integrated BlobDB (blob files, no blob
//! compression: records are already compressed and sealed). Deferred writes
//! skip the WAL, so chunk data is written once, to blob files, at flush; a
//! snapshot is committed by a flush and then a synced write.
//!
//! A writer opens the database as primary (RocksDB's LOCK makes it the only
//! one). Readers open it read-only, which never blocks the writer. (Not as a
//! secondary instance: BlobDB does not support those and crashes reading a
//! blob; see facebook/rocksdb#13371.) A reader catches up by reopening when
//! the writer's WAL or MANIFEST changed, and reopens once more when a read
//! fails, in case a compaction removed a file under it.

use super::{Batch, Cf, Durability, Store, Visit};
use crate::error::{Error, Result};
use rocksdb::{
    BlockBasedOptions, BottommostLevelCompaction, Cache, ColumnFamilyDescriptor, CompactOptions, DBCompressionType,
    FlushOptions, Options, ReadOptions, WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    Create,
    Write,
    Read,
}

pub struct RocksStore {
    db: RwLock<Arc<DB>>,
    path: PathBuf,
    read_only: bool,
    /// What the WAL and MANIFEST files looked like at the last (re)open.
    seen: Mutex<Vec<(String, u64, SystemTime)>>,
}

/// Names, sizes and times of the files a writer changes on every commit.
fn fingerprint(path: &Path) -> Vec<(String, u64, SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let watched = name.ends_with(".log") || name.starts_with("MANIFEST") || name == "CURRENT";
            // (Only those are stat'ed: a store has thousands of files.)
            let m = watched.then(|| e.metadata().ok()).flatten()?;
            Some((name, m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        })
        .collect();
    v.sort();
    v
}

/// Every commit flushes the families it wrote to small table files. Where
/// keys only grow (snapshots by time, chunks by write order) compactions
/// move those files down whole instead of merging them, and they pile up:
/// 10,000 hourly backups left 14,000 files, and listing the snapshots read
/// thousands of them. `tidy` merges a family's small files once there are
/// more than this many.
const SMALL_FILES_MAX: usize = 32;
const SMALL_FILE: usize = 1 << 20;

/// Bytes of RocksDB block cache shared by all families: bounds the memory of
/// index lookups at any repository size.
const BLOCK_CACHE: usize = 64 << 20;

fn cf_options(cf: Cf, cache: &Cache) -> Options {
    let mut o = Options::default();
    o.set_compression_type(DBCompressionType::None);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    match cf {
        Cf::Chunks => {
            o.set_enable_blob_files(true);
            o.set_min_blob_size(0);
            o.set_blob_compression_type(DBCompressionType::None);
            o.set_enable_blob_gc(true);
            // Chunk records sit in the memtable until a flush moves them to a
            // blob file, and one memtable fills while the other flushes:
            // this is most of a backup's memory. First backup of the bench
            // corpus (1.34 GB), peak RSS with 64 MiB: 230-242 MiB, with
            // 32 MiB: 183-188 MiB, in the same time (4.8 s); 16 blob files
            // (one a flush) instead of 9.
            o.set_write_buffer_size(32 << 20);
        }
        Cf::Trees => {
            // Trees of huge directories can be large; keep those in blobs too.
            o.set_enable_blob_files(true);
            o.set_min_blob_size(64 << 10);
            o.set_blob_compression_type(DBCompressionType::None);
            o.set_enable_blob_gc(true);
            table.set_bloom_filter(10.0, false);
        }
        Cf::ChunkIndex => {
            // Most lookups during a first backup are misses: a bloom filter
            // answers them without reading a block.
            table.set_bloom_filter(10.0, false);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        }
        _ => {}
    }
    o.set_block_based_table_factory(&table);
    o
}

fn open_db(path: &Path, mode: OpenMode) -> Result<DB> {
    let cache = Cache::new_lru_cache(BLOCK_CACHE);
    let mut opts = Options::default();
    opts.create_if_missing(mode == OpenMode::Create);
    opts.create_missing_column_families(mode == OpenMode::Create);
    opts.increase_parallelism(std::thread::available_parallelism().map_or(2, |n| n.get()) as i32);
    opts.set_max_open_files(512);
    // Readers (restore, the mount) read chunks in about the order a backup
    // wrote them, so the kernel's readahead on blob files pays off; RocksDB
    // turns it off by default (POSIX_FADV_RANDOM). Restore of the bench
    // corpus, cold: 4.4 s -> 3.5 s.
    opts.set_advise_random_on_open(mode != OpenMode::Read);
    opts.set_keep_log_file_num(3);
    // A writer writes its table and blob files past the page cache. A
    // buffered first backup of the bench corpus spent 4.3 s of its 18 s of
    // CPU in the kernel, most of it copying into fresh page-cache pages;
    // written direct, 1.5 s, and the backup took 7.7 s instead of 10.0 s
    // (medians of 3, taking turns). And a nightly backup no longer pushes
    // the host's working set out of memory with repository data it does not
    // read back. Where the filesystem refuses O_DIRECT (ramfs, some FUSE
    // filesystems) the files go through the cache as before.
    opts.set_use_direct_io_for_flush_and_compaction(mode != OpenMode::Read && direct_writes_work(path));
    // Chunks and their index entries are written without the WAL, to
    // different families: they must reach disk together, or a crash could
    // leave an index entry whose chunk is lost (and later backups would
    // dedup against it).
    opts.set_atomic_flush(true);
    let cfs = Cf::ALL.map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(cf, &cache)));
    match mode {
        OpenMode::Create | OpenMode::Write => DB::open_cf_descriptors(&opts, path, cfs),
        OpenMode::Read => DB::open_cf_descriptors_read_only(&opts, path, cfs, false),
    }
    .map_err(|e| Error::Store { path: path.to_path_buf(), detail: e.into_string() })
}

/// Whether a file in `path` (or, before the database exists, its parent)
/// takes an aligned O_DIRECT write. (Asked for direct I/O where there is
/// none, RocksDB refuses to open the database.)
fn direct_writes_work(path: &Path) -> bool {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = if path.is_dir() { path } else { path.parent().unwrap_or(path) };
    let probe = dir.join(format!(".direct-probe-{}", std::process::id()));
    let file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_DIRECT).open(&probe);
    let works = file.is_ok_and(|mut f| {
        // 4096 bytes at a 4096-byte boundary suit any logical block size.
        #[repr(align(4096))]
        struct Block([u8; 4096]);
        let block = Block([0; 4096]);
        f.write_all(&block.0).is_ok()
    });
    let _ = std::fs::remove_file(&probe);
    works
}

impl RocksStore {
    pub fn open(path: &Path, mode: OpenMode) -> Result<RocksStore> {
        let seen = fingerprint(path);
        let db = open_db(path, mode)?;
        Ok(RocksStore {
            db: RwLock::new(Arc::new(db)),
            path: path.to_path_buf(),
            read_only: mode == OpenMode::Read,
            seen: Mutex::new(seen),
        })
    }

    fn err(&self, e: rocksdb::Error) -> Error {
        Error::Store { path: self.path.clone(), detail: e.into_string() }
    }

    fn db(&self) -> Arc<DB> {
        self.db.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `f` on the database; a reader retries once on a fresh open.
    fn with_db<T>(&self, f: impl Fn(&DB) -> std::result::Result<T, rocksdb::Error>) -> Result<T> {
        match f(&self.db()) {
            Ok(v) => Ok(v),
            Err(_) if self.read_only && self.reopen().is_ok() => f(&self.db()).map_err(|e| self.err(e)),
            Err(e) => Err(self.err(e)),
        }
    }

    fn reopen(&self) -> Result<()> {
        let seen = fingerprint(&self.path);
        let db = open_db(&self.path, OpenMode::Read)?;
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(db);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = seen;
        Ok(())
    }
}

/// Waiting out a write stall (memtables full while a flush runs, say).
///
/// RocksDB would wait inside the write, and a writer waiting there when a
/// flush failed waits until the error clears: for a full disk, until 64 MiB
/// are free again. A backup onto a full disk hung for good, holding the
/// repository's lock. So writes are made with `no_slowdown`, and a stalled
/// write sleeps and tries again here. A retry after a failed flush gets
/// RocksDB's error; should writes stay stalled once a flush or compaction
/// has failed since the open, this fails them instead of waiting on.
#[derive(Default)]
struct Stall {
    sleep_ms: u64,
}

impl Stall {
    fn wait(&mut self, db: &DB, path: &Path) -> Result<()> {
        let failed = db.property_int_value("rocksdb.background-errors").ok().flatten().unwrap_or(0);
        if failed > 0 {
            let free = crate::sys::free_bytes(path).map_or("?".into(), |n| (n >> 20).to_string());
            let why = match last_io_error(path) {
                Some(e) => format!(": {e} ({free} MiB free on its filesystem)"),
                None => format!(" ({free} MiB free on its filesystem; its LOG names the error)"),
            };
            let detail = format!("writing stopped after RocksDB failed to write a table or blob file{why}");
            return Err(Error::Store { path: path.to_path_buf(), detail });
        }
        // 1 ms, then longer: a batch is built again for every try.
        self.sleep_ms = (self.sleep_ms * 2).clamp(1, 16);
        std::thread::sleep(std::time::Duration::from_millis(self.sleep_ms));
        Ok(())
    }
}

/// The last I/O error in the database's LOG ("No space left on device:
/// While appending to file: ..."), where RocksDB records why a background
/// flush or compaction failed; the error it returns to writers says only
/// that one did.
fn last_io_error(db: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(db.join("LOG")).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(256 << 10))).ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().rev().find(|l| l.contains("IO error"))?;
    let at = line.find("IO error")? + "IO error".len();
    let e = line[at..].trim_start_matches([':', ' ']);
    let e = [", Accumulated", ", reason"].iter().fold(e, |e, end| e.split(end).next().unwrap_or(e));
    Some(e.trim_end().chars().take(300).collect())
}

fn cf(db: &DB, cf: Cf) -> &rocksdb::ColumnFamily {
    db.cf_handle(cf.name()).expect("every column family is opened with the database")
}

impl Store for RocksStore {
    fn get(&self, c: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // A chunk is a record with its own checksum (or AEAD tag), checked when
        // it is opened: RocksDB's checksum of the blob would repeat that work
        // over every byte restored or read through the mount.
        self.with_db(|db| {
            let mut ro = ReadOptions::default();
            ro.set_verify_checksums(c != Cf::Chunks);
            db.get_pinned_cf_opt(cf(db, c), key, &ro).map(|v| v.map(|v| v.to_vec()))
        })
    }

    fn contains(&self, c: Cf, key: &[u8]) -> Result<bool> {
        self.with_db(|db| {
            if !db.key_may_exist_cf(cf(db, c), key) {
                return Ok(false);
            }
            db.get_pinned_cf(cf(db, c), key).map(|v| v.is_some())
        })
    }

    fn write(&self, batch: Batch, durability: Durability) -> Result<()> {
        let db = self.db();
        let mut wo = WriteOptions::default();
        match durability {
            Durability::Deferred => wo.disable_wal(true),
            Durability::Sync => wo.set_sync(true),
        }
        // A stalled write comes back to us instead of waiting in RocksDB:
        // see `Stall`.
        wo.set_no_slowdown(true);
        let mut stall = Stall::default();
        loop {
            let mut wb = WriteBatch::default();
            for (c, k, v) in &batch.puts {
                wb.put_cf(cf(&db, *c), k, v);
            }
            for (c, k) in &batch.deletes {
                wb.delete_cf(cf(&db, *c), k);
            }
            match db.write_opt(wb, &wo) {
                Ok(()) => break,
                Err(e) if e.kind() == rocksdb::ErrorKind::Incomplete => stall.wait(&db, &self.path)?,
                Err(e) => return Err(self.err(e)),
            }
        }
        if durability == Durability::Sync {
            // Into a table file before returning: in the WAL alone, a
            // committed snapshot (or hold, or forget) would vanish without
            // a word if that file were damaged or lost, as RocksDB's
            // recovery drops a damaged log's tail.
            let mut touched: Vec<Cf> =
                batch.puts.iter().map(|p| p.0).chain(batch.deletes.iter().map(|d| d.0)).collect();
            touched.sort();
            touched.dedup();
            let mut fo = FlushOptions::default();
            fo.set_wait(true);
            let cfs: Vec<_> = touched.iter().map(|&c| cf(&db, c)).collect();
            db.flush_cfs_opt(&cfs, &fo).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let db = self.db();
        let mut fo = FlushOptions::default();
        fo.set_wait(true);
        let cfs: Vec<_> = Cf::ALL.iter().map(|&c| cf(&db, c)).collect();
        db.flush_cfs_opt(&cfs, &fo).map_err(|e| self.err(e))?;
        db.flush_wal(true).map_err(|e| self.err(e))
    }

    fn range(&self, c: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with_db(|db| {
            let mut ro = ReadOptions::default();
            if let Some(to) = to {
                ro.set_iterate_upper_bound(to.to_vec());
            }
            let mut it = db.raw_iterator_cf_opt(cf(db, c), ro);
            it.seek(from);
            let mut out = Vec::new();
            while it.valid() {
                if let (Some(k), Some(v)) = (it.key(), it.value()) {
                    out.push((k.to_vec(), v.to_vec()));
                }
                it.next();
            }
            it.status().map(|()| out)
        })
    }

    fn last_before(&self, c: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.with_db(|db| {
            let mut it = db.raw_iterator_cf(cf(db, c));
            it.seek_for_prev(key);
            // seek_for_prev lands on a key <= `key`; we want strictly below.
            if it.valid() && it.key() == Some(key) {
                it.prev();
            }
            let found = match (it.valid(), it.key(), it.value()) {
                (true, Some(k), Some(v)) => Some((k.to_vec(), v.to_vec())),
                _ => None,
            };
            it.status().map(|()| found)
        })
    }

    fn scan(&self, c: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
        let db = self.db();
        let mut it = db.raw_iterator_cf(cf(&db, c));
        it.seek(from);
        while it.valid() {
            if let (Some(k), Some(v)) = (it.key(), it.value()) {
                if !f(k, v)? {
                    return Ok(());
                }
            }
            it.next();
        }
        it.status().map_err(|e| self.err(e))
    }

    fn compact(&self, c: Cf, ranges: &[(Vec<u8>, Vec<u8>)], relocate: bool) -> Result<()> {
        let db = self.db();
        let handle = cf(&db, c);
        // Blob GC moves the live values out of the oldest share of blob
        // files (the age cutoff) that a compaction passes through; by
        // default 0.25, so that compactions in a backup rewrite little.
        // Here it is every file when relocating, and none when not.
        let blobs = matches!(c, Cf::Chunks | Cf::Trees);
        if blobs {
            let cutoff = if relocate { "1.0" } else { "0.0" };
            db.set_options_cf(handle, &[("blob_garbage_collection_age_cutoff", cutoff)]).map_err(|e| self.err(e))?;
        }
        let mut co = CompactOptions::default();
        co.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        co.set_exclusive_manual_compaction(true);
        if ranges.is_empty() {
            db.compact_range_cf_opt(handle, None::<&[u8]>, None::<&[u8]>, &co);
        }
        for (from, to) in ranges {
            db.compact_range_cf_opt(handle, Some(from), Some(to), &co);
        }
        if blobs {
            db.set_options_cf(handle, &[("blob_garbage_collection_age_cutoff", "0.25")]).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn tidy(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let files = self.db().live_files().map_err(|e| self.err(e))?;
        for c in Cf::ALL {
            let small: Vec<_> =
                files.iter().filter(|f| f.column_family_name == c.name() && f.size < SMALL_FILE).collect();
            if small.len() <= SMALL_FILES_MAX {
                continue;
            }
            // Only the keys the small files span: with growing keys, the
            // newest ones, not the whole family.
            let from = small.iter().filter_map(|f| f.start_key.clone()).min();
            let to = small.iter().filter_map(|f| f.end_key.clone()).max();
            if let (Some(from), Some(to)) = (from, to) {
                self.compact(c, &[(from, to)], false)?;
            }
        }
        Ok(())
    }

    fn checker(&self) -> Result<Option<super::Checker>> {
        super::Checker::open(&self.path).map(Some)
    }

    fn refresh(&self) -> Result<()> {
        if self.read_only && fingerprint(&self.path) != *self.seen.lock().unwrap_or_else(|e| e.into_inner()) {
            self.reopen()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_io_error_in_the_log_is_found() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_io_error(dir.path()), None, "no LOG");
        let log = "2026/12/08-05:05:42.610067 9164 [WARN] [db/error_handler.cc:398] Background IO error IO error: \
                   Input/output error: While pwrite to file at offset 1: db/000011.blob, reason 5\n\
                   2026/12/08-05:05:42.610218 9164 [ERROR] [db/db_impl/db_impl_compaction_flush.cc:3349] [JOB 3] \
                   Waiting after background flush error: IO error: No space left on device: While pwrite to \
                   file at offset 24117248: db/000019.blob: No space left on device, Accumulated background \
                   error counts: 1\n\
                   2026/12/08-05:05:43.000000 9164 [db/db_impl/db_impl.cc:1] a later line without one\n";
        std::fs::write(dir.path().join("LOG"), log).unwrap();
        assert_eq!(
            last_io_error(dir.path()).as_deref(),
            Some("No space left on device: While pwrite to file at offset 24117248: db/000019.blob: No space left on device")
        );
    }

    #[test]
    fn contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::open(&dir.path().join("db"), OpenMode::Create).unwrap();
        super::super::contract::check(&s);
    }

    #[test]
    fn reader_sees_committed_writes_after_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let w = RocksStore::open(&path, OpenMode::Create).unwrap();
        let r = RocksStore::open(&path, OpenMode::Read).unwrap();
        let mut b = Batch::default();
        b.put(Cf::Chunks, b"c".to_vec(), vec![7u8; 100_000]);
        w.write(b, Durability::Deferred).unwrap();
        w.flush().unwrap();
        let mut b = Batch::default();
        b.put(Cf::Snapshots, b"s".to_vec(), b"x".to_vec());
        w.write(b, Durability::Sync).unwrap();
        assert!(r.get(Cf::Snapshots, b"s").unwrap().is_none());
        r.refresh().unwrap();
        assert_eq!(r.get(Cf::Snapshots, b"s").unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(r.get(Cf::Chunks, b"c").unwrap().unwrap().len(), 100_000);
    }

    #[test]
    fn missing_database_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let e = RocksStore::open(&dir.path().join("nope"), OpenMode::Write).err().unwrap();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
