//! `diff`: what changed between two snapshots. Subtrees with the same id
//! are identical and skipped, so the cost grows with the change, not the
//! tree; file content is compared by its chunk list (or its pieces), never
//! by reading chunks.

use crate::crypto::Id;
use crate::error::Result;
use crate::format::tree::{join_path, Content, Entry, Kind};
use crate::repo::Repo;

/// One change, at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `+`
    Added,
    /// `-`
    Removed,
    /// `M`: content (or a symlink's target, a device's number) differs.
    Modified,
    /// `T`: the type differs (a file became a directory, say).
    TypeChanged,
    /// `U`: only metadata (mode, owner, times, xattrs), with `metadata`.
    Metadata,
}

impl Change {
    pub fn marker(self) -> &'static str {
        match self {
            Change::Added => "+",
            Change::Removed => "-",
            Change::Modified => "M",
            Change::TypeChanged => "T",
            Change::Metadata => "U",
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Totals {
    pub files_added: u64,
    pub files_removed: u64,
    pub dirs_added: u64,
    pub dirs_removed: u64,
    pub others_added: u64,
    pub others_removed: u64,
    pub modified: u64,
    pub type_changed: u64,
    pub metadata_changed: u64,
    /// File bytes added and removed (a modified file counts its new size
    /// added and its old size removed).
    pub bytes_added: u64,
    pub bytes_removed: u64,
}

pub struct Differ<'a> {
    repo: &'a Repo,
    /// Also report metadata changes.
    pub metadata: bool,
    pub totals: Totals,
    out: &'a mut dyn FnMut(Change, &[u8], &Entry),
}

fn same_content(a: &Entry, b: &Entry) -> bool {
    match a.kind {
        Kind::File => match (&a.content, &b.content) {
            (Content::List { id: x, .. }, Content::List { id: y, .. }) => x == y,
            (Content::Inline(x), Content::Inline(y)) => x == y,
            _ => false,
        },
        Kind::Symlink => a.target == b.target,
        Kind::CharDev | Kind::BlockDev => a.rdev == b.rdev,
        Kind::Dir | Kind::Fifo => true,
    }
}

fn same_metadata(a: &Entry, b: &Entry) -> bool {
    (a.mode, a.uid, a.gid, a.mtime, &a.xattrs) == (b.mode, b.uid, b.gid, b.mtime, &b.xattrs)
}

impl<'a> Differ<'a> {
    pub fn new(repo: &'a Repo, metadata: bool, out: &'a mut dyn FnMut(Change, &[u8], &Entry)) -> Differ<'a> {
        Differ { repo, metadata, totals: Totals::default(), out }
    }

    /// The changes from entry `a` to entry `b` at `path` (either absent).
    pub fn entries(&mut self, path: &[u8], a: Option<&Entry>, b: Option<&Entry>) -> Result<()> {
        match (a, b) {
            (None, None) => Ok(()),
            (Some(a), None) => self.whole(Change::Removed, path, a),
            (None, Some(b)) => self.whole(Change::Added, path, b),
            (Some(a), Some(b)) if a.kind != b.kind => {
                self.totals.type_changed += 1;
                (self.out)(Change::TypeChanged, path, b);
                Ok(())
            }
            (Some(a), Some(b)) => {
                if !same_content(a, b) {
                    self.totals.modified += 1;
                    if a.kind == Kind::File {
                        self.totals.bytes_removed += a.size;
                        self.totals.bytes_added += b.size;
                    }
                    (self.out)(Change::Modified, path, b);
                } else if self.metadata && !same_metadata(a, b) {
                    self.totals.metadata_changed += 1;
                    (self.out)(Change::Metadata, path, b);
                }
                match (a.subtree, b.subtree) {
                    (Some(x), Some(y)) => self.trees(path, &x, &y),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The changes between two trees under `path`.
    pub fn trees(&mut self, path: &[u8], a: &Id, b: &Id) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let (ta, tb) = (self.repo.tree(a)?, self.repo.tree(b)?);
        let (mut i, mut j) = (0, 0);
        while i < ta.entries.len() || j < tb.entries.len() {
            let (ea, eb) = (ta.entries.get(i), tb.entries.get(j));
            let order = match (ea, eb) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            let (ea, eb) = match order {
                std::cmp::Ordering::Less => (ea, None),
                std::cmp::Ordering::Greater => (None, eb),
                std::cmp::Ordering::Equal => (ea, eb),
            };
            let name = ea.or(eb).map(|e| e.name.clone()).unwrap_or_default();
            self.entries(&join_path(path, &name), ea, eb)?;
            i += usize::from(ea.is_some());
            j += usize::from(eb.is_some());
        }
        Ok(())
    }

    /// An entry added or removed whole: it, then everything below it.
    fn whole(&mut self, change: Change, path: &[u8], e: &Entry) -> Result<()> {
        let added = change == Change::Added;
        let t = &mut self.totals;
        match e.kind {
            Kind::File if added => (t.files_added, t.bytes_added) = (t.files_added + 1, t.bytes_added + e.size),
            Kind::File => (t.files_removed, t.bytes_removed) = (t.files_removed + 1, t.bytes_removed + e.size),
            Kind::Dir if added => t.dirs_added += 1,
            Kind::Dir => t.dirs_removed += 1,
            _ if added => t.others_added += 1,
            _ => t.others_removed += 1,
        }
        (self.out)(change, path, e);
        if let Some(sub) = e.subtree {
            for child in self.repo.tree(&sub)?.entries {
                self.whole(change, &join_path(path, &child.name), &child)?;
            }
        }
        Ok(())
    }
}
