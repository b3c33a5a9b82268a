//! A tree or chunk list too large for one record is stored in parts: runs of
//! its entries (or pieces), each an ordinary tree (or chunk list) record, and
//! an index record naming them in order. The directory (or file) refers to
//! the index. Every record thus stays far below what a record may hold
//! (`record::PLAIN_MAX`), whatever the size of a directory or a file.
//!
//! The index is the next version of the same object (tree 3, chunk list 2),
//! so a strata that predates it refuses it as a newer format instead of
//! misreading it. A part is never itself an index.
//!
//! Cuts are content-defined: a run ends after an item whose boundary hash
//! says so once the run holds `PART_MIN` bytes, or before an item that would
//! take it past `PART_MAX`. An entry added to a huge directory thus changes
//! the part it falls in (and perhaps the next), not every part after it.

use super::tree::{Entry, Piece};
use super::{decode, encode, CHUNK_LIST_PARTS_VERSION, TAG_CHUNK_LIST, TAG_TREE, TREE_PARTS_VERSION};
use super::{CHUNK_LIST_VERSION, TREE_VERSION};
use crate::crypto::{Id, Keys};
use crate::error::Result;
use serde::Serialize;

/// A tree or chunk list whose encoding is larger than this is stored in parts.
pub const PART_MAX: usize = 8 << 20;
/// A part ends at a boundary only once it holds this much.
pub const PART_MIN: usize = 1 << 20;

/// One part of a tree or chunk list: its record and how many entries (or
/// pieces) it holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub id: Id,
    pub items: u64,
}

/// A stored tree or chunk list: whole, or the index of its parts.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored<T> {
    Whole(T),
    Parts(Vec<Part>),
}

/// The index record of a tree's parts.
pub fn encode_tree_index(parts: &[Part]) -> Vec<u8> {
    encode(TAG_TREE, TREE_PARTS_VERSION, &parts)
}

/// The index record of a chunk list's parts.
pub fn encode_chunk_list_index(parts: &[Part]) -> Vec<u8> {
    encode(TAG_CHUNK_LIST, CHUNK_LIST_PARTS_VERSION, &parts)
}

/// `Some(parts)` when `bytes` is an index record of the given tag.
pub(super) fn decode_index(what: &'static str, tag: u8, version: u8, bytes: &[u8]) -> Result<Option<Vec<Part>>> {
    match bytes {
        [t, v, ..] if *t == tag && *v == version => decode(what, tag, version, bytes).map(Some),
        _ => Ok(None),
    }
}

/// The records that store a directory's entries (sorted), each as (id,
/// plaintext): the tree's own record, or its parts followed by their index.
/// The last one is what the directory refers to.
pub fn tree_records(entries: &[Entry], keys: &Keys) -> Vec<(Id, Vec<u8>)> {
    let mut w = Splitter::tree(keys);
    let mut out: Vec<_> = entries.iter().flat_map(|e| w.push(e.clone())).collect();
    out.extend(w.finish());
    out
}

/// The records that store a file's chunk list (see `tree_records`).
pub fn chunk_list_records(pieces: &[Piece], keys: &Keys) -> Vec<(Id, Vec<u8>)> {
    let mut w = Splitter::chunk_list(keys);
    let mut out: Vec<_> = pieces.iter().flat_map(|p| w.push(*p)).collect();
    out.extend(w.finish());
    out
}

/// About one item in a thousand ends a part.
fn boundary(h: &Id) -> bool {
    u16::from_le_bytes([h.0[0], h.0[1]]) < 64
}

/// Cuts a stream of items (a directory's entries in name order, a file's
/// pieces) into records as they come. Until their encoding passes
/// `PART_MAX` the items are held, as they may yet be stored whole; from then
/// on each part is handed out once cut, and only the current run is held.
/// A run ends after an item at a boundary once it holds `PART_MIN` bytes,
/// or before an item that would take it past `PART_MAX`.
pub struct Splitter<'a, T> {
    keys: &'a Keys,
    /// The record of a run of items.
    run: fn(&[T]) -> Vec<u8>,
    /// The index record of the parts.
    index: fn(&[Part]) -> Vec<u8>,
    boundary: fn(&Keys, &T) -> bool,
    /// The items not yet in a part (all of them while undecided).
    items: Vec<T>,
    /// The encoded size of `items`.
    bytes: usize,
    /// `Some` once the items are known to need parts.
    parts: Option<Vec<Part>>,
}

/// A directory's tree, written as its entries come.
pub type TreeWriter<'a> = Splitter<'a, Entry>;

impl<'a> Splitter<'a, Entry> {
    pub fn tree(keys: &'a Keys) -> Self {
        fn run(r: &[Entry]) -> Vec<u8> {
            #[derive(Serialize)]
            struct TreeOf<'a> {
                entries: &'a [Entry],
            }
            encode(TAG_TREE, TREE_VERSION, &TreeOf { entries: r })
        }
        // Names are cut on their keyed hash: boundaries say nothing of names.
        Splitter::new(keys, run, encode_tree_index, |keys, e| boundary(&keys.id(&e.name)))
    }
}

impl<'a> Splitter<'a, Piece> {
    pub fn chunk_list(keys: &'a Keys) -> Self {
        fn run(r: &[Piece]) -> Vec<u8> {
            encode(TAG_CHUNK_LIST, CHUNK_LIST_VERSION, &r)
        }
        // Chunk ids are keyed hashes already; a hole is never a boundary.
        Splitter::new(keys, run, encode_chunk_list_index, |_, p| p.id().is_some_and(|id| boundary(&id)))
    }
}

impl<'a, T: Serialize> Splitter<'a, T> {
    fn new(
        keys: &'a Keys,
        run: fn(&[T]) -> Vec<u8>,
        index: fn(&[Part]) -> Vec<u8>,
        boundary: fn(&Keys, &T) -> bool,
    ) -> Self {
        Splitter { keys, run, index, boundary, items: Vec::new(), bytes: 0, parts: None }
    }

    fn size(item: &T) -> usize {
        postcard::experimental::serialized_size(item).expect("sizing an encodable value")
    }

    /// Takes the next item; returns the records of the parts it completed.
    pub fn push(&mut self, item: T) -> Vec<(Id, Vec<u8>)> {
        if self.parts.is_none() {
            self.bytes += Self::size(&item);
            self.items.push(item);
            // The whole record would be larger still: parts it is.
            if self.bytes > PART_MAX {
                return self.start_parts();
            }
            return Vec::new();
        }
        let mut out = Vec::new();
        self.cut_before(&item, &mut out);
        self.bytes += Self::size(&item);
        let ends = self.bytes >= PART_MIN && (self.boundary)(self.keys, &item);
        self.items.push(item);
        if ends {
            self.cut(&mut out);
        }
        out
    }

    /// Cuts the run before `item` if it would take the run past `PART_MAX`.
    fn cut_before(&mut self, item: &T, out: &mut Vec<(Id, Vec<u8>)>) {
        if self.bytes + Self::size(item) > PART_MAX && !self.items.is_empty() {
            self.cut(out);
        }
    }

    /// Stores the held run as a part.
    fn cut(&mut self, out: &mut Vec<(Id, Vec<u8>)>) {
        let plain = (self.run)(&self.items);
        let id = self.keys.id(&plain);
        self.parts.get_or_insert_with(Vec::new).push(Part { id, items: self.items.len() as u64 });
        out.push((id, plain));
        self.items.clear();
        self.bytes = 0;
    }

    /// Switches to parts: the held items go through the cuts one by one.
    fn start_parts(&mut self) -> Vec<(Id, Vec<u8>)> {
        self.parts = Some(Vec::new());
        self.bytes = 0;
        let mut out = Vec::new();
        for item in std::mem::take(&mut self.items) {
            out.extend(self.push(item));
        }
        out
    }

    /// The records still to store; the last is the one to refer to.
    pub fn finish(mut self) -> Vec<(Id, Vec<u8>)> {
        let mut out = Vec::new();
        if self.parts.is_none() {
            let whole = (self.run)(&self.items);
            if whole.len() <= PART_MAX {
                return vec![(self.keys.id(&whole), whole)];
            }
            out = self.start_parts();
        }
        if !self.items.is_empty() {
            self.cut(&mut out);
        }
        let plain = (self.index)(self.parts.as_deref().unwrap_or_default());
        out.push((self.keys.id(&plain), plain));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::hex;
    use crate::format::tree::{decode_chunk_list_stored, Kind, Tree};

    fn keys() -> Keys {
        Keys::new([1; 32], None)
    }

    fn entries(n: usize, extra: &str) -> Vec<Entry> {
        let mut v: Vec<Entry> = (0..n)
            .map(|i| Entry { user: "someone".into(), ..Entry::new(format!("file-{i:08}").into_bytes(), Kind::File) })
            .collect();
        if !extra.is_empty() {
            v.push(Entry::new(extra.as_bytes().to_vec(), Kind::File));
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Reassembles what `tree_records` stored.
    fn read_back(records: &[(Id, Vec<u8>)]) -> Vec<Entry> {
        let (_, top) = records.last().unwrap();
        match Tree::decode_stored(top).unwrap() {
            Stored::Whole(t) => t.entries,
            Stored::Parts(parts) => parts
                .iter()
                .flat_map(|p| {
                    let (_, plain) = records.iter().find(|(id, _)| *id == p.id).unwrap();
                    let t = Tree::decode(plain).unwrap();
                    assert_eq!(t.entries.len() as u64, p.items);
                    t.entries
                })
                .collect(),
        }
    }

    #[test]
    fn small_trees_are_stored_whole() {
        let e = entries(1000, "");
        let r = tree_records(&e, &keys());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1, Tree { entries: e }.encode(), "the same record as before parts existed");
    }

    #[test]
    fn large_trees_are_cut_into_bounded_parts_that_read_back() {
        let e = entries(300_000, "");
        let r = tree_records(&e, &keys());
        assert!(r.len() > 3, "{} records", r.len());
        for (_, plain) in &r {
            assert!(plain.len() <= PART_MAX + 64, "part of {} bytes", plain.len());
        }
        // (The last part holds what is left; the index follows it.)
        assert!(r[..r.len() - 2].iter().all(|(_, p)| p.len() >= PART_MIN), "parts are not tiny");
        assert_eq!(read_back(&r), e);
    }

    #[test]
    fn an_added_entry_changes_few_parts() {
        let (a, b) = (entries(300_000, ""), entries(300_000, "file-00150000a"));
        let ids = |e: &[Entry]| tree_records(e, &keys()).into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        let (ra, rb) = (ids(&a), ids(&b));
        let changed = rb.iter().filter(|id| !ra.contains(id)).count();
        assert!(changed <= 3, "{changed} of {} records changed", rb.len());
    }

    #[test]
    fn large_chunk_lists_are_cut_and_read_back() {
        let k = keys();
        let pieces: Vec<Piece> = (0..600_000u32)
            .map(|i| match i % 7 {
                0 => Piece::Hole { len: 4096 },
                _ => Piece::Data { id: k.id(&i.to_le_bytes()), len: i },
            })
            .collect();
        let r = chunk_list_records(&pieces, &k);
        assert!(r.len() > 3);
        let Stored::Parts(parts) = decode_chunk_list_stored(&r.last().unwrap().1).unwrap() else { panic!("in parts") };
        let mut back = Vec::new();
        for p in &parts {
            let (_, plain) = r.iter().find(|(id, _)| *id == p.id).unwrap();
            let Stored::Whole(run) = decode_chunk_list_stored(plain).unwrap() else { panic!("a part is whole") };
            back.extend(run);
        }
        assert_eq!(back, pieces);
    }

    #[test]
    fn golden_bytes() {
        let parts = [Part { id: Id([7; 32]), items: 300 }];
        let id = "07".repeat(32);
        assert_eq!(hex(&encode_tree_index(&parts)), format!("540301{id}ac02"));
        assert_eq!(hex(&encode_chunk_list_index(&parts)), format!("4c0201{id}ac02"));
    }
}
