//! The backup's chunk pipeline. The walker reads and chunks files and hands
//! each chunk to a pool sized to the cores, which hashes it, checks whether
//! the repository has it, and compresses and seals the new ones; a writer
//! thread batches the records into the store. Queues are bounded, so memory
//! is bounded by them, not by file or tree sizes.
//!
//! Each file being read has a `FileSlot` that the pool fills piece by piece;
//! the walker waits on a directory's slots before it encodes that directory.
//!
//! Sealed records reach the writer in bundles (`Outbox`): one hand-over per
//! bundle, not per chunk, so many small files do not keep the writer and the
//! sealers waking each other.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::tree::Piece;
use crate::format::Time;
use crate::repo::Records;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Live counters, read by the progress display.
#[derive(Default)]
pub struct Progress {
    pub files: AtomicU64,
    pub bytes_read: AtomicU64,
    /// Bytes of files found unchanged (not read): with `bytes_read`, how far
    /// the backup is.
    pub bytes_unchanged: AtomicU64,
    /// An estimate of the bytes of all files to back up (the parent
    /// snapshot's, or a quick scan's), 0 until known.
    pub bytes_total: AtomicU64,
    pub bytes_added: AtomicU64,
    pub chunks_added: AtomicU64,
    pub errors: AtomicU64,
    pub current: Mutex<String>,
}

/// The content of one file as the pool completes it.
pub struct FileSlot {
    state: Mutex<SlotState>,
    done: Condvar,
}

struct SlotState {
    pieces: Vec<Option<Piece>>,
    outstanding: usize,
    sealed: bool,
    error: Option<String>,
    hash: Option<[u8; 32]>,
    /// The file's mtime and ctime as last read, when it was read again
    /// for changing while read (else the walk's stand).
    times: Option<(Time, Time)>,
    /// Whether someone waits on `done`: most slots are complete before
    /// anyone waits, and a notify costs a futex call even with no waiter.
    waited: bool,
}

impl FileSlot {
    pub fn new() -> Arc<FileSlot> {
        Arc::new(FileSlot {
            state: Mutex::new(SlotState {
                pieces: Vec::new(),
                outstanding: 0,
                sealed: false,
                error: None,
                hash: None,
                times: None,
                waited: false,
            }),
            done: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves the next piece position; returns its index.
    fn reserve(&self) -> usize {
        let mut s = self.lock();
        s.pieces.push(None);
        s.outstanding += 1;
        s.pieces.len() - 1
    }

    pub fn push_ready(&self, piece: Piece) {
        self.lock().pieces.push(Some(piece));
    }

    fn complete(&self, index: usize, piece: Piece) {
        let mut s = self.lock();
        s.pieces[index] = Some(piece);
        s.outstanding -= 1;
        // (`restart` waits for this too, before the slot is sealed.)
        if s.outstanding == 0 && s.waited {
            self.done.notify_all();
        }
    }

    /// Drops the pieces so far, for the file to be read again, once those
    /// being stored are; false (nothing dropped) when one failed.
    pub fn restart(&self) -> bool {
        let mut s = self.lock();
        while s.outstanding > 0 {
            s.waited = true;
            s = self.done.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.error.is_some() {
            return false;
        }
        s.pieces.clear();
        true
    }

    /// The file's times as read again (see `restart`).
    pub fn set_times(&self, mtime: Time, ctime: Time) {
        self.lock().times = Some((mtime, ctime));
    }

    /// The times set by `set_times`, if any.
    pub fn times(&self) -> Option<(Time, Time)> {
        self.lock().times
    }

    pub fn fail(&self, why: String) {
        self.lock().error.get_or_insert(why);
    }

    /// No more pieces will be added; `hash` is the content's plain BLAKE3.
    pub fn seal(&self, hash: Option<[u8; 32]>) {
        let mut s = self.lock();
        s.sealed = true;
        s.hash = hash;
        if s.outstanding == 0 && s.waited {
            self.done.notify_all();
        }
    }

    /// Waits for every piece, returned with the content hash; `Err` carries
    /// the first failure.
    pub fn wait(&self) -> std::result::Result<(Vec<Piece>, Option<[u8; 32]>), String> {
        let mut s = self.lock();
        while !(s.sealed && s.outstanding == 0) {
            s.waited = true;
            s = self.done.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        Ok((s.pieces.iter().map(|p| p.expect("every reserved piece is completed")).collect(), s.hash))
    }
}

struct Job {
    data: Vec<u8>,
    slot: Arc<FileSlot>,
    index: usize,
}

enum Write {
    Chunk { id: Id, record: Vec<u8> },
    Object { id: Id, record: Vec<u8> },
}

/// A sealing thread's records not yet handed to the writer. Their chunk ids
/// are in the in-flight set until the writer has written them, so they are
/// never stored twice. An outbox is sent when dropped, and borrows the
/// pipeline, so every one is sent before the pipeline can finish.
pub struct Outbox<'a> {
    writes: Vec<Write>,
    bytes: usize,
    tx: &'a Sender<Vec<Write>>,
    shared: &'a Shared,
}

/// An outbox goes to the writer once it holds this much (or its thread is
/// about to wait for work). 6 readers' outboxes and the queue hold at most
/// a few MiB. Backup of 200,000 files of 3 KB on 2 cores, a hand-over per
/// record: 5.1-5.6 s, 427,000 sched_yield calls (readers spinning on the
/// full queue while the writer wrote).
const OUTBOX_BYTES: usize = 256 << 10;

impl Outbox<'_> {
    fn push(&mut self, write: Write) -> Result<()> {
        let (Write::Chunk { record, .. } | Write::Object { record, .. }) = &write;
        self.bytes += record.len();
        self.writes.push(write);
        if self.bytes >= OUTBOX_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Hands what is held to the writer.
    pub fn send(&mut self) -> Result<()> {
        if self.writes.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        self.tx.send(std::mem::take(&mut self.writes)).map_err(|_| {
            // Only if the writer died: the pipeline's sender outlives this.
            self.shared.set_fatal(Error::Invalid("the backup's writer stopped with records not stored".into()));
            Error::Invalid("backup pipeline stopped".into())
        })
    }
}

impl Drop for Outbox<'_> {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

struct Shared {
    records: Records,
    /// Chunks sealed but not yet in the store; see `is_new`.
    inflight: Mutex<HashSet<Id>>,
    /// The first store failure. Sticky: once set, every check fails, so
    /// no snapshot can be committed over chunks that never reached the store.
    fatal: Mutex<Option<String>>,
    progress: Arc<Progress>,
    /// A dry run: records are counted, never stored.
    dry: bool,
}

impl Shared {
    /// Whether this chunk must be stored. Checking the in-flight set before
    /// the store, and the writer clearing ids only after writing them, means
    /// a chunk is never stored twice by racing workers.
    fn is_new(&self, id: &Id) -> Result<bool> {
        if self.inflight.lock().unwrap_or_else(|e| e.into_inner()).contains(id) {
            return Ok(false);
        }
        if self.records.has_chunk(id)? {
            return Ok(false);
        }
        Ok(self.inflight.lock().unwrap_or_else(|e| e.into_inner()).insert(*id))
    }

    fn set_fatal(&self, e: Error) {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e.to_string());
    }
}

pub struct Pipeline {
    shared: Arc<Shared>,
    jobs: Option<Sender<Job>>,
    writes: Option<Sender<Vec<Write>>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

/// Writes go out in batches of about this many bytes. Each batch is
/// copied into RocksDB's own; larger batches only cost memory (first backup
/// of the bench corpus, peak RSS: 32 MiB 436 MB, 8 MiB 291 MB, 4 MiB
/// 281 MB; no slower).
const BATCH_BYTES: usize = 4 << 20;

impl Pipeline {
    /// Starts the threads; with `dry`, records are sealed and counted in
    /// `progress` as usual but never stored.
    pub fn start(records: Records, progress: Arc<Progress>, dry: bool) -> Pipeline {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let inflight = Mutex::new(HashSet::new());
        let shared = Arc::new(Shared { records, inflight, fatal: Mutex::new(None), progress, dry });
        let (jobs_tx, jobs_rx) = bounded::<Job>(2 * cores);
        let (writes_tx, writes_rx) = bounded::<Vec<Write>>(4 * cores);
        let workers = (0..cores)
            .map(|i| {
                let (rx, tx, sh) = (jobs_rx.clone(), writes_tx.clone(), shared.clone());
                std::thread::Builder::new()
                    .name(format!("strata-seal-{i}"))
                    .spawn(move || worker(rx, tx, sh))
                    .expect("spawning a thread")
            })
            .collect();
        let sh = shared.clone();
        let writer = std::thread::Builder::new()
            .name("strata-writer".into())
            .spawn(move || writer(writes_rx, sh))
            .expect("spawning a thread");
        Pipeline { shared, jobs: Some(jobs_tx), writes: Some(writes_tx), workers, writer: Some(writer) }
    }

    /// Queues a chunk of `slot`'s file; blocks while the pool is busy.
    pub fn submit(&self, slot: &Arc<FileSlot>, data: Vec<u8>) -> Result<()> {
        self.check()?;
        let index = slot.reserve();
        let job = Job { data, slot: slot.clone(), index };
        if let Err(e) = self.jobs.as_ref().expect("pipeline running").send(job) {
            // The pool is gone; unblock the slot's waiter.
            e.0.slot.complete(e.0.index, Piece::Hole { len: 0 });
            e.0.slot.fail("backup pipeline stopped".into());
        }
        self.check()
    }

    /// An outbox for a thread that calls `store_here`.
    pub fn outbox(&self) -> Outbox<'_> {
        let tx = self.writes.as_ref().expect("pipeline running");
        Outbox { writes: Vec::new(), bytes: 0, tx, shared: &self.shared }
    }

    /// Stores a chunk of `slot`'s file on the calling thread: for the
    /// readers' small files, which would spend more in the hand-over to the
    /// pool (a queue, a wake-up, the slot's lock) than in the sealing.
    pub fn store_here(&self, outbox: &mut Outbox, slot: &FileSlot, data: Vec<u8>) -> Result<()> {
        self.check()?;
        match store(&self.shared, outbox, data) {
            Ok(piece) => slot.push_ready(piece),
            Err(e) => {
                slot.fail(e.to_string());
                self.shared.set_fatal(e);
            }
        }
        self.check()
    }

    /// Seals and queues the records (id, plaintext) of a tree or chunk list,
    /// stored whole or in parts (`format::parts`), each unless already
    /// stored; returns the id of the last, the one to refer to.
    pub fn put_objects(&self, objects: Vec<(Id, Vec<u8>)>) -> Result<Id> {
        let records = &self.shared.records;
        let mut last = None;
        let mut writes = Vec::new();
        for (id, plaintext) in objects {
            if !records.has_object(&id)? {
                let record = records.seal(&id, &plaintext);
                writes.push(Write::Object { id, record });
            }
            last = Some(id);
        }
        if !writes.is_empty() {
            let _ = self.writes.as_ref().expect("pipeline running").send(writes);
        }
        self.check()?;
        last.ok_or_else(|| Error::Invalid("internal: an object of no records".into()))
    }

    pub fn keys(&self) -> &crate::crypto::Keys {
        self.shared.records.keys()
    }

    /// The error that aborted the backup, if one did.
    pub(super) fn check(&self) -> Result<()> {
        match self.shared.fatal.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(e) => Err(Error::Invalid(format!("backup aborted, no snapshot written: {e}"))),
            None => Ok(()),
        }
    }

    /// Drains the queues and stops the threads.
    pub fn finish(mut self) -> Result<()> {
        self.stop();
        self.check()
    }

    fn stop(&mut self) {
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.writes.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

fn worker(jobs: Receiver<Job>, writes: Sender<Vec<Write>>, sh: Arc<Shared>) {
    let mut outbox = Outbox { writes: Vec::new(), bytes: 0, tx: &writes, shared: &sh };
    while let Some(job) = next(&jobs, &mut outbox) {
        let len = job.data.len() as u32;
        let piece = store(&sh, &mut outbox, job.data).unwrap_or_else(|e| {
            job.slot.fail(e.to_string());
            sh.set_fatal(e);
            Piece::Data { id: Id([0; 32]), len }
        });
        job.slot.complete(job.index, piece);
    }
}

/// The next job from `jobs`; before waiting for one, `outbox` goes to the
/// writer, so nothing sits in it while its thread is idle.
pub fn next<T>(jobs: &Receiver<T>, outbox: &mut Outbox) -> Option<T> {
    match jobs.try_recv() {
        Ok(job) => Some(job),
        Err(_) => {
            let _ = outbox.send();
            jobs.recv().ok()
        }
    }
}

/// Hashes a chunk and, when the repository lacks it, seals it and puts it
/// in `outbox` for the writer; returns its piece.
fn store(sh: &Shared, outbox: &mut Outbox, data: Vec<u8>) -> Result<Piece> {
    let len = data.len() as u32;
    let id = sh.records.keys().id(&data);
    if sh.is_new(&id)? {
        let record = sh.records.seal(&id, &data);
        outbox.push(Write::Chunk { id, record })?;
    }
    Ok(Piece::Data { id, len })
}

fn writer(writes: Receiver<Vec<Write>>, sh: Arc<Shared>) {
    if sh.dry {
        return count_only(writes, &sh);
    }
    let mut batch = sh.records.writer();
    let mut ids = Vec::new();
    let flush = |batch: &mut crate::repo::RecordWriter, ids: &mut Vec<Id>| {
        if let Err(e) = batch.write() {
            sh.set_fatal(e);
        }
        let mut inflight = sh.inflight.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids.drain(..) {
            inflight.remove(&id);
        }
    };
    for w in writes.into_iter().flatten() {
        match w {
            Write::Chunk { id, record } => {
                sh.progress.bytes_added.fetch_add(record.len() as u64, Ordering::Relaxed);
                sh.progress.chunks_added.fetch_add(1, Ordering::Relaxed);
                batch.put_chunk(&id, record);
                ids.push(id);
            }
            Write::Object { id, record } => {
                sh.progress.bytes_added.fetch_add(record.len() as u64, Ordering::Relaxed);
                batch.put_object(&id, record);
            }
        }
        if batch.bytes() >= BATCH_BYTES {
            flush(&mut batch, &mut ids);
        }
    }
    flush(&mut batch, &mut ids);
}

/// A dry run's writer: counts what a backup would add and stores nothing.
/// Chunk ids stay in the in-flight set, so a chunk met again is new only
/// once; objects (trees, chunk lists) are remembered here.
fn count_only(writes: Receiver<Vec<Write>>, sh: &Shared) {
    let mut objects = HashSet::new();
    for w in writes.into_iter().flatten() {
        let bytes = match w {
            Write::Chunk { record, .. } => {
                sh.progress.chunks_added.fetch_add(1, Ordering::Relaxed);
                record.len()
            }
            Write::Object { id, record } if objects.insert(id) => record.len(),
            Write::Object { .. } => 0,
        };
        sh.progress.bytes_added.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keys;
    use crate::format::config::Config;
    use crate::store::{Batch, Cf, Durability, MemoryStore, Store, Visit};

    /// A store that refuses every write, like a full disk.
    struct Full(MemoryStore);

    impl Store for Full {
        fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.0.get(cf, key)
        }
        fn write(&self, _: Batch, _: Durability) -> Result<()> {
            Err(Error::io("/repo/db", std::io::Error::from_raw_os_error(libc::ENOSPC)))
        }
        fn flush(&self) -> Result<()> {
            Ok(())
        }
        fn range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.0.range(cf, from, to)
        }
        fn last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
            self.0.last_before(cf, key)
        }
        fn scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
            self.0.scan(cf, from, f)
        }
    }

    fn records(store: Arc<dyn Store>) -> Records {
        Records::new(store, Keys::new([1; 32], Some([2; 32])), &Config::sample(2))
    }

    #[test]
    fn a_failed_write_fails_every_check_and_the_finish() {
        let p = Pipeline::start(records(Arc::new(Full(MemoryStore::new()))), Arc::new(Progress::default()), false);
        let slot = FileSlot::new();
        // More than one batch, so a write happens (and fails) before the end.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..(BATCH_BYTES >> 20) + 2 {
            // Incompressible, so the records fill a batch.
            let data: Vec<u8> = (0..1 << 20)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if p.submit(&slot, data).is_err() {
                break;
            }
        }
        slot.seal(None);
        let _ = slot.wait();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while p.check().is_ok() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        // Whoever sees the failure first, it stays for every later check.
        assert!(p.check().is_err());
        assert!(p.put_objects(vec![(Id([1; 32]), b"tree".to_vec())]).is_err());
        let e = p.finish().unwrap_err().to_string();
        assert!(e.contains("no snapshot written") && e.contains("/repo/db"), "{e}");
    }

    #[test]
    fn records_held_in_outboxes_are_stored_once_by_the_finish() {
        let records = records(Arc::new(MemoryStore::new()));
        let p = Pipeline::start(records.clone(), Arc::new(Progress::default()), false);
        let (mut a, mut b) = (p.outbox(), p.outbox());
        let slot = FileSlot::new();
        // Far below OUTBOX_BYTES: nothing is sent until the outboxes are.
        for i in 0..20u8 {
            p.store_here(&mut a, &slot, vec![i; 100]).unwrap();
            p.store_here(&mut b, &slot, vec![i; 100]).unwrap();
        }
        assert!(!a.writes.is_empty() && b.writes.is_empty(), "b's chunks were a's, held in flight");
        drop(a); // sent when dropped
        b.send().unwrap();
        drop(b); // borrows the pipeline: finish() would not compile before
        p.finish().unwrap();
        assert_stored(&records, 20, 100);
    }

    #[test]
    fn duplicate_chunks_are_stored_once_and_pieces_keep_order() {
        let records = records(Arc::new(MemoryStore::new()));
        let progress = Arc::new(Progress::default());
        let p = Pipeline::start(records.clone(), progress.clone(), false);
        let slot = FileSlot::new();
        for i in 0..40u8 {
            p.submit(&slot, vec![i % 4; 1000]).unwrap();
        }
        slot.seal(None);
        let (pieces, _) = slot.wait().unwrap();
        p.finish().unwrap();
        assert_eq!(pieces.len(), 40);
        for (i, piece) in pieces.iter().enumerate() {
            assert_eq!(*piece, Piece::Data { id: records.keys().id(&[(i % 4) as u8; 1000]), len: 1000 });
        }
        assert_eq!(progress.chunks_added.load(Ordering::Relaxed), 4);
        assert_stored(&records, 4, 1000);
    }

    #[test]
    fn a_dry_run_counts_each_new_record_once_and_stores_none() {
        let records = records(Arc::new(MemoryStore::new()));
        let stored = Pipeline::start(records.clone(), Arc::new(Progress::default()), false);
        let slot = FileSlot::new();
        stored.submit(&slot, vec![0; 1000]).unwrap();
        stored.finish().unwrap();

        let progress = Arc::new(Progress::default());
        let p = Pipeline::start(records.clone(), progress.clone(), true);
        let slot = FileSlot::new();
        // [0; 1000] is stored already, [1..4; 1000] are new, each met 10 times.
        for i in 0..40u8 {
            p.submit(&slot, vec![i % 4; 1000]).unwrap();
        }
        slot.seal(None);
        let (pieces, _) = slot.wait().unwrap();
        assert_eq!(pieces[3], Piece::Data { id: records.keys().id(&[3; 1000]), len: 1000 });
        let tree = (Id([7; 32]), b"a tree".to_vec());
        p.put_objects(vec![tree.clone()]).unwrap();
        p.put_objects(vec![tree]).unwrap();
        p.finish().unwrap();
        assert_eq!(progress.chunks_added.load(Ordering::Relaxed), 3);
        let one = records.seal(&records.keys().id(&[1; 1000]), &[1; 1000]).len();
        let tree = records.seal(&Id([7; 32]), b"a tree").len();
        assert_eq!(progress.bytes_added.load(Ordering::Relaxed), (3 * one + tree) as u64);
        assert_stored(&records, 1, 1000);
        assert!(!records.has_object(&Id([7; 32])).unwrap());
    }

    /// The store holds exactly the chunks `[i; len]` for `i` below `n`.
    fn assert_stored(records: &Records, n: u8, len: usize) {
        let mut stored = 0;
        records
            .scan_chunks(&mut |_| {
                stored += 1;
                Ok(true)
            })
            .unwrap();
        assert_eq!(stored, n as usize);
        for i in 0..n {
            assert_eq!(records.chunk(&records.keys().id(&vec![i; len])).unwrap(), vec![i; len]);
        }
    }
}
