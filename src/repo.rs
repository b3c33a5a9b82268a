//! A repository on disk: `REPO/db` (RocksDB) and `REPO/lock` (who writes).
//! Opening checks the format version and unlocks the keys; this module also
//! reads and writes the stored objects and finds snapshots by id, prefix,
//! `latest[~N]` or time.

use crate::crypto::{self, Id, KdfParams, Keys};
use crate::error::{Error, Result};
use crate::format::config::Config;
use crate::format::key::KeyFile;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{decode_chunk_list, Piece, Tree};
use crate::format::{record, Time};
use crate::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CONFIG_KEY: &[u8] = b"config";

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
pub enum ChunkKeys {
    ById,
    /// The order of the next chunk: clock nanoseconds when the writer
    /// started, plus one per chunk. A backup writes far fewer chunks than
    /// nanoseconds pass, so the next one starts above it; a clock set back
    /// costs only locality, as the id keeps every key unique.
    Ordered(u64),
}

impl ChunkKeys {
    pub fn for_writer(config: &Config) -> ChunkKeys {
        if !config.ordered_chunks() {
            return ChunkKeys::ById;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        ChunkKeys::Ordered(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX >> 1))
    }

    /// The chunk index entry and the chunks key for a chunk of `stored` bytes.
    pub fn next(&mut self, id: &Id, stored: u32) -> (Vec<u8>, Vec<u8>) {
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

    /// The chunks key an ordered index entry points to; `None` when the
    /// entry has the wrong length.
    fn stored_at(entry: &[u8], id: &Id) -> Option<Vec<u8>> {
        let order: &[u8; 8] = entry.get(4..)?.try_into().ok()?;
        Some(Self::key(order, id))
    }

    fn key(order: &[u8; 8], id: &Id) -> Vec<u8> {
        [&order[..], &id.0].concat()
    }
}

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

/// Supplies the password when (and only when) the repository needs one.
pub type PasswordSource<'a> = &'a dyn Fn() -> Result<Vec<u8>>;

pub struct Repo {
    path: PathBuf,
    store: Arc<dyn Store>,
    config: Config,
    keys: Keys,
    _lock: Option<File>,
}

fn db_path(repo: &Path) -> PathBuf {
    repo.join("db")
}

/// Takes the writer lock, or says who holds it.
fn lock(repo: &Path) -> Result<File> {
    let path = repo.join("lock");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    if !crate::sys::try_lock(f.as_raw_fd()).map_err(|e| Error::io(&path, e))? {
        let mut holder = String::new();
        let _ = f.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(Error::Busy {
            path: repo.to_path_buf(),
            holder: if holder.is_empty() { "held by another process".into() } else { holder.to_string() },
        });
    }
    let args: Vec<String> = std::env::args().skip(1).take(2).collect();
    let note = format!(
        "held by pid {} (strata {}) on {} since {}\n",
        std::process::id(),
        args.join(" "),
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
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let _lock = lock(path)?;
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
        let readme = "This directory is a strata backup repository. Do not edit it by hand.\n";
        let _ = std::fs::write(path.join("README"), readme);
        Ok(())
    }

    pub fn open(path: &Path, access: Access, password: PasswordSource) -> Result<Repo> {
        if !db_path(path).join("CURRENT").exists() {
            return Err(Error::NotARepository(path.to_path_buf()));
        }
        let lock = match access {
            Access::Write => Some(lock(path)?),
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
        let keys = if config.encrypted {
            let master = Self::unlock(path, &*store, &password()?)?;
            Keys::new(master[..32].try_into().unwrap(), Some(master[32..].try_into().unwrap()))
        } else {
            let id_key =
                config.id_key.ok_or_else(|| Error::corrupt("repository config", "unencrypted but no id key"))?;
            Keys::new(id_key, None)
        };
        Ok(Repo { path: path.to_path_buf(), store, config, keys, _lock: lock })
    }

    fn unlock(path: &Path, store: &dyn Store, password: &[u8]) -> Result<[u8; 64]> {
        for (_, bytes) in store.range(Cf::Keys, b"", None)? {
            let key = KeyFile::decode(&bytes)?;
            let kek = crypto::derive_key(password, &key.salt, key.kdf)?;
            if let Some(master) = crypto::unwrap(&kek, &key.wrapped) {
                return master.try_into().map_err(|_| Error::corrupt("key file", "master key has the wrong length"));
            }
        }
        Err(Error::WrongPassword(path.to_path_buf()))
    }

    /// Adds a password; the repository must be open for writing.
    pub fn add_password(&self, password: &[u8], kdf: KdfParams) -> Result<()> {
        if !self.config.encrypted {
            return Err(Error::Invalid(format!("repository {}: not encrypted", self.path.display())));
        }
        let master = self.keys.master();
        let key = new_key_file(&master, password, kdf)?;
        let mut batch = Batch::default();
        batch.put(Cf::Keys, crypto::random_bytes::<8>().to_vec(), key.encode());
        self.store.write(batch, Durability::Sync)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Sees snapshots committed by a writer since this reader opened.
    pub fn refresh(&self) -> Result<()> {
        self.store.refresh()
    }

    /// Seals `plaintext` and queues it in `batch`; returns its id.
    pub fn put_object(&self, batch: &mut Batch, cf: Cf, plaintext: &[u8]) -> Result<Id> {
        let id = self.keys.id(plaintext);
        if !self.store.contains(cf, &id.0)? {
            batch.put(cf, id.0.to_vec(), record::seal(&self.keys, &id, plaintext, self.config.compression));
        }
        Ok(id)
    }

    fn get_object(&self, cf: Cf, what: &'static str, id: &Id) -> Result<Vec<u8>> {
        self.object_at(cf, &id.0, what, id)
    }

    /// The object `id`, stored in `cf` under `key`.
    fn object_at(&self, cf: Cf, key: &[u8], what: &'static str, id: &Id) -> Result<Vec<u8>> {
        let bytes = self.store.get(cf, key)?.ok_or_else(|| Error::Missing { what, id: id.to_hex() })?;
        record::open(&self.keys, id, bytes, &format!("{what} {id}"))
    }

    pub fn tree(&self, id: &Id) -> Result<Tree> {
        Tree::decode(&self.get_object(Cf::Trees, "tree", id)?)
    }

    pub fn chunk_list(&self, id: &Id) -> Result<Vec<Piece>> {
        decode_chunk_list(&self.get_object(Cf::Trees, "chunk list", id)?)
    }

    /// A chunk's plaintext, verified against its id.
    pub fn chunk(&self, id: &Id) -> Result<Vec<u8>> {
        if !self.config.ordered_chunks() {
            return self.get_object(Cf::Chunks, "chunk", id);
        }
        let entry =
            self.store.get(Cf::ChunkIndex, &id.0)?.ok_or_else(|| Error::Missing { what: "chunk", id: id.to_hex() })?;
        let key = ChunkKeys::stored_at(&entry, id)
            .ok_or_else(|| Error::corrupt(format!("chunk index entry {id}"), "wrong length"))?;
        self.object_at(Cf::Chunks, &key, "chunk", id)
    }

    /// Commits a snapshot: makes every chunk and tree written so far durable,
    /// then writes the snapshot record, synced. A crash before this returns
    /// leaves no snapshot; after, the whole snapshot.
    pub fn commit(&self, snapshot: &Snapshot) -> Result<Id> {
        self.store.flush()?;
        let plain = snapshot.encode();
        let id = self.keys.id(&plain);
        let mut batch = Batch::default();
        batch.put(
            Cf::Snapshots,
            Snapshot::key(snapshot.time, &id).to_vec(),
            record::seal(&self.keys, &id, &plain, self.config.compression),
        );
        self.store.write(batch, Durability::Sync)?;
        Ok(id)
    }

    fn decode_snapshot(&self, key: &[u8], value: &[u8]) -> Result<(Id, Snapshot)> {
        let (_, id) = Snapshot::parse_key(key).ok_or_else(|| Error::corrupt("snapshot index", "bad key"))?;
        let plain = record::open(&self.keys, &id, value.to_vec(), &format!("snapshot {id}"))?;
        Ok((id, Snapshot::decode(&plain)?))
    }

    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<(Id, Snapshot)>> {
        self.store.range(Cf::Snapshots, b"", None)?.iter().map(|(k, v)| self.decode_snapshot(k, v)).collect()
    }

    /// The newest snapshot taken at or before `time`: one seek.
    pub fn snapshot_at(&self, time: Time) -> Result<Option<(Id, Snapshot)>> {
        match self.store.last_before(Cf::Snapshots, &Snapshot::key_after(time))? {
            Some((k, v)) => self.decode_snapshot(&k, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Resolves a full id, a unique id prefix, `latest` or `latest~N`.
    pub fn resolve(&self, spec: &str) -> Result<(Id, Snapshot)> {
        let all = self.snapshots()?;
        if let Some(rest) = spec.strip_prefix("latest") {
            let back: usize = match rest.strip_prefix('~') {
                Some(n) => n.parse().map_err(|_| Error::NoSuchSnapshot(spec.into()))?,
                None if rest.is_empty() => 0,
                None => return Err(Error::NoSuchSnapshot(spec.into())),
            };
            return all
                .len()
                .checked_sub(back + 1)
                .map(|i| all[i].clone())
                .ok_or_else(|| Error::NoSuchSnapshot(spec.into()));
        }
        let spec_lc = spec.to_ascii_lowercase();
        if spec_lc.is_empty() || !spec_lc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NoSuchSnapshot(spec.into()));
        }
        let mut found = all.into_iter().filter(|(id, _)| id.to_hex().starts_with(&spec_lc));
        match (found.next(), found.next()) {
            (Some(s), None) => Ok(s),
            (Some(_), Some(_)) => Err(Error::AmbiguousSnapshot(spec.into())),
            _ => Err(Error::NoSuchSnapshot(spec.into())),
        }
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
