//! Building source trees and comparing two trees attribute by attribute.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use strata::sys;

pub fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

fn c(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap()
}

pub fn set_mtime(p: &Path, secs: i64, nanos: i64) {
    let t = libc::timespec { tv_sec: secs, tv_nsec: nanos };
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, c(p).as_ptr(), [t, t].as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    assert_eq!(r, 0, "utimensat {}", p.display());
}

pub fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    let n = std::ffi::CString::new(name).unwrap();
    let r = unsafe { libc::lsetxattr(c(p).as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    assert_eq!(r, 0, "setxattr {name} on {}: {}", p.display(), std::io::Error::last_os_error());
}

/// POSIX ACL entry tags (and the id they carry), as in `<linux/posix_acl_xattr.h>`.
pub type AclTag = (u16, u32);
pub const ACL_USER_OBJ: AclTag = (1, u32::MAX);
#[allow(non_snake_case)]
pub const fn ACL_USER(uid: u32) -> AclTag {
    (2, uid)
}
pub const ACL_GROUP_OBJ: AclTag = (4, u32::MAX);
pub const ACL_MASK: AclTag = (0x10, u32::MAX);
pub const ACL_OTHER: AclTag = (0x20, u32::MAX);

/// The raw `system.posix_acl_access` value (version 2) for entries of
/// (tag, permission bits), in the order the kernel requires.
pub fn posix_acl(entries: &[(AclTag, u16)]) -> Vec<u8> {
    let mut acl = vec![2, 0, 0, 0];
    for ((tag, id), perm) in entries {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    acl
}

/// A tree with every kind of entry strata must keep.
pub fn build_full(root: &Path) {
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};
    fs::create_dir_all(root.join("dir/sub")).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("small.txt"), b"hello strata\n").unwrap();
    fs::write(root.join("dir/big.bin"), random(1, 9 << 20)).unwrap();
    fs::write(root.join("dir/sub/zeros"), vec![0u8; 3 << 20]).unwrap();
    // Sparse: data, a 8 MiB hole, data, and a trailing hole.
    {
        use std::os::unix::fs::FileExt;
        let f = fs::File::create(root.join("sparse")).unwrap();
        f.write_all_at(&random(2, 100_000), 0).unwrap();
        f.write_all_at(&random(3, 50_000), 8 << 20).unwrap();
        f.set_len(20 << 20).unwrap();
    }
    // Hardlinks across directories.
    fs::write(root.join("linked"), random(4, 70_000)).unwrap();
    fs::hard_link(root.join("linked"), root.join("dir/linked-too")).unwrap();
    fs::hard_link(root.join("linked"), root.join("dir/sub/linked-three")).unwrap();
    symlink("small.txt", root.join("rel-link")).unwrap();
    symlink("/nonexistent/target", root.join("dangling")).unwrap();
    symlink(std::ffi::OsStr::from_bytes(b"\xff\xfeodd target"), root.join("odd-link")).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"non-utf8-\xff\xfe name\twith tab");
    fs::write(root.join(odd), b"odd").unwrap();
    fs::write(root.join("new\nline"), b"nl").unwrap();
    fs::write(root.join("unicodé ✓"), b"u").unwrap();
    // Special files (we are root in tests).
    unsafe {
        assert_eq!(libc::mkfifo(c(&root.join("fifo")).as_ptr(), 0o640), 0);
        assert_eq!(libc::mknod(c(&root.join("null-dev")).as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)), 0);
        assert_eq!(libc::mknod(c(&root.join("blk-dev")).as_ptr(), libc::S_IFBLK | 0o600, libc::makedev(7, 200)), 0);
    }
    // Modes and owners.
    fs::write(root.join("setuid"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("setuid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir(root.join("sticky")).unwrap();
    fs::set_permissions(root.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(root.join("dir/sub"), fs::Permissions::from_mode(0o2750)).unwrap();
    // Modes a umask of 022 would not give, after another file in the same
    // directory (restore creates later files with their final bits).
    for (name, mode) in [("dir/no-perms", 0o000), ("dir/open-to-all", 0o666), ("dir/setgid", 0o2711)] {
        fs::write(root.join(name), name).unwrap();
        fs::set_permissions(root.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
    std::os::unix::fs::lchown(root.join("small.txt"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::lchown(root.join("rel-link"), Some(4321), Some(8765)).unwrap();
    // xattrs, a POSIX ACL and a file capability (raw xattr values).
    set_xattr(&root.join("small.txt"), "user.comment", b"kept \x00 binary");
    set_xattr(&root.join("dir"), "user.dir-attr", b"on a directory");
    set_xattr(&root.join("setuid"), "trusted.strata-test", b"trusted");
    // user::rw-, user:1000:r--, group::r--, mask::r--, other::---
    let acl = posix_acl(&[(ACL_USER_OBJ, 6), (ACL_USER(1000), 4), (ACL_GROUP_OBJ, 4), (ACL_MASK, 4), (ACL_OTHER, 0)]);
    fs::write(root.join("acl-file"), b"acl").unwrap();
    set_xattr(&root.join("acl-file"), "system.posix_acl_access", &acl);
    // security.capability: VFS_CAP_REVISION_2, cap_net_bind_service (bit 10) permitted+effective.
    let mut cap = vec![0u8; 20];
    cap[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 10).to_le_bytes());
    fs::write(root.join("cap-file"), b"cap").unwrap();
    set_xattr(&root.join("cap-file"), "security.capability", &cap);
    // A path longer than PATH_MAX.
    let mut deep = root.join("deep");
    let long = "d".repeat(200);
    let mut rel = std::path::PathBuf::from("deep");
    fs::create_dir(&deep).unwrap();
    for _ in 0..25 {
        rel.push(&long);
        deep = root.join(&rel);
        mkdir_long(root, &rel);
    }
    let _ = deep;
    write_long(root, &rel.join("bottom.txt"), b"at the bottom");
    // Nanosecond times, set last (children change directory mtimes).
    set_mtime(&root.join("small.txt"), 1_600_000_000, 123_456_789);
    set_mtime(&root.join("rel-link"), 1_500_000_000, 987_654_321);
    set_mtime(&root.join("dir/sub"), 1_400_000_000, 5);
}

/// mkdir of a path that may exceed PATH_MAX, one component at a time.
fn mkdir_long(root: &Path, rel: &Path) {
    let (fd, last) = open_parent(root, rel);
    sys::mkdirat(fd.as_raw_fd(), last.as_bytes(), 0o755).unwrap();
}

/// Writes a file (made, or cut to nothing first) at a path that may exceed
/// PATH_MAX, one component at a time.
pub fn write_long(root: &Path, rel: &Path, data: &[u8]) {
    let (fd, last) = open_parent(root, rel);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
    let f = sys::openat(fd.as_raw_fd(), last.as_bytes(), flags, 0o644).unwrap();
    let n = unsafe { libc::write(f.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n as usize, data.len());
}

fn open_parent<'a>(root: &Path, rel: &'a Path) -> (OwnedFd, &'a std::ffi::OsStr) {
    let mut fd = sys::open_dir(root).unwrap();
    let comps: Vec<_> = rel.iter().collect();
    for comp in &comps[..comps.len() - 1] {
        fd = sys::openat(fd.as_raw_fd(), comp.as_bytes(), libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
    }
    (fd, comps[comps.len() - 1])
}

/// What is compared for one path.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Meta {
    pub kind: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: i64,
    pub mtime: (i64, i64),
    pub rdev: u64,
    pub link: Option<Vec<u8>>,
    pub content: Option<[u8; 32]>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Index of the hardlink group (by first path seen), if nlink > 1.
    pub link_group: Option<usize>,
    /// Allocated bytes are well below the size: the file kept its holes.
    pub sparse: bool,
}

pub struct Options {
    /// Compare directory mtimes too (false when comparing a live source
    /// whose directories the test itself changed).
    pub dir_mtimes: bool,
}

/// Every path below `root` (relative, raw bytes) with its metadata.
pub fn scan(root: &Path, opts: &Options) -> BTreeMap<Vec<u8>, Meta> {
    let mut out = BTreeMap::new();
    let mut groups = HashMap::new();
    let fd = sys::open_dir(root).unwrap();
    walk(fd.as_raw_fd(), b"", &mut out, &mut groups, opts);
    out
}

fn walk(
    dir: RawFd,
    prefix: &[u8],
    out: &mut BTreeMap<Vec<u8>, Meta>,
    groups: &mut HashMap<(u64, u64), usize>,
    opts: &Options,
) {
    let mut names = sys::read_dir_names(dir).unwrap();
    names.sort();
    for name in names {
        let rel = if prefix.is_empty() { name.clone() } else { [prefix, b"/", &name].concat() };
        let st = sys::fstatat(dir, &name).unwrap();
        let kind = st.st_mode & libc::S_IFMT;
        let is_dir = kind == libc::S_IFDIR;
        let mut xattrs = sys::xattrs_at(dir, &name).unwrap();
        xattrs.retain(|(k, _)| !k.starts_with(b"user.strata."));
        let content = (kind == libc::S_IFREG).then(|| {
            let f = sys::openat(dir, &name, libc::O_RDONLY, 0).unwrap();
            let mut h = blake3::Hasher::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut off = 0u64;
            loop {
                let n = sys::pread_exact(f.as_raw_fd(), &mut buf, off).unwrap();
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                off += n as u64;
            }
            *h.finalize().as_bytes()
        });
        let link_group = (!is_dir && st.st_nlink > 1).then(|| {
            let n = groups.len();
            *groups.entry((st.st_dev, st.st_ino)).or_insert(n)
        });
        let meta = Meta {
            kind,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: if is_dir { 0 } else { st.st_size },
            mtime: if is_dir && !opts.dir_mtimes { (0, 0) } else { (st.st_mtime, st.st_mtime_nsec) },
            rdev: if kind == libc::S_IFCHR || kind == libc::S_IFBLK { st.st_rdev } else { 0 },
            link: (kind == libc::S_IFLNK).then(|| sys::readlinkat(dir, &name).unwrap()),
            content,
            xattrs,
            link_group,
            sparse: kind == libc::S_IFREG && st.st_size > (4 << 20) && (st.st_blocks * 512) < st.st_size / 2,
        };
        out.insert(rel.clone(), meta);
        if is_dir {
            let sub = sys::openat(dir, &name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0).unwrap();
            walk(sub.as_raw_fd(), &rel, out, groups, opts);
        }
    }
}

/// Differences between two scans, one readable line each.
pub fn diff(a: &BTreeMap<Vec<u8>, Meta>, b: &BTreeMap<Vec<u8>, Meta>) -> Vec<String> {
    let mut out = Vec::new();
    let show = |p: &[u8]| String::from_utf8_lossy(p).chars().take(120).collect::<String>();
    for (p, ma) in a {
        match b.get(p) {
            None => out.push(format!("only in first: {}", show(p))),
            Some(mb) if ma != mb => out.push(format!("differs: {}\n   first:  {ma:?}\n   second: {mb:?}", show(p))),
            _ => {}
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        out.push(format!("only in second: {}", show(p)));
    }
    out
}

#[track_caller]
pub fn assert_same(a: &Path, b: &Path, opts: &Options) {
    let d = diff(&scan(a, opts), &scan(b, opts));
    assert!(d.is_empty(), "{} and {} differ:\n{}", a.display(), b.display(), d.join("\n"));
}

/// rsync compares the mtimes of devices, fifos, symlinks and directories
/// to the second only, so an entry made in the second rsync copies it keeps
/// the copy's own time. This gives every entry under `root` whose mtime is
/// within the last minute one from 2020 (nanoseconds kept distinct),
/// children before their directory; paths too long to reach are left.
pub fn settle_mtimes(root: &Path) {
    fn walk(p: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(m) = std::fs::symlink_metadata(p) else { return };
        if m.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), out);
            }
        }
        if m.modified().ok().and_then(|t| t.elapsed().ok()).is_none_or(|d| d.as_secs() < 60) {
            out.push(p.to_path_buf());
        }
    }
    let mut recent = Vec::new();
    walk(root, &mut recent);
    for (i, p) in recent.iter().enumerate() {
        set_mtime(p, 1_577_836_800 + i as i64, 1000 + i as i64);
    }
}
