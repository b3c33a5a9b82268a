//! A tree is one directory: its entries sorted by name bytes. The encoding is
//! deterministic, so an unchanged directory gets the same id in every snapshot
//! and a diff can skip it whole. A chunk list too long to keep inline (large
//! files) is stored as its own object, referenced by id.

use super::parts::{decode_index, Stored};
use super::{decode, encode, Time, CHUNK_LIST_VERSION, TAG_CHUNK_LIST, TAG_TREE, TREE_VERSION};
use super::{CHUNK_LIST_PARTS_VERSION, TREE_PARTS_VERSION};
use crate::crypto::Id;
use crate::error::{Error, Result};

/// A file keeps at most this many pieces inline; more go to a chunk list
/// object (about 36 bytes a piece, so trees stay small).
pub const INLINE_PIECES_MAX: usize = 512;

/// Directories nest at most this deep in a snapshot: backup leaves deeper
/// ones out, each a failed entry. Far beyond any real tree (its paths pass
/// PATH_MAX: no tool working by paths, rsync from the mount included, could
/// reach its bottom), and what bounds the stack of every recursive walk of
/// a tree (see `main.rs`).
pub const DEPTH_MAX: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    CharDev,
    BlockDev,
}

/// One run of a file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Piece {
    Data {
        id: Id,
        len: u32,
    },
    /// A hole of a sparse file: zeros, neither read nor stored.
    Hole {
        len: u64,
    },
}

impl Piece {
    pub fn len(&self) -> u64 {
        match *self {
            Piece::Data { len, .. } => len as u64,
            Piece::Hole { len } => len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The chunk holding the piece's data; `None` for a hole.
    pub fn id(&self) -> Option<Id> {
        match *self {
            Piece::Data { id, .. } => Some(id),
            Piece::Hole { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Content {
    Inline(Vec<Piece>),
    /// A chunk list object holding `pieces` pieces.
    List {
        id: Id,
        pieces: u64,
    },
}

impl Default for Content {
    fn default() -> Self {
        Content::Inline(Vec::new())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Raw name bytes: never assumed to be UTF-8.
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Owner names at backup time, empty when unknown.
    pub user: String,
    pub group: String,
    pub mtime: Time,
    pub ctime: Time,
    pub size: u64,
    /// Source device and inode: change detection, and the hardlink group
    /// (entries of one snapshot with equal `(dev, ino)` and `nlink > 1`).
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    /// Device number of a character or block device.
    pub rdev: u64,
    /// Symlink target bytes.
    pub target: Vec<u8>,
    /// Extended attributes sorted by name (ACLs and capabilities included).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub content: Content,
    pub subtree: Option<Id>,
    /// A regular file's plain BLAKE3 hash (what `b3sum` prints), taken while
    /// it was read; `None` in trees written before version 2, and for files
    /// whose holes were too large to hash (`HASH_HOLES_MAX`).
    pub hash: Option<[u8; 32]>,
}

/// A file with more than this many bytes of holes gets no content hash:
/// the zeros would have to be hashed, at a few GB/s.
pub const HASH_HOLES_MAX: u64 = 64 << 30;

impl Entry {
    pub fn new(name: Vec<u8>, kind: Kind) -> Entry {
        Entry {
            name,
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            user: String::new(),
            group: String::new(),
            mtime: Time::default(),
            ctime: Time::default(),
            size: 0,
            dev: 0,
            ino: 0,
            nlink: 1,
            rdev: 0,
            target: Vec::new(),
            xattrs: Vec::new(),
            content: Content::default(),
            subtree: None,
            hash: None,
        }
    }

    /// The hardlink group key, for entries that share an inode.
    pub fn link_group(&self) -> Option<(u64, u64)> {
        (self.kind != Kind::Dir && self.nlink > 1).then_some((self.dev, self.ino))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tree {
    pub entries: Vec<Entry>,
}

impl Tree {
    /// Sorts entries by name bytes: the canonical order.
    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn find(&self, name: &[u8]) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.name.as_slice().cmp(name)).ok().map(|i| &self.entries[i])
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_TREE, TREE_VERSION, self)
    }

    /// A tree whose entry names are all file names, each once, in byte
    /// order: anything else (`..`, a name with a '/') would lead a restore
    /// out of its target, and names out of order would hide entries from
    /// `find` (a lookup through the mount) while a listing shows them, so
    /// such a tree is as corrupt as one that does not decode.
    pub fn decode(bytes: &[u8]) -> Result<Tree> {
        let tree = if let [TAG_TREE, 1, ..] = bytes {
            let old: v1::Tree = decode("tree", TAG_TREE, 1, bytes)?;
            Tree { entries: old.entries.into_iter().map(Entry::from).collect() }
        } else {
            decode("tree", TAG_TREE, TREE_VERSION, bytes)?
        };
        if let Some(e) = tree.entries.iter().find(|e| !is_file_name(&e.name)) {
            let name = String::from_utf8_lossy(&e.name);
            return Err(Error::corrupt("tree", format!("entry name {name:?} is not a file name")));
        }
        if let Some(w) = tree.entries.windows(2).find(|w| w[0].name >= w[1].name) {
            let (a, b) = (String::from_utf8_lossy(&w[0].name), String::from_utf8_lossy(&w[1].name));
            let what = if w[0].name == w[1].name { "is repeated" } else { "are out of order" };
            return Err(Error::corrupt("tree", format!("entry names {a:?} and {b:?} {what}")));
        }
        Ok(tree)
    }

    /// A tree record as stored: a whole tree, or the index of its parts.
    pub fn decode_stored(bytes: &[u8]) -> Result<Stored<Tree>> {
        match decode_index("tree index", TAG_TREE, TREE_PARTS_VERSION, bytes)? {
            Some(parts) => Ok(Stored::Parts(parts)),
            None => Tree::decode(bytes).map(Stored::Whole),
        }
    }
}

/// Whether `name` can name an entry in a directory: not empty, `.` or
/// `..`, and without '/' or NUL.
fn is_file_name(name: &[u8]) -> bool {
    !matches!(name, b"" | b"." | b"..") && !name.iter().any(|&b| b == b'/' || b == 0)
}

/// Version 1 trees: entries without a content hash.
mod v1 {
    use super::{Content, Id, Kind, Time};

    #[derive(serde::Deserialize)]
    pub struct Tree {
        pub entries: Vec<Entry>,
    }

    #[derive(serde::Deserialize)]
    pub struct Entry {
        pub name: Vec<u8>,
        pub kind: Kind,
        pub mode: u32,
        pub uid: u32,
        pub gid: u32,
        pub user: String,
        pub group: String,
        pub mtime: Time,
        pub ctime: Time,
        pub size: u64,
        pub dev: u64,
        pub ino: u64,
        pub nlink: u64,
        pub rdev: u64,
        pub target: Vec<u8>,
        pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
        pub content: Content,
        pub subtree: Option<Id>,
    }
}

impl From<v1::Entry> for Entry {
    fn from(e: v1::Entry) -> Entry {
        let v1::Entry {
            name,
            kind,
            mode,
            uid,
            gid,
            user,
            group,
            mtime,
            ctime,
            size,
            dev,
            ino,
            nlink,
            rdev,
            target,
            xattrs,
            content,
            subtree,
        } = e;
        Entry {
            name,
            kind,
            mode,
            uid,
            gid,
            user,
            group,
            mtime,
            ctime,
            size,
            dev,
            ino,
            nlink,
            rdev,
            target,
            xattrs,
            content,
            subtree,
            hash: None,
        }
    }
}

/// The path of `name` in the directory at `dir`: names joined by '/', the
/// empty path being the tree's root.
pub fn join_path(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        name.to_vec()
    } else {
        [dir, b"/", name].concat()
    }
}

/// A chunk list object: the pieces of one large file.
pub fn encode_chunk_list(pieces: &[Piece]) -> Vec<u8> {
    encode(TAG_CHUNK_LIST, CHUNK_LIST_VERSION, &pieces)
}

pub fn decode_chunk_list(bytes: &[u8]) -> Result<Vec<Piece>> {
    decode("chunk list", TAG_CHUNK_LIST, CHUNK_LIST_VERSION, bytes)
}

/// A chunk list record as stored: a whole list, or the index of its parts.
pub fn decode_chunk_list_stored(bytes: &[u8]) -> Result<Stored<Vec<Piece>>> {
    match decode_index("chunk list index", TAG_CHUNK_LIST, CHUNK_LIST_PARTS_VERSION, bytes)? {
        Some(parts) => Ok(Stored::Parts(parts)),
        None => decode_chunk_list(bytes).map(Stored::Whole),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::format::testing::hex;
    use proptest::prelude::*;

    pub fn sample_entry() -> Entry {
        Entry {
            mode: 0o4755,
            uid: 1000,
            gid: 100,
            user: "u".into(),
            group: "g".into(),
            mtime: Time { secs: 1, nanos: 2 },
            ctime: Time { secs: 3, nanos: 4 },
            size: 5,
            dev: 6,
            ino: 7,
            nlink: 2,
            xattrs: vec![(b"user.a".to_vec(), b"v".to_vec())],
            content: Content::Inline(vec![Piece::Data { id: Id([9; 32]), len: 5 }, Piece::Hole { len: 4096 }]),
            ..Entry::new(b"f\xff".to_vec(), Kind::File)
        }
    }

    #[test]
    fn golden_bytes() {
        let v1 = "5401010266ff00ed13e8076401750167020206040506070200000106757365722e61017600020009090909090909090909090909090909090909090909090909090909090909090501802000";
        let t = Tree { entries: vec![sample_entry()] };
        assert_eq!(
            Tree::decode(&crate::crypto::unhex(v1).unwrap()).unwrap(),
            t,
            "version 1 trees decode, without a hash"
        );
        let hashed = Tree { entries: vec![Entry { hash: Some([3; 32]), ..sample_entry() }] };
        let v2 = format!("5402{}{}", &v1[4..], "01".to_string() + &"03".repeat(32));
        assert_eq!(hex(&hashed.encode()), v2);
        assert_eq!(hex(&t.encode()), format!("5402{}00", &v1[4..]));
        assert_eq!(hex(&encode_chunk_list(&[Piece::Hole { len: 1 }])), "4c01010101");
    }

    #[test]
    fn find_uses_byte_order() {
        let mut t = Tree {
            entries: [&b"b"[..], b"a", b"\xff", b"B"].iter().map(|n| Entry::new(n.to_vec(), Kind::File)).collect(),
        };
        t.sort();
        let names: Vec<&[u8]> = t.entries.iter().map(|e| &e.name[..]).collect();
        assert_eq!(names, vec![&b"B"[..], b"a", b"b", b"\xff"]);
        assert!(t.find(b"\xff").is_some());
        assert!(t.find(b"c").is_none());
    }

    fn arb_piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            (any::<[u8; 32]>(), any::<u32>()).prop_map(|(i, len)| Piece::Data { id: Id(i), len }),
            any::<u64>().prop_map(|len| Piece::Hole { len }),
        ]
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        (
            proptest::collection::vec(any::<u8>(), 1..20).prop_filter("a file name", |n| is_file_name(n)),
            any::<u32>(),
            any::<(i64, u32, u64, u64)>(),
            proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..8), proptest::collection::vec(any::<u8>(), 0..8)),
                0..3,
            ),
            proptest::collection::vec(arb_piece(), 0..5),
            proptest::option::of(any::<[u8; 32]>()),
            proptest::collection::vec(any::<u8>(), 0..10),
            proptest::option::of(any::<[u8; 32]>()),
        )
            .prop_map(|(name, mode, (s, n, size, ino), xattrs, pieces, sub, target, hash)| Entry {
                mode,
                mtime: Time { secs: s, nanos: n },
                size,
                ino,
                xattrs,
                content: Content::Inline(pieces),
                subtree: sub.map(Id),
                target,
                hash,
                ..Entry::new(name, Kind::Symlink)
            })
    }

    #[test]
    fn a_tree_whose_names_are_not_file_names_is_corrupt() {
        for bad in [&b""[..], b".", b"..", b"../etc", b"a/b", b"/", b"a\0b"] {
            let t = Tree { entries: vec![Entry::new(bad.to_vec(), Kind::File)] };
            let e = Tree::decode(&t.encode()).unwrap_err().to_string();
            assert!(e.contains("is not a file name"), "{e}");
        }
        for good in [&b"..."[..], b".a", b"a..", b"\xff\n"] {
            let t = Tree { entries: vec![Entry::new(good.to_vec(), Kind::File)] };
            assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
        }
    }

    #[test]
    fn a_tree_whose_names_are_out_of_order_or_repeated_is_corrupt() {
        let tree =
            |names: &[&[u8]]| Tree { entries: names.iter().map(|n| Entry::new(n.to_vec(), Kind::File)).collect() };
        let e = Tree::decode(&tree(&[b"a", b"c", b"b"]).encode()).unwrap_err().to_string();
        assert!(e.contains("\"c\" and \"b\" are out of order"), "{e}");
        let e = Tree::decode(&tree(&[b"a", b"b", b"b"]).encode()).unwrap_err().to_string();
        assert!(e.contains("\"b\" and \"b\" is repeated"), "{e}");
        // Byte order, not the locale's: "B" < "a" < "\xff".
        let t = tree(&[b"B", b"a", b"\xff"]);
        assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
    }

    proptest! {
        #[test]
        fn roundtrip(entries in proptest::collection::vec(arb_entry(), 0..6)) {
            let mut t = Tree { entries };
            t.sort();
            t.entries.dedup_by(|a, b| a.name == b.name);
            prop_assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
        }

        #[test]
        fn chunk_list_roundtrip(pieces in proptest::collection::vec(arb_piece(), 0..50)) {
            prop_assert_eq!(decode_chunk_list(&encode_chunk_list(&pieces)).unwrap(), pieces);
        }
    }
}
