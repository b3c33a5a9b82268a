//! Reading trees and chunk lists, stored whole or in parts
//! (`format::parts`): whole, with the ids of their parts for the walks that
//! mark records, or a tree a part at a time (`TreeCursor`), so that a walk
//! over a huge directory (backup's comparison with the parent snapshot,
//! restore) holds one part of it, not the whole directory.

use super::Repo;
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::format::parts::{Part, Stored};
use crate::format::tree::{decode_chunk_list, decode_chunk_list_stored, Content, Entry, Piece, Tree};
use std::collections::{HashSet, VecDeque};

impl Repo {
    pub fn tree(&self, id: &Id) -> Result<Tree> {
        self.tree_parts(id).map(|(t, _)| t)
    }

    /// A tree and the ids of the parts it was stored in (none when it was
    /// stored whole): what a walk that marks records must mark besides `id`.
    pub fn tree_parts(&self, id: &Id) -> Result<(Tree, Vec<Id>)> {
        match decode_tree(id, &self.records.object("tree", id)?)? {
            Stored::Whole(t) => Ok((t, Vec::new())),
            Stored::Parts(parts) => {
                let mut entries = Vec::with_capacity(parts.iter().map(|p| p.items as usize).sum());
                let ids = self.read_parts("tree", id, &parts, |plain| {
                    let part = Tree::decode(plain)?;
                    let n = part.entries.len();
                    entries.extend(part.entries);
                    Ok(n)
                })?;
                if !entries.windows(2).all(|w| w[0].name < w[1].name) {
                    return Err(Error::corrupt(format!("tree {id}"), "its parts are out of order"));
                }
                Ok((Tree { entries }, ids))
            }
        }
    }

    /// Whether `content` uses one of the records `ids`, or a chunk list of
    /// it cannot be read (`repair`'s missing records: the file is lost).
    pub fn content_uses(&self, content: &Content, ids: &HashSet<Id>) -> bool {
        let uses = |pieces: &[Piece]| pieces.iter().filter_map(Piece::id).any(|id| ids.contains(&id));
        match content {
            Content::Inline(pieces) => uses(pieces),
            Content::List { id, .. } => ids.contains(id) || self.chunk_list(id).map_or(true, |p| uses(&p)),
        }
    }

    /// The records of the tree (`tree`) or chunk list `id` that are
    /// damaged or missing: its own, when it does not read or decode, or
    /// when it is whole but wrong; else those of its parts that do not, or
    /// hold other than their index says. None when it reads.
    pub fn damaged_records(&self, id: &Id, tree: bool) -> Vec<Id> {
        let what = if tree { "tree" } else { "chunk list" };
        fn parts_of<T>(s: Stored<T>) -> Vec<Part> {
            match s {
                Stored::Parts(parts) => parts,
                Stored::Whole(_) => Vec::new(),
            }
        }
        let stored = self.records.object(what, id).and_then(|bytes| match tree {
            true => Tree::decode_stored(&bytes).map(parts_of),
            false => decode_chunk_list_stored(&bytes).map(parts_of),
        });
        let Ok(parts) = stored else { return vec![*id] };
        let items = |plain: &[u8]| match tree {
            true => Tree::decode(plain).map(|t| t.entries.len()),
            false => decode_chunk_list(plain).map(|l| l.len()),
        };
        let bad: Vec<Id> = parts
            .iter()
            .filter(
                |p| !matches!(self.records.object(what, &p.id).and_then(|b| items(&b)), Ok(n) if n as u64 == p.items),
            )
            .map(|p| p.id)
            .collect();
        let sound = if tree { self.tree_parts(id).is_ok() } else { self.chunk_list_parts(id).is_ok() };
        match (bad.is_empty(), sound) {
            (true, false) => vec![*id],
            _ => bad,
        }
    }

    /// One part of the tree `of`, checked against its index entry.
    fn tree_part(&self, of: &Id, part: &Part) -> Result<Tree> {
        let mut tree = None;
        self.read_parts("tree", of, std::slice::from_ref(part), |plain| {
            let t = Tree::decode(plain)?;
            let n = t.entries.len();
            tree = Some(t);
            Ok(n)
        })?;
        Ok(tree.unwrap_or_default())
    }

    pub fn chunk_list(&self, id: &Id) -> Result<Vec<Piece>> {
        self.chunk_list_parts(id).map(|(l, _)| l)
    }

    /// A chunk list and the ids of its parts (see `tree_parts`).
    pub fn chunk_list_parts(&self, id: &Id) -> Result<(Vec<Piece>, Vec<Id>)> {
        match decode_chunk_list_stored(&self.records.object("chunk list", id)?)? {
            Stored::Whole(list) => Ok((list, Vec::new())),
            Stored::Parts(parts) => {
                let mut pieces = Vec::with_capacity(parts.iter().map(|p| p.items as usize).sum());
                let ids = self.read_parts("chunk list", id, &parts, |plain| {
                    let part = decode_chunk_list(plain)?;
                    let n = part.len();
                    pieces.extend(part);
                    Ok(n)
                })?;
                Ok((pieces, ids))
            }
        }
    }

    /// Reads each part of the object `id` in order into `take`, which
    /// returns how many items it held; returns the parts' ids.
    fn read_parts(
        &self,
        what: &'static str,
        id: &Id,
        parts: &[Part],
        mut take: impl FnMut(&[u8]) -> Result<usize>,
    ) -> Result<Vec<Id>> {
        for p in parts {
            let plain = self.records.object(what, &p.id).map_err(|e| match e {
                Error::Missing { .. } => {
                    Error::corrupt(format!("{what} {id}"), format!("its part {} is missing", p.id))
                }
                e => e,
            })?;
            let n = take(&plain).map_err(|e| Error::corrupt(format!("{what} {id}"), format!("part {}: {e}", p.id)))?;
            if n as u64 != p.items {
                let detail = format!("part {} holds {n} items, its index says {}", p.id, p.items);
                return Err(Error::corrupt(format!("{what} {id}"), detail));
            }
        }
        Ok(parts.iter().map(|p| p.id).collect())
    }
}

/// A tree record, whole or the index of its parts; an error names its id.
fn decode_tree(id: &Id, bytes: &[u8]) -> Result<Stored<Tree>> {
    Tree::decode_stored(bytes).map_err(|e| match e {
        Error::Corrupt { detail, .. } => Error::corrupt(format!("tree {id}"), detail),
        e => e,
    })
}

pub struct TreeCursor<'a> {
    repo: &'a Repo,
    id: Id,
    /// Parts not read yet.
    parts: VecDeque<Part>,
    /// What is left of the part read last.
    current: Vec<Entry>,
    /// The last name of the part read last.
    last: Option<Vec<u8>>,
}

impl<'a> TreeCursor<'a> {
    pub fn open(repo: &'a Repo, id: &Id) -> Result<TreeCursor<'a>> {
        let (current, parts) = match decode_tree(id, &repo.records.object("tree", id)?)? {
            Stored::Whole(t) => (t.entries, VecDeque::new()),
            Stored::Parts(p) => (Vec::new(), p.into()),
        };
        Ok(TreeCursor { repo, id: *id, parts, current, last: None })
    }

    /// Reads the next part; `false` when there is none.
    fn advance(&mut self) -> Result<bool> {
        let Some(part) = self.parts.pop_front() else { return Ok(false) };
        let tree = self.repo.tree_part(&self.id, &part)?;
        if let (Some(last), Some(first)) = (&self.last, tree.entries.first()) {
            if first.name <= *last {
                return Err(Error::corrupt(format!("tree {}", self.id), "its parts are out of order"));
            }
        }
        self.last = tree.entries.last().map(|e| e.name.clone()).or(self.last.take());
        self.current = tree.entries;
        Ok(true)
    }

    /// The entry named `name`. Names must be asked for in increasing order:
    /// parts before the one that would hold `name` are passed for good.
    pub fn find(&mut self, name: &[u8]) -> Result<Option<&Entry>> {
        while self.current.last().is_none_or(|e| e.name.as_slice() < name) {
            if !self.advance()? {
                break;
            }
        }
        Ok(self.current.binary_search_by(|e| e.name.as_slice().cmp(name)).ok().map(|i| &self.current[i]))
    }

    /// The next run of entries in name order (a part); `None` at the end.
    pub fn next_run(&mut self) -> Result<Option<Vec<Entry>>> {
        if self.current.is_empty() && !self.advance()? {
            return Ok(None);
        }
        Ok(Some(std::mem::take(&mut self.current)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parts::tree_records;
    use crate::format::tree::Kind;
    use crate::repo::testing::memory_repo;

    /// Stores a tree of `n` entries (in parts when large); returns its id.
    fn stored(repo: &Repo, n: usize) -> (Id, Vec<Entry>) {
        let entries: Vec<Entry> =
            (0..n).map(|i| Entry::new(format!("entry-{i:07}").into_bytes(), Kind::File)).collect();
        let records = tree_records(&entries, repo.keys());
        let mut w = repo.records().writer();
        for (id, plain) in &records {
            w.put_object(id, repo.records().seal(id, plain));
        }
        w.write().unwrap();
        (records.last().unwrap().0, entries)
    }

    #[test]
    fn a_huge_tree_reads_back_a_part_at_a_time() {
        let repo = memory_repo();
        let (id, entries) = stored(&repo, 400_000);
        let mut c = TreeCursor::open(&repo, &id).unwrap();
        assert!(c.parts.len() > 3, "stored in parts");
        let mut back = Vec::new();
        while let Some(run) = c.next_run().unwrap() {
            assert!(run.len() < entries.len());
            back.extend(run);
        }
        assert_eq!(back, entries);
    }

    #[test]
    fn names_asked_in_order_are_found_across_parts() {
        let repo = memory_repo();
        for n in [10, 400_000] {
            let (id, entries) = stored(&repo, n);
            let mut c = TreeCursor::open(&repo, &id).unwrap();
            for i in (0..n).step_by(997) {
                assert_eq!(c.find(&entries[i].name).unwrap(), Some(&entries[i]));
                let absent = [&entries[i].name[..], b"x"].concat();
                assert_eq!(c.find(&absent).unwrap(), None);
            }
            assert_eq!(c.find(b"zzz").unwrap(), None);
        }
    }

    #[test]
    fn damaged_records_names_the_part_at_fault_or_the_tree_itself() {
        let repo = memory_repo();
        let (small, _) = stored(&repo, 10);
        let (big, _) = stored(&repo, 300_000);
        assert!(repo.damaged_records(&big, true).is_empty() && repo.damaged_records(&small, true).is_empty());
        let parts = repo.tree_parts(&big).unwrap().1;
        let put = |id: &Id, plain: &[u8]| {
            let mut w = repo.records().writer();
            w.put_object(id, repo.records().seal(id, plain));
            w.write().unwrap();
        };
        // A part that decodes to something else than its index says.
        let other = Tree { entries: vec![Entry::new(b"x".to_vec(), Kind::File)] }.encode();
        put(&parts[2], &other);
        assert_eq!(repo.damaged_records(&big, true), [parts[2]]);
        // A part gone.
        let mut w = repo.records().writer();
        w.delete_object(&parts[4]);
        w.write().unwrap();
        assert_eq!(repo.damaged_records(&big, true), [parts[2], parts[4]]);
        // A whole tree, or an index, that does not decode.
        put(&small, b"not a tree");
        assert_eq!(repo.damaged_records(&small, true), [small]);
        put(&big, b"not an index");
        assert_eq!(repo.damaged_records(&big, true), [big]);
    }
}
