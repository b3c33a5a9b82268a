//! The namespace without a mount: inode stability, listings, lookups,
//! forgetting, reads.

use super::*;
use crate::backup::{self, Excludes, Progress};
use crate::repo::{Access, InitOptions, Repo};

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
    let opts = backup::Options {
        paths: vec![src.clone()],
        host: "h".into(),
        tags: vec!["t".into()],
        description: String::new(),
        parent: None,
        excludes: Excludes::default(),
        warn: Box::new(|m| panic!("{m}")),
    };
    backup::run(&repo, opts, Arc::new(Progress::default())).unwrap();
    (dir, repo, src)
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
    assert_eq!(names_at_root, [".", "..", "snapshots", "ids", "hosts", "tags", "at", "latest"]);
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
    assert_eq!(vfs.getxattr(a, HASH_XATTR).unwrap(), vfs.getxattr(b, HASH_XATTR).unwrap());
    assert_ne!(vfs.getxattr(a, HASH_XATTR).unwrap(), vfs.getxattr(f.ino, HASH_XATTR).unwrap());
    assert_eq!(vfs.listxattr(a).unwrap(), b"");
    assert_eq!(vfs.getxattr(a, b"user.none"), Err(VfsError::NoData));
    // Once the kernel forgets the inode, it is gone.
    vfs.forget(f.ino, 1);
    assert_eq!(vfs.read(f.ino, 0, 1).err(), Some(VfsError::NotFound));
}
