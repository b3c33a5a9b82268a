//! A repository's mirror in an S3 bucket, and back. Layout under the
//! bucket's prefix (no object is ever overwritten or appended, so versioned
//! and object-locked buckets work):
//!
//! ```text
//! config                   the repository's config
//! keys/<id>                key files (left out with --without-keys)
//! data/<hash>.pack         records: [family u8][key len u32][key][value len u32][value]...
//! data/<hash>.idx          its index, uploaded after it: "strata-idx 1\n", then
//!                          [family u8][key len u32][key][offset u64][len u32]...,
//!                          then a 16-byte BLAKE3 of all before
//! meta/<nanos>             holds, tag changes and audit entries, as a pack; the newest wins
//! snapshots/<key>          a snapshot record, uploaded after every pack of its run
//! ```
//!
//! `<hash>` is the BLAKE3 of the pack, so a pack verifies without the key;
//! each record in it carries its own checksum too. A snapshot is uploaded
//! only after every pack and index that holds its records, so a bucket
//! never lists a snapshot it lacks data for; an interrupted mirror leaves
//! at most a pack without an index (garbage), and the next run resumes.
//! A chunk record and its index entry are always in the same pack
//! (`Packer::add_chunk`).
//!
//! With `--prune`, objects are deleted (never rewritten): snapshots the
//! source no longer has, then older meta objects, then packs with nothing
//! live, and packs mostly dead once their live records are in new packs.
//! Packs above `s3::PART` bytes travel as multipart uploads.

use super::mirror::{all, open_target, MirrorOptions, MirrorReport, Stage, Target};
use super::{ChunkEntry, Repo, CONFIG_KEY};
use crate::crypto::{unhex, Id};
use crate::error::{Error, Result};
use crate::format::config::Config;
use crate::format::record;
use crate::s3::Bucket;
use crate::store::{Batch, Cf, Durability, Store};
use std::collections::HashSet;
use std::path::Path;

/// Packs are cut at this size. Each pack is held whole in memory while it
/// is filled and uploaded: with UPLOADERS uploading and one being filled,
/// a mirror of the bench corpus's repository (447 MB) peaked at 263 MiB
/// RSS with 32 MiB packs (and two more queued), 171-180 MiB with 16 MiB
/// and none queued, in the same time (3.4-3.5 s to a local SeaweedFS).
const PACK_SIZE: usize = 16 << 20;
const IDX_MAGIC: &[u8] = b"strata-idx 1\n";

fn cf_byte(cf: Cf) -> u8 {
    Cf::ALL.iter().position(|&c| c == cf).expect("a family") as u8
}

fn cf_of(b: u8) -> Option<Cf> {
    Cf::ALL.get(b as usize).copied()
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// One entry of a pack's index.
#[derive(Debug)]
pub(super) struct IdxEntry {
    pub(super) cf: Cf,
    pub(super) key: Vec<u8>,
    pub(super) offset: u64,
    pub(super) len: u32,
}

pub(super) fn parse_idx(name: &str, b: &[u8]) -> Result<Vec<IdxEntry>> {
    let bad = |d: &str| Error::corrupt(format!("pack index {name}"), d.to_string());
    if b.len() < IDX_MAGIC.len() + 16 || !b.starts_with(IDX_MAGIC) {
        return Err(bad("not a pack index"));
    }
    let (body, sum) = b.split_at(b.len() - 16);
    if blake3::hash(body).as_bytes()[..16] != *sum {
        return Err(bad("checksum mismatch"));
    }
    let mut p = &body[IDX_MAGIC.len()..];
    let mut out = Vec::new();
    let take = |p: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        let (a, rest) = (p.get(..n)?, p.get(n..)?);
        *p = rest;
        Some(a.to_vec())
    };
    while !p.is_empty() {
        let e = (|| {
            let cf = cf_of(take(&mut p, 1)?[0])?;
            let klen = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
            let key = take(&mut p, klen)?;
            let offset = u64::from_le_bytes(take(&mut p, 8)?.try_into().ok()?);
            let len = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?);
            Some(IdxEntry { cf, key, offset, len })
        })()
        .ok_or_else(|| bad("truncated entry"))?;
        out.push(e);
    }
    Ok(out)
}

/// A finished pack and its index, for an uploader.
type Upload = (String, Vec<u8>, Vec<u8>);

/// Records being gathered into a pack, handed to the uploaders (which put
/// the pack, then its index) when big enough.
struct Packer {
    uploads: crossbeam_channel::Sender<Upload>,
    pack: Vec<u8>,
    idx: Vec<u8>,
}

/// Packs uploaded at once, each on its own connection.
const UPLOADERS: usize = 4;

/// Uploads packs from `rx` until it closes; the first failure is kept in
/// `failed` (and the rest are still drained, not uploaded).
fn upload(bucket: &Bucket, rx: crossbeam_channel::Receiver<Upload>, failed: &std::sync::Mutex<Option<Error>>) {
    for (name, pack, idx) in rx {
        let lock = || failed.lock().unwrap_or_else(|e| e.into_inner());
        if lock().is_some() {
            continue;
        }
        let r = bucket
            .put_parts(&format!("data/{name}.pack"), &pack)
            .and_then(|_| bucket.put(&format!("data/{name}.idx"), &idx));
        if let Err(e) = r {
            lock().get_or_insert(e);
        }
    }
}

/// A pack with at least this share (numerator, denominator) of its bytes
/// dead is rewritten by a pruning mirror.
const REPACK_DEAD: (u64, u64) = (1, 5);

/// Runs `fill` with a packer whose packs UPLOADERS threads upload
/// meanwhile; returns once every pack and index is in the bucket.
fn packing(bucket: &Bucket, fill: impl FnOnce(&mut Packer) -> Result<()>) -> Result<()> {
    let failed = std::sync::Mutex::new(None);
    let filled = std::thread::scope(|scope| -> Result<()> {
        // A finished pack waits for a free uploader, not in a queue.
        let (tx, rx) = crossbeam_channel::bounded::<Upload>(0);
        for _ in 0..UPLOADERS {
            let (rx, failed) = (rx.clone(), &failed);
            scope.spawn(move || upload(bucket, rx, failed));
        }
        drop(rx);
        let mut packer = Packer { uploads: tx, pack: Vec::new(), idx: Vec::new() };
        fill(&mut packer)?;
        packer.finish()
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    filled
}

impl Packer {
    /// Adds a record, and cuts the pack once it is full.
    fn add(&mut self, cf: Cf, key: &[u8], value: &[u8]) -> Result<()> {
        self.push(cf, key, value);
        self.cut_if_full()
    }

    /// Adds a chunk record and its index entry, always to the same pack.
    fn add_chunk(&mut self, key: &[u8], record: &[u8], id: &Id, index: &[u8]) -> Result<()> {
        self.push(Cf::Chunks, key, record);
        self.push(Cf::ChunkIndex, &id.0, index);
        self.cut_if_full()
    }

    fn push(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        self.pack.push(cf_byte(cf));
        put_bytes(&mut self.pack, key);
        self.pack.extend_from_slice(&(value.len() as u32).to_le_bytes());
        let offset = self.pack.len() as u64;
        self.pack.extend_from_slice(value);
        self.idx.push(cf_byte(cf));
        put_bytes(&mut self.idx, key);
        self.idx.extend_from_slice(&offset.to_le_bytes());
        self.idx.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }

    fn cut_if_full(&mut self) -> Result<()> {
        if self.pack.len() >= PACK_SIZE {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.pack.is_empty() {
            return Ok(());
        }
        let name = blake3::hash(&self.pack).to_hex().to_string();
        let mut idx = IDX_MAGIC.to_vec();
        idx.append(&mut self.idx);
        let sum = blake3::hash(&idx);
        idx.extend_from_slice(&sum.as_bytes()[..16]);
        let pack = std::mem::take(&mut self.pack);
        self.uploads.send((name, pack, idx)).map_err(|_| Error::Invalid("mirror: the uploaders stopped".into()))
    }
}

/// Pack names with their index entries.
type Packs = Vec<(String, Vec<IdxEntry>)>;
/// (family, key) of every record a bucket holds.
type Present = HashSet<(u8, Vec<u8>)>;
/// Keys and values of a family.
pub(super) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every (family, key) the bucket's packs hold, from their indexes, and
/// the indexes by pack name.
fn bucket_contents(bucket: &Bucket) -> Result<(Present, Packs)> {
    let mut present = HashSet::new();
    let mut packs = Vec::new();
    for o in bucket.list("data/")? {
        let Some(name) = o.key.strip_prefix("data/").and_then(|k| k.strip_suffix(".idx")) else { continue };
        let bytes = bucket.get(&o.key)?.ok_or_else(|| Error::Missing { what: "pack index", id: name.into() })?;
        let entries = parse_idx(name, &bytes)?;
        present.extend(entries.iter().map(|e| (cf_byte(e.cf), e.key.clone())));
        packs.push((name.to_string(), entries));
    }
    Ok((present, packs))
}

/// The meta family (holds, tags, audit log) as one pack-framed blob.
fn meta_blob(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in entries {
        put_bytes(&mut out, k);
        put_bytes(&mut out, v);
    }
    out
}

fn parse_meta(b: &[u8]) -> Option<Entries> {
    let mut p = b;
    let mut out = Vec::new();
    let mut take = || -> Option<Vec<u8>> {
        let n = u32::from_le_bytes(p.get(..4)?.try_into().ok()?) as usize;
        let v = p.get(4..4 + n)?.to_vec();
        p = &p[4 + n..];
        Some(v)
    };
    while let Some(k) = take() {
        out.push((k, take()?));
    }
    p.is_empty().then_some(out)
}

/// The newest meta object's entries, if any.
pub(super) fn newest_meta(bucket: &Bucket) -> Result<Option<(String, Entries)>> {
    let Some(o) = bucket.list("meta/")?.pop() else { return Ok(None) };
    let b = bucket.get(&o.key)?.ok_or_else(|| Error::Missing { what: "meta object", id: o.key.clone() })?;
    let entries = parse_meta(&b).ok_or_else(|| Error::corrupt(format!("meta object {}", o.key), "truncated"))?;
    Ok(Some((o.key, entries)))
}

impl Repo {
    /// Mirrors this repository into a bucket (see the module's layout).
    pub fn mirror_to_bucket(
        &self,
        bucket: &Bucket,
        opts: MirrorOptions,
        progress: &dyn Fn(Stage),
    ) -> Result<MirrorReport> {
        let mut report = MirrorReport { target: bucket.url(), ..MirrorReport::default() };
        let source = &*self.store;
        let config = source.get(Cf::Meta, CONFIG_KEY)?.ok_or_else(|| Error::corrupt("repository", "no config"))?;
        match bucket.get("config")? {
            Some(theirs) => {
                if Config::decode(&theirs)?.repo_id != self.config.repo_id {
                    return Err(Error::Invalid(format!("mirror target {}: holds another repository", bucket.url())));
                }
            }
            None => {
                // Keys before config: a bucket with a config opens.
                if !opts.without_keys {
                    for (k, v) in all(source, Cf::Keys)? {
                        bucket.put(&format!("keys/{}", crate::crypto::hex(&k)), &v)?;
                        report.meta_sent += 1;
                    }
                }
                bucket.put("config", &config)?;
                report.created = true;
            }
        }
        if !opts.without_keys && !report.created {
            let have: HashSet<String> = bucket.list("keys/")?.into_iter().map(|o| o.key).collect();
            for (k, v) in all(source, Cf::Keys)? {
                let name = format!("keys/{}", crate::crypto::hex(&k));
                if !have.contains(&name) {
                    bucket.put(&name, &v)?;
                    report.meta_sent += 1;
                }
            }
        }
        let snapshots = all(source, Cf::Snapshots)?;
        let (present, packs) = bucket_contents(bucket)?;
        // With prune: the records the source has, by (family, key).
        let mut live: Present = HashSet::new();
        // Packs are cut here and uploaded by UPLOADERS threads meanwhile;
        // all of them are in the bucket before any snapshot is.
        packing(bucket, |packer| {
            // Chunks the bucket lacks, read in write order.
            let mut missing: Vec<ChunkEntry> = Vec::new();
            self.records().scan_chunks(&mut |e| {
                if opts.prune {
                    live.insert((cf_byte(Cf::Chunks), e.key().to_vec()));
                }
                if present.contains(&(cf_byte(Cf::ChunkIndex), e.id.0.to_vec())) {
                    report.chunks_skipped += 1;
                } else {
                    missing.push(e);
                }
                Ok(true)
            })?;
            missing.sort_by(|a, b| a.key().cmp(b.key()));
            let total = missing.len() as u64;
            for (i, e) in missing.iter().enumerate() {
                let rec = source.get(Cf::Chunks, e.key())?.ok_or_else(|| {
                    Error::Invalid(format!("chunk {}: indexed but gone at the source (a prune?); mirror again", e.id))
                })?;
                if rec.len() != e.stored as usize || !record::verify(&rec) {
                    report.damaged.push(format!("chunk {}: checksum mismatch", e.id));
                    continue;
                }
                let index = source
                    .get(Cf::ChunkIndex, &e.id.0)?
                    .ok_or_else(|| Error::Missing { what: "chunk index entry", id: e.id.to_hex() })?;
                report.chunks_sent += 1;
                report.chunk_bytes_sent += rec.len() as u64;
                packer.add_chunk(e.key(), &rec, &e.id, &index)?;
                if i % 256 == 0 {
                    (progress)(Stage::Chunks(i as u64, total, report.chunk_bytes_sent));
                }
            }
            let mut trees = Vec::new();
            source.scan(Cf::Trees, b"", &mut |k, v| {
                if opts.prune {
                    live.insert((cf_byte(Cf::Trees), k.to_vec()));
                }
                if present.contains(&(cf_byte(Cf::Trees), k.to_vec())) {
                    report.trees_skipped += 1;
                } else if record::verify(v) {
                    trees.push((k.to_vec(), v.to_vec()));
                } else {
                    report.damaged.push(format!("tree or chunk list {}: checksum mismatch", crate::crypto::hex(k)));
                }
                Ok(true)
            })?;
            (progress)(Stage::Trees(trees.len() as u64));
            for (k, v) in trees {
                report.trees_sent += 1;
                report.tree_bytes_sent += v.len() as u64;
                packer.add(Cf::Trees, &k, &v)?;
            }
            Ok(())
        })?;

        (progress)(Stage::Snapshots);
        let meta: Vec<_> = all(source, Cf::Meta)?.into_iter().filter(|(k, _)| k != CONFIG_KEY).collect();
        for (k, v) in &meta {
            if !v.get(32..).is_some_and(record::verify) {
                report.damaged.push(format!("meta record {}: checksum mismatch", String::from_utf8_lossy(k)));
            }
        }
        if report.damaged.is_empty() {
            let theirs = newest_meta(bucket)?.map(|(_, e)| e).unwrap_or_default();
            if theirs != meta && !meta.is_empty() {
                let nanos = crate::format::Time::now().as_nanos();
                bucket.put(&format!("meta/{nanos:020}"), &meta_blob(&meta))?;
                report.meta_sent += meta.len() as u64;
            }
            let have: HashSet<String> = bucket.list("snapshots/")?.into_iter().map(|o| o.key).collect();
            for (k, v) in &snapshots {
                let name = format!("snapshots/{}", crate::crypto::hex(k));
                if have.contains(&name) {
                    report.snapshots_skipped += 1;
                } else if record::verify(v) {
                    bucket.put(&name, v)?;
                    report.snapshots_sent += 1;
                } else {
                    report.damaged.push(format!("snapshot record {}: checksum mismatch", crate::crypto::hex(k)));
                }
            }
        }
        if opts.prune && report.damaged.is_empty() {
            (progress)(Stage::Pruning);
            self.prune_bucket(bucket, &packs, &live, &snapshots, &mut report)?;
        }
        Ok(report)
    }

    /// Removes from the bucket what the source no longer has (`live` are
    /// the records it has): snapshots first, so that none is listed without
    /// its records; then packs that hold nothing live; packs with more than
    /// `REPACK_DEAD` of their bytes dead are rewritten, their live records
    /// uploaded anew (from the source, verified) before the old pack goes.
    fn prune_bucket(
        &self,
        bucket: &Bucket,
        packs: &Packs,
        live: &Present,
        snapshots: &Entries,
        report: &mut MirrorReport,
    ) -> Result<()> {
        let source = &*self.store;
        let keep: HashSet<String> =
            snapshots.iter().map(|(k, _)| format!("snapshots/{}", crate::crypto::hex(k))).collect();
        for o in bucket.list("snapshots/")? {
            if !keep.contains(&o.key) {
                bucket.delete(&o.key)?;
                report.snapshots_removed += 1;
            }
        }
        let metas = bucket.list("meta/")?;
        for o in metas.iter().take(metas.len().saturating_sub(1)) {
            bucket.delete(&o.key)?;
            report.meta_removed += 1;
        }
        // Which packs go, and the live records of those that go.
        let mut claimed: Present = HashSet::new();
        let mut gone = Vec::new();
        let mut moved: Vec<(Cf, &[u8])> = Vec::new();
        for (name, entries) in packs {
            let (mut live_bytes, mut dead_bytes) = (0u64, 0u64);
            let mut dead = (0, 0);
            let mut kept = Vec::new();
            for e in entries.iter().filter(|e| matches!(e.cf, Cf::Chunks | Cf::Trees)) {
                let k = (cf_byte(e.cf), e.key.clone());
                if live.contains(&k) && claimed.insert(k) {
                    live_bytes += e.len as u64;
                    kept.push((e.cf, e.key.as_slice()));
                } else {
                    dead_bytes += e.len as u64;
                    match e.cf {
                        Cf::Chunks => dead.0 += 1,
                        _ => dead.1 += 1,
                    }
                }
            }
            if dead_bytes == 0
                || (live_bytes > 0 && dead_bytes * REPACK_DEAD.1 < (live_bytes + dead_bytes) * REPACK_DEAD.0)
            {
                continue;
            }
            report.chunks_removed += dead.0;
            report.trees_removed += dead.1;
            if live_bytes > 0 {
                report.packs_rewritten += 1;
                moved.extend(kept);
            }
            gone.push(name);
        }
        moved.sort();
        packing(bucket, |packer| {
            for (cf, key) in moved {
                let what = if cf == Cf::Chunks { "chunk" } else { "tree" };
                let v = source.get(cf, key)?.filter(|v| record::verify(v)).ok_or_else(|| {
                    Error::Invalid(format!(
                        "{what} record {}: gone or damaged at the source; mirror again",
                        crate::crypto::hex(key)
                    ))
                })?;
                if cf != Cf::Chunks {
                    packer.add(cf, key, &v)?;
                    continue;
                }
                let id = self.records().chunk_id_of_key(key).ok_or_else(|| {
                    Error::corrupt(format!("chunk record {}", crate::crypto::hex(key)), "a key of neither layout")
                })?;
                let index = source
                    .get(Cf::ChunkIndex, &id.0)?
                    .ok_or_else(|| Error::Missing { what: "chunk index entry", id: id.to_hex() })?;
                packer.add_chunk(key, &v, &id, &index)?;
            }
            Ok(())
        })?;
        // Their replacements are indexed: the old packs may go (index first).
        for name in gone {
            bucket.delete(&format!("data/{name}.idx"))?;
            bucket.delete(&format!("data/{name}.pack"))?;
            report.packs_removed += 1;
        }
        Ok(())
    }

    /// Pulls a bucket's repository into the directory `target` (made a
    /// repository if it is none), verifying every pack and record.
    pub fn pull_from_bucket(
        bucket: &Bucket,
        target: &Path,
        opts: MirrorOptions,
        progress: &dyn Fn(Stage),
    ) -> Result<MirrorReport> {
        let mut report = MirrorReport { target: target.display().to_string(), ..MirrorReport::default() };
        let config = bucket
            .get("config")?
            .ok_or_else(|| Error::Invalid(format!("{}: no strata repository there (no config)", bucket.url())))?;
        let mut keys = Vec::new();
        if !opts.without_keys {
            for o in bucket.list("keys/")? {
                let id = o.key.strip_prefix("keys/").and_then(unhex).ok_or_else(|| {
                    Error::corrupt(format!("{} object {}", bucket.url(), o.key), "not a key file name")
                })?;
                let v = bucket.get(&o.key)?.ok_or_else(|| Error::Missing { what: "key file", id: o.key.clone() })?;
                keys.push((id, v));
            }
        }
        let ordered = Config::decode(&config)?.ordered_chunks();
        let (store, _lock) = open_target(target, config, &keys, &mut report)?;
        let mut b = Batch::default();
        for (k, v) in &keys {
            if store.get(Cf::Keys, k)?.as_ref() != Some(v) {
                b.put(Cf::Keys, k.clone(), v.clone());
                report.meta_sent += 1;
            }
        }
        if !b.is_empty() {
            store.write(b, Durability::Sync)?;
        }
        let mut t = Target::new(store);
        let snapshots: Vec<_> = bucket.list("snapshots/")?;
        let (_, packs) = bucket_contents(bucket)?;
        let total = packs.len() as u64;
        // Packs with anything the target lacks, fetched one ahead of the
        // writes on another thread; what each one has to give is looked
        // at again when it arrives, after the previous pack's writes.
        let mut fetch = Vec::new();
        for (n, (name, entries)) in packs.iter().enumerate() {
            let (want, skipped) = pull_wanted(&t.store, bucket, name, entries, ordered)?;
            if want.is_empty() {
                report.chunks_skipped += skipped.0;
                report.trees_skipped += skipped.1;
            } else {
                fetch.push((n, name, entries));
            }
        }
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = crossbeam_channel::bounded(0);
            scope.spawn(move || {
                for (n, name, entries) in fetch {
                    let pack = bucket.get(&format!("data/{name}.pack"));
                    if tx.send((n, name, entries, pack)).is_err() {
                        return;
                    }
                }
            });
            for (n, name, entries, pack) in rx {
                let (want, skipped) = pull_wanted(&t.store, bucket, name, entries, ordered)?;
                report.chunks_skipped += skipped.0;
                report.trees_skipped += skipped.1;
                if want.is_empty() {
                    continue;
                }
                let pack = pack?.ok_or_else(|| Error::Missing { what: "pack", id: name.clone() })?;
                if blake3::hash(&pack).to_hex().as_str() != name {
                    report.damaged.push(format!("pack {name}: its content does not match its name (damaged)"));
                    continue;
                }
                for (e, index) in want {
                    let v = pack
                        .get(e.offset as usize..e.offset as usize + e.len as usize)
                        .ok_or_else(|| Error::corrupt(format!("pack index {name}"), "an entry past the pack's end"))?;
                    if matches!(e.cf, Cf::Chunks | Cf::Trees) && !record::verify(v) {
                        report.damaged.push(format!("a record in pack {name}: checksum mismatch"));
                        continue;
                    }
                    match e.cf {
                        Cf::Chunks => {
                            report.chunks_sent += 1;
                            report.chunk_bytes_sent += v.len() as u64;
                        }
                        Cf::Trees => {
                            report.trees_sent += 1;
                            report.tree_bytes_sent += v.len() as u64;
                        }
                        _ => {}
                    }
                    match index {
                        Some((id, index)) => t.put_chunk(&e.key, v.to_vec(), &id, index)?,
                        None => t.put(e.cf, &e.key, v.to_vec())?,
                    }
                }
                // Written before the next pack is looked at: a chunk stored
                // twice in the bucket (a killed mirror sends it again) is then
                // seen as present, not copied twice.
                t.write()?;
                (progress)(Stage::Chunks(n as u64 + 1, total, report.chunk_bytes_sent));
            }
            Ok(())
        })?;
        t.write()?;
        t.store.flush()?;
        (progress)(Stage::Snapshots);
        if !report.damaged.is_empty() {
            return Ok(report);
        }
        if let Some((_, meta)) = newest_meta(bucket)? {
            let mut b = Batch::default();
            for (k, v) in meta {
                if k != CONFIG_KEY && t.store.get(Cf::Meta, &k)?.as_ref() != Some(&v) {
                    b.put(Cf::Meta, k, v);
                    report.meta_sent += 1;
                }
            }
            if !b.is_empty() {
                t.store.write(b, Durability::Sync)?;
            }
        }
        let mut b = Batch::default();
        for o in snapshots {
            let Some(k) = o.key.strip_prefix("snapshots/").and_then(unhex) else { continue };
            if t.store.contains(Cf::Snapshots, &k)? {
                report.snapshots_skipped += 1;
                continue;
            }
            let v = bucket.get(&o.key)?.ok_or_else(|| Error::Missing { what: "snapshot", id: o.key.clone() })?;
            if record::verify(&v) {
                b.put(Cf::Snapshots, k, v);
                report.snapshots_sent += 1;
            } else {
                report.damaged.push(format!("{}: checksum mismatch", o.key));
            }
        }
        if report.damaged.is_empty() && !b.is_empty() {
            t.store.write(b, Durability::Sync)?;
        }
        Ok(report)
    }
}

/// Entries of a pack a pull copies, each chunk's with its index entry.
type Wanted<'a> = Vec<(&'a IdxEntry, Option<(Id, Vec<u8>)>)>;

/// What a pull copies from a pack's entries: trees and chunks the target
/// lacks, each chunk with the index entry made from its record's key (as
/// the bucket store does) to be written with it. A pack may hold a record
/// without its index entry or the other way round (older mirrors cut packs
/// between the two), and the target must never hold an index entry without
/// its record, which later backups would dedup against: the packs' own
/// index entries are not copied. Also the chunks and trees skipped.
fn pull_wanted<'a>(
    store: &dyn Store,
    bucket: &Bucket,
    name: &str,
    entries: &'a [IdxEntry],
    ordered: bool,
) -> Result<(Wanted<'a>, (u64, u64))> {
    let mut want = Vec::new();
    let mut skipped = (0, 0);
    for e in entries {
        let index = match e.cf {
            Cf::ChunkIndex => continue,
            Cf::Chunks => {
                let (chunk, index) = ChunkEntry::of_record(&e.key, e.len, ordered).ok_or_else(|| {
                    Error::corrupt(format!("{} pack index {name}", bucket.url()), "a chunk key of neither layout")
                })?;
                if store.contains(Cf::ChunkIndex, &chunk.id.0)? {
                    skipped.0 += 1;
                    continue;
                }
                Some((chunk.id, index))
            }
            _ if store.contains(e.cf, &e.key)? => {
                if e.cf == Cf::Trees {
                    skipped.1 += 1;
                }
                continue;
            }
            _ => None,
        };
        want.push((e, index));
    }
    Ok((want, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_and_index_framing_round_trip() {
        let m = vec![(b"hold/x".to_vec(), vec![1, 2, 3]), (b"log/y".to_vec(), Vec::new())];
        assert_eq!(parse_meta(&meta_blob(&m)), Some(m));
        assert_eq!(parse_meta(&[1, 0, 0]), None);
        let mut idx = IDX_MAGIC.to_vec();
        idx.push(cf_byte(Cf::Trees));
        put_bytes(&mut idx, b"key");
        idx.extend_from_slice(&7u64.to_le_bytes());
        idx.extend_from_slice(&9u32.to_le_bytes());
        let sum = blake3::hash(&idx);
        idx.extend_from_slice(&sum.as_bytes()[..16]);
        let e = parse_idx("p", &idx).unwrap();
        assert_eq!((e[0].cf, e[0].key.as_slice(), e[0].offset, e[0].len), (Cf::Trees, &b"key"[..], 7, 9));
        idx[IDX_MAGIC.len()] ^= 1;
        assert!(parse_idx("p", &idx).unwrap_err().to_string().contains("checksum"));
    }

    #[test]
    fn a_full_pack_is_not_cut_between_a_chunk_record_and_its_index_entry() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut packer = Packer { uploads: tx, pack: Vec::new(), idx: Vec::new() };
        packer.add_chunk(b"record", &vec![0; PACK_SIZE], &Id([7; 32]), b"entry").unwrap();
        let (name, _, idx) = rx.try_recv().expect("cut after the index entry");
        assert!(rx.try_recv().is_err(), "cut twice");
        let families: Vec<Cf> = parse_idx(&name, &idx).unwrap().iter().map(|e| e.cf).collect();
        assert_eq!(families, [Cf::Chunks, Cf::ChunkIndex]);
    }
}
