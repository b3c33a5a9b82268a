//! Snapshots rebuilt without what they should not hold (`strata rewrite`,
//! as restic's): a file backed up by mistake, a secret, a cache. A
//! snapshot's trees are read again and stored without the entries the
//! excludes match, with the same rules as backup's `--exclude`; a tree
//! nothing was taken from keeps its id, so only the directories on the way
//! to a removed entry are stored anew, and nothing else is written. The
//! data of what was removed stays until `prune`, once no snapshot uses it.

use crate::backup::Excludes;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::parts::TreeWriter;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Entry, Kind};
use crate::repo::{RecordWriter, Repo, TreeCursor};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What a rewrite takes out of a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Regular files, and their bytes, at any depth.
    pub files: u64,
    pub bytes: u64,
    /// Directories, the removed ones and every one below them.
    pub dirs: u64,
    /// Every other entry: symlinks, devices, fifos.
    pub others: u64,
    /// The absolute paths of the entries an exclude matched (what is below
    /// them is counted, not listed), in tree order.
    pub paths: Vec<Vec<u8>>,
}

impl Removed {
    fn add(&mut self, o: &Removed) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.dirs += o.dirs;
        self.others += o.others;
        self.paths.extend_from_slice(&o.paths);
    }

    fn count(&mut self, kind: Kind, size: u64) {
        match kind {
            Kind::File => {
                self.files += 1;
                self.bytes += size;
            }
            Kind::Dir => self.dirs += 1,
            _ => self.others += 1,
        }
    }
}

/// Rewrites snapshots one after another, remembering the trees it has
/// been through: snapshots of the same source share most of theirs.
pub struct Rewriter<'a> {
    repo: &'a Repo,
    excludes: &'a Excludes,
    /// Store nothing (a dry run).
    dry: bool,
    /// Trees rewritten, by id and path (a path exclude may match a tree in
    /// one place and not in another).
    done: HashMap<(Id, Vec<u8>), (Id, Removed)>,
    /// What removed trees held.
    counted: HashMap<Id, Removed>,
    /// Also take out what uses these records (`Repo::missing`), and what
    /// cannot be read: files whose content, directories whose tree.
    lost: Option<HashSet<Id>>,
    /// Trees found readable or not, with `lost`.
    readable: HashMap<Id, bool>,
    writer: RecordWriter,
}

/// Trees remembered at most (in `done`, `counted` and `readable` each);
/// the memory is cleared when full, costing only reads.
const REMEMBERED_MAX: usize = 1 << 18;

/// Records queued before they are written.
const BATCH_BYTES: usize = 8 << 20;

impl<'a> Rewriter<'a> {
    pub fn new(repo: &'a Repo, excludes: &'a Excludes, dry: bool) -> Rewriter<'a> {
        let writer = repo.records().writer();
        let (done, counted, readable) = (HashMap::new(), HashMap::new(), HashMap::new());
        Rewriter { repo, excludes, dry, done, counted, lost: None, readable, writer }
    }

    /// Also takes out the files whose content uses a record of `lost`, or
    /// cannot be read, and the directories whose tree: what `repair` found
    /// damaged and no backup could store again.
    pub fn without_lost(mut self, lost: HashSet<Id>) -> Self {
        self.lost = Some(lost);
        self
    }

    /// Whether the file of entry `e` is lost (see `without_lost`).
    fn file_lost(&self, e: &Entry) -> bool {
        self.lost.as_ref().is_some_and(|lost| e.kind == Kind::File && self.repo.content_uses(&e.content, lost))
    }

    /// Whether the tree `id` is lost (see `without_lost`).
    fn tree_lost(&mut self, id: &Id) -> bool {
        let Some(lost) = &self.lost else { return false };
        if let Some(&known) = self.readable.get(id) {
            return !known;
        }
        let gone = lost.contains(id) || !self.repo.damaged_records(id, true).is_empty();
        if self.readable.len() >= REMEMBERED_MAX {
            self.readable.clear();
        }
        self.readable.insert(*id, !gone);
        gone
    }

    /// `s` without what the excludes match, and what that is; `None` when
    /// they match nothing in it. Unless a dry run, its trees are stored
    /// (durable once the new snapshot is committed).
    pub fn rewrite(&mut self, s: &Snapshot) -> Result<Option<(Snapshot, Removed)>> {
        if self.tree_lost(&s.tree) {
            return Err(Error::Invalid(format!(
                "its root tree {} is lost: nothing of it can be kept (forget it)",
                s.tree
            )));
        }
        let (tree, removed) = self.tree(&s.tree, b"")?;
        if tree == s.tree {
            return Ok(None);
        }
        self.writer.write()?;
        let mut new = s.clone();
        new.tree = tree;
        let c = &mut new.counters;
        c.files = c.files.saturating_sub(removed.files);
        c.bytes = c.bytes.saturating_sub(removed.bytes);
        c.dirs = c.dirs.saturating_sub(removed.dirs);
        let failed = new.failed.len();
        new.failed.retain(|(path, _)| !self.excluded(path));
        c.errors = c.errors.saturating_sub((failed - new.failed.len()) as u64);
        Ok(Some((new, removed)))
    }

    /// Whether an exclude matches `path` (absolute) or a directory above it.
    fn excluded(&self, path: &[u8]) -> bool {
        let mut end = 0;
        while end < path.len() {
            end = path[end + 1..].iter().position(|&b| b == b'/').map_or(path.len(), |i| end + 1 + i);
            let at = &path[..end];
            let name = at.rsplit(|&b| b == b'/').next().unwrap_or(at);
            if !name.is_empty() && self.excludes.matches(Path::new(crate::sys::os(at)), name) {
                return true;
            }
        }
        false
    }

    /// Tree `id`, the directory at `path`, rewritten: its new id (`id`
    /// itself when nothing was removed) and what was removed.
    fn tree(&mut self, id: &Id, path: &[u8]) -> Result<(Id, Removed)> {
        let key = (*id, path.to_vec());
        if let Some(done) = self.done.get(&key) {
            return Ok(done.clone());
        }
        let mut cursor = TreeCursor::open(self.repo, id)?;
        let mut out = TreeWriter::tree(self.repo.keys());
        let mut removed = Removed::default();
        let mut changed = false;
        while let Some(run) = cursor.next_run()? {
            for mut e in run {
                let at = [path, b"/", &e.name].concat();
                let tree_lost = e.subtree.is_some_and(|sub| self.tree_lost(&sub));
                if tree_lost || self.file_lost(&e) || self.excludes.matches(Path::new(crate::sys::os(&at)), &e.name) {
                    changed = true;
                    removed.count(e.kind, e.size);
                    // What a lost tree held is not known.
                    if let (Kind::Dir, Some(sub), false) = (e.kind, e.subtree, tree_lost) {
                        let below = self.count(&sub)?;
                        removed.add(&below);
                    }
                    removed.paths.push(at);
                    continue;
                }
                if let (Kind::Dir, Some(sub)) = (e.kind, e.subtree) {
                    let (new, below) = self.tree(&sub, &at)?;
                    changed |= new != sub;
                    e.subtree = Some(new);
                    removed.add(&below);
                }
                // The parts of a huge directory come as it is read; those
                // before any change are stored already.
                let parts = out.push(e);
                self.store(parts)?;
            }
        }
        let new = match changed {
            true => {
                let records = out.finish();
                let new = records.last().map_or(*id, |(id, _)| *id);
                self.store(records)?;
                new
            }
            false => *id,
        };
        if self.done.len() >= REMEMBERED_MAX {
            self.done.clear();
        }
        self.done.insert(key, (new, removed.clone()));
        Ok((new, removed))
    }

    /// What the tree `id` holds, all of it removed.
    fn count(&mut self, id: &Id) -> Result<Removed> {
        if let Some(c) = self.counted.get(id) {
            return Ok(c.clone());
        }
        let mut c = Removed::default();
        let mut cursor = TreeCursor::open(self.repo, id)?;
        while let Some(run) = cursor.next_run()? {
            for e in run {
                c.count(e.kind, e.size);
                if let (Kind::Dir, Some(sub)) = (e.kind, e.subtree) {
                    let below = self.count(&sub)?;
                    c.add(&below);
                }
            }
        }
        if self.counted.len() >= REMEMBERED_MAX {
            self.counted.clear();
        }
        self.counted.insert(*id, c.clone());
        Ok(c)
    }

    /// Queues the records the repository lacks.
    fn store(&mut self, records: Vec<(Id, Vec<u8>)>) -> Result<()> {
        for (id, plain) in records {
            if !self.dry && !self.repo.records().has_object(&id)? {
                let sealed = self.repo.records().seal(&id, &plain);
                self.writer.put_object(&id, sealed);
                if self.writer.bytes() >= BATCH_BYTES {
                    self.writer.write()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parts::tree_records;
    use crate::format::tree::Entry;
    use crate::repo::testing::{memory_repo, snapshot_of};

    /// Stores a tree (in parts when large); returns its id.
    fn put(repo: &Repo, entries: Vec<Entry>) -> Id {
        let records = tree_records(&entries, repo.keys());
        let mut w = repo.records().writer();
        for (id, plain) in &records {
            w.put_object(id, repo.records().seal(id, plain));
        }
        w.write().unwrap();
        records.last().unwrap().0
    }

    fn dir(name: &[u8], sub: Id) -> Entry {
        Entry { subtree: Some(sub), ..Entry::new(name.to_vec(), Kind::Dir) }
    }

    fn file(name: &[u8], size: u64) -> Entry {
        Entry { size, ..Entry::new(name.to_vec(), Kind::File) }
    }

    fn objects(repo: &Repo) -> usize {
        let mut n = 0;
        repo.records()
            .scan_objects(&mut |_, _| {
                n += 1;
                Ok(true)
            })
            .unwrap();
        n
    }

    fn excludes(patterns: &[&str]) -> Excludes {
        Excludes::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>(), &[]).unwrap()
    }

    #[test]
    fn a_path_exclude_takes_a_shared_tree_apart_in_one_place_only() {
        let repo = memory_repo();
        // /a/x and /b/x are one tree.
        let x = put(&repo, vec![file(b"keep", 1), file(b"secret", 5)]);
        let a = put(&repo, vec![dir(b"x", x)]);
        let root = put(&repo, vec![dir(b"a", a), dir(b"b", a)]);
        let (_, s) = snapshot_of(&repo, 1, "h", &[], root);
        let ex = excludes(&["/a/x/secret"]);
        let mut r = Rewriter::new(&repo, &ex, false);
        let (new, removed) = r.rewrite(&s).unwrap().expect("a change");
        assert_eq!(removed.paths, [b"/a/x/secret".to_vec()]);
        assert_eq!((removed.files, removed.bytes, removed.dirs), (1, 5, 0));
        let at = |path: &[u8]| repo.lookup(&new.tree, path).unwrap().unwrap().subtree.unwrap();
        let names: Vec<Vec<u8>> = repo.tree(&at(b"a/x")).unwrap().entries.into_iter().map(|e| e.name).collect();
        assert_eq!(names, [b"keep".to_vec()]);
        assert_eq!(at(b"b/x"), x, "the same tree elsewhere stays as it was");

        // Another snapshot of the same trees: the same result, nothing stored.
        let before = objects(&repo);
        let (_, s2) = snapshot_of(&repo, 2, "h", &[], root);
        assert_eq!(r.rewrite(&s2).unwrap().unwrap().0.tree, new.tree);
        assert_eq!(objects(&repo), before);
        // A name exclude takes both; one that matches nothing changes nothing.
        let ex = excludes(&["secret"]);
        let (_, removed) = Rewriter::new(&repo, &ex, false).rewrite(&s).unwrap().unwrap();
        assert_eq!(removed.paths, [b"/a/x/secret".to_vec(), b"/b/x/secret".to_vec()]);
        assert!(Rewriter::new(&repo, &excludes(&["nothing"]), false).rewrite(&s).unwrap().is_none());
    }

    #[test]
    fn a_huge_directory_loses_one_entry_and_keeps_its_other_parts() {
        let repo = memory_repo();
        let names = |i: usize| format!("e{i:07}").into_bytes();
        let big = put(&repo, (0..300_000).map(|i| file(&names(i), 1)).collect());
        let parts = repo.tree_parts(&big).unwrap().1.len();
        assert!(parts > 3, "stored in parts");
        let sub = put(&repo, vec![file(b"f", 10), file(b"g", 20)]);
        let root = put(&repo, vec![dir(b"big", big), dir(b"cache", sub)]);
        let (_, s) = snapshot_of(&repo, 1, "h", &[], root);
        let ex = excludes(&["e0150000", "/cache"]);

        let before = objects(&repo);
        let (new, removed) = Rewriter::new(&repo, &ex, true).rewrite(&s).unwrap().unwrap();
        assert_eq!(objects(&repo), before, "a dry run stores nothing");
        assert_eq!((removed.files, removed.bytes, removed.dirs), (3, 31, 1));

        let (again, _) = Rewriter::new(&repo, &ex, false).rewrite(&s).unwrap().unwrap();
        assert_eq!(again.tree, new.tree, "a dry run works out the same trees");
        let added = objects(&repo) - before;
        assert!(added < parts / 2, "{added} records for one entry out of {parts} parts");
        let kept = repo.tree(&repo.lookup(&new.tree, b"big").unwrap().unwrap().subtree.unwrap()).unwrap();
        let expected: Vec<Vec<u8>> = (0..300_000).filter(|&i| i != 150_000).map(names).collect();
        assert_eq!(kept.entries.into_iter().map(|e| e.name).collect::<Vec<_>>(), expected);
    }
}
