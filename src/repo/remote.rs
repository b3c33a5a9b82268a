//! A repository read straight from its bucket (`-r s3://BUCKET/PREFIX`):
//! a read-only `Store` over the layout `bucket` writes, behind a bounded
//! local cache.
//!
//! Opening lists the bucket and loads what is small: the config, key files,
//! the newest meta object, every snapshot record and every pack index
//! (snapshots and indexes are immutable, so they are cached for good, and
//! only new ones are fetched). The chunk index is rebuilt from the pack
//! indexes. Chunks, trees and chunk lists are read on demand in blocks of
//! `BLOCK` bytes of their pack (one ranged GET each), kept in the cache
//! directory up to its limit, least recently used first out; a block read
//! on demand sets the next few of its pack coming (read-ahead), so a
//! restore or a sequential read streams.
//!
//! Snapshots are listed before the packs: a bucket lists a snapshot only
//! once every pack it needs is there, so every snapshot seen is complete
//! in the pack listing that follows.
//!
//! The cache lives under `DIR/<repository id>/`: pack names are hashes of
//! their content and snapshot keys are unique, so what is cached is valid
//! for every mirror of the same repository, and processes may share it
//! (files are written whole, under a temporary name, then renamed).

use super::bucket::{newest_meta, parse_idx};
use super::{ChunkEntry, CONFIG_KEY};
use crate::crypto::{hex, unhex};
use crate::error::{Error, Result};
use crate::format::config::Config;
use crate::format::record;
use crate::s3::Bucket;
use crate::store::{Batch, Cf, Durability, MemoryStore, Store, Visit};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Bytes of a pack fetched at once and cached as one file.
const BLOCK: u64 = 4 << 20;
/// Blocks read ahead of a sequential reader.
const AHEAD: u32 = 4;
/// Threads fetching read-ahead blocks.
const FETCHERS: usize = 3;
/// Blocks kept in memory (so a block's many small records are not each a
/// file read).
const HOT: usize = 16;

/// Where the local cache is and how much it may hold.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    pub dir: PathBuf,
    /// Bytes of pack blocks kept; indexes and snapshot records come on top.
    pub limit: u64,
    /// Read everything from the bucket, none of it from what is cached
    /// (for `check`: what the bucket holds, not what a cache remembers);
    /// blocks go to a private directory, removed at the end.
    pub fresh: bool,
}

impl CacheOptions {
    /// `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
    pub fn default_dir() -> PathBuf {
        let var = |k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .unwrap_or_else(|| PathBuf::from("/var/cache"))
            .join("strata")
    }
}

/// Where a record lies: pack number, offset, length.
#[derive(Clone, Copy, Debug)]
struct Loc {
    pack: u32,
    offset: u64,
    len: u32,
}

/// A block: pack number, block number in the pack.
type BlockId = (u32, u32);

struct Pack {
    name: String,
    size: u64,
}

#[derive(Default)]
struct State {
    /// Cached blocks: last use, bytes, and whether it came by read-ahead
    /// and has not been read since (its first read moves the window on).
    blocks: HashMap<BlockId, (u64, u64, bool)>,
    order: BTreeMap<u64, BlockId>,
    tick: u64,
    bytes: u64,
    fetching: HashSet<BlockId>,
    /// The last blocks used, in memory (`HOT` of them at most).
    hot: HashMap<BlockId, Arc<Vec<u8>>>,
    hot_order: std::collections::VecDeque<BlockId>,
}

impl State {
    fn touch(&mut self, b: BlockId) -> Option<bool> {
        self.tick += 1;
        let tick = self.tick;
        let (used, _, ahead) = self.blocks.get_mut(&b)?;
        let first = std::mem::take(ahead);
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, b);
        Some(first)
    }

    fn keep_hot(&mut self, b: BlockId, data: Arc<Vec<u8>>) {
        if self.hot.insert(b, data).is_none() {
            self.hot_order.push_back(b);
        }
        while self.hot_order.len() > HOT {
            if let Some(old) = self.hot_order.pop_front() {
                self.hot.remove(&old);
            }
        }
    }

    /// Counts a block now cached on disk, as just used.
    fn insert(&mut self, b: BlockId, size: u64, ahead: bool) {
        self.forget(b);
        self.tick += 1;
        self.blocks.insert(b, (self.tick, size, ahead));
        self.order.insert(self.tick, b);
        self.bytes += size;
    }

    fn forget(&mut self, b: BlockId) {
        if let Some((used, size, _)) = self.blocks.remove(&b) {
            self.order.remove(&used);
            self.bytes -= size;
        }
    }
}

/// The blocks, shared with the read-ahead threads.
struct Blocks {
    bucket: Bucket,
    packs: Vec<Pack>,
    dir: PathBuf,
    limit: u64,
    state: Mutex<State>,
    fetched: Condvar,
    /// A private block directory, removed when done.
    private: Option<PathBuf>,
}

impl Drop for Opened {
    // (Not Blocks': the read-ahead threads hold it a moment longer.)
    fn drop(&mut self) {
        if let Some(dir) = &self.blocks.private {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Blocks {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn file(&self, (pack, block): BlockId) -> PathBuf {
        self.dir.join(format!("{}.{block}", self.packs[pack as usize].name))
    }

    /// Block `b`, from memory, the cache directory or the bucket (then
    /// cached); whether a read-ahead should follow (it was fetched now, or
    /// came by read-ahead and is read for the first time).
    fn block(&self, b: BlockId) -> Result<(Arc<Vec<u8>>, bool)> {
        loop {
            let mut st = self.lock();
            let first = st.touch(b);
            if let Some(data) = st.hot.get(&b) {
                return Ok((data.clone(), first.unwrap_or(false)));
            }
            if let Some(first) = first {
                drop(st);
                let path = self.file(b);
                match std::fs::read(&path) {
                    Ok(data) => {
                        let data = Arc::new(data);
                        self.lock().keep_hot(b, data.clone());
                        return Ok((data, first));
                    }
                    // Evicted by another process sharing the cache: fetch
                    // it again.
                    Err(_) => {
                        self.lock().forget(b);
                        continue;
                    }
                }
            }
            if st.fetching.contains(&b) {
                drop(self.fetched.wait(st).unwrap_or_else(|e| e.into_inner()));
                continue;
            }
            st.fetching.insert(b);
            drop(st);
            let got = self.fetch(b, false);
            self.fetched.notify_all();
            return got.map(|d| (d, true));
        }
    }

    /// Fetches a block ahead of its reader, unless it is at hand or coming.
    fn prefetch(&self, b: BlockId) {
        {
            let mut st = self.lock();
            if st.blocks.contains_key(&b) || st.hot.contains_key(&b) || !st.fetching.insert(b) {
                return;
            }
        }
        let _ = self.fetch(b, true);
        self.fetched.notify_all();
    }

    /// Downloads a block (marked as being fetched), caches it on disk (a
    /// failure to is no error) and in memory.
    fn fetch(&self, b: BlockId, ahead: bool) -> Result<Arc<Vec<u8>>> {
        let (pack, block) = b;
        let p = &self.packs[pack as usize];
        let start = block as u64 * BLOCK;
        let len = BLOCK.min(p.size.saturating_sub(start));
        let got = self.bucket.get_range(&format!("data/{}.pack", p.name), start, len);
        let data = match got {
            Ok(d) => Arc::new(d),
            Err(e) => {
                self.lock().fetching.remove(&b);
                return Err(e);
            }
        };
        let cached = write_whole(&self.file(b), &data);
        // Still marked as being fetched until it is at hand, so no other
        // reader fetches it meanwhile.
        let mut st = self.lock();
        st.fetching.remove(&b);
        if cached {
            st.insert(b, data.len() as u64, ahead);
            while st.bytes > self.limit && st.order.len() > 1 {
                let Some((_, victim)) = st.order.pop_first() else { break };
                if let Some((_, size, _)) = st.blocks.remove(&victim) {
                    st.bytes -= size;
                    let _ = std::fs::remove_file(self.file(victim));
                }
            }
        }
        st.keep_hot(b, data.clone());
        Ok(data)
    }

    fn blocks_in(&self, pack: u32) -> u32 {
        self.packs[pack as usize].size.div_ceil(BLOCK) as u32
    }
}

/// A bucket's repository as a read-only store. A reader beside mirrors
/// (a mount) sees new snapshots: `refresh` lists the bucket's snapshots at
/// most every `REFRESH_EVERY`, and when they changed opens it again
/// (indexes and snapshot records come from the cache, only new ones are
/// fetched) and reads on from the new state.
pub(super) struct BucketStore {
    bucket: Bucket,
    cache: CacheOptions,
    now: std::sync::RwLock<Arc<Opened>>,
    /// When the bucket's snapshots were last listed.
    listed: Mutex<std::time::Instant>,
}

/// The shortest time between two listings of a bucket's snapshots.
const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// The repository as the bucket held it when listed.
struct Opened {
    url: String,
    /// The names of its snapshot objects.
    snapshot_names: HashSet<String>,
    blocks: Arc<Blocks>,
    /// Config, keys, meta, snapshots and the rebuilt chunk index.
    small: MemoryStore,
    chunks: BTreeMap<Vec<u8>, Loc>,
    trees: BTreeMap<Vec<u8>, Loc>,
    ahead: crossbeam_channel::Sender<BlockId>,
    /// The pack written after each (packs are filled in write order, so
    /// by their first chunk key), for read-ahead past a pack's end.
    next_pack: Vec<Option<u32>>,
}

/// Reads a cached copy of an immutable object, else fetches and caches it.
fn cached(
    bucket: &Bucket,
    key: &str,
    file: &Path,
    fresh: bool,
    valid: impl Fn(&[u8]) -> bool,
) -> Result<Option<Vec<u8>>> {
    if let Ok(b) = std::fs::read(file) {
        if !fresh && valid(&b) {
            return Ok(Some(b));
        }
    }
    let Some(b) = bucket.get(key)? else { return Ok(None) };
    write_whole(file, &b);
    Ok(Some(b))
}

/// Writes a cache file whole (under a temporary name, then renamed, so a
/// process sharing the cache never reads it half written); whether it was.
fn write_whole(path: &Path, bytes: &[u8]) -> bool {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let done = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).is_ok();
    if !done {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Removes the files of `dir` that `keep` rejects (by name).
fn sweep(dir: &Path, keep: impl Fn(&str) -> bool) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name();
        if !keep(&name.to_string_lossy()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The cache is its owner's alone (it holds repository records).
fn mkdir(p: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(p).map_err(|e| Error::io(p, e))
}

/// Marks the cache directory as one (bford.info/cachedir), so that
/// backups with `--exclude-caches`, strata's and other tools', leave it
/// out. A cache that cannot be tagged still works.
fn tag_as_cache(dir: &Path) {
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        let text = [
            crate::backup::CACHEDIR_SIGNATURE,
            b"\n# This file is a cache directory tag created by strata.\n",
            b"# For information about cache directory tags, see https://bford.info/cachedir/\n",
        ]
        .concat();
        if let Err(e) = std::fs::write(&tag, text) {
            log::warn!("{}: {e}", tag.display());
        }
    }
}

impl BucketStore {
    /// Opens the bucket's repository; its config comes back decoded.
    pub(super) fn open(bucket: Bucket, cache: &CacheOptions) -> Result<(BucketStore, Config)> {
        let (opened, config) = Opened::open(bucket.clone(), cache)?;
        let now = std::sync::RwLock::new(Arc::new(opened));
        Ok((BucketStore { bucket, cache: cache.clone(), now, listed: Mutex::new(std::time::Instant::now()) }, config))
    }

    fn current(&self) -> Arc<Opened> {
        self.now.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Opened {
    fn open(bucket: Bucket, cache: &CacheOptions) -> Result<(Opened, Config)> {
        let url = bucket.url();
        let config_bytes = bucket
            .get("config")?
            .ok_or_else(|| Error::Invalid(format!("{url}: no strata repository there (no config)")))?;
        let config = Config::decode(&config_bytes)?;
        let root = cache.dir.join(hex(&config.repo_id));
        let (idx_dir, snap_dir) = (root.join("idx"), root.join("snapshots"));
        let block_dir = match cache.fresh {
            false => root.join("blocks"),
            true => {
                // Private block directories of runs that died.
                for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let pid = name.strip_prefix("fresh-").and_then(|p| p.parse::<u32>().ok());
                    if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
                root.join(format!("fresh-{}", std::process::id()))
            }
        };
        for d in [&idx_dir, &snap_dir, &block_dir] {
            mkdir(d)?;
        }
        tag_as_cache(&cache.dir);
        let small = MemoryStore::new();
        let mut b = Batch::default();
        b.put(Cf::Meta, CONFIG_KEY, config_bytes);
        for o in bucket.list("keys/")? {
            let id = o.key.strip_prefix("keys/").and_then(unhex);
            let id = id.ok_or_else(|| Error::corrupt(format!("{url} object {}", o.key), "not a key file name"))?;
            let v = bucket.get(&o.key)?.ok_or_else(|| Error::Missing { what: "key file", id: o.key.clone() })?;
            b.put(Cf::Keys, id, v);
        }
        if let Some((_, meta)) = newest_meta(&bucket)? {
            for (k, v) in meta.into_iter().filter(|(k, _)| k != CONFIG_KEY) {
                b.put(Cf::Meta, k, v);
            }
        }
        // Snapshots before packs (see the module's note).
        let mut snapshots = HashSet::new();
        for o in bucket.list("snapshots/")? {
            let Some(name) = o.key.strip_prefix("snapshots/") else { continue };
            let key =
                unhex(name).ok_or_else(|| Error::corrupt(format!("{url} object {}", o.key), "not a snapshot name"))?;
            // A damaged record is kept as it is: check reports it, and
            // reading it says what it is.
            let Some(v) = cached(&bucket, &o.key, &snap_dir.join(name), cache.fresh, record::verify)? else { continue };
            snapshots.insert(name.to_string());
            b.put(Cf::Snapshots, key, v);
        }
        sweep(&snap_dir, |n| snapshots.contains(n));

        let listing = bucket.list("data/")?;
        let sizes: HashMap<&str, u64> = listing
            .iter()
            .filter_map(|o| Some((o.key.strip_prefix("data/")?.strip_suffix(".pack")?, o.size)))
            .collect();
        let mut packs = Vec::new();
        let (mut chunks, mut trees) = (BTreeMap::new(), BTreeMap::new());
        let ordered = config.ordered_chunks();
        for o in &listing {
            let Some(name) = o.key.strip_prefix("data/").and_then(|k| k.strip_suffix(".idx")) else { continue };
            // An index without its pack is a pack being replaced or lost:
            // its records are not there to read.
            let Some(&size) = sizes.get(name) else { continue };
            let file = idx_dir.join(name);
            let idx = cached(&bucket, &o.key, &file, cache.fresh, |b| parse_idx(name, b).is_ok())?
                .ok_or_else(|| Error::Missing { what: "pack index", id: name.into() })?;
            let pack = packs.len() as u32;
            for e in parse_idx(name, &idx)? {
                let loc = Loc { pack, offset: e.offset, len: e.len };
                if e.offset + e.len as u64 > size {
                    return Err(Error::corrupt(format!("{url} pack index {name}"), "an entry past the pack's end"));
                }
                match e.cf {
                    Cf::Chunks => {
                        let (chunk, entry) = ChunkEntry::of_record(&e.key, e.len, ordered).ok_or_else(|| {
                            Error::corrupt(format!("{url} pack index {name}"), "a chunk key of neither layout")
                        })?;
                        b.put(Cf::ChunkIndex, chunk.id.0.to_vec(), entry);
                        chunks.insert(e.key, loc);
                    }
                    Cf::Trees => {
                        trees.insert(e.key, loc);
                    }
                    _ => {}
                }
            }
            packs.push(Pack { name: name.to_string(), size });
        }
        small.write(b, Durability::Deferred)?;
        let names: HashSet<&str> = packs.iter().map(|p| p.name.as_str()).collect();
        sweep(&idx_dir, |n| names.contains(n));
        let index: HashMap<&str, u32> = packs.iter().enumerate().map(|(i, p)| (p.name.as_str(), i as u32)).collect();
        let mut state = State::default();
        let mut found = Vec::new();
        for e in std::fs::read_dir(&block_dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let parsed = name.split_once('.').and_then(|(p, b)| Some((*index.get(p)?, b.parse::<u32>().ok()?)));
            match (parsed, e.metadata()) {
                (Some(b), Ok(m)) => found.push((m.modified().ok(), b, m.len())),
                // Blocks of packs gone from the bucket, and leftovers; a
                // temporary file only once no process can be writing it.
                _ if !name.contains(".tmp") => {
                    let _ = std::fs::remove_file(e.path());
                }
                (_, Ok(m)) if m.modified().ok().and_then(|t| t.elapsed().ok()) > Some(Duration::from_secs(60)) => {
                    let _ = std::fs::remove_file(e.path());
                }
                _ => {}
            }
        }
        found.sort();
        for (_, b, size) in found {
            state.insert(b, size, false);
        }
        let blocks = Arc::new(Blocks {
            bucket,
            packs,
            private: cache.fresh.then(|| block_dir.clone()),
            dir: block_dir,
            limit: cache.limit,
            state: Mutex::new(state),
            fetched: Condvar::new(),
        });
        let (ahead, rx) = crossbeam_channel::bounded::<BlockId>(64);
        for _ in 0..FETCHERS {
            let (blocks, rx) = (blocks.clone(), rx.clone());
            std::thread::spawn(move || rx.iter().for_each(|b| blocks.prefetch(b)));
        }
        let mut first: Vec<(&[u8], u32)> = Vec::new();
        let mut seen = HashSet::new();
        for (k, l) in &chunks {
            if seen.insert(l.pack) {
                first.push((k.as_slice(), l.pack));
            }
        }
        let mut next_pack = vec![None; blocks.packs.len()];
        for w in first.windows(2) {
            next_pack[w[0].1 as usize] = Some(w[1].1);
        }
        let snapshot_names = snapshots;
        Ok((Opened { url, snapshot_names, blocks, small, chunks, trees, ahead, next_pack }, config))
    }

    fn locs(&self, cf: Cf) -> Option<&BTreeMap<Vec<u8>, Loc>> {
        match cf {
            Cf::Chunks => Some(&self.chunks),
            Cf::Trees => Some(&self.trees),
            _ => None,
        }
    }

    fn read(&self, loc: Loc) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(loc.len as usize);
        let (mut pos, end) = (loc.offset, loc.offset + loc.len as u64);
        while pos < end {
            let block = (pos / BLOCK) as u32;
            let start = block as u64 * BLOCK;
            let n = (end.min(start + BLOCK) - pos) as usize;
            let (data, ahead) = self.blocks.block((loc.pack, block))?;
            let at = (pos - start) as usize;
            let slice = data.get(at..at + n).ok_or_else(|| {
                Error::corrupt(format!("pack {}", self.blocks.packs[loc.pack as usize].name), "shorter than its index")
            })?;
            out.extend_from_slice(slice);
            if ahead {
                self.read_ahead(loc.pack, block);
            }
            pos += n as u64;
        }
        Ok(out)
    }

    /// Sets the `AHEAD` blocks after `block` coming, on into the pack that
    /// follows in write order.
    fn read_ahead(&self, mut pack: u32, mut block: u32) {
        for _ in 0..AHEAD {
            block += 1;
            if block >= self.blocks.blocks_in(pack) {
                match self.next_pack[pack as usize] {
                    Some(next) => (pack, block) = (next, 0),
                    None => return,
                }
            }
            let _ = self.ahead.try_send((pack, block));
        }
    }

    fn read_only(&self) -> Error {
        Error::Invalid(format!("{}: a bucket is opened read-only (back up to a directory and mirror it)", self.url))
    }
}

impl Opened {
    fn store_get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.locs(cf) {
            Some(locs) => locs.get(key).map(|&l| self.read(l)).transpose(),
            None => self.small.get(cf, key),
        }
    }

    fn store_contains(&self, cf: Cf, key: &[u8]) -> Result<bool> {
        match self.locs(cf) {
            Some(locs) => Ok(locs.contains_key(key)),
            None => self.small.contains(cf, key),
        }
    }

    fn store_range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let Some(locs) = self.locs(cf) else { return self.small.range(cf, from, to) };
        locs.range(from.to_vec()..)
            .take_while(|(k, _)| to.is_none_or(|t| k.as_slice() < t))
            .map(|(k, &l)| Ok((k.clone(), self.read(l)?)))
            .collect()
    }

    fn store_last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(locs) = self.locs(cf) else { return self.small.last_before(cf, key) };
        locs.range(..key.to_vec()).next_back().map(|(k, &l)| Ok((k.clone(), self.read(l)?))).transpose()
    }

    fn store_scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
        let Some(locs) = self.locs(cf) else { return self.small.scan(cf, from, f) };
        for (k, &l) in locs.range(from.to_vec()..) {
            if !f(k, &self.read(l)?)? {
                break;
            }
        }
        Ok(())
    }
}

impl Store for BucketStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.current().store_get(cf, key)
    }

    fn contains(&self, cf: Cf, key: &[u8]) -> Result<bool> {
        self.current().store_contains(cf, key)
    }

    fn write(&self, _: Batch, _: Durability) -> Result<()> {
        Err(self.current().read_only())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.current().store_range(cf, from, to)
    }

    fn last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.current().store_last_before(cf, key)
    }

    fn scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
        self.current().store_scan(cf, from, f)
    }

    fn refresh(&self) -> Result<()> {
        if self.cache.fresh {
            return Ok(());
        }
        {
            let mut listed = self.listed.lock().unwrap_or_else(|e| e.into_inner());
            if listed.elapsed() < REFRESH_EVERY {
                return Ok(());
            }
            *listed = std::time::Instant::now();
        }
        let names: HashSet<String> = self
            .bucket
            .list("snapshots/")?
            .into_iter()
            .filter_map(|o| o.key.strip_prefix("snapshots/").map(String::from))
            .collect();
        if names == self.current().snapshot_names {
            return Ok(());
        }
        let (opened, _) = Opened::open(self.bucket.clone(), &self.cache)?;
        *self.now.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(opened);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_takes_the_least_recently_used_block_first() {
        let mut st = State::default();
        st.insert((0, 0), 10, false);
        st.insert((0, 1), 10, false);
        st.touch((0, 0));
        assert_eq!(st.order.first_key_value().map(|(_, b)| *b), Some((0, 1)));
        st.forget((0, 1));
        assert_eq!((st.bytes, st.blocks.len(), st.order.len()), (10, 1, 1));
    }
}
