//! The mounted namespace, independent of fuser so it is unit-testable: the
//! repository root (snapshots/, latest, ids/, hosts/, tags/, at/, history/) or one
//! snapshot's tree, inode numbers, attributes, directory listings, reads.
//!
//! Inode numbers are derived from a hash of (snapshot id, path), so they are
//! the same after a remount; hardlinked entries hash their (dev, ino) instead,
//! so every path of a group shares one inode. The table holds only inodes the
//! kernel knows (counted by lookups, dropped on forget).

mod attrs;
mod history;
mod inode;
mod names;
mod prefetch;
mod read;

use inode::{ino_of, key_child, key_hardlink, key_snapshot};

pub use names::{component, SnapList, SnapRef};
pub use prefetch::PageSink;
use prefetch::Prefetch;

use crate::cache::Lru;
use crate::crypto::Id;
use crate::format::tree::{join_path, Entry, Kind, Tree};
use crate::format::Time;
pub use crate::reader::Data;
use crate::reader::{FileMap, Reader};
use crate::repo::Repo;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

pub const ROOT: u64 = 1;
const SNAPSHOTS: u64 = 2;
const IDS: u64 = 3;
const HOSTS: u64 = 4;
const TAGS: u64 = 5;
const AT: u64 = 6;
const AT_README: u64 = 7;
// (8 was `latest`: it has an inode per target now.)
const HISTORY: u64 = 9;

/// Snapshot content never changes: the kernel may cache it for long.
pub const TTL_FOREVER: Duration = Duration::from_secs(24 * 3600);
/// The names under snapshots/ and the history/ directories change only
/// with the snapshot list, and `refresh` then names what became stale:
/// kept long, yet bounded should an invalidation have crossed a reply
/// made from the old list.
pub const TTL_VIEW: Duration = Duration::from_secs(600);
/// The other repository views change when a backup lands.
pub const TTL_LIVE: Duration = Duration::from_secs(1);

/// How long the kernel may keep a node's attributes (and, below a
/// snapshot's root, its name).
fn ttl_of(kind: &NodeKind) -> Duration {
    match kind {
        NodeKind::Entry(_) => TTL_FOREVER,
        NodeKind::History(_) => TTL_VIEW,
        _ => TTL_LIVE,
    }
}

/// What the kernel may hold that a new snapshot list made wrong.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stale {
    /// Inodes whose attributes and listings may have changed: every
    /// directory and link of the repository's views the kernel holds.
    pub inodes: Vec<u64>,
    /// Names that lead elsewhere or nowhere now: (directory inode, name).
    pub entries: Vec<(u64, Vec<u8>)>,
}

pub const HASH_XATTR: &[u8] = b"user.strata.blake3";

const AT_README_TEXT: &str = "\
Look up any moment under this directory to get the newest snapshot taken at
or before it, e.g.:

  ls at/2026-11-20T14:00:00Z/     (UTC)
  ls at/2026-11-20T14:00/         (local time)
  ls at/2026-11-20/               (the end of that day, local time)
  ls at/@1763647200/              (Unix seconds)
  ls 'at/yesterday 14:00/'        (also today, now, '2h ago', -2h)

A moment before the first snapshot does not exist.
";

#[derive(Debug, PartialEq, Eq)]
pub enum VfsError {
    NotFound,
    NotDir,
    IsDir,
    NotLink,
    NoData,
    /// The caller's buffer is too small; the value needs this many bytes.
    Range,
    BadHandle,
    /// Data could not be read; already logged with the path and chunk.
    Io,
}

pub type VResult<T> = Result<T, VfsError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    Dir,
    File,
    Symlink,
    Fifo,
    CharDev,
    BlockDev,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub kind: NodeType,
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub blocks: u64,
    pub mtime: Time,
    pub ctime: Time,
    pub rdev: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    /// The offset to resume after this entry.
    pub next: i64,
    pub kind: NodeType,
    pub name: Vec<u8>,
}

/// A directory entry's node and attributes, before the kernel is told.
pub struct Listed {
    pub attr: Attr,
    pub ttl: Duration,
    kind: Option<NodeKind>,
}

#[derive(Clone)]
enum NodeKind {
    Root,
    Snapshots,
    Ids,
    Hosts,
    Tags,
    At,
    AtReadme,
    Host(String),
    Tag(String),
    Link(Vec<u8>),
    Entry(Arc<EntryNode>),
    /// history/, hosts/<host>/history/ and below: a path in the
    /// snapshots, names joined by '/'.
    History(history::Scope),
}

struct EntryNode {
    snap: Id,
    /// Path within the snapshot, names joined by '/' (no leading one), for
    /// log lines.
    path: Vec<u8>,
    entry: Entry,
    /// The directory holding this entry, for read-ahead in walk order.
    parent: Option<Arc<EntryNode>>,
    /// Identity of this path, from which children's inodes derive.
    key: [u8; 32],
    map: OnceLock<Arc<FileMap>>,
    /// End of the last read, to detect sequential reading; `u64::MAX`
    /// until the first.
    last_end: AtomicU64,
}

struct Node {
    kind: NodeKind,
    lookups: u64,
}

pub enum Mode {
    /// The whole repository.
    Repo,
    /// One snapshot's tree at the root.
    Snapshot(Id),
}

pub struct Vfs {
    repo: Repo,
    mode: Mode,
    snaps: RwLock<Arc<SnapList>>,
    nodes: Mutex<HashMap<u64, Node>>,
    reader: Reader,
    trees: Lru<Tree>,
    prefetch: Prefetch,
    listings: Mutex<history::Listings>,
    /// The snapshot lists before and after the last change, told to the
    /// kernel once more by the next `refresh`: a reply made from the old
    /// list while the first invalidation went out would otherwise stay.
    unsettled: Mutex<Option<(Arc<SnapList>, Arc<SnapList>)>>,
    /// The repository's size on disk, and when it was measured.
    repo_size: Mutex<Option<(Instant, u64)>>,
    /// Whether listxattr names `user.strata.blake3` (see `set_list_hash`).
    list_hash: std::sync::atomic::AtomicBool,
}

/// How long a measured repository size is reused.
const REPO_SIZE_TTL: Duration = Duration::from_secs(10);

/// Of the cache budget, decoded trees get this share (at most
/// `TREE_CACHE_MAX`), decoded chunks the rest.
const TREE_CACHE_SHARE: usize = 5;
const TREE_CACHE_MAX: usize = 128 << 20;

fn tree_bytes(t: &Tree) -> usize {
    t.entries
        .iter()
        .map(|e| 200 + e.name.len() + e.target.len() + e.xattrs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>())
        .sum()
}

fn node_type(k: Kind) -> NodeType {
    match k {
        Kind::File => NodeType::File,
        Kind::Dir => NodeType::Dir,
        Kind::Symlink => NodeType::Symlink,
        Kind::Fifo => NodeType::Fifo,
        Kind::CharDev => NodeType::CharDev,
        Kind::BlockDev => NodeType::BlockDev,
    }
}

impl EntryNode {
    fn ino(&self) -> u64 {
        ino_of(&self.key)
    }

    fn new(snap: Id, path: Vec<u8>, entry: Entry, parent: Option<Arc<EntryNode>>, key: [u8; 32]) -> EntryNode {
        EntryNode { snap, path, entry, parent, key, map: OnceLock::new(), last_end: AtomicU64::new(u64::MAX) }
    }

    fn child(self: &Arc<Self>, e: Entry) -> EntryNode {
        let key = child_key(&self.snap, &self.key, &e);
        EntryNode::new(self.snap, join_path(&self.path, &e.name), e, Some(self.clone()), key)
    }

    fn child_ino(&self, e: &Entry) -> u64 {
        ino_of(&child_key(&self.snap, &self.key, e))
    }
}

/// The key of entry `e` in the directory with key `parent`.
fn child_key(snap: &Id, parent: &[u8; 32], e: &Entry) -> [u8; 32] {
    match e.link_group() {
        Some((dev, ino)) => key_hardlink(snap, dev, ino),
        None => key_child(parent, &e.name),
    }
}

fn snapshot_root(s: &SnapRef) -> EntryNode {
    let entry = Entry {
        mode: 0o755,
        mtime: s.snap.time,
        ctime: s.snap.time,
        subtree: Some(s.snap.tree),
        ..Entry::new(Vec::new(), Kind::Dir)
    };
    EntryNode::new(s.id, Vec::new(), entry, None, key_snapshot(&s.id))
}

impl Vfs {
    /// `cache_bytes` bounds the decoded chunks and trees held together
    /// (what the kernel has not taken into its page cache).
    pub fn new(repo: Repo, mode: Mode, cache_bytes: usize) -> crate::Result<Arc<Vfs>> {
        let tree_bytes = (cache_bytes / TREE_CACHE_SHARE).min(TREE_CACHE_MAX);
        let snaps = SnapList::new(repo.snapshots()?);
        let mut nodes = HashMap::new();
        let root = match &mode {
            Mode::Repo => NodeKind::Root,
            Mode::Snapshot(id) => {
                let s =
                    snaps.all.iter().find(|s| s.id == *id).ok_or_else(|| crate::Error::NoSuchSnapshot(id.to_hex()))?;
                NodeKind::Entry(Arc::new(snapshot_root(s)))
            }
        };
        nodes.insert(ROOT, Node { kind: root, lookups: 1 });
        let (prefetch, jobs) = Prefetch::new();
        let vfs = Arc::new(Vfs {
            repo,
            mode,
            snaps: RwLock::new(Arc::new(snaps)),
            nodes: Mutex::new(nodes),
            reader: Reader::new(cache_bytes - tree_bytes),
            trees: Lru::new(tree_bytes),
            prefetch,
            listings: Mutex::default(),
            unsettled: Mutex::default(),
            repo_size: Mutex::default(),
            list_hash: Default::default(),
        });
        prefetch::spawn(&vfs, jobs)?;
        Ok(vfs)
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Lists `user.strata.blake3` among a file's xattrs, for `getfattr -d`.
    /// Off by default: `rsync -X` and `cp -a` copy every listed xattr, and
    /// would add it to every restored file.
    pub fn set_list_hash(&self, on: bool) {
        self.list_hash.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    fn snaps(&self) -> Arc<SnapList> {
        self.snaps.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Picks up snapshots a backup committed (or forget removed) since the
    /// last call. When the list changed, returns what the kernel must be
    /// told to forget; and the same once more on the next call.
    pub fn refresh(&self) -> crate::Result<Option<Stale>> {
        if !matches!(self.mode, Mode::Repo) {
            return Ok(None);
        }
        self.repo.refresh()?;
        let fresh = self.repo.snapshots()?;
        let cur = self.snaps();
        let same = fresh.len() == cur.all.len()
            && fresh.iter().zip(&cur.all).all(|((id, f), s)| *id == s.id && f.tags == s.snap.tags);
        let mut unsettled = self.unsettled.lock().unwrap_or_else(|e| e.into_inner());
        if same {
            return Ok(unsettled.take().map(|(old, new)| self.stale(&old, &new)));
        }
        let new = Arc::new(SnapList::new(fresh));
        *self.snaps.write().unwrap_or_else(|e| e.into_inner()) = new.clone();
        // Changes in a row: from the list before the first of them.
        let old = unsettled.take().map_or(cur, |(old, _)| old);
        let stale = self.stale(&old, &new);
        *unsettled = Some((old, new));
        Ok(Some(stale))
    }

    /// What of the kernel's long-lived names and listings (`ttl_of`) the
    /// change from `old` to `new` made wrong.
    fn stale(&self, old: &SnapList, new: &SnapList) -> Stale {
        let mut stale = Stale::default();
        // A name under snapshots/ now gone, or (a twin of its second gone)
        // now naming another snapshot.
        for (name, &i) in &old.by_name {
            if new.by_name.get(name).map(|&j| new.all[j].id) != Some(old.all[i].id) {
                stale.entries.push((SNAPSHOTS, name.clone().into_bytes()));
            }
        }
        // A version in history/ is named by the snapshot that first held
        // it, and a path may have been in removed snapshots only: only
        // snapshots added after all others keep every name valid.
        let appended = old.all.len() <= new.all.len() && old.all.iter().zip(&new.all).all(|(a, b)| a.id == b.id);
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        for (&ino, node) in nodes.iter() {
            match &node.kind {
                NodeKind::Entry(_) => {}
                NodeKind::History(scope) => {
                    stale.inodes.push(ino);
                    if !appended && !scope.path.is_empty() {
                        // Dropping the name drops its versions' names too.
                        let (dir, name) = match scope.path.iter().rposition(|&b| b == b'/') {
                            Some(cut) => (&scope.path[..cut], &scope.path[cut + 1..]),
                            None => (&[][..], &scope.path[..]),
                        };
                        let parent = history::Scope { host: scope.host.clone(), path: dir.to_vec() };
                        stale.entries.push((history::dir_ino(&parent), name.to_vec()));
                    }
                }
                _ => stale.inodes.push(ino),
            }
        }
        stale
    }

    /// A tree through the tree cache.
    fn load_tree(&self, id: &Id) -> crate::Result<Arc<Tree>> {
        if let Some(t) = self.trees.get(id) {
            return Ok(t);
        }
        let t = Arc::new(self.repo.tree(id)?);
        self.trees.insert(*id, t.clone(), tree_bytes(&t));
        Ok(t)
    }

    /// A tree of `node`'s snapshot; a failure is logged naming the path.
    fn tree(&self, id: &Id, node: &EntryNode) -> VResult<Arc<Tree>> {
        self.load_tree(id).map_err(|e| {
            log::error!("snapshot {} path /{}: tree {id}: {e}", node.snap.short(), String::from_utf8_lossy(&node.path));
            VfsError::Io
        })
    }

    fn node(&self, ino: u64) -> VResult<NodeKind> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).get(&ino).map(|n| n.kind.clone()).ok_or(VfsError::NotFound)
    }

    /// Registers a looked-up node (one more kernel reference); returns its inode.
    fn remember(&self, ino: u64, kind: NodeKind) -> u64 {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.entry(ino).or_insert(Node { kind, lookups: 0 }).lookups += 1;
        ino
    }

    pub fn forget(&self, ino: u64, n: u64) {
        if ino == ROOT {
            return;
        }
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(node) = nodes.get_mut(&ino) {
            node.lookups = node.lookups.saturating_sub(n);
            if node.lookups == 0 {
                nodes.remove(&ino);
            }
        }
    }

    /// Inodes the kernel currently holds (for tests and stats).
    pub fn live_inodes(&self) -> usize {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn snapshots_link(&self, depth: usize, s: &SnapRef) -> Vec<u8> {
        format!("{}snapshots/{}", "../".repeat(depth), s.name).into_bytes()
    }

    /// The virtual node a name resolves to in a repository directory.
    fn virtual_child(&self, parent: &NodeKind, name: &str) -> VResult<(u64, NodeKind)> {
        let snaps = self.snaps();
        let link =
            |ino_key: &str, target: Vec<u8>| (ino_of(&key_child(&[0; 32], ino_key.as_bytes())), NodeKind::Link(target));
        match parent {
            NodeKind::Root => match name {
                "snapshots" => Ok((SNAPSHOTS, NodeKind::Snapshots)),
                "ids" => Ok((IDS, NodeKind::Ids)),
                "hosts" => Ok((HOSTS, NodeKind::Hosts)),
                "tags" => Ok((TAGS, NodeKind::Tags)),
                "at" => Ok((AT, NodeKind::At)),
                "history" => Ok((HISTORY, NodeKind::History(history::Scope { host: None, path: Vec::new() }))),
                "latest" => {
                    let s = snaps.latest().ok_or(VfsError::NotFound)?;
                    // An inode per target, as for every link: the kernel
                    // caches a symlink's target by inode.
                    Ok(link(&format!("latest/{}", s.name), self.snapshots_link(0, s)))
                }
                _ => Err(VfsError::NotFound),
            },
            NodeKind::Snapshots => {
                let i = *snaps.by_name.get(name).ok_or(VfsError::NotFound)?;
                let root = snapshot_root(&snaps.all[i]);
                Ok((root.ino(), NodeKind::Entry(Arc::new(root))))
            }
            NodeKind::Ids => {
                let i = *snaps.by_short.get(name).ok_or(VfsError::NotFound)?;
                Ok(link(&format!("ids/{name}/{}", snaps.all[i].name), self.snapshots_link(1, &snaps.all[i])))
            }
            NodeKind::Hosts => {
                snaps.hosts.get(name).ok_or(VfsError::NotFound)?;
                Ok((ino_of(&key_child(&[1; 32], name.as_bytes())), NodeKind::Host(name.to_string())))
            }
            NodeKind::Tags => {
                snaps.tags.get(name).ok_or(VfsError::NotFound)?;
                Ok((ino_of(&key_child(&[2; 32], name.as_bytes())), NodeKind::Tag(name.to_string())))
            }
            NodeKind::Host(h) | NodeKind::Tag(h) => {
                let (group, label) = match parent {
                    NodeKind::Host(_) => (snaps.hosts.get(h), "hosts"),
                    _ => (snaps.tags.get(h), "tags"),
                };
                let group = group.ok_or(VfsError::NotFound)?;
                if name == "latest" {
                    let s = &snaps.all[*group.last().ok_or(VfsError::NotFound)?];
                    return Ok(link(&format!("{label}/{h}/latest/{}", s.name), s.name.clone().into_bytes()));
                }
                if name == "history" && label == "hosts" {
                    let scope = history::Scope { host: Some(h.clone()), path: Vec::new() };
                    return Ok((history::dir_ino(&scope), NodeKind::History(scope)));
                }
                let i = group.iter().find(|&&i| snaps.all[i].name == name).ok_or(VfsError::NotFound)?;
                Ok(link(&format!("{label}/{h}/{name}"), self.snapshots_link(2, &snaps.all[*i])))
            }
            NodeKind::At => {
                if name == "README" {
                    return Ok((AT_README, NodeKind::AtReadme));
                }
                let t = crate::timespec::parse(name).ok_or(VfsError::NotFound)?;
                let s = snaps.at(t).ok_or(VfsError::NotFound)?;
                Ok(link(&format!("at/{name}/{}", s.name), self.snapshots_link(1, s)))
            }
            _ => Err(VfsError::NotDir),
        }
    }

    /// The node `name` names in the directory `parent`, not yet remembered.
    fn child_of(&self, parent: &NodeKind, name: &[u8]) -> VResult<Listed> {
        if let NodeKind::Entry(p) = parent {
            if p.entry.kind != Kind::Dir {
                return Err(VfsError::NotDir);
            }
            let tree = self.tree(&p.entry.subtree.ok_or(VfsError::NotFound)?, p)?;
            let e = tree.find(name).ok_or(VfsError::NotFound)?.clone();
            let child = Arc::new(p.child(e));
            let attr = self.entry_attr(&child)?;
            return Ok(Listed { attr, ttl: TTL_FOREVER, kind: Some(NodeKind::Entry(child)) });
        }
        if let NodeKind::History(scope) = parent {
            return self.history_child(scope, name);
        }
        let name = std::str::from_utf8(name).map_err(|_| VfsError::NotFound)?;
        let (ino, kind) = self.virtual_child(parent, name)?;
        let attr = self.attr_of(ino, &kind)?;
        // An entry here is a snapshot's root, and its name may come to mean
        // another snapshot (see `stale`).
        let ttl = if matches!(kind, NodeKind::Entry(_)) { TTL_VIEW } else { ttl_of(&kind) };
        Ok(Listed { attr, ttl, kind: Some(kind) })
    }

    pub fn lookup(&self, parent: u64, name: &[u8]) -> VResult<(Attr, Duration)> {
        let listed = self.child_of(&self.node(parent)?, name)?;
        self.keep(&listed);
        Ok((listed.attr, listed.ttl))
    }

    /// Directory entries with their attributes (FUSE readdirplus). Each one
    /// the caller hands to the kernel must be passed to `keep`: the kernel
    /// counts it as looked up.
    pub fn readdirplus(&self, ino: u64, offset: i64, limit: usize) -> VResult<Vec<(DirEntry, Listed)>> {
        let node = self.node(ino)?;
        let (own, ttl) = self.getattr(ino)?;
        self.readdir(ino, offset, limit)?
            .into_iter()
            .map(|d| {
                if d.name == b"." || d.name == b".." {
                    // Not counted by the kernel; it ignores these attributes.
                    return Ok((d, Listed { attr: own.clone(), ttl, kind: None }));
                }
                let listed = self.child_of(&node, &d.name)?;
                Ok((d, listed))
            })
            .collect()
    }

    /// The listing of `ino` from `offset` on has been replied, `plus` with
    /// attributes (and every entry passed to `keep`): a listing usually
    /// comes before reading the files (tar, cp -r), so the first one queues
    /// them for read-ahead.
    pub fn listed(&self, ino: u64, offset: i64, plus: bool) {
        if offset != 0 {
            return;
        }
        if let Ok(NodeKind::Entry(n)) = self.node(ino) {
            if n.entry.kind == Kind::Dir {
                self.prefetch_listed(n, plus);
            }
        }
    }

    /// Counts one kernel reference to a node from `child_of`.
    pub fn keep(&self, listed: &Listed) {
        if let Some(kind) = &listed.kind {
            self.remember(listed.attr.ino, kind.clone());
        }
    }

    /// At most `limit` directory entries after `offset` (0 starts; "." and
    /// ".." included). Large snapshot directories cost O(limit) a call.
    pub fn readdir(&self, ino: u64, offset: i64, limit: usize) -> VResult<Vec<DirEntry>> {
        let node = self.node(ino)?;
        let offset = offset.max(0) as usize;
        let mut out = vec![
            DirEntry { ino, next: 1, kind: NodeType::Dir, name: b".".to_vec() },
            DirEntry { ino: ROOT, next: 2, kind: NodeType::Dir, name: b"..".to_vec() },
        ];
        if let NodeKind::Entry(n) = &node {
            if n.entry.kind != Kind::Dir {
                return Err(VfsError::NotDir);
            }
            let tree = self.tree(&n.entry.subtree.ok_or(VfsError::NotFound)?, n)?;
            let mut out: Vec<DirEntry> = out.into_iter().skip(offset).collect();
            for (i, e) in tree.entries.iter().enumerate().skip(offset.saturating_sub(2)) {
                if out.len() >= limit {
                    break;
                }
                out.push(DirEntry {
                    ino: n.child_ino(e),
                    next: i as i64 + 3,
                    kind: node_type(e.kind),
                    name: e.name.clone(),
                });
            }
            return Ok(out);
        }
        if let NodeKind::History(scope) = &node {
            let mut out: Vec<DirEntry> = out.into_iter().skip(offset).collect();
            let room = limit.saturating_sub(out.len());
            out.extend(self.history_entries(scope, offset, room)?);
            return Ok(out);
        }
        let mut push = |ino: u64, kind: NodeType, name: Vec<u8>| {
            let next = out.len() as i64 + 1;
            out.push(DirEntry { ino, next, kind, name });
        };
        let snaps = self.snaps();
        let link_ino = |k: String| ino_of(&key_child(&[0; 32], k.as_bytes()));
        match &node {
            NodeKind::Root => {
                let dirs = [
                    (SNAPSHOTS, "snapshots"),
                    (IDS, "ids"),
                    (HOSTS, "hosts"),
                    (TAGS, "tags"),
                    (AT, "at"),
                    (HISTORY, "history"),
                ];
                for (i, n) in dirs {
                    push(i, NodeType::Dir, n.as_bytes().to_vec());
                }
                if let Some(s) = snaps.latest() {
                    push(link_ino(format!("latest/{}", s.name)), NodeType::Symlink, b"latest".to_vec());
                }
            }
            NodeKind::Snapshots => {
                for s in &snaps.all {
                    push(ino_of(&key_snapshot(&s.id)), NodeType::Dir, s.name.clone().into_bytes());
                }
            }
            NodeKind::Ids => {
                for s in &snaps.all {
                    push(
                        link_ino(format!("ids/{}/{}", s.id.short(), s.name)),
                        NodeType::Symlink,
                        s.id.short().into_bytes(),
                    );
                }
            }
            NodeKind::Hosts | NodeKind::Tags => {
                let (groups, seed) =
                    if matches!(node, NodeKind::Hosts) { (&snaps.hosts, [1; 32]) } else { (&snaps.tags, [2; 32]) };
                for g in groups.keys() {
                    push(ino_of(&key_child(&seed, g.as_bytes())), NodeType::Dir, g.clone().into_bytes());
                }
            }
            NodeKind::Host(g) | NodeKind::Tag(g) => {
                let is_host = matches!(node, NodeKind::Host(_));
                let label = if is_host { "hosts" } else { "tags" };
                let group = if is_host { snaps.hosts.get(g) } else { snaps.tags.get(g) };
                for &i in group.into_iter().flatten() {
                    let name = &snaps.all[i].name;
                    push(link_ino(format!("{label}/{g}/{name}")), NodeType::Symlink, name.clone().into_bytes());
                }
                if let Some(&last) = group.and_then(|g| g.last()) {
                    push(
                        link_ino(format!("{label}/{g}/latest/{}", snaps.all[last].name)),
                        NodeType::Symlink,
                        b"latest".to_vec(),
                    );
                }
                if is_host {
                    let scope = history::Scope { host: Some(g.clone()), path: Vec::new() };
                    push(history::dir_ino(&scope), NodeType::Dir, b"history".to_vec());
                }
            }
            NodeKind::At => push(AT_README, NodeType::File, b"README".to_vec()),
            _ => return Err(VfsError::NotDir),
        }
        Ok(out.into_iter().skip(offset).take(limit).collect())
    }

    /// Bytes the repository occupies on disk, for statfs: measured at most
    /// every `REPO_SIZE_TTL`, as a large repository has thousands of files
    /// and statfs is answered on the session's thread.
    pub fn repo_bytes(&self) -> u64 {
        let mut size = self.repo_size.lock().unwrap_or_else(|e| e.into_inner());
        match *size {
            Some((at, bytes)) if at.elapsed() < REPO_SIZE_TTL => bytes,
            _ => {
                let bytes = self.repo.size_on_disk();
                *size = Some((Instant::now(), bytes));
                bytes
            }
        }
    }
}

#[cfg(test)]
mod tests;
