//! `strata check` on real repositories: clean ones pass, and damage made
//! here (in the store's files and in its records) is found, named with the
//! snapshots and paths that use it, and nothing else is reported.

use crate::util::{tree, Repo, Run, PASSWORD};
use serde_json::Value;
use std::path::{Path, PathBuf};
use strata::crypto::Id;
use strata::format::tree::{Content, Piece};
use strata::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};

/// A repository with small chunks (so a 4 MiB file needs a chunk list).
fn small_chunk_repo() -> Repo {
    let r = Repo::uninit();
    r.run(&[
        "init",
        "--kdf-memory",
        "64",
        "--kdf-iterations",
        "1",
        "--chunk-min",
        "1024",
        "--chunk-avg",
        "4096",
        "--chunk-max",
        "16384",
    ])
    .ok();
    r
}

/// A source with a large file (a chunk list), a directory of 1500 files,
/// hardlinks, a symlink and a victim file; backed up
/// twice with a change between.
fn backed_up() -> (Repo, PathBuf) {
    let repo = small_chunk_repo();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("many")).unwrap();
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("large"), tree::random(1, 4 << 20)).unwrap();
    for i in 0..1500 {
        std::fs::write(src.join("many").join(format!("file-with-a-long-name-{i:05}")), format!("{i}\n")).unwrap();
    }
    std::fs::write(src.join("sub/victim"), tree::random(2, 64 << 10)).unwrap();
    std::fs::hard_link(src.join("sub/victim"), src.join("victim-link")).unwrap();
    std::os::unix::fs::symlink("sub/victim", src.join("symlink")).unwrap();
    std::fs::write(src.join("changing"), b"one").unwrap();
    repo.backup(&[&src], &[]);
    std::fs::write(src.join("changing"), b"two").unwrap();
    repo.backup(&[&src], &[]);
    (repo, src)
}

fn check(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["check", "--json"];
    a.extend_from_slice(args);
    let r = repo.run(&a);
    let report = r.json();
    assert!(report.is_object(), "no report ({}):\n{}\n{}", r.code, r.stdout, r.stderr);
    (r.code, report)
}

fn kinds(report: &Value) -> Vec<String> {
    report["problems"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap().to_string()).collect()
}

fn snapshot_ids(repo: &Repo) -> Vec<String> {
    repo.snapshots().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

fn open(repo: &Repo) -> strata::repo::Repo {
    let pw = || Ok(PASSWORD.as_bytes().to_vec());
    strata::repo::Repo::open(&repo.path, strata::repo::Access::Read, &pw).unwrap()
}

/// The latest snapshot's entry at `path` (absolute).
fn entry(repo: &Repo, path: &Path) -> strata::format::tree::Entry {
    let r = open(repo);
    let (_, s) = r.resolve("latest").unwrap();
    let rel = path.to_str().unwrap().trim_start_matches('/');
    r.lookup(&s.tree, rel.as_bytes()).unwrap().expect("backed-up path")
}

fn chunks_of(repo: &Repo, path: &Path) -> Vec<Id> {
    let pieces = match entry(repo, path).content {
        Content::Inline(p) => p,
        Content::List { id, .. } => open(repo).chunk_list(&id).unwrap(),
    };
    pieces.iter().filter_map(Piece::id).collect()
}

/// Writes to the store directly, as damage would.
fn raw(repo: &Repo, f: impl FnOnce(&RocksStore, &mut Batch)) {
    let store = RocksStore::open(&repo.path.join("db"), OpenMode::Write).unwrap();
    let mut b = Batch::default();
    f(&store, &mut b);
    store.write(b, Durability::Sync).unwrap();
}

/// The chunks-family key of a chunk's record: its write order (in the
/// index entry, after the length) and its id.
fn chunk_key(store: &RocksStore, id: &Id) -> Vec<u8> {
    let entry = store.get(Cf::ChunkIndex, &id.0).unwrap().unwrap();
    [&entry[4..12], &id.0[..]].concat()
}

fn files(repo: &Path, cf: Cf, kind: strata::store::files::FileKind) -> Vec<PathBuf> {
    let c = strata::store::Checker::open(&repo.join("db")).unwrap();
    c.files(&[cf]).unwrap().into_iter().filter(|f| f.kind == kind).map(|f| f.path).collect()
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

/// One problem of `kind` about `id`, used by `snapshots` at `paths`, and
/// nothing else.
#[track_caller]
fn only(report: &Value, kind: &str, id: &Id, snapshots: &[String], paths: &[&Path]) {
    assert_eq!(kinds(report), [kind], "{report:#}");
    let p = &report["problems"][0];
    assert_eq!(p["id"], id.to_hex(), "{report:#}");
    let mut got: Vec<&str> = p["snapshots"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    got.sort();
    let mut want: Vec<&str> = snapshots.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want, "{report:#}");
    let mut got: Vec<&str> = p["paths"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    got.sort();
    let mut want: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    want.sort();
    assert_eq!(got, want, "{report:#}");
}

#[test]
fn a_sound_repository_checks_clean_with_and_without_data() {
    let (repo, _) = backed_up();
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["snapshots"], 2);
    assert!(r["trees"].as_u64().unwrap() >= 4, "{r:#}");
    assert!(r["table_files"].as_u64().unwrap() > 0 && r["blob_files"].as_u64().unwrap() > 0, "{r:#}");
    assert_eq!(r["chunks_read"], 0);
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["chunks_read"], r["chunks"], "{r:#}");
    assert!(r["bytes_read"].as_u64().unwrap() >= r["chunk_bytes"].as_u64().unwrap(), "{r:#}");
    let text = repo.run(&["check", "--read-data"]).ok().stdout;
    assert!(text.contains("no problems found") && text.contains("read data (all)"), "{text}");
}

/// Flips a byte of chunk `id`'s record, found in the chunks' blob files by
/// its id (in its key).
fn damage_chunk(repo: &Repo, id: &Id) {
    let mut hit = false;
    for f in files(&repo.path, Cf::Chunks, strata::store::files::FileKind::Blob) {
        let b = std::fs::read(&f).unwrap();
        if let Some(pos) = b.windows(32).position(|w| w == id.0) {
            flip(&f, pos + 32 + 100);
            hit = true;
        }
    }
    assert!(hit, "the record is in a blob file");
}

/// Flips a bit in the middle of tree `id`'s record.
fn damage_tree(repo: &Repo, id: &Id) {
    raw(repo, |s, b| {
        let mut rec = s.get(Cf::Trees, &id.0).unwrap().unwrap();
        let mid = rec.len() / 2;
        rec[mid] ^= 1;
        b.put(Cf::Trees, id.0.to_vec(), rec);
    });
}

#[test]
fn a_flipped_byte_in_a_blob_file_names_the_chunk_its_snapshots_and_paths() {
    let (repo, src) = backed_up();
    let victim = chunks_of(&repo, &src.join("sub/victim"))[0];
    damage_chunk(&repo, &victim);
    assert_eq!(check(&repo, &[]).0, 0, "the structure check reads no data");
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 1);
    let ids = snapshot_ids(&repo);
    only(&r, "chunk_damaged", &victim, &ids, &[&src.join("sub/victim"), &src.join("victim-link")]);
    assert!(r["problems"][0]["detail"].as_str().unwrap().contains(".blob"), "{r:#}");
    let text = repo.run(&["check", "--read-data"]).stdout;
    assert!(text.contains(&victim.to_hex()) && text.contains("sub/victim") && text.contains("1 problems"), "{text}");
}

#[test]
fn a_removed_chunk_record_or_index_entry_is_named_with_its_users() {
    let (repo, src) = backed_up();
    let large = chunks_of(&repo, &src.join("large"));
    let ids = snapshot_ids(&repo);
    raw(&repo, |s, b| b.delete(Cf::Chunks, chunk_key(s, &large[7])));
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    only(&r, "chunk_missing", &large[7], &ids, &[&src.join("large")]);
    // Not reported twice when reading the data.
    let (_, r) = check(&repo, &["--read-data"]);
    assert_eq!(kinds(&r), ["chunk_missing"], "{r:#}");

    raw(&repo, |_, b| b.delete(Cf::ChunkIndex, large[9].0.to_vec()));
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    let mut k = kinds(&r);
    k.sort();
    assert_eq!(k, ["chunk_missing", "chunk_unindexed"], "{r:#}");
    let p = r["problems"].as_array().unwrap().iter().find(|p| p["kind"] == "chunk_unindexed").unwrap();
    assert_eq!(p["id"], large[9].to_hex());
    assert_eq!(p["paths"][0], src.join("large").to_str().unwrap());
}

#[test]
fn a_damaged_tree_or_a_missing_one_names_its_snapshots() {
    let (repo, src) = backed_up();
    let ids = snapshot_ids(&repo);
    // The tree of `sub` is the same in both snapshots.
    let sub = entry(&repo, &src.join("sub")).subtree.unwrap();
    damage_tree(&repo, &sub);
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    only(&r, "tree_damaged", &sub, &ids, &[&src.join("sub")]);

    // The latest snapshot's root is its own (`changing` changed).
    let (repo, _) = backed_up();
    let ids = snapshot_ids(&repo);
    let root = open(&repo).resolve("latest").unwrap().1.tree;
    raw(&repo, |_, b| b.delete(Cf::Trees, root.0.to_vec()));
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    only(&r, "tree_missing", &root, &ids[1..], &[Path::new("/")]);
}

#[test]
fn flipped_bytes_in_table_files_and_blob_file_framing_are_found() {
    use strata::store::files::FileKind;
    let (repo, _) = backed_up();
    let tables = files(&repo.path, Cf::ChunkIndex, FileKind::Table);
    let t = &tables[0];
    let len = std::fs::metadata(t).unwrap().len() as usize;
    flip(t, len / 3);
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    let p = r["problems"].as_array().unwrap().iter().find(|p| p["kind"] == "table_file_damaged");
    assert!(p.is_some_and(|p| p["file"] == t.to_str().unwrap()), "{r:#}");

    // The footer of a blob file of the chunks, and the header of one of
    // the trees (the big directory's tree is there).
    let (repo, _) = backed_up();
    let blob = &files(&repo.path, Cf::Chunks, FileKind::Blob)[0];
    let len = std::fs::metadata(blob).unwrap().len() as usize;
    flip(blob, len - 10);
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 1);
    assert!(kinds(&r).contains(&"blob_file_damaged".to_string()), "{r:#}");
    // A directory big enough that its tree, compressed, is over the 64 KiB
    // that RocksDB keeps inline.
    let (repo, src) = backed_up();
    let wide = src.join("wide");
    std::fs::create_dir(&wide).unwrap();
    for i in 0..6000u64 {
        let name = strata::crypto::hex(&tree::random(i, 12));
        std::fs::write(wide.join(name), i.to_string()).unwrap();
    }
    repo.backup(&[&src], &[]);
    let trees = files(&repo.path, Cf::Trees, FileKind::Blob);
    assert!(!trees.is_empty(), "a tree of 6000 entries is in a blob file");
    flip(&trees[0], 14);
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    assert!(kinds(&r).contains(&"blob_file_damaged".to_string()), "{r:#}");
}

#[test]
fn subsets_read_every_chunk_exactly_once() {
    let (repo, src) = backed_up();
    let victim = chunks_of(&repo, &src.join("sub/victim"))[0];
    raw(&repo, |s, b| {
        let key = chunk_key(s, &victim);
        let mut rec = s.get(Cf::Chunks, &key).unwrap().unwrap();
        rec[40] ^= 1;
        b.put(Cf::Chunks, key, rec);
    });
    let (_, full) = check(&repo, &["--read-data"]);
    assert_eq!(kinds(&full), ["chunk_damaged"], "{full:#}");
    let (mut read, mut bytes, mut found) = (0, 0, 0);
    for part in ["1/3", "2/3", "3/3"] {
        let (code, r) = check(&repo, &["--read-data-subset", part]);
        read += r["chunks_read"].as_u64().unwrap();
        bytes += r["bytes_read"].as_u64().unwrap();
        found += r["problems"].as_array().unwrap().len();
        assert_eq!(code, if r["problems"].as_array().unwrap().is_empty() { 0 } else { 1 });
        assert_eq!(r["read_data"], part);
    }
    assert_eq!(read, full["chunks"].as_u64().unwrap());
    assert_eq!(bytes, full["chunk_bytes"].as_u64().unwrap());
    assert_eq!(found, 1, "the damaged chunk is in exactly one part");
    let (_, r) = check(&repo, &["--read-data-subset", "100%"]);
    assert_eq!(r["chunks_read"], full["chunks"]);
    let r = repo.run(&["check", "--read-data-subset", "4/3"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("4/3"), "{}", r.stderr);
}

#[test]
fn a_copy_checked_without_the_password_finds_a_flipped_byte() {
    let (repo, src) = backed_up();
    let victim = chunks_of(&repo, &src.join("large"))[3];
    let copy = repo.scratch("copy");
    crate::util::sh(&format!("cp -a {} {}", repo.path.display(), copy.display()));
    let keyless = |args: &[&str]| {
        Run::from(crate::util::keyless_cmd(Some(&copy)).args(["check", "--json"]).args(args).output().unwrap())
    };
    let r = keyless(&["--no-key"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["keyless"], true);
    assert!(j["not_checked"][0].as_str().unwrap().contains("without the password"), "{j:#}");
    assert_eq!(j["chunks_read"], j["chunks"], "{j:#}");

    for f in files(&copy, Cf::Chunks, strata::store::files::FileKind::Blob) {
        let b = std::fs::read(&f).unwrap();
        if let Some(pos) = b.windows(32).position(|w| w == victim.0) {
            flip(&f, pos + 32 + 500);
        }
    }
    let r = keyless(&["--no-key"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(kinds(&j), ["chunk_damaged"], "{j:#}");
    assert_eq!(j["problems"][0]["id"], victim.to_hex());
    // With no password to be had, the check goes keyless by itself.
    if std::fs::File::open("/dev/tty").is_err() {
        let r = keyless(&[]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("without the key"), "{}", r.stderr);
        assert_eq!(r.json()["keyless"], true);
    }
}

#[test]
fn max_age_fails_a_stale_repository() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"x").unwrap();
    let (code, r) = check(&repo, &["--max-age", "1h"]);
    assert_eq!((code, kinds(&r)), (1, vec!["stale".to_string()]), "an empty repository: {r:#}");
    repo.backup(&[&src], &["--host", "alpha", "--time", "2026-01-01T00:00:00Z"]);
    repo.backup(&[&src], &["--host", "beta"]);
    assert_eq!(check(&repo, &["--max-age", "1h"]).0, 0);
    let (code, r) = check(&repo, &["--max-age", "1h", "--host", "alpha"]);
    assert_eq!(code, 1);
    assert!(r["problems"][0]["detail"].as_str().unwrap().contains("2026-01-01"), "{r:#}");
    let text = repo.run(&["check", "--max-age", "2d", "--host", "alpha"]).stdout;
    assert!(text.contains("older than --max-age 2d"), "{text}");
}

/// A committed snapshot lives in a checksummed table file before backup
/// returns: losing or damaging the write-ahead log loses nothing.
#[test]
fn a_damaged_or_lost_log_loses_no_committed_snapshot() {
    let (repo, src) = backed_up();
    let logs: Vec<PathBuf> = std::fs::read_dir(repo.path.join("db"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert!(!logs.is_empty());
    for l in &logs {
        let len = std::fs::metadata(l).unwrap().len() as usize;
        if len > 0 {
            flip(l, len / 2);
        }
    }
    assert_eq!(repo.snapshots().len(), 2);
    assert_eq!(check(&repo, &["--read-data"]).0, 0);
    for l in &logs {
        std::fs::remove_file(l).unwrap();
    }
    assert_eq!(repo.snapshots().len(), 2);
    let out = repo.scratch("out");
    repo.run(&["restore", &format!("latest:{}", src.join("sub").display()), out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(out.join("victim")).unwrap(), tree::random(2, 64 << 10));
}

#[test]
fn repair_removes_damaged_chunks_and_the_next_backup_makes_every_snapshot_whole() {
    let (repo, src) = backed_up();
    // One chunk of a small file, one of a file with a chunk list.
    let victim = chunks_of(&repo, &src.join("sub/victim"))[0];
    let in_list = chunks_of(&repo, &src.join("large"))[500];
    damage_chunk(&repo, &victim);
    damage_chunk(&repo, &in_list);
    // A backup now keeps the damaged records: the files look unchanged.
    repo.backup(&[&src], &[]);
    let ids = snapshot_ids(&repo);
    let damaged = |r: &Value, kind: &str| -> Vec<String> {
        assert!(kinds(r).iter().all(|k| k == kind), "{r:#}");
        let mut v: Vec<String> = r["problems"].as_array().unwrap().iter().map(|p| p["id"].to_string()).collect();
        v.sort();
        v
    };
    let mut both = vec![format!("{:?}", victim.to_hex()), format!("{:?}", in_list.to_hex())];
    both.sort();
    assert_eq!(damaged(&check(&repo, &["--read-data"]).1, "chunk_damaged"), both);

    let out = repo.run(&["repair", "--dry-run"]).ok().stdout;
    assert!(out.contains("would remove 2 damaged chunks") && out.contains(&victim.to_hex()), "{out}");
    assert_eq!(damaged(&check(&repo, &["--read-data"]).1, "chunk_damaged"), both, "a dry run changes nothing");

    let out = repo.run(&["repair"]).ok().stdout;
    assert!(out.contains("removed 2 damaged chunks") && out.contains("sub/victim"), "{out}");
    // Gone, and said to be; a restore names the files, and restores the rest.
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    assert_eq!(damaged(&r, "chunk_unindexed"), both);
    assert!(r["problems"][0]["detail"].as_str().unwrap().contains("removed by repair"), "{r:#}");
    let out = repo.scratch("partial");
    let e = repo.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]);
    assert!(e.code != 0 && e.stderr.contains("sub/victim") && e.stderr.contains("large"), "{}", e.stderr);
    assert_eq!(std::fs::read(out.join("changing")).unwrap(), b"two");
    let again = repo.run(&["repair"]).ok().stdout;
    assert!(again.contains("2 records an earlier repair removed are still missing"), "{again}");

    // The next backup reads both files again, though they look unchanged,
    // and stores what they hold: every snapshot is whole again.
    repo.backup(&[&src], &[]);
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 0, "{r:#}");
    let whole = repo.scratch("whole");
    repo.run(&["restore", &format!("{}:{}", ids[0], src.display()), whole.to_str().unwrap()]).ok();
    for f in ["sub/victim", "large"] {
        assert_eq!(std::fs::read(whole.join(f)).unwrap(), std::fs::read(src.join(f)).unwrap(), "{f}");
    }
    let out = repo.run(&["repair"]).ok().stdout;
    assert!(out.contains("nothing to repair"), "{out}");
    let log = repo.run(&["log"]).ok().stdout;
    assert_eq!(log.matches(" repair ").count(), 2, "removed, then stored again: {log}");
}

#[test]
fn repair_removes_a_damaged_tree_and_the_next_backup_stores_it_again() {
    let (repo, src) = backed_up();
    let ids = snapshot_ids(&repo);
    // The tree of `sub` is the same in both snapshots.
    let sub = entry(&repo, &src.join("sub")).subtree.unwrap();
    damage_tree(&repo, &sub);
    let out = repo.run(&["repair"]).ok().stdout;
    assert!(out.contains("removed 0 damaged chunks and 1 damaged trees or chunk lists"), "{out}");
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    only(&r, "tree_missing", &sub, &ids, &[&src.join("sub")]);
    assert!(r["problems"][0]["detail"].as_str().unwrap().contains("removed by repair"), "{r:#}");

    // The next backup lists `sub` again and stores the same tree.
    let summary = repo.backup(&[&src], &[]);
    assert_eq!(entry(&repo, &src.join("sub")).subtree.unwrap(), sub, "{summary}");
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 0, "{r:#}");
    // (Whole, for `sub/victim`'s link outside `sub`.)
    let out = repo.scratch("first");
    repo.run(&["restore", &format!("{}:{}", ids[0], src.display()), out.to_str().unwrap()]).ok();
    tree::assert_same(&src.join("sub"), &out.join("sub"), &tree::Options { dir_mtimes: true });
}

#[test]
fn rewrite_exclude_lost_takes_out_what_no_backup_could_store_again() {
    let (repo, src) = backed_up();
    let ids = snapshot_ids(&repo);
    let sub = entry(&repo, &src.join("sub")).subtree.unwrap();
    let in_list = chunks_of(&repo, &src.join("large"))[500];
    damage_chunk(&repo, &in_list);
    damage_tree(&repo, &sub);
    repo.run(&["repair"]).ok();
    // The source no longer holds them: nothing can store them again, and a
    // prune cannot tell what the lost tree used.
    std::fs::remove_dir_all(src.join("sub")).unwrap();
    std::fs::remove_file(src.join("large")).unwrap();
    std::fs::remove_file(src.join("victim-link")).unwrap();
    repo.backup(&[&src], &[]);
    assert_eq!(check(&repo, &[]).0, 1);
    let e = repo.run(&["prune"]);
    assert!(e.code == 1 && e.stderr.contains("prune stopped before deleting anything"), "{}", e.stderr);

    let (large, sub_dir) = (src.join("large"), src.join("sub"));
    let out = repo.run(&["rewrite", "--exclude-lost", "-n"]).ok().stdout;
    assert!(out.contains("would rewrite 2 of 3 snapshots"), "{out}");
    for p in [&large, &sub_dir] {
        assert!(out.contains(&format!("\n  {}\n", p.display())), "{} in {out}", p.display());
    }
    let out = repo.run(&["rewrite", "--exclude-lost", "--forget"]).ok().stdout;
    assert!(out.contains("rewrote 2 of 3 snapshots"), "{out}");
    let (code, r) = check(&repo, &["--read-data"]);
    assert_eq!(code, 0, "{r:#}");
    repo.run(&["prune"]).ok();
    assert_eq!(check(&repo, &["--read-data"]).0, 0);
    let log = repo.run(&["log"]).ok().stdout;
    assert!(log.contains("2 records removed as damaged are used by no snapshot any more"), "{log}");
    // What was not lost is kept: the first snapshot's other files.
    let first = repo.snapshots().into_iter().next().unwrap();
    assert!(!snapshot_ids(&repo).contains(&ids[0]));
    let out = repo.scratch("first");
    repo.run(&["restore", &format!("{}:{}", first["id"].as_str().unwrap(), src.display()), out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(out.join("changing")).unwrap(), b"one");
    assert_eq!(std::fs::read_dir(out.join("many")).unwrap().count(), 1500);
    assert!(!out.join("large").exists() && !out.join("sub").exists());
}

#[test]
fn a_repair_killed_between_removing_and_marking_is_finished_by_the_next() {
    let (repo, src) = backed_up();
    let victim = chunks_of(&repo, &src.join("sub/victim"))[0];
    damage_chunk(&repo, &victim);
    let killed = repo.cmd().args(["repair"]).env("STRATA_CRASH_AT", "repair:removed").output().unwrap();
    assert!(!killed.status.success(), "killed");
    // Removed, not marked: a backup would not read the file again.
    let (code, r) = check(&repo, &[]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&r), ["chunk_unindexed"], "{r:#}");
    assert!(!r["problems"][0]["detail"].as_str().unwrap().contains("removed by repair"), "{r:#}");
    let out = repo.run(&["repair"]).ok().stdout;
    assert!(out.contains("marked 1 lost records missing"), "{out}");
    repo.backup(&[&src], &[]);
    assert_eq!(check(&repo, &["--read-data"]).0, 0);
}
