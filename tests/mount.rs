//! Real FUSE mounts: faithful, live, parallel, and robust to damage.

use crate::util::mount::{is_mounted, wait_until, Mount};
use crate::util::tree::{self, assert_same, build_full, Options};
use crate::util::{fuse_available, sh, Repo};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXACT: Options = Options { dir_mtimes: true };

fn snapshot_dir(m: &Mount, name: &str, src: &Path) -> PathBuf {
    m.dir.join("snapshots").join(name).join(src.strip_prefix("/").unwrap())
}

#[test]
fn rsync_from_the_mount_recreates_the_source_exactly() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    // rsync cannot handle paths over 4096 bytes; restore covers those.
    sh(&format!("rm -rf {}/deep", src.display()));
    // rsync compares the mtimes of devices, fifos, symlinks and directories
    // to the second only: one made in the second rsync copies it keeps the
    // copy's own time. Entries the fixture made just now get an older one.
    tree::settle_mtimes(&src);
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let snap = std::fs::read_dir(m.dir.join("snapshots")).unwrap().next().unwrap().unwrap().file_name();
    let inside = snapshot_dir(&m, snap.to_str().unwrap(), &src);
    let copy = repo.scratch("copy");
    sh(&format!("rsync -aHAXS --numeric-ids {}/ {}/", inside.display(), copy.display()));
    assert_same(&src, &copy, &EXACT);
    assert_eq!(m.stop(), 0);
}

#[test]
fn layout_latest_ids_hosts_tags_and_at() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"one").unwrap();
    let first = repo.backup(&[&src], &["--host", "alpha", "--tag", "daily"]);
    // Snapshot names have one-second resolution: keep the two apart.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(src.join("f"), b"two").unwrap();
    repo.backup(&[&src], &["--host", "alpha"]);
    let snaps = repo.snapshots();
    let (t1, t2) = (snaps[0]["time"].as_str().unwrap().to_string(), snaps[1]["time"].as_str().unwrap().to_string());
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let read = |p: PathBuf| std::fs::read_to_string(p.join(src.strip_prefix("/").unwrap()).join("f")).unwrap();
    assert_eq!(read(m.dir.join("latest")), "two");
    assert_eq!(read(m.dir.join("snapshots").join(&t1)), "one");
    let short = &first["snapshot"].as_str().unwrap()[..16];
    assert_eq!(read(m.dir.join("ids").join(short)), "one");
    assert_eq!(read(m.dir.join("hosts/alpha/latest")), "two");
    assert_eq!(read(m.dir.join("tags/daily").join(&t1)), "one");
    assert!(!m.dir.join("tags/daily").join(&t2).exists());
    // at/: before the first, exactly at one, between, after the last.
    let secs = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp();
    assert!(!m.dir.join(format!("at/@{}", secs(&t1) - 1)).exists());
    assert_eq!(read(m.dir.join(format!("at/@{}", secs(&t1)))), "one");
    assert_eq!(read(m.dir.join(format!("at/{}", t1))), "one");
    assert_eq!(read(m.dir.join(format!("at/@{}", secs(&t2) + 3600))), "two");
    assert_eq!(read(m.dir.join("at/2999-01-01")), "two");
    assert!(std::fs::read_to_string(m.dir.join("at/README")).unwrap().contains("newest snapshot"));
    assert!(!m.dir.join("at/not-a-time").exists());
    drop(m);
}

/// at/ and --at take moments relative to now: `now`, `today`,
/// `yesterday 14:00`, `2h ago`, `-2h`; backup --time too.
#[test]
fn at_takes_moments_relative_to_now() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"old").unwrap();
    repo.backup(&[&src], &["--time", "2d ago"]);
    std::fs::write(src.join("f"), b"new").unwrap();
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let read = |at: &str| {
        let p = m.dir.join("at").join(at).join(src.strip_prefix("/").unwrap()).join("f");
        std::fs::read_to_string(p).ok()
    };
    for (at, want) in [("now", "new"), ("today", "new"), ("1d ago", "old"), ("-1d", "old"), ("yesterday", "old")] {
        assert_eq!(read(at).as_deref(), Some(want), "at/{at}");
    }
    assert_eq!(read("3d ago"), None);
    assert!(std::fs::read_to_string(m.dir.join("at/README")).unwrap().contains("yesterday 14:00"));
    drop(m);
    let ls = repo.run(&["ls", "-l", "--at", "36h ago", &format!("{}/f", src.display())]).ok();
    assert!(ls.stdout.contains(" 3 "), "the old file is 3 bytes: {}", ls.stdout);
}

#[test]
fn hardlinks_share_an_inode_and_holes_are_visible() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let a = std::fs::metadata(root.join("linked")).unwrap();
    let b = std::fs::metadata(root.join("dir/linked-too")).unwrap();
    let c = std::fs::metadata(root.join("dir/sub/linked-three")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.ino(), c.ino());
    assert_eq!(a.nlink(), 3);
    // Inode numbers survive a remount.
    let ino_small = std::fs::symlink_metadata(root.join("small.txt")).unwrap().ino();
    drop(m);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    assert_eq!(std::fs::symlink_metadata(root.join("small.txt")).unwrap().ino(), ino_small);
    // SEEK_DATA / SEEK_HOLE and st_blocks on the sparse file.
    use std::os::fd::AsRawFd;
    let holes = |p: PathBuf| {
        let f = std::fs::File::open(p).unwrap();
        let hole = unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_HOLE) };
        let data = unsafe { libc::lseek(f.as_raw_fd(), hole, libc::SEEK_DATA) };
        let end_hole = unsafe { libc::lseek(f.as_raw_fd(), data, libc::SEEK_HOLE) };
        (hole, data, end_hole)
    };
    let (hole, data, end_hole) = holes(root.join("sparse"));
    assert!((100_000..=102_400).contains(&hole), "first hole at {hole}");
    assert_eq!(data, 8 << 20);
    assert_eq!((hole, data, end_hole), holes(src.join("sparse")), "holes differ from the source's");
    let f = std::fs::File::open(root.join("sparse")).unwrap();
    let meta = f.metadata().unwrap();
    assert!(meta.blocks() * 512 < meta.len() / 4, "st_blocks does not reflect holes: {}", meta.blocks());
    drop(m);
}

#[test]
fn content_hash_xattr_is_b3sum_of_every_source_file() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    sh(&format!("rm -rf {}/deep", src.display())); // paths over PATH_MAX
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest", "--list-hash"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let mut files = 0;
    for (rel, meta) in tree::scan(&src, &EXACT) {
        let Some(content) = meta.content else { continue };
        let want = blake3::Hash::from(content).to_hex().to_string();
        let inside = [root.as_os_str().as_encoded_bytes(), b"/", &rel].concat();
        let path = std::ffi::CString::new(inside).unwrap();
        let mut buf = [0u8; 128];
        let n = unsafe {
            libc::lgetxattr(path.as_ptr(), c"user.strata.blake3".as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        assert_eq!(n, 64, "{}: {}", String::from_utf8_lossy(&rel), std::io::Error::last_os_error());
        assert_eq!(std::str::from_utf8(&buf[..64]).unwrap(), want, "{}", String::from_utf8_lossy(&rel));
        files += 1;
    }
    assert!(files > 5, "the fixture has regular files ({files})");
    // Listed with --list-hash, so `getfattr -d` shows it.
    let dumped = sh(&format!("getfattr -d '{}'", root.join("small.txt").display())).stdout;
    assert!(String::from_utf8_lossy(&dumped).contains("user.strata.blake3="), "{}", String::from_utf8_lossy(&dumped));
    drop(m);
}

#[test]
fn parallel_readers_and_a_corrupt_chunk() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..8 {
        std::fs::write(src.join(format!("r{i}")), tree::random(500 + i, 6 << 20)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (p, s) = (root.join(format!("r{i}")), src.join(format!("r{i}")));
            std::thread::spawn(move || std::fs::read(p).unwrap() == std::fs::read(s).unwrap())
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap(), "a parallel read returned wrong data");
    }
    drop(m);

    // Damage one chunk of one file; its read fails with EIO, others read.
    let victim = src.join("victim");
    std::fs::write(&victim, tree::random(999, 2 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    damage_newest_blob(&repo);
    let m = Mount::start(&repo, &repo.scratch("mnt2"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let err = std::fs::read(root.join("victim")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert_eq!(std::fs::read(root.join("r3")).unwrap(), std::fs::read(src.join("r3")).unwrap());
    assert!(is_mounted(&m.dir));
}

/// Flips a byte in the newest blob file (the last backup's chunks).
fn damage_newest_blob(repo: &Repo) {
    let mut blobs: Vec<PathBuf> = std::fs::read_dir(repo.path.join("db"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "blob"))
        .collect();
    blobs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let newest = blobs.pop().expect("a blob file");
    let mut b = std::fs::read(&newest).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x01;
    std::fs::write(&newest, b).unwrap();
}

/// Under `-o allow_other` the kernel checks access against a file's POSIX
/// ACL, as on the source: not against the mode bits alone, whose group bits
/// are only the ACL's mask.
#[test]
fn acls_decide_access_for_other_users() {
    use std::os::unix::fs::PermissionsExt;
    use tree::{posix_acl, set_xattr, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ};
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    // Other users must reach the file: the path, as backed up, is searchable.
    std::fs::set_permissions(repo.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let file = src.join("payroll");
    std::fs::write(&file, b"secret").unwrap();
    std::os::unix::fs::chown(&file, Some(0), Some(4000)).unwrap();
    // rw- for root, r-- for user 5000, nothing for the owning group: mode 0640.
    let acl = posix_acl(&[(ACL_USER_OBJ, 6), (ACL_USER(5000), 4), (ACL_GROUP_OBJ, 0), (ACL_MASK, 4), (ACL_OTHER, 0)]);
    set_xattr(&file, "system.posix_acl_access", &acl);
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o640);
    repo.backup(&[&src], &[]);
    let mnt = repo.scratch("mnt");
    let m = Mount::start(&repo, &mnt, &["-o", "allow_other"]);
    let inside = m.dir.join("latest").join(file.strip_prefix("/").unwrap());
    let cat_as = |path: &Path, uid: u32, gid: u32| {
        let who = [format!("--reuid={uid}"), format!("--regid={gid}"), "--clear-groups".into()];
        std::process::Command::new("setpriv").args(who).arg("cat").arg(path).output().unwrap()
    };
    // A member of the owning group: denied on the source, and in the mount.
    for path in [&file, &inside] {
        let r = cat_as(path, 6000, 4000);
        assert!(!r.status.success(), "group 4000 read {}", path.display());
        assert!(String::from_utf8_lossy(&r.stderr).contains("Permission denied"), "{}", path.display());
    }
    // The user the ACL names: allowed in the mount, as on the source.
    for path in [&file, &inside] {
        let r = cat_as(path, 5000, 7000);
        assert!(r.status.success(), "user 5000 on {}: {}", path.display(), String::from_utf8_lossy(&r.stderr));
        assert_eq!(r.stdout, b"secret");
    }
    // The kernel answers for the ACL now: still the bytes backed up.
    let xattrs = {
        let dir = strata::sys::open_dir(inside.parent().unwrap()).unwrap();
        strata::sys::xattrs_at(std::os::fd::AsRawFd::as_raw_fd(&dir), b"payroll").unwrap()
    };
    assert!(xattrs.contains(&(b"system.posix_acl_access".to_vec(), acl)), "{xattrs:?}");
    assert_eq!(m.stop(), 0);
}

/// `df` on the mount: read-only, as large as the repository on disk.
#[test]
fn statfs_is_read_only_and_sized_like_the_repository() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    // Incompressible, so the repository holds all 3 MiB.
    std::fs::write(src.join("f"), tree::random(7, 3 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    let du = sh(&format!("du -s --block-size=1 --apparent-size {}", repo.path.display())).stdout;
    let on_disk: u64 = String::from_utf8_lossy(&du).split('\t').next().unwrap().parse().unwrap();
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let path = std::ffi::CString::new(m.dir.as_os_str().as_encoded_bytes()).unwrap();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(path.as_ptr(), &mut st) }, 0);
    assert_ne!(st.f_flag & libc::ST_RDONLY, 0, "read-only");
    assert_eq!((st.f_bfree, st.f_bavail), (0, 0));
    let size = st.f_blocks * st.f_frsize;
    // du counts the directories too; the mount counts files, rounded up.
    assert!(size.abs_diff(on_disk) < 64 << 10, "statfs {size} bytes, the repository {on_disk}");
    assert!(size > 3 << 20, "{size}");
    assert_eq!(m.stop(), 0);
}

#[test]
fn mountpoint_errors_are_clear() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let busy = repo.scratch("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("x"), b"x").unwrap();
    let r = repo.run(&["mount", busy.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not empty") && r.stderr.contains("busy"), "{}", r.stderr);
    let empty = repo.scratch("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = repo.run(&["mount", "-o", "allow_other,allow_root", empty.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("allow_other and -o allow_root exclude each other"), "{}", r.stderr);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let r = repo.run(&["mount", m.dir.to_str().unwrap()]);
    assert!(r.stderr.contains("already a mount point"), "{}", r.stderr);
    // fusermount3 -u ends the mount process cleanly too.
    let mut m = m;
    sh(&format!("fusermount3 -u {}", m.dir.display()));
    assert_eq!(m.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!is_mounted(&m.dir));
    // A mount whose process was killed is named as such, with the way out.
    let mut dead = Mount::start(&repo, &repo.scratch("dead"), &[]);
    dead.kill();
    let r = repo.run(&["mount", dead.dir.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("process has died") && r.stderr.contains("fusermount3 -u"), "{}", r.stderr);
}

#[test]
fn a_remount_after_fusermount_u_is_not_taken_down_by_the_old_process() {
    if !fuse_available() {
        return;
    }
    let (repo, _src) = Repo::with_source(&[("f", b"1")]);
    let dir = repo.scratch("mnt");
    let mut first = Mount::start(&repo, &dir, &[]);
    sh(&format!("fusermount3 -u {}", dir.display()));
    let second = Mount::start(&repo, &dir, &[]);
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0), "the first mount process did not exit");
    assert!(is_mounted(&dir), "the old mount process unmounted the new mount");
    assert!(dir.join("latest").exists());
    assert_eq!(second.stop(), 0);
}

/// Bytes of `p` in the page cache, per fincore(1).
fn resident(p: &Path) -> u64 {
    let out = sh(&format!("fincore --bytes --noheadings --output RES '{}'", p.display()));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

#[test]
fn read_ahead_hands_the_next_files_to_the_page_cache() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    // Sizes around the page size, up to several chunks; then small files,
    // enough for a tripwire (every 64th file).
    let sizes = [1, 4095, 4096, 4097, 100_000, 1 << 20, 3 << 20, 0];
    for i in 0..100u64 {
        let size = if i < 40 { sizes[i as usize % sizes.len()] } else { 1000 };
        std::fs::write(src.join(format!("f{i:02}")), tree::random(i, size)).unwrap();
    }
    // A small sparse file: its hole reaches the page cache as zeros.
    sh(&format!("printf a | dd of={}/f04 bs=1 seek=3000000 conv=notrunc status=none", src.display()));
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let names: Vec<_> = (0..100).map(|i| format!("f{i:02}")).collect();
    for n in &names {
        std::fs::metadata(root.join(n)).unwrap();
    }
    // Reading the first file queues those after it, in name order; of the
    // files with data, every 64th is left for the reader, to show its
    // progress, and the others go to the page cache without being read.
    std::fs::read(root.join("f00")).unwrap();
    let data: Vec<usize> = (1..100).filter(|&i| std::fs::metadata(src.join(&names[i])).unwrap().len() > 0).collect();
    let (wires, handed): (Vec<_>, Vec<_>) = data.iter().enumerate().partition(|(k, _)| k % 64 == 63);
    let ok = wait_until(Duration::from_secs(10), || handed.iter().all(|(_, &i)| resident(&root.join(&names[i])) > 0));
    let state: Vec<_> = (1..100).map(|i| (i, resident(&root.join(&names[i])))).collect();
    assert!(ok, "files not in the page cache: {state:?}");
    assert_eq!(wires.len(), 1);
    for (_, &i) in wires {
        assert_eq!(resident(&root.join(&names[i])), 0, "{} is left for the reader", names[i]);
    }
    // What was handed over is exactly the content, holes included.
    for n in &names {
        assert!(std::fs::read(root.join(n)).unwrap() == std::fs::read(src.join(n)).unwrap(), "{n} differs");
    }
    let copy = repo.scratch("copy");
    sh(&format!("cp --sparse=always {}/f04 {}", root.display(), copy.display()));
    assert!(std::fs::metadata(&copy).unwrap().blocks() * 512 < 1 << 20, "the hole in f04 was not kept");
    assert_eq!(m.stop(), 0);
}

#[test]
fn read_ahead_follows_the_walk_into_subdirectories_and_out() {
    if !fuse_available() {
        return;
    }
    let (repo, src) = Repo::with_source(&[
        ("d/a0", b"a0"),
        ("d/a1", b"a1"),
        ("d/b/b0", b"b0"),
        ("d/b/b1", b"b1"),
        ("d/b/b2", b"b2"),
        ("d/c", b"c"),
        ("e/e0", b"e0"),
        ("e/e1", b"e1"),
    ]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    sh(&format!("ls -laR {} >/dev/null", root.display()));
    std::fs::read(root.join("d/a0")).unwrap();
    // tar's order after d/a0: d/a1, d/b/b0.., d/c, e/e0, e/e1, all handed
    // over before they are read.
    let pushed = ["d/a1", "d/b/b0", "d/b/b1", "d/b/b2", "d/c", "e/e0", "e/e1"];
    let ok = wait_until(Duration::from_secs(10), || pushed.iter().all(|p| resident(&root.join(p)) > 0));
    let state: Vec<_> = pushed.iter().map(|p| (p, resident(&root.join(p)))).collect();
    assert!(ok, "not in the page cache: {state:?}");
    sh(&format!("diff -r {} {}", src.display(), root.display()));
    assert_eq!(m.stop(), 0);
}

#[test]
fn read_ahead_waits_for_a_directory_to_be_listed() {
    if !fuse_available() {
        return;
    }
    let (repo, src) =
        Repo::with_source(&[("d/a0", b"a0"), ("d/a1", b"a1"), ("d/s/s0", b"s0"), ("d/s/s1", b"s1"), ("d/s/s2", b"s2")]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let d = m.dir.join(src.strip_prefix("/").unwrap()).join("d");
    // As cp -r does: list a directory, copy its files, then go down.
    sh(&format!("ls {} >/dev/null", d.display()));
    std::fs::read(d.join("a0")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || resident(&d.join("a1")) > 0), "a1 not handed over");
    // The kernel has not seen d/s listed: whatever is handed over for it
    // would be dropped, so read-ahead waits there for the reader.
    sh(&format!("ls {} >/dev/null", d.join("s").display()));
    std::fs::read(d.join("s/s0")).unwrap();
    let ok = wait_until(Duration::from_secs(10), || ["s1", "s2"].iter().all(|f| resident(&d.join("s").join(f)) > 0));
    assert!(ok, "s1, s2 not handed over after s0 was read");
    sh(&format!("diff -r {} {}", src.join("d").display(), d.display()));
    assert_eq!(m.stop(), 0);
}

/// Unmounts (lazily) on drop, so a failed test leaves no mount behind.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            let _ = std::process::Command::new("fusermount3").arg("-uz").arg(&self.0).status();
        }
    }
}

/// `mount --daemon` asks for the password on the terminal before it
/// detaches, and once detached logs read errors (path and chunk) to
/// --log-file.
#[test]
fn a_daemon_mount_asks_for_the_password_first_and_logs_to_its_file() {
    if !fuse_available() {
        return;
    }
    let (repo, src) = Repo::with_source(&[("victim", &tree::random(5, 2 << 20)), ("fine", b"fine")]);
    damage_newest_blob(&repo);
    let mnt = repo.scratch("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let _guard = Unmount(mnt.clone());
    let log = repo.scratch("mount.log");
    // A terminal to answer on (script's pty), and no password otherwise.
    let cmd = format!(
        "{} -r '{}' mount --daemon --log-file '{}' '{}'",
        crate::util::bin(),
        repo.path.display(),
        log.display(),
        mnt.display()
    );
    let mut script = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("STRATA_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    script.stdin.take().unwrap().write_all(format!("{}\n", crate::util::PASSWORD).as_bytes()).unwrap();
    let out = script.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Password"), "{said}");
    assert!(wait_until(Duration::from_secs(20), || is_mounted(&mnt)), "not mounted: {said}");
    let root = mnt.join("latest").join(src.strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(root.join("fine")).unwrap(), b"fine");
    let err = std::fs::read(root.join("victim")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert!(
        wait_until(Duration::from_secs(5), || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("victim"))),
        "the log says nothing of the failed read: {:?}",
        std::fs::read_to_string(&log)
    );
    sh(&format!("fusermount3 -u '{}'", mnt.display()));
}

/// SIGTERM (as Ctrl-C) while a process sits inside the mount: never a dead
/// mount. It is detached and served until its user leaves; then the mount
/// process exits 0.
#[test]
fn stopping_a_mount_in_use_serves_its_users_until_they_leave() {
    if !fuse_available() {
        return;
    }
    let (repo, src) = Repo::with_source(&[("f", b"data")]);
    let mut m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let inside = m.dir.join("latest").join(src.strip_prefix("/").unwrap());
    let mut holder = std::process::Command::new("sleep").arg("60").current_dir(&inside).spawn().unwrap();
    m.terminate();
    assert!(wait_until(Duration::from_secs(10), || !is_mounted(&m.dir)), "not detached");
    assert_eq!(m.wait_exit(Duration::from_millis(500)), None, "the mount process left its user a dead mount");
    let through_cwd = format!("/proc/{}/cwd/f", holder.id());
    assert_eq!(std::fs::read(&through_cwd).unwrap(), b"data");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(m.wait_exit(Duration::from_secs(20)), Some(0));
}

/// A slow load (a tree or chunk list read from disk) holds only its own
/// request: lookups run on workers, so while one stalls (injected), the rest
/// of the mount answers.
#[test]
fn a_stalled_lookup_blocks_nothing_else() {
    if !fuse_available() {
        return;
    }
    let (mut repo, src) = Repo::with_source(&[("slow", b"s"), ("other/f", b"f")]);
    repo.env.push(("STRATA_FAULT".into(), "stall:slow".into()));
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stalled = {
        let (p, done) = (root.join("slow"), done.clone());
        std::thread::spawn(move || {
            let r = std::fs::read(p);
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            r
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read(root.join("other/f")).unwrap(), b"f");
    // (Not a listing of the stalled name's own directory: the kernel's
    // readdirplus waits there for the name's lookup, whoever serves it.)
    assert_eq!(std::fs::read_dir(root.join("other")).unwrap().count(), 1);
    assert!(!done.load(std::sync::atomic::Ordering::SeqCst), "the other requests waited for the stalled lookup");
    assert_eq!(stalled.join().unwrap().unwrap(), b"s");
    assert_eq!(m.stop(), 0);
}

/// A panic in a worker fails its request with EIO and nothing else: more
/// panics than there are workers, and the mount still serves.
#[test]
fn a_panic_in_a_worker_fails_only_its_request() {
    if !fuse_available() {
        return;
    }
    let (mut repo, src) = Repo::with_source(&[("boom", b"b"), ("fine", b"fine")]);
    repo.env.push(("STRATA_FAULT".into(), "panic:boom".into()));
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    for _ in 0..20 {
        let err = std::fs::metadata(root.join("boom")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    }
    assert_eq!(std::fs::read(root.join("fine")).unwrap(), b"fine");
    assert_eq!(m.stop(), 0);
}

/// The mount's whole memory stays within --cache-size plus the allowance
/// its help names (threads, buffers, RocksDB), however much eight readers
/// at once read through it.
#[test]
fn the_mounts_memory_stays_within_its_cache_and_allowance() {
    if !fuse_available() {
        return;
    }
    const CACHE: u64 = 64 << 20;
    const ALLOWANCE: u64 = 150 << 20;
    let repo = Repo::new();
    let src = repo.scratch("src");
    for d in 0..8 {
        let dir = src.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("big"), tree::random(d, 48 << 20)).unwrap();
        for i in 0..500 {
            std::fs::write(dir.join(format!("small{i}")), tree::random(1000 * d + i, 3000)).unwrap();
        }
    }
    repo.backup(&[&src], &[]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest", "--cache-size", &CACHE.to_string()]);
    let root = m.dir.join(src.strip_prefix("/").unwrap());
    let readers: Vec<_> = (0..8)
        .map(|d| {
            let (inside, source) = (root.join(format!("d{d}")), src.join(format!("d{d}")));
            std::thread::spawn(move || {
                for e in std::fs::read_dir(&source).unwrap() {
                    let name = e.unwrap().file_name();
                    assert!(std::fs::read(inside.join(&name)).unwrap() == std::fs::read(source.join(&name)).unwrap());
                }
            })
        })
        .collect();
    for r in readers {
        r.join().unwrap();
    }
    let peak = m.peak_rss();
    assert!(peak < CACHE + ALLOWANCE, "peak RSS {} MiB with a {} MiB cache", peak >> 20, CACHE >> 20);
    eprintln!("mount peak RSS: {} MiB with a {} MiB cache", peak >> 20, CACHE >> 20);
    assert_eq!(m.stop(), 0);
}

/// A backup of a tree holding the repository and a strata mount of it
/// leaves both out; a source inside the mount is backed up as asked.
#[test]
fn a_backup_leaves_out_its_own_repository_and_mounts() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let top = repo.dir.path();
    std::fs::create_dir_all(top.join("data")).unwrap();
    std::fs::write(top.join("data/f"), b"kept").unwrap();
    let names = |snap: &str| {
        let out = repo.run(&["ls", "-R", snap, top.to_str().unwrap()]).ok().stdout;
        out.lines().map(|l| l.strip_prefix(top.to_str().unwrap()).unwrap().to_string()).collect::<Vec<_>>()
    };
    let first = repo.backup(&[top], &[]);
    assert_eq!((&first["files"], &first["errors"]), (&1.into(), &0.into()), "{first}");
    assert_eq!(names("latest"), ["/data", "/data/f"]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let second = repo.backup(&[top], &[]);
    assert_eq!((&second["files"], &second["bytes"], &second["errors"]), (&1.into(), &4.into(), &0.into()), "{second}");
    assert_eq!(names("latest"), ["/data", "/data/f"]);
    // The snapshot seen through the mount, as a source of its own.
    let snap = std::fs::read_dir(m.dir.join("snapshots")).unwrap().next().unwrap().unwrap().path();
    let inside = snap.join(top.join("data").strip_prefix("/").unwrap());
    let third = repo.backup(&[&inside], &[]);
    assert_eq!((&third["files"], &third["errors"]), (&1.into(), &0.into()), "{third}");
    // A diff against the live directory leaves them out as backup does:
    // no change (it walked every snapshot through the mount before).
    let diff = repo.run(&["diff", "latest~1", top.to_str().unwrap()]).ok();
    assert!(diff.stdout.starts_with("\nadded: 0 files, 0 dirs, 0 others"), "{}", diff.stdout);

    // A mount the backup may not even look at (root's, without
    // allow_other, met by a backup run as nobody) is left out too, and
    // fails nothing.
    let home = top.join("home");
    std::fs::create_dir_all(home.join("data")).unwrap();
    std::fs::write(home.join("data/g"), b"g").unwrap();
    let hidden = Mount::start(&repo, &home.join("mnt"), &[]);
    let theirs = Repo::at(&top.join("nobody-repo"));
    theirs.run(&["init", "--kdf-memory", "64", "--kdf-iterations", "1"]).ok();
    sh(&format!("chown -R nobody {} && chmod 755 {}", theirs.path.display(), top.display()));
    let r = crate::util::as_nobody(&theirs.path).args(["backup", "--json"]).arg(&home).output().unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let listed = theirs.run(&["ls", "-R", "latest", home.to_str().unwrap()]).ok().stdout;
    assert_eq!(listed, format!("{0}/data\n{0}/data/g\n", home.display()));
    assert_eq!(hidden.stop(), 0);
    assert_eq!(m.stop(), 0);
}
