//! `check` over the in-memory store: each kind of damage found, named, and
//! attributed to the snapshots and paths that use it, and nothing else.

use super::*;
use crate::format::tree::{encode_chunk_list, Entry, Kind, Tree};
use crate::repo::testing::{chunk_key, keyed, keyless, memory_repo, repo_over, snapshot_of};
use crate::store::{Batch, Durability, MemoryStore, Store};
use std::sync::Arc;

struct Fixture {
    store: Arc<MemoryStore>,
    repo: Repo,
    /// Snapshots a (older) and b.
    a: Id,
    b: Id,
    /// A chunk only a's `d/big` uses (through a chunk list).
    only_a: Id,
    /// A chunk both snapshots' `d/small` use (inline).
    shared: Id,
    /// The chunk list of a's `d/big`, and the tree of `d` in b.
    list: Id,
    b_dir: Id,
    chunks: Vec<Id>,
}

fn put_chunk(repo: &Repo, w: &mut crate::repo::RecordWriter, data: &[u8]) -> Piece {
    let id = repo.keys().id(data);
    if !repo.records().has_chunk(&id).unwrap() {
        w.put_chunk(&id, repo.records().seal(&id, data));
    }
    Piece::Data { id, len: data.len() as u32 }
}

fn put_object(repo: &Repo, w: &mut crate::repo::RecordWriter, plain: Vec<u8>) -> Id {
    let id = repo.keys().id(&plain);
    w.put_object(&id, repo.records().seal(&id, &plain));
    id
}

/// Two snapshots of `d/small` (one shared chunk, inline) and `d/big` (a
/// chunk list; different content in each).
fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let repo = repo_over(store.clone());
    let mut ids = Vec::new();
    let mut snap = |secs: i64, big: &[&[u8]]| {
        let mut w = repo.records().writer();
        let small = put_chunk(&repo, &mut w, b"shared small file");
        let pieces: Vec<Piece> = big.iter().map(|c| put_chunk(&repo, &mut w, c)).collect();
        let list = put_object(&repo, &mut w, encode_chunk_list(&pieces));
        let entries = vec![
            Entry {
                content: Content::List { id: list, pieces: pieces.len() as u64 },
                ..Entry::new(b"big".to_vec(), Kind::File)
            },
            Entry { content: Content::Inline(vec![small]), ..Entry::new(b"small".to_vec(), Kind::File) },
        ];
        let dir = put_object(&repo, &mut w, Tree { entries }.encode());
        let d = Entry { subtree: Some(dir), ..Entry::new(b"d".to_vec(), Kind::Dir) };
        let root = put_object(&repo, &mut w, Tree { entries: vec![d] }.encode());
        w.write().unwrap();
        let (id, _) = snapshot_of(&repo, secs, "h", &[], root);
        ids.push((id, small.id().unwrap(), pieces.iter().filter_map(Piece::id).collect::<Vec<_>>(), list, dir));
        id
    };
    snap(100, &[b"a one", b"a two", b"both"]);
    snap(200, &[b"b one", b"both"]);
    let (a, shared, a_big, list, _) = ids[0].clone();
    let (b, _, b_big, _, b_dir) = ids[1].clone();
    let mut chunks: Vec<Id> = a_big.iter().chain(&b_big).copied().chain([shared]).collect();
    chunks.sort();
    chunks.dedup();
    Fixture { store, repo, a, b, only_a: a_big[0], shared, list, b_dir, chunks }
}

fn check(repo: &Repo, data: Option<Subset>) -> Report {
    run(repo, None, &Options { data, ..Options::default() }, &|_| {}).unwrap()
}

fn kinds(r: &Report) -> Vec<&'static str> {
    r.problems.iter().map(|p| p.kind).collect()
}

fn raw_write(store: &MemoryStore, f: impl FnOnce(&mut Batch)) {
    let mut b = Batch::default();
    f(&mut b);
    store.write(b, Durability::Sync).unwrap();
}

#[test]
fn a_sound_repository_has_no_problems() {
    let f = fixture();
    for data in [None, Some(Subset::All)] {
        let r = check(&f.repo, data);
        assert!(r.sound(), "{r:?}");
        assert_eq!((r.snapshots, r.chunks), (2, f.chunks.len() as u64), "{r:?}");
        // Two roots, two `d`, two chunk lists.
        assert_eq!(r.trees, 6, "{r:?}");
        assert_eq!(r.reclaimable_chunks, 0, "{r:?}");
        let read = if data.is_some() { f.chunks.len() as u64 } else { 0 };
        assert_eq!(r.chunks_read, read, "{r:?}");
    }
    let r = check(&f.repo, None);
    assert!(r.not_checked.iter().any(|n| n.contains("--read-data")), "{r:?}");
}

#[test]
fn what_no_snapshot_reaches_is_reclaimable_not_a_problem() {
    let f = fixture();
    let mut w = f.repo.records().writer();
    put_chunk(&f.repo, &mut w, b"orphan");
    put_object(&f.repo, &mut w, Tree::default().encode());
    w.write().unwrap();
    let r = check(&f.repo, Some(Subset::All));
    assert!(r.sound(), "{r:?}");
    assert_eq!((r.reclaimable_chunks, r.reclaimable_trees), (1, 1), "{r:?}");
}

#[test]
fn a_damaged_chunk_is_found_by_reading_data_with_its_users() {
    let f = fixture();
    let key = chunk_key(&f.repo, &f.only_a);
    let mut rec = f.store.get(Cf::Chunks, &key).unwrap().unwrap();
    let mid = rec.len() / 2;
    rec[mid] ^= 1;
    raw_write(&f.store, |b| b.put(Cf::Chunks, key, rec));
    assert!(check(&f.repo, None).sound(), "the structure check reads no chunk data");
    let r = check(&f.repo, Some(Subset::All));
    assert_eq!(kinds(&r), ["chunk_damaged"], "{r:?}");
    let p = &r.problems[0];
    assert_eq!(p.id.as_deref(), Some(f.only_a.to_hex().as_str()));
    assert_eq!(p.snapshots, [f.a.to_hex()]);
    assert_eq!(p.paths, ["/d/big"]);
}

#[test]
fn a_key_derived_meanwhile_gives_the_report_of_a_key_given_at_open() {
    let f = fixture();
    let key = chunk_key(&f.repo, &f.only_a);
    let mut rec = f.store.get(Cf::Chunks, &key).unwrap().unwrap();
    rec[10] ^= 1;
    raw_write(&f.store, |b| b.put(Cf::Chunks, key, rec));
    let given = check(&f.repo, Some(Subset::All));
    let opts = Options { data: Some(Subset::All), ..Options::default() };
    let unlock: Unlock = Box::new(|| Ok(keyed(&f.repo)));
    let later = run(&keyless(&f.repo), Some(unlock), &opts, &|_| {}).unwrap();
    assert_eq!(kinds(&later), ["chunk_damaged"], "{later:?}");
    assert_eq!(format!("{given:?}"), format!("{later:?}"));
    let refused: Unlock = Box::new(|| Err(Error::Invalid("wrong password".into())));
    assert!(run(&keyless(&f.repo), Some(refused), &opts, &|_| {}).unwrap_err().to_string().contains("wrong password"));
}

#[test]
fn a_missing_chunk_record_names_every_snapshot_and_path_using_it() {
    let f = fixture();
    raw_write(&f.store, |b| b.delete(Cf::Chunks, chunk_key(&f.repo, &f.shared)));
    let r = check(&f.repo, None);
    assert_eq!(kinds(&r), ["chunk_missing"], "{r:?}");
    let p = &r.problems[0];
    assert_eq!(p.id.as_deref(), Some(f.shared.to_hex().as_str()));
    assert_eq!(p.snapshots, [f.a.to_hex(), f.b.to_hex()]);
    assert_eq!(p.paths, ["/d/small"]);
    assert_eq!(p.uses, 2);
    // Reading data does not report it twice.
    assert_eq!(kinds(&check(&f.repo, Some(Subset::All))), ["chunk_missing"]);
}

#[test]
fn a_missing_index_entry_is_one_problem() {
    let f = fixture();
    raw_write(&f.store, |b| b.delete(Cf::ChunkIndex, f.only_a.0.to_vec()));
    let r = check(&f.repo, Some(Subset::All));
    assert_eq!(kinds(&r), ["chunk_unindexed"], "{r:?}");
    let p = &r.problems[0];
    assert_eq!(p.id.as_deref(), Some(f.only_a.to_hex().as_str()));
    assert!(p.detail.contains("record is stored"), "{p:?}");
    assert_eq!((p.snapshots.as_slice(), p.paths.as_slice()), (&[f.a.to_hex()][..], &["/d/big".to_string()][..]));
}

#[test]
fn a_damaged_tree_and_a_missing_one_name_their_snapshots() {
    let f = fixture();
    let mut rec = f.store.get(Cf::Trees, &f.b_dir.0).unwrap().unwrap();
    rec[4] ^= 0x10;
    raw_write(&f.store, |b| b.put(Cf::Trees, f.b_dir.0.to_vec(), rec));
    let r = check(&f.repo, None);
    assert_eq!(kinds(&r), ["tree_damaged"], "{r:?}");
    assert_eq!(r.problems[0].id.as_deref(), Some(f.b_dir.to_hex().as_str()));
    assert_eq!(r.problems[0].snapshots, [f.b.to_hex()]);
    assert_eq!(r.problems[0].paths, ["/d"]);

    let f = fixture();
    raw_write(&f.store, |b| b.delete(Cf::Trees, f.list.0.to_vec()));
    let r = check(&f.repo, None);
    assert_eq!(kinds(&r), ["chunk_list_missing"], "{r:?}");
    assert_eq!(
        (r.problems[0].snapshots.clone(), r.problems[0].paths.clone()),
        (vec![f.a.to_hex()], vec!["/d/big".into()])
    );

    let f = fixture();
    let lost = Id([7; 32]);
    let (c, _) = snapshot_of(&f.repo, 300, "h", &[], lost);
    let r = check(&f.repo, None);
    assert_eq!(kinds(&r), ["tree_missing"], "{r:?}");
    assert_eq!(r.problems[0].id.as_deref(), Some(lost.to_hex().as_str()));
    assert_eq!(r.problems[0].snapshots, [c.to_hex()]);
}

#[test]
fn subsets_partition_the_chunks() {
    let f = fixture();
    // Damage every chunk record: each part must find exactly its own.
    for id in &f.chunks {
        let key = chunk_key(&f.repo, id);
        let mut rec = f.store.get(Cf::Chunks, &key).unwrap().unwrap();
        rec[3] ^= 1;
        raw_write(&f.store, |b| b.put(Cf::Chunks, key, rec));
    }
    let mut found = Vec::new();
    let mut read = 0;
    for n in 1..=3 {
        let r = check(&f.repo, Some(Subset::Part { n, of: 3 }));
        assert_eq!(r.chunks_read as usize, r.problems.len(), "{r:?}");
        read += r.chunks_read;
        found.extend(r.problems.iter().map(|p| p.id.clone().unwrap()));
    }
    assert_eq!(read, f.chunks.len() as u64);
    found.sort();
    let mut all: Vec<String> = f.chunks.iter().map(Id::to_hex).collect();
    all.sort();
    assert_eq!(found, all, "every chunk in exactly one part");
    assert_eq!(check(&f.repo, Some(Subset::Share(1.0))).chunks_read, f.chunks.len() as u64);
    assert_eq!(check(&f.repo, Some(Subset::Bytes(u64::MAX))).chunks_read, f.chunks.len() as u64);
}

#[test]
fn without_the_key_checksums_are_verified_and_the_rest_is_said() {
    let f = fixture();
    let r = check(&keyless(&f.repo), None);
    assert!(r.sound() && r.keyless, "{r:?}");
    assert_eq!(r.chunks_read, f.chunks.len() as u64, "without the key, all records are verified");
    assert!(r.not_checked.iter().any(|n| n.contains("without the password")), "{r:?}");

    let key = chunk_key(&f.repo, &f.shared);
    let mut rec = f.store.get(Cf::Chunks, &key).unwrap().unwrap();
    rec[5] ^= 1;
    raw_write(&f.store, |b| b.put(Cf::Chunks, key, rec));
    let mut tree = f.store.get(Cf::Trees, &f.b_dir.0).unwrap().unwrap();
    tree[4] ^= 1;
    raw_write(&f.store, |b| b.put(Cf::Trees, f.b_dir.0.to_vec(), tree));
    let r = check(&keyless(&f.repo), None);
    let mut k = kinds(&r);
    k.sort();
    assert_eq!(k, ["chunk_damaged", "tree_damaged"], "{r:?}");
    let err =
        run(&keyless(&f.repo), None, &Options { host: Some("h".into()), ..Options::default() }, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("--host"), "{err}");
}

#[test]
fn max_age_fails_a_stale_repository() {
    let repo = memory_repo();
    let opts = |secs: u64, host: Option<&str>| Options {
        max_age: Some(std::time::Duration::from_secs(secs)),
        host: host.map(String::from),
        ..Options::default()
    };
    let r = run(&repo, None, &opts(3600, None), &|_| {}).unwrap();
    assert_eq!(kinds(&r), ["stale"], "no snapshot at all: {r:?}");
    let now = Time::now().secs;
    crate::repo::testing::snapshot(&repo, now - 7200, "old", &[]);
    crate::repo::testing::snapshot(&repo, now - 60, "new", &[]);
    assert!(run(&repo, None, &opts(3600, None), &|_| {}).unwrap().sound());
    let r = run(&repo, None, &opts(3600, Some("old")), &|_| {}).unwrap();
    assert_eq!(kinds(&r), ["stale"], "{r:?}");
    assert!(r.problems[0].detail.contains("host old"), "{r:?}");
    assert!(run(&repo, None, &opts(3 * 3600, Some("old")), &|_| {}).unwrap().sound());
    assert!(run(&keyless(&repo), None, &opts(3600, None), &|_| {}).unwrap().sound(), "keyless reads times from keys");
}

#[test]
fn subsets_parse() {
    assert_eq!("2/7".parse::<Subset>(), Ok(Subset::Part { n: 2, of: 7 }));
    assert_eq!("10%".parse::<Subset>(), Ok(Subset::Share(0.1)));
    assert_eq!("5G".parse::<Subset>(), Ok(Subset::Bytes(5 << 30)));
    assert_eq!("512MiB".parse::<Subset>(), Ok(Subset::Bytes(512 << 20)));
    assert_eq!("4096".parse::<Subset>(), Ok(Subset::Bytes(4096)));
    for bad in ["0/3", "4/3", "0%", "101%", "x", "3/0", "5Q", ""] {
        assert!(bad.parse::<Subset>().is_err(), "{bad}");
    }
}
