//! A repository on disk: `REPO/db` (RocksDB) and `REPO/lock` (who writes).
//! Opening checks the format version and unlocks the keys; this module also
//! reads and writes the stored objects and finds snapshots by id, prefix,
//! `latest[~N]` or time. It and its submodules are the only code that knows
//! how anything is keyed in the store (`records` for chunks and trees).

mod bucket;
mod meta;
mod mirror;
mod parts;
mod records;
mod remote;
mod verify;

pub use mirror::{MirrorOptions, MirrorReport, Stage as MirrorStage};
pub use parts::TreeCursor;
pub use records::{ChunkEntry, Garbage, RecordWriter, Records};
pub use remote::CacheOptions;
pub use verify::{BadEntry, BlobRecord, KeySet, Sealed, Verifier};

use crate::crypto::{self, Id, KdfParams, Keys};
use crate::error::{Error, Result};
use crate::format::config::Config;
use crate::format::key::KeyFile;
use crate::format::snapshot::Snapshot;
use crate::format::{record, Time};
use crate::s3::Bucket;
use crate::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CONFIG_KEY: &[u8] = b"config";
const README: &str = "This directory is a strata backup repository. Do not edit it by hand.\n";

#[derive(Clone, Debug)]
pub struct InitOptions {
    pub encrypted: bool,
    pub chunker: strata_chunker::Params,
    pub compression: i32,
    pub kdf: KdfParams,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            encrypted: true,
            chunker: strata_chunker::Params::DEFAULT,
            compression: 3,
            kdf: KdfParams::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Which snapshots a spec (`latest`, a time, `--at`) chooses among: a
/// host's, those made of a source path, those with a tag.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub host: Option<String>,
    /// A source path of the snapshot, absolute.
    pub path: Option<Vec<u8>>,
    pub tag: Option<String>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.path.is_none() && self.tag.is_none()
    }

    pub fn matches(&self, s: &Snapshot) -> bool {
        self.host.as_ref().is_none_or(|h| &s.host == h)
            && self.path.as_ref().is_none_or(|p| s.paths.contains(p))
            && self.tag.as_ref().is_none_or(|t| s.tags.contains(t))
    }

    /// " (host web1, path /etc)", for messages; empty when none is set.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("host {h}"));
        }
        if let Some(p) = &self.path {
            parts.push(format!("path {}", String::from_utf8_lossy(p)));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag {t}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" (among snapshots with {})", parts.join(", "))
        }
    }
}

/// Supplies the password when (and only when) the repository needs one.
pub type PasswordSource<'a> = &'a dyn Fn() -> Result<Vec<u8>>;

pub struct Repo {
    path: PathBuf,
    store: Arc<dyn Store>,
    config: Config,
    records: Records,
    /// The writer lock, held while open for writing.
    lock: Option<File>,
    /// The key file the password opened.
    key_id: Option<Vec<u8>>,
}

fn db_path(repo: &Path) -> PathBuf {
    repo.join("db")
}

/// What this process does (its subcommand), for the lock's note.
static ACTIVITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names what this process does (`backup`, `prune`) to a process that finds
/// the repository busy.
pub fn set_activity(what: &str) {
    let _ = ACTIVITY.set(what.to_string());
}

/// Takes the writer lock, waiting up to `wait` for another writer to
/// finish, or says who holds it.
fn lock(repo: &Path, wait: std::time::Duration) -> Result<File> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match try_lock(repo) {
            Err(Error::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(200))
            }
            other => return other,
        }
    }
}

fn try_lock(repo: &Path) -> Result<File> {
    let path = repo.join("lock");
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(
        |e| match e.raw_os_error() {
            Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => Error::Invalid(format!(
                "repository {}: cannot be written ({e}: taking the writer lock {}); readers (snapshots, ls, \
                 restore, mount, check) still work",
                repo.display(),
                path.display()
            )),
            _ => Error::io(&path, e),
        },
    )?;
    if !crate::sys::try_lock(f.as_raw_fd()).map_err(|e| Error::io(&path, e))? {
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(Error::Busy {
            path: repo.to_path_buf(),
            holder: if holder.is_empty() { "held by another process".into() } else { holder.to_string() },
        });
    }
    let note = format!(
        "held by pid {} (strata {}) on {} since {}\n",
        std::process::id(),
        ACTIVITY.get().map_or("", |a| a.as_str()),
        crate::sys::hostname(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let _ = f.set_len(0).and_then(|_| f.rewind()).and_then(|_| f.write_all(note.as_bytes()));
    Ok(f)
}

fn new_key_file(master: &[u8; 64], password: &[u8], kdf: KdfParams) -> Result<KeyFile> {
    let salt: [u8; 32] = crypto::random_bytes();
    let kek = crypto::derive_key(password, &salt, kdf)?;
    Ok(KeyFile {
        kdf,
        salt,
        wrapped: crypto::wrap(&kek, master),
        created: Time::now(),
        host: crate::sys::hostname(),
        user: crate::sys::current_user(),
    })
}

impl Repo {
    pub fn init(path: &Path, opts: &InitOptions, password: Option<&[u8]>) -> Result<()> {
        if db_path(path).join("CURRENT").exists() {
            return Err(Error::AlreadyExists(path.to_path_buf()));
        }
        if path.exists() && !path.is_dir() {
            return Err(Error::Invalid(format!("repository {}: exists and is not a directory", path.display())));
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let _lock = lock(path, std::time::Duration::ZERO)?;
        let store = RocksStore::open(&db_path(path), OpenMode::Create)?;
        let master: [u8; 64] = crypto::random_bytes();
        let mut config = Config {
            repo_id: crypto::random_bytes(),
            chunk_min: opts.chunker.min() as u32,
            chunk_avg: opts.chunker.avg() as u32,
            chunk_max: opts.chunker.max() as u32,
            compression: opts.compression,
            encrypted: opts.encrypted,
            id_key: None,
            created: Time::now(),
            version: crate::format::CONFIG_VERSION,
        };
        let mut batch = Batch::default();
        if opts.encrypted {
            let password = password.ok_or_else(|| Error::Invalid("an encrypted repository needs a password".into()))?;
            let key = new_key_file(&master, password, opts.kdf)?;
            batch.put(Cf::Keys, crypto::random_bytes::<8>().to_vec(), key.encode());
        } else {
            config.id_key = Some(master[..32].try_into().unwrap());
        }
        batch.put(Cf::Meta, CONFIG_KEY, config.encode());
        store.write(batch, Durability::Sync)?;
        let _ = std::fs::write(path.join("README"), README);
        Ok(())
    }

    pub fn open(path: &Path, access: Access, password: PasswordSource) -> Result<Repo> {
        Repo::open_waiting(path, access, password, std::time::Duration::ZERO)
    }

    /// Opens the repository; a writer waits up to `wait` for another
    /// writer to finish before it reports the repository busy.
    pub fn open_waiting(
        path: &Path,
        access: Access,
        password: PasswordSource,
        wait: std::time::Duration,
    ) -> Result<Repo> {
        let (store, config, lock) = Repo::open_store(path, access, wait)?;
        let (keys, key_id) = Repo::keys_of(path, &*store, &config, Some(password))?;
        Ok(Repo { key_id, ..Repo::over(path, store, config, keys, lock) })
    }

    /// Opens the repository mirrored in a bucket, read-only, through a
    /// local cache; without a password source, keyless (see
    /// `open_keyless`).
    pub fn open_bucket(bucket: Bucket, cache: &CacheOptions, password: Option<PasswordSource>) -> Result<Repo> {
        let url = PathBuf::from(bucket.url());
        let (store, config) = remote::BucketStore::open(bucket, cache)?;
        let (keys, _) = Repo::keys_of(&url, &store, &config, password)?;
        Ok(Repo::over(&url, Arc::new(store), config, keys, None))
    }

    /// This repository, opened keyless, with its key: for deriving the key
    /// (slow by design) beside work that needs none.
    pub fn unlocked(&self, password: PasswordSource) -> Result<Repo> {
        let (keys, key_id) = Repo::keys_of(&self.path, &*self.store, &self.config, Some(password))?;
        Ok(Repo { key_id, ..Repo::over(&self.path, self.store.clone(), self.config.clone(), keys, None) })
    }

    /// The keys: unlocked by the password where the repository is
    /// encrypted; none (locked) without a password source.
    /// (With the id of the key file the password opened.)
    fn keys_of(
        path: &Path,
        store: &dyn Store,
        config: &Config,
        password: Option<PasswordSource>,
    ) -> Result<(Keys, Option<Vec<u8>>)> {
        let Some(password) = password else { return Ok((Keys::locked(), None)) };
        if config.encrypted {
            let (id, master) = Self::unlock(path, store, &password()?)?;
            Ok((Keys::new(master[..32].try_into().unwrap(), Some(master[32..].try_into().unwrap())), Some(id)))
        } else {
            let id_key =
                config.id_key.ok_or_else(|| Error::corrupt("repository config", "unencrypted but no id key"))?;
            Ok((Keys::new(id_key, None), None))
        }
    }

    /// Opens a repository without its password (`check --no-key`,
    /// `mirror`, `key import`): its records can be verified by their
    /// checksums and copied, but none can be opened.
    pub fn open_keyless(path: &Path, access: Access) -> Result<Repo> {
        let (store, config, lock) = Repo::open_store(path, access, std::time::Duration::ZERO)?;
        Ok(Repo::over(path, store, config, Keys::locked(), lock))
    }

    fn open_store(
        path: &Path,
        access: Access,
        wait: std::time::Duration,
    ) -> Result<(Arc<dyn Store>, Config, Option<File>)> {
        if !db_path(path).join("CURRENT").exists() {
            return Err(Error::NotARepository(path.to_path_buf()));
        }
        let lock = match access {
            Access::Write => Some(lock(path, wait)?),
            Access::Read => None,
        };
        let mode = match access {
            Access::Write => OpenMode::Write,
            Access::Read => OpenMode::Read,
        };
        let store: Arc<dyn Store> = Arc::new(RocksStore::open(&db_path(path), mode)?);
        let config = store
            .get(Cf::Meta, CONFIG_KEY)?
            .ok_or_else(|| Error::corrupt(format!("repository {}", path.display()), "no config"))?;
        let config = Config::decode(&config)?;
        Ok((store, config, lock))
    }

    /// A repository over any store (the in-memory one in tests).
    fn over(path: &Path, store: Arc<dyn Store>, config: Config, keys: Keys, lock: Option<File>) -> Repo {
        let records = Records::new(store.clone(), keys, &config);
        Repo { path: path.to_path_buf(), store, config, records, lock, key_id: None }
    }

    fn unlock(path: &Path, store: &dyn Store, password: &[u8]) -> Result<(Vec<u8>, [u8; 64])> {
        for (id, bytes) in store.range(Cf::Keys, b"", None)? {
            let key = KeyFile::decode(&bytes)?;
            let kek = crypto::derive_key(password, &key.salt, key.kdf)?;
            if let Some(master) = crypto::unwrap(&kek, &key.wrapped) {
                let master =
                    master.try_into().map_err(|_| Error::corrupt("key file", "master key has the wrong length"));
                return Ok((id, master?));
            }
        }
        Err(Error::WrongPassword(path.to_path_buf()))
    }

    /// Adds a password; the repository must be open for writing.
    pub fn add_password(&self, password: &[u8], kdf: KdfParams) -> Result<()> {
        if !self.config.encrypted {
            return Err(Error::Invalid(format!("repository {}: not encrypted", self.path.display())));
        }
        let master = self.keys().master();
        let key = new_key_file(&master, password, kdf)?;
        let mut batch = Batch::default();
        batch.put(Cf::Keys, crypto::random_bytes::<8>().to_vec(), key.encode());
        self.store.write(batch, Durability::Sync)
    }

    /// Removes a key file, named by its id or a unique prefix of it: never
    /// the last one, nor the one this password opened without `force`.
    /// The repository must be open for writing.
    pub fn remove_key(&self, id: &str, force: bool) -> Result<Vec<u8>> {
        if self.lock.is_none() {
            return Err(Error::Invalid(format!("repository {}: opened read-only", self.path.display())));
        }
        let keys = self.store.range(Cf::Keys, b"", None)?;
        let wanted = id.to_ascii_lowercase();
        let mut found = keys.iter().filter(|(k, _)| crypto::hex(k).starts_with(&wanted) && !wanted.is_empty());
        let key = match (found.next(), found.next()) {
            (Some((k, _)), None) => k.clone(),
            (Some(_), Some(_)) => return Err(Error::Invalid(format!("key {id}: ambiguous, matches several keys"))),
            _ => return Err(Error::Invalid(format!("key {id}: no such key (see `strata key list`)"))),
        };
        if keys.len() == 1 {
            return Err(Error::Invalid(format!(
                "key {id}: the repository's only key; without it nothing could ever be read again (add another first)"
            )));
        }
        if self.key_id.as_ref() == Some(&key) && !force {
            return Err(Error::Invalid(format!(
                "key {id}: the one your password opened; remove it with --force (another password stays)"
            )));
        }
        let mut batch = Batch::default();
        batch.delete(Cf::Keys, key.clone());
        self.store.write(batch, Durability::Sync)?;
        self.log_event("key remove", format!("key {}", crypto::hex(&key)))?;
        Ok(key)
    }

    /// The key file the password opened (none keyless or unencrypted).
    pub fn key_id(&self) -> Option<&[u8]> {
        self.key_id.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn keys(&self) -> &Keys {
        self.records.keys()
    }
    /// The chunks, trees and chunk lists, and how they are stored.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The key files as stored (id, bytes): for `key export`, no password
    /// needed (each is locked by its own).
    pub fn export_keys(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.store.range(Cf::Keys, b"", None)
    }

    /// Adds key files from `export_keys`; returns how many were new. The
    /// repository must be open for writing.
    pub fn import_keys(&self, keys: &[(Vec<u8>, Vec<u8>)]) -> Result<usize> {
        if self.lock.is_none() {
            return Err(Error::Invalid(format!("repository {}: opened read-only", self.path.display())));
        }
        let mut batch = Batch::default();
        for (id, bytes) in keys {
            KeyFile::decode(bytes)?;
            if self.store.get(Cf::Keys, id)?.as_ref() != Some(bytes) {
                batch.put(Cf::Keys, id.clone(), bytes.clone());
            }
        }
        let n = batch.puts.len();
        if n > 0 {
            self.store.write(batch, Durability::Sync)?;
        }
        Ok(n)
    }

    /// The key files, by key id (hex).
    pub fn key_files(&self) -> Result<Vec<(String, KeyFile)>> {
        self.store
            .range(Cf::Keys, b"", None)?
            .into_iter()
            .map(|(k, v)| Ok((crypto::hex(&k), KeyFile::decode(&v)?)))
            .collect()
    }

    /// Bytes the repository occupies on disk (allocated blocks, as du counts).
    pub fn size_on_disk(&self) -> u64 {
        fn du(p: &Path) -> u64 {
            use std::os::unix::fs::MetadataExt;
            std::fs::read_dir(p)
                .map(|it| {
                    it.flatten()
                        .map(|e| match e.metadata() {
                            Ok(m) if m.is_dir() => du(&e.path()),
                            Ok(m) => m.blocks() * 512,
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        du(&self.path)
    }

    /// Sees snapshots committed by a writer since this reader opened.
    pub fn refresh(&self) -> Result<()> {
        self.store.refresh()
    }

    /// A chunk's plaintext, verified against its id.
    pub fn chunk(&self, id: &Id) -> Result<Vec<u8>> {
        self.records.chunk(id)
    }

    /// Commits a snapshot: makes every chunk and tree written so far durable,
    /// then writes the snapshot record, synced. A crash before this returns
    /// leaves no snapshot; after, the whole snapshot.
    pub fn commit(&self, snapshot: &Snapshot) -> Result<Id> {
        self.store.flush()?;
        let mut batch = Batch::default();
        let id = self.put_snapshot(&mut batch, snapshot);
        self.store.write(batch, Durability::Sync)?;
        // The snapshot is in; tidying is for the next open's sake.
        if let Err(e) = self.store.tidy() {
            log::warn!("{}: merging small store files: {e}", self.path.display());
        }
        Ok(id)
    }

    /// Queues a snapshot record; returns its id.
    fn put_snapshot(&self, batch: &mut Batch, snapshot: &Snapshot) -> Id {
        let plain = snapshot.encode();
        let id = self.keys().id(&plain);
        batch.put(Cf::Snapshots, Snapshot::key(snapshot.time, &id).to_vec(), self.records.seal(&id, &plain));
        id
    }

    /// A snapshot record; its tags are the record's unless changed since.
    fn decode_snapshot(&self, key: &[u8], value: &[u8], tags: Option<Vec<String>>) -> Result<(Id, Snapshot)> {
        let (_, id) = Snapshot::parse_key(key).ok_or_else(|| Error::corrupt("snapshot index", "bad key"))?;
        let plain = record::open(self.keys(), &id, value.to_vec(), &format!("snapshot {id}"))?;
        let mut s = Snapshot::decode(&plain)?;
        if let Some(tags) = tags {
            s.tags = tags;
        }
        Ok((id, s))
    }

    /// All snapshots, oldest first, with their current tags.
    pub fn snapshots(&self) -> Result<Vec<(Id, Snapshot)>> {
        let mut tags = self.changed_tags()?;
        let mut out = Vec::new();
        for (k, v) in self.store.range(Cf::Snapshots, b"", None)? {
            let id = Snapshot::parse_key(&k).map(|(_, id)| id);
            out.push(self.decode_snapshot(&k, &v, id.and_then(|id| tags.remove(&id)))?);
        }
        Ok(out)
    }

    /// The newest snapshot taken at or before `time`: one seek.
    pub fn snapshot_at(&self, time: Time) -> Result<Option<(Id, Snapshot)>> {
        match self.store.last_before(Cf::Snapshots, &Snapshot::key_after(time))? {
            Some((k, v)) => {
                let tags = match Snapshot::parse_key(&k) {
                    Some((_, id)) => self.changed_tags_of(&id)?,
                    None => None,
                };
                self.decode_snapshot(&k, &v, tags).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Resolves a spec among all snapshots (see `resolve_in`).
    pub fn resolve(&self, spec: &str) -> Result<(Id, Snapshot)> {
        self.resolve_in(spec, &Selection::default())
    }

    /// Resolves `latest`, `latest~N`, a time as snapshots are shown
    /// (`2026-12-02T06:18:42Z`; local time without a zone: the snapshot
    /// taken within that second, or minute, or day), a full id or a unique
    /// id prefix, among the snapshots `sel` selects.
    pub fn resolve_in(&self, spec: &str, sel: &Selection) -> Result<(Id, Snapshot)> {
        let all: Vec<_> = self.snapshots()?.into_iter().filter(|(_, s)| sel.matches(s)).collect();
        let none = || Error::NoSuchSnapshot(format!("{spec}{}", sel.describe()));
        if let Some(rest) = spec.strip_prefix("latest") {
            let back: usize = match rest.strip_prefix('~') {
                Some(n) => n.parse().map_err(|_| none())?,
                None if rest.is_empty() => 0,
                None => return Err(none()),
            };
            return all.len().checked_sub(back + 1).map(|i| all[i].clone()).ok_or_else(none);
        }
        let spec_lc = spec.to_ascii_lowercase();
        let hex = !spec_lc.is_empty() && spec_lc.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || spec.contains(['-', ':', '@']) {
            // A time (`today`, `yesterday 14:00` too): the snapshot taken
            // within it.
            let (Some(from), Some(to)) = (crate::timespec::parse_start(spec), crate::timespec::parse(spec)) else {
                return Err(none());
            };
            let mut found = all.into_iter().filter(|(_, s)| s.time >= from && s.time <= to);
            return match (found.next(), found.next()) {
                (Some(s), None) => Ok(s),
                (Some(_), Some(_)) => Err(Error::AmbiguousSnapshot(format!("{spec}{}", sel.describe()))),
                _ => Err(Error::NoSuchSnapshot(format!(
                    "{spec}{} (none was taken then; --at '{spec}' takes the newest at or before it)",
                    sel.describe()
                ))),
            };
        }
        let mut found = all.into_iter().filter(|(id, _)| id.to_hex().starts_with(&spec_lc));
        match (found.next(), found.next()) {
            (Some(s), None) => Ok(s),
            (Some(_), Some(_)) => Err(Error::AmbiguousSnapshot(spec.into())),
            _ => Err(none()),
        }
    }

    /// The newest snapshot at or before `time` among those `sel` selects.
    pub fn snapshot_at_in(&self, time: Time, sel: &Selection) -> Result<Option<(Id, Snapshot)>> {
        if sel.is_empty() {
            return self.snapshot_at(time);
        }
        Ok(self.snapshots()?.into_iter().rfind(|(_, s)| sel.matches(s) && s.time <= time))
    }

    /// Finds the entry at `path` (components separated by '/') below `tree`.
    pub fn lookup(&self, tree: &Id, path: &[u8]) -> Result<Option<crate::format::tree::Entry>> {
        let mut tree = self.tree(tree)?;
        let mut comps = path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").peekable();
        while let Some(c) = comps.next() {
            let Some(e) = tree.find(c).cloned() else {
                return Ok(None);
            };
            if comps.peek().is_none() {
                return Ok(Some(e));
            }
            match e.subtree {
                Some(sub) => tree = self.tree(&sub)?,
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A repository over the in-memory store, and snapshots made cheaply.
    use super::*;
    use crate::format::snapshot::Counters;
    use crate::format::tree::Tree;
    use crate::store::MemoryStore;

    /// An encrypted repository in memory, open for writing.
    pub fn memory_repo() -> Repo {
        repo_over(Arc::new(MemoryStore::new()))
    }

    /// An encrypted repository over `store`, open for writing.
    pub fn repo_over(store: Arc<dyn Store>) -> Repo {
        let config = Config::sample(crate::format::CONFIG_VERSION);
        let keys = Keys::new([5; 32], Some([6; 32]));
        let lock = tempfile::tempfile().expect("a temp file for the lock");
        Repo::over(Path::new("/memory"), store, config, keys, Some(lock))
    }

    /// The same repository without its key (as `Repo::open_keyless`).
    pub fn keyless(repo: &Repo) -> Repo {
        Repo::over(Path::new("/memory"), repo.store.clone(), repo.config().clone(), Keys::locked(), None)
    }

    /// The same repository with its key, not open for writing.
    pub fn keyed(repo: &Repo) -> Repo {
        Repo::over(Path::new("/memory"), repo.store.clone(), repo.config().clone(), repo.keys().clone(), None)
    }

    /// The store under the repository, for tests that damage it.
    pub fn store_of(repo: &Repo) -> Arc<dyn Store> {
        repo.store.clone()
    }

    /// The chunks-family key of an indexed chunk's record.
    pub fn chunk_key(repo: &Repo, id: &Id) -> Vec<u8> {
        repo.records().chunk_entry(id).unwrap().expect("indexed").key().to_vec()
    }

    /// Commits a snapshot of an empty tree at `secs`.
    pub fn snapshot(repo: &Repo, secs: i64, host: &str, tags: &[&str]) -> (Id, Snapshot) {
        let plain = Tree::default().encode();
        let tree = repo.keys().id(&plain);
        let mut w = repo.records().writer();
        w.put_object(&tree, repo.records().seal(&tree, &plain));
        w.write().unwrap();
        snapshot_of(repo, secs, host, tags, tree)
    }

    /// Commits a snapshot of the stored tree `tree` at `secs`.
    pub fn snapshot_of(repo: &Repo, secs: i64, host: &str, tags: &[&str], tree: Id) -> (Id, Snapshot) {
        let s = Snapshot {
            time: Time { secs, nanos: 0 },
            host: host.into(),
            user: "u".into(),
            paths: vec![b"/src".to_vec()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            description: String::new(),
            parent: None,
            tree,
            counters: Counters::default(),
            failed: Vec::new(),
            duration_ms: 0,
        };
        let id = repo.commit(&s).unwrap();
        (id, s)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{memory_repo, repo_over, snapshot};
    use super::*;
    use crate::store::{MemoryStore, Visit};
    use std::sync::Mutex;

    /// A store that logs what reaches it, in order.
    #[derive(Default)]
    struct Logged {
        inner: MemoryStore,
        log: Mutex<Vec<String>>,
    }

    impl Store for Logged {
        fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.inner.get(cf, key)
        }
        fn write(&self, batch: Batch, d: Durability) -> Result<()> {
            let mut cfs: Vec<&str> = batch.puts.iter().map(|(cf, _, _)| cf.name()).collect();
            cfs.dedup();
            self.log.lock().unwrap().push(format!("write {d:?} {}", cfs.join(",")));
            self.inner.write(batch, d)
        }
        fn flush(&self) -> Result<()> {
            self.log.lock().unwrap().push("flush".into());
            Ok(())
        }
        fn range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.range(cf, from, to)
        }
        fn last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
            self.inner.last_before(cf, key)
        }
        fn scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
            self.inner.scan(cf, from, f)
        }
    }

    #[test]
    fn a_snapshot_is_written_synced_only_after_everything_before_it_is_durable() {
        let store = Arc::new(Logged::default());
        let repo = repo_over(store.clone());
        snapshot(&repo, 100, "h", &[]);
        let log = store.log.lock().unwrap().clone();
        assert_eq!(log, ["write Deferred trees", "flush", "write Sync snapshots"]);
    }

    #[test]
    fn snapshots_resolve_by_prefix_latest_and_time_with_current_tags() {
        let repo = memory_repo();
        let (a, _) = snapshot(&repo, 100, "h", &["x"]);
        let (b, _) = snapshot(&repo, 200, "h", &[]);
        repo.set_tags(&[(a, vec!["y".into()])]).unwrap();
        assert_eq!(repo.resolve("latest").unwrap().0, b);
        assert_eq!(repo.resolve("latest~1").unwrap().0, a);
        assert_eq!(repo.resolve(&a.to_hex()[..12]).unwrap().1.tags, ["y"]);
        let at = repo.snapshot_at(Time { secs: 150, nanos: 0 }).unwrap().unwrap();
        assert_eq!((at.0, at.1.tags), (a, vec!["y".to_string()]));
        assert!(repo.snapshot_at(Time { secs: 50, nanos: 0 }).unwrap().is_none());
        assert!(matches!(repo.resolve("latest~2"), Err(Error::NoSuchSnapshot(_))));
    }

    #[test]
    fn snapshots_resolve_by_words_for_times_and_say_when_none_was_taken() {
        let repo = memory_repo();
        let now = Time::now().secs;
        let (_, _) = snapshot(&repo, now - 3 * 86_400, "h", &[]);
        let (today, _) = snapshot(&repo, now, "h", &[]);
        assert_eq!(repo.resolve("today").unwrap().0, today);
        assert_eq!(repo.resolve("TODAY").unwrap().0, today);
        // Each names a time in which no snapshot was taken.
        for spec in ["yesterday", "2h ago", "-1d", "now"] {
            let e = repo.resolve(spec).unwrap_err().to_string();
            assert!(e.contains(&format!("--at '{spec}'")), "{spec}: {e}");
        }
        // Hex is still an id prefix, and nonsense is no snapshot.
        assert!(matches!(repo.resolve("dead"), Err(Error::NoSuchSnapshot(s)) if !s.contains("--at")));
        assert!(matches!(repo.resolve("zzzz"), Err(Error::NoSuchSnapshot(s)) if !s.contains("--at")));
        snapshot(&repo, now, "other", &[]);
        assert!(matches!(repo.resolve("today"), Err(Error::AmbiguousSnapshot(_))));
    }
}
