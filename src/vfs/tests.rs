//! The namespace without a mount: inode stability, listings, lookups,
//! forgetting, reads.

use super::*;
use crate::backup::{self, Excludes, Progress};
use crate::repo::{Access, InitOptions, Repo};
use std::collections::{HashMap, HashSet};

fn repo_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Repo, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let opts = InitOptions { encrypted: false, ..Default::default() };
    Repo::init(&path, &opts, None).unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for (name, data) in files {
        std::fs::write(src.join(name), data).unwrap();
    }
    let nopw = || Ok(Vec::new());
    let repo = Repo::open(&path, Access::Write, &nopw).unwrap();
    backup_of(&repo, &src);
    (dir, repo, src)
}

fn backup_of(repo: &Repo, src: &std::path::Path) {
    backup_at(repo, src, None)
}

fn backup_at(repo: &Repo, src: &std::path::Path, time: Option<Time>) {
    let opts = backup::Options {
        paths: vec![src.to_path_buf()],
        streams: Vec::new(),
        host: "h".into(),
        tags: vec!["t".into()],
        description: String::new(),
        time,
        parent: None,
        excludes: Excludes::default(),
        warn: Box::new(|m| panic!("{m}")),
        estimate: false,
        dry_run: false,
    };
    backup::run(repo, opts, Arc::new(Progress::default())).unwrap();
}

fn walk_to(vfs: &Vfs, from: u64, path: &std::path::Path) -> u64 {
    let mut ino = from;
    for c in path.iter().skip(1) {
        use std::os::unix::ffi::OsStrExt;
        ino = vfs.lookup(ino, c.as_bytes()).unwrap().0.ino;
    }
    ino
}

#[test]
fn listings_lookups_and_inodes_agree() {
    let names: Vec<String> = (0..1500).map(|i| format!("file-{i:04}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let (_d, repo, src) = repo_with(&files);
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    let snap = vfs.readdir(ROOT, 0, 100).unwrap();
    let names_at_root: Vec<_> = snap.iter().map(|e| String::from_utf8_lossy(&e.name).into_owned()).collect();
    assert_eq!(names_at_root, [".", "..", "snapshots", "ids", "hosts", "tags", "at", "history", "latest"]);
    let latest = vfs.lookup(ROOT, b"latest").unwrap().0;
    assert_eq!(latest.kind, NodeType::Symlink);
    let target = vfs.readlink(latest.ino).unwrap();
    assert!(target.starts_with(b"snapshots/"));
    let snaps = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let name = &target[b"snapshots/".len()..];
    let sroot = vfs.lookup(snaps, name).unwrap().0.ino;
    let dir = walk_to(&vfs, sroot, &src);
    // Paged listing: every entry once, in order, inodes equal to lookups'.
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let page = vfs.readdir(dir, offset, 64).unwrap();
        if page.is_empty() {
            break;
        }
        offset = page.last().unwrap().next;
        all.extend(page);
    }
    assert_eq!(all.len(), 1502);
    let e = &all[700];
    assert_eq!(vfs.lookup(dir, &e.name).unwrap().0.ino, e.ino);
    // Forgetting drops the inode from the table.
    let before = vfs.live_inodes();
    vfs.forget(e.ino, 1);
    assert_eq!(vfs.live_inodes(), before - 1);
}

#[test]
fn reads_hashes_and_at_lookups() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (_d, repo, src) = repo_with(&[("big", &big), ("same-a", b"equal"), ("same-b", b"equal")]);
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    let at = vfs.lookup(ROOT, b"at").unwrap().0.ino;
    assert_eq!(vfs.lookup(at, b"@0"), Err(VfsError::NotFound));
    assert_eq!(vfs.lookup(at, b"garbage"), Err(VfsError::NotFound));
    let link = vfs.lookup(at, b"2999-01-01").unwrap().0;
    assert!(vfs.readlink(link.ino).unwrap().starts_with(b"../snapshots/"));

    let latest = vfs.readlink(vfs.lookup(ROOT, b"latest").unwrap().0.ino).unwrap();
    let snaps = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let sroot = vfs.lookup(snaps, &latest[10..]).unwrap().0.ino;
    let dir = walk_to(&vfs, sroot, &src);
    let f = vfs.lookup(dir, b"big").unwrap().0;
    assert_eq!(f.size, big.len() as u64);
    // The path log lines name: the one backed up, '/' joined, none leading.
    let Ok(NodeKind::Entry(node)) = vfs.node(f.ino) else { panic!("not an entry") };
    assert_eq!(node.path, src.join("big").as_os_str().as_encoded_bytes()[1..]);
    vfs.open(f.ino).unwrap();
    for (off, len) in [(0u64, 4096u32), (1_048_000, 200_000), (2_999_990, 100)] {
        let got = vfs.read(f.ino, off, len).unwrap();
        let end = (off as usize + len as usize).min(big.len());
        assert_eq!(*got, big[off as usize..end]);
    }
    // A read within one chunk is handed out of the chunk cache, not copied.
    assert!(matches!(vfs.read(f.ino, 4096, 4096).unwrap(), Data::Shared(..)));
    assert_eq!(vfs.open(dir), Err(VfsError::IsDir));
    let a = vfs.lookup(dir, b"same-a").unwrap().0.ino;
    let b = vfs.lookup(dir, b"same-b").unwrap().0.ino;
    assert_ne!(a, b);
    // The content hash is b3sum's, and listed only when asked for.
    let b3 = |d: &[u8]| blake3::hash(d).to_hex().as_bytes().to_vec();
    assert_eq!(vfs.getxattr(a, HASH_XATTR).unwrap(), b3(b"equal"));
    assert_eq!(vfs.getxattr(b, HASH_XATTR).unwrap(), b3(b"equal"));
    assert_eq!(vfs.getxattr(f.ino, HASH_XATTR).unwrap(), b3(&big));
    assert_eq!(vfs.listxattr(a).unwrap(), b"");
    vfs.set_list_hash(true);
    assert_eq!(vfs.listxattr(a).unwrap(), b"user.strata.blake3\0");
    assert_eq!(vfs.listxattr(dir).unwrap(), b"", "directories have no content hash");
    vfs.set_list_hash(false);
    assert_eq!(vfs.getxattr(a, b"user.none"), Err(VfsError::NoData));
    // Once the kernel forgets the inode, it is gone.
    vfs.forget(f.ino, 1);
    assert_eq!(vfs.read(f.ino, 0, 1).err(), Some(VfsError::NotFound));
}

fn names(entries: &[DirEntry]) -> Vec<String> {
    entries.iter().skip(2).map(|e| String::from_utf8_lossy(&e.name).into_owned()).collect()
}

#[test]
fn history_lists_one_version_per_change() {
    let (_d, repo, src) = repo_with(&[("f", b"one"), ("g", b"same")]);
    std::fs::write(src.join("f"), b"two").unwrap();
    backup_of(&repo, &src);
    backup_of(&repo, &src); // nothing changed
    std::fs::remove_file(src.join("f")).unwrap();
    backup_of(&repo, &src);
    std::fs::write(src.join("f"), b"three").unwrap();
    backup_of(&repo, &src);
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    let snaps: Vec<String> = vfs.snaps().all.iter().map(|s| s.name.clone()).collect();
    assert_eq!(snaps.len(), 5);

    let history = vfs.lookup(ROOT, b"history").unwrap().0.ino;
    assert_eq!(
        names(&vfs.readdir(history, 0, 100).unwrap()),
        [src.iter().nth(1).unwrap().to_string_lossy().into_owned()]
    );
    let dir = walk_to(&vfs, history, &src);
    // The directory's own versions (it changed in every snapshot but the
    // third), then the names ever found in it.
    let listed = names(&vfs.readdir(dir, 0, 100).unwrap());
    let mut want: Vec<String> = [0, 1, 3, 4].iter().map(|&i| snaps[i].clone()).collect();
    want.extend(["f".to_string(), "g".to_string()]);
    assert_eq!(listed, want);

    let f = vfs.lookup(dir, b"f").unwrap().0;
    assert_eq!(f.kind, NodeType::Dir);
    let versions = vfs.readdir(f.ino, 0, 100).unwrap();
    assert_eq!(names(&versions), [snaps[0].clone(), snaps[1].clone(), snaps[4].clone()]);
    for (v, want) in versions[2..].iter().zip([&b"one"[..], b"two", b"three"]) {
        let a = vfs.lookup(f.ino, &v.name).unwrap().0;
        assert_eq!((a.ino, a.kind), (v.ino, NodeType::File));
        assert_eq!(*vfs.read(a.ino, 0, 100).unwrap(), *want);
    }
    // A paged listing resumes where it stopped.
    let page = vfs.readdir(f.ino, versions[3].next, 1).unwrap();
    assert_eq!(page[0].name, versions[4].name);

    let g = vfs.lookup(dir, b"g").unwrap().0.ino;
    assert_eq!(names(&vfs.readdir(g, 0, 100).unwrap()), [snaps[0].clone()]);
    assert_eq!(vfs.lookup(g, snaps[1].as_bytes()), Err(VfsError::NotFound));
    assert_eq!(vfs.lookup(dir, b"never"), Err(VfsError::NotFound));
    // A version is a distinct inode from the same file under snapshots/.
    let snapshots = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let sroot = vfs.lookup(snapshots, snaps[4].as_bytes()).unwrap().0.ino;
    let under_snapshots = vfs.lookup(walk_to(&vfs, sroot, &src), b"f").unwrap().0.ino;
    assert_ne!(under_snapshots, vfs.lookup(f.ino, snaps[4].as_bytes()).unwrap().0.ino);
}

#[test]
fn a_changed_snapshot_list_names_what_the_kernel_must_drop() {
    let (_d, repo, src) = repo_with(&[("f", b"one")]);
    // Twins: the same time, so the second is named "<time>-2".
    let then = Time { secs: 1_700_000_000, nanos: 0 };
    backup_at(&repo, &src, Some(then));
    std::fs::write(src.join("f"), b"twin").unwrap();
    backup_at(&repo, &src, Some(then));
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    let names: Vec<String> = vfs.snaps().all.iter().map(|s| s.name.clone()).collect();
    assert!(names[1].ends_with("-2"), "{names:?}");
    let snapshots = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let roots: Vec<u64> = names.iter().map(|n| vfs.lookup(snapshots, n.as_bytes()).unwrap().0.ino).collect();
    let history = vfs.lookup(ROOT, b"history").unwrap().0.ino;
    let dir = walk_to(&vfs, history, &src);
    let f = vfs.lookup(dir, b"f").unwrap().0.ino;
    let at = vfs.lookup(ROOT, b"at").unwrap().0.ino;

    // A backup after all others leaves every name meaning what it did;
    // attributes and listings of the views change.
    std::fs::write(src.join("f"), b"two").unwrap();
    backup_of(vfs.repo(), &src);
    let stale = vfs.refresh().unwrap().expect("a new snapshot");
    assert_eq!(stale.entries, [], "{stale:?}");
    for ino in [ROOT, snapshots, history, dir, f, at] {
        assert!(stale.inodes.contains(&ino), "{ino} in {stale:?}");
    }
    assert!(!stale.inodes.iter().any(|i| roots.contains(i)), "snapshot contents never change");
    assert_eq!(vfs.refresh().unwrap(), Some(stale), "told once more, for replies made from the old list");
    assert_eq!(vfs.refresh().unwrap(), None, "nothing changed since");

    // Forgetting the first twin: its name now means the second, whose own
    // name is gone; and any history/ name may lead nowhere now.
    let first = vfs.snaps().all[0].clone();
    vfs.repo().forget(&[(first.id, first.snap.clone())]).unwrap();
    let stale = vfs.refresh().unwrap().expect("a forgotten snapshot");
    for want in [(snapshots, names[0].as_bytes()), (snapshots, names[1].as_bytes()), (dir, b"f")] {
        assert!(stale.entries.contains(&(want.0, want.1.to_vec())), "{want:?} in {stale:?}");
    }
    assert!(!stale.entries.contains(&(snapshots, names[2].as_bytes().to_vec())), "{stale:?}");
    assert_eq!(vfs.lookup(snapshots, names[0].as_bytes()).unwrap().0.ino, roots[1]);
    assert_eq!(vfs.lookup(snapshots, names[1].as_bytes()), Err(VfsError::NotFound));
}

#[test]
fn a_cache_of_tiny_chunks_is_bounded_by_their_count_too() {
    let contents: Vec<(String, Vec<u8>)> =
        (0..300).map(|i| (format!("f{i:03}"), format!("{i}").into_bytes())).collect();
    let files: Vec<(&str, &[u8])> = contents.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    let (_d, repo, src) = repo_with(&files);
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    let latest = vfs.readlink(vfs.lookup(ROOT, b"latest").unwrap().0.ino).unwrap();
    let snapshots = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let dir = walk_to(&vfs, vfs.lookup(snapshots, &latest[10..]).unwrap().0.ino, &src);
    // Room for 100 tiny chunks, not for 300 because they are tiny.
    let reader = Reader::new(100 * crate::reader::CHUNK_OVERHEAD);
    let mut ids = Vec::new();
    for (name, content) in &contents {
        let (_, map) = vfs.file(vfs.lookup(dir, name.as_bytes()).unwrap().0.ino).unwrap();
        for p in map.pieces() {
            if let crate::format::tree::Piece::Data { id, .. } = p {
                assert_eq!(*reader.chunk(vfs.repo(), id).unwrap(), *content);
                ids.push(*id);
            }
        }
    }
    assert_eq!(ids.len(), 300);
    let held = ids.iter().filter(|id| reader.cache.contains(id)).count();
    assert!((50..=100).contains(&held), "{held} tiny chunks held by a cache with room for 100");
}

/// Forty small files, f00 to f39, and their contents.
fn forty() -> Vec<(String, Vec<u8>)> {
    (0..40).map(|i| (format!("f{i:02}"), vec![i as u8; 1000 + i])).collect()
}

/// The `forty` files in a snapshot whose directory is then listed with
/// attributes (the kernel linking every entry) with `sink` as the page
/// sink: the listing hands the first 32 over. Returns the listing, "." and
/// ".." first.
fn listed_forty(sink: PageSink) -> (tempfile::TempDir, Arc<Vfs>, Vec<(DirEntry, Listed)>) {
    let bodies = forty();
    let files: Vec<(&str, &[u8])> = bodies.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let (d, repo, src) = repo_with(&files);
    let vfs = Vfs::new(repo, Mode::Repo, 1 << 20).unwrap();
    vfs.set_page_sink(sink);
    let latest = vfs.readlink(vfs.lookup(ROOT, b"latest").unwrap().0.ino).unwrap();
    let snaps = vfs.lookup(ROOT, b"snapshots").unwrap().0.ino;
    let dir = walk_to(&vfs, vfs.lookup(snaps, &latest[10..]).unwrap().0.ino, &src);
    let listed = vfs.readdirplus(dir, 0, 100).unwrap();
    listed.iter().for_each(|(_, l)| vfs.keep(l));
    vfs.listed(dir, 0, true);
    (d, vfs, listed)
}

#[test]
fn a_listing_with_attributes_hands_its_small_files_over() {
    // Like the kernel before the listing's reader links its entries, the
    // sink refuses every inode once.
    let stored: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
    let refused: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let (s, r) = (stored.clone(), refused.clone());
    let (_d, _vfs, listed) = listed_forty(Box::new(move |ino, offset, data| {
        assert_eq!(offset, 0);
        if r.lock().unwrap().insert(ino) {
            return Err(std::io::ErrorKind::NotFound.into());
        }
        s.lock().unwrap().insert(ino, data.to_vec());
        Ok(())
    }));
    // The first 32 files in name order, each after one refusal.
    let bodies = forty();
    let body: HashMap<&[u8], &Vec<u8>> = bodies.iter().map(|(n, b)| (n.as_bytes(), b)).collect();
    let want: HashMap<u64, Vec<u8>> =
        listed[2..2 + 32].iter().map(|(e, _)| (e.ino, body[&e.name[..]].clone())).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stored.lock().unwrap().len() < want.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(*stored.lock().unwrap(), want);
    assert_eq!(refused.lock().unwrap().len(), want.len());
}

#[test]
fn files_the_reader_got_to_first_are_not_handed_over() {
    // The sink holds every hand-over until released, as a busy machine
    // would: meanwhile the reader reads some of the files itself.
    let stored: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let entered: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let (gate_tx, gate_rx) = crossbeam_channel::unbounded::<()>();
    let (s, e) = (stored.clone(), entered.clone());
    let (_d, vfs, listed) = listed_forty(Box::new(move |ino, _, _| {
        e.lock().unwrap().insert(ino);
        let _ = gate_rx.recv();
        s.lock().unwrap().insert(ino);
        Ok(())
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while entered.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let handed: Vec<u64> = listed[2..2 + 32].iter().map(|(e, _)| e.ino).collect();
    let read = &handed[8..16];
    for &ino in read {
        assert!(!vfs.read(ino, 0, 4096).unwrap().is_empty());
    }
    // Hand-overs already under way when the reader got there may finish.
    let late: HashSet<u64> = read.iter().copied().filter(|i| !entered.lock().unwrap().contains(i)).collect();
    drop(gate_tx);
    let rest: HashSet<u64> = handed.iter().copied().filter(|i| !read.contains(i)).collect();
    while !stored.lock().unwrap().is_superset(&rest) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stored = stored.lock().unwrap();
    assert!(stored.is_superset(&rest), "every file not read is handed over");
    assert!(stored.is_disjoint(&late), "files read first are not: {:?}", stored.intersection(&late).count());
    assert!(!late.is_empty());
}

/// A file whose chunk list is lost fails its own reads, not the listing of
/// its directory nor its neighbours.
#[test]
fn one_unreadable_chunk_list_fails_only_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let chunker = strata_chunker::Params::new(64, 256, 1024).unwrap();
    let opts = InitOptions { encrypted: false, chunker, ..Default::default() };
    Repo::init(&path, &opts, None).unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let big: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(src.join("big"), &big).unwrap();
    std::fs::write(src.join("small"), b"fine").unwrap();
    let nopw = || Ok(Vec::new());
    let repo = Repo::open(&path, Access::Write, &nopw).unwrap();
    backup_of(&repo, &src);
    let (sid, snap) = repo.snapshots().unwrap().pop().unwrap();
    let entry = repo.lookup(&snap.tree, src.join("big").as_os_str().as_encoded_bytes()).unwrap().unwrap();
    let crate::format::tree::Content::List { id, .. } = entry.content else { panic!("no chunk list: {entry:?}") };
    let mut b = crate::store::Batch::default();
    b.delete(crate::store::Cf::Trees, id.0.to_vec());
    crate::repo::testing::store_of(&repo).write(b, crate::store::Durability::Sync).unwrap();

    let vfs = Vfs::new(repo, Mode::Snapshot(sid), 1 << 20).unwrap();
    let d = walk_to(&vfs, ROOT, &src);
    let listed = vfs.readdirplus(d, 0, 100).unwrap();
    let names: Vec<_> = listed.iter().map(|(e, _)| String::from_utf8_lossy(&e.name).into_owned()).collect();
    assert_eq!(names, [".", "..", "big", "small"]);
    for (_, l) in &listed {
        vfs.keep(l);
    }
    let ino = |name: &str| listed.iter().find(|(e, _)| e.name == name.as_bytes()).unwrap().1.attr.ino;
    let big = vfs.read(ino("big"), 0, 4096).map(|d| d.len());
    assert!(matches!(big, Err(VfsError::Io)), "{big:?}");
    assert_eq!(&*vfs.read(ino("small"), 0, 4096).unwrap(), b"fine");
}
