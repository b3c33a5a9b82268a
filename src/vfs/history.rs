//! `history/<path>/`: one path across all snapshots. Its listing holds one
//! entry per version of the path, named by the snapshot that first held that
//! version (the entry is the file itself, or for a directory a symlink to it
//! under snapshots/), and the names found below the path in any snapshot,
//! each leading on to its own history. The empty path (`history/` itself)
//! lists only names.
//!
//! Versions are told apart within each backup job: the snapshots of one
//! host with the same source paths. Two hosts backing up /etc each get
//! their own versions (their files do not alternate as changes), and a
//! snapshot whose source paths do not cover the path (another job's) is
//! no version at all. `hosts/<host>/history/` is the same for one host.

use super::inode::key_history;
use super::*;
use crate::format::tree::join_path;

use std::collections::BTreeMap;

/// Seed of the inode keys of history directories.
const SEED: [u8; 32] = [3; 32];

/// Entries of the listings kept at most; the cache is cleared when full.
const CACHED_MAX: usize = 1 << 18;

pub(super) enum Item {
    /// A version of the directory's path.
    Version(Arc<EntryNode>),
    /// A version of the path where it is a directory: a symlink to it under
    /// snapshots/. As a directory, every version of every directory above a
    /// path would hold it again, and `find history/<dir>` would visit a
    /// tree once per level of its depth (the bench corpus: 6.5 times).
    Link { ino: u64, target: Vec<u8> },
    /// A name below the path, a history directory of its own.
    Dir,
}

/// A history directory's entries, sorted by name.
pub(super) type Listing = Vec<(Vec<u8>, Item)>;

/// Listings by history scope, valid for one snapshot list.
#[derive(Default)]
pub(super) struct Listings {
    snaps: Option<Arc<SnapList>>,
    by_path: HashMap<Scope, Arc<Listing>>,
    entries: usize,
}

/// Which snapshots a history directory looks at: all, or one host's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Scope {
    /// The host's name as under hosts/ (a path component).
    pub host: Option<String>,
    pub path: Vec<u8>,
}

impl Scope {
    pub fn child(&self, name: &[u8]) -> Scope {
        Scope { host: self.host.clone(), path: join_path(&self.path, name) }
    }
}

pub(super) fn dir_ino(scope: &Scope) -> u64 {
    match &scope.host {
        None if scope.path.is_empty() => HISTORY,
        None => ino_of(&key_child(&SEED, &scope.path)),
        Some(h) => ino_of(&key_child(&key_child(&SEED, h.as_bytes()), &[b"/", &scope.path[..]].concat())),
    }
}

/// Whether a snapshot of `sources` (absolute) holds `path` (no leading
/// '/'): at or below a source path, or on the way to one.
fn covers(sources: &[Vec<u8>], path: &[u8]) -> bool {
    let under = |a: &[u8], b: &[u8]| a.is_empty() || a == b || (b.starts_with(a) && b.get(a.len()) == Some(&b'/'));
    sources.iter().any(|s| {
        let s = s.strip_prefix(b"/").unwrap_or(s);
        under(s, path) || under(path, s)
    })
}

/// Whether two states of a path look the same to a user: where the source
/// kept the file (device, inode, link count), owner names and ctime aside.
fn same_version(a: &Entry, b: &Entry) -> bool {
    (a.kind, a.mode, a.uid, a.gid, a.mtime, a.size, a.rdev) == (b.kind, b.mode, b.uid, b.gid, b.mtime, b.size, b.rdev)
        && (&a.target, &a.xattrs, &a.content, &a.subtree) == (&b.target, &b.xattrs, &b.content, &b.subtree)
}

fn version_node(s: &SnapRef, path: &[u8], entry: Entry) -> EntryNode {
    // A hardlinked file keeps the inode it has under snapshots/; anything
    // else gets its own, so a directory never has two parents.
    let key = match entry.link_group() {
        Some((dev, ino)) => key_hardlink(&s.id, dev, ino),
        None => key_history(&s.id, path),
    };
    EntryNode::new(s.id, path.to_vec(), entry, None, key)
}

/// The version of a directory path in snapshot `s`: a symlink from the
/// history directory of `scope` to the path under snapshots/.
fn version_link(scope: &Scope, s: &SnapRef) -> Item {
    // Up from history/<path>/ (or hosts/<host>/history/<path>/) to the root.
    let depth = scope.path.split(|&b| b == b'/').count() + if scope.host.is_some() { 3 } else { 1 };
    let target = [b"../".repeat(depth), format!("snapshots/{}/", s.name).into_bytes(), scope.path.clone()].concat();
    let host = scope.host.as_deref().unwrap_or("");
    let key = [b"history\0", host.as_bytes(), b"\0", s.name.as_bytes(), b"\0", &scope.path[..]].concat();
    Item::Link { ino: ino_of(&key_child(&[0; 32], &key)), target }
}

impl Vfs {
    /// A tree of snapshot `s`, reached while looking for `path`.
    fn history_tree(&self, s: &SnapRef, path: &[u8], id: &Id) -> VResult<Arc<Tree>> {
        self.load_tree(id).map_err(|e| {
            log::error!("snapshot {} path /{}: tree {id}: {e}", s.id.short(), String::from_utf8_lossy(path));
            VfsError::Io
        })
    }

    /// The entry at `path` (names joined by '/') in snapshot `s`.
    fn entry_at(&self, s: &SnapRef, path: &[u8]) -> VResult<Option<Entry>> {
        let mut tree = s.snap.tree;
        let mut names = path.split(|&b| b == b'/').peekable();
        while let Some(name) = names.next() {
            let Some(e) = self.history_tree(s, path, &tree)?.find(name).cloned() else {
                return Ok(None);
            };
            if names.peek().is_none() {
                return Ok(Some(e));
            }
            match (e.kind, e.subtree) {
                (Kind::Dir, Some(id)) => tree = id,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The listing of a history directory, built once per snapshot list.
    pub(super) fn history(&self, scope: &Scope) -> VResult<Arc<Listing>> {
        let snaps = self.snaps();
        {
            let mut cache = self.listings.lock().unwrap_or_else(|e| e.into_inner());
            if !cache.snaps.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snaps)) || cache.entries >= CACHED_MAX {
                *cache = Listings { snaps: Some(snaps.clone()), ..Listings::default() };
            }
            if let Some(l) = cache.by_path.get(scope) {
                return Ok(l.clone());
            }
        }
        let path = &scope.path[..];
        let in_scope: Vec<&SnapRef> = match &scope.host {
            None => snaps.all.iter().map(|s| &**s).collect(),
            Some(h) => snaps.hosts.get(h).into_iter().flatten().map(|&i| &*snaps.all[i]).collect(),
        };
        let mut items = BTreeMap::new();
        // Trees whose names are listed: the snapshots' roots for the empty
        // path, else those of the path's directory versions.
        let mut trees: Vec<(&SnapRef, Id)> = Vec::new();
        if path.is_empty() {
            trees.extend(in_scope.iter().map(|s| (*s, s.snap.tree)));
        } else {
            // The last state of the path in each job: (host, source paths).
            let mut prev: HashMap<(&str, &[Vec<u8>]), Option<Entry>> = HashMap::new();
            for s in in_scope {
                if !covers(&s.snap.paths, path) {
                    continue;
                }
                let e = self.entry_at(s, path)?;
                let last = prev.entry((s.snap.host.as_str(), &s.snap.paths[..])).or_default();
                if let Some(e) = &e {
                    if !last.as_ref().is_some_and(|p| same_version(p, e)) {
                        if let (Kind::Dir, Some(id)) = (e.kind, e.subtree) {
                            trees.push((s, id));
                        }
                        let item = match e.kind {
                            Kind::Dir => version_link(scope, s),
                            _ => Item::Version(Arc::new(version_node(s, path, e.clone()))),
                        };
                        items.insert(s.name.clone().into_bytes(), item);
                    }
                }
                *last = e;
            }
        }
        trees.sort_by_key(|(_, id)| *id);
        trees.dedup_by_key(|(_, id)| *id);
        for (s, id) in trees {
            for e in &self.history_tree(s, path, &id)?.entries {
                // A version of the same name wins.
                items.entry(e.name.clone()).or_insert(Item::Dir);
            }
        }
        let listing = Arc::new(items.into_iter().collect::<Listing>());
        let mut cache = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        if cache.snaps.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snaps)) {
            cache.entries += listing.len();
            cache.by_path.insert(scope.clone(), listing.clone());
        }
        Ok(listing)
    }

    /// `name` in a history directory.
    pub(super) fn history_child(&self, scope: &Scope, name: &[u8]) -> VResult<Listed> {
        let listing = self.history(scope)?;
        let i = listing.binary_search_by(|(n, _)| n.as_slice().cmp(name)).map_err(|_| VfsError::NotFound)?;
        match &listing[i].1 {
            Item::Version(node) => {
                let attr = self.entry_attr(node)?;
                Ok(Listed { attr, ttl: TTL_FOREVER, kind: Some(NodeKind::Entry(node.clone())) })
            }
            Item::Link { ino, target } => {
                let kind = NodeKind::Link(target.clone());
                Ok(Listed { attr: self.attr_of(*ino, &kind)?, ttl: TTL_FOREVER, kind: Some(kind) })
            }
            Item::Dir => {
                let child = scope.child(name);
                let ino = dir_ino(&child);
                let kind = NodeKind::History(child);
                Ok(Listed { attr: self.attr_of(ino, &kind)?, ttl: ttl_of(&kind), kind: Some(kind) })
            }
        }
    }

    /// The entries of a history directory from `offset` on (after "." and "..").
    pub(super) fn history_entries(&self, scope: &Scope, offset: usize, limit: usize) -> VResult<Vec<DirEntry>> {
        let listing = self.history(scope)?;
        Ok(listing
            .iter()
            .enumerate()
            .skip(offset.saturating_sub(2))
            .take(limit)
            .map(|(i, (name, item))| {
                let (ino, kind) = match item {
                    Item::Version(n) => (n.ino(), node_type(n.entry.kind)),
                    Item::Link { ino, .. } => (*ino, NodeType::Symlink),
                    Item::Dir => (dir_ino(&scope.child(name)), NodeType::Dir),
                };
                DirEntry { ino, next: i as i64 + 3, kind, name: name.clone() }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_snapshot_covers_its_sources_and_the_way_to_them() {
        let src = vec![b"/srv/www".to_vec(), b"/etc".to_vec()];
        for p in [&b"srv"[..], b"srv/www", b"srv/www/index.html", b"etc/fstab", b""] {
            assert!(covers(&src, p), "{}", String::from_utf8_lossy(p));
        }
        for p in [&b"srv/db"[..], b"srv/wwwx", b"home", b"etcetera"] {
            assert!(!covers(&src, p), "{}", String::from_utf8_lossy(p));
        }
        assert!(covers(&[b"/".to_vec()], b"anything/below"));
    }
}
