//! Objects past what one record may hold: a directory of a million entries
//! and a file of three million chunks are stored in parts, and every way of
//! reading them back works: ls, restore, a mount with rsync from it, check,
//! and prune after forget keeps what the remaining snapshots need. And a
//! tree nested past the depth strata keeps.

use crate::util::mount::Mount;
use crate::util::tree::write_long;
use crate::util::{fuse_available, sh, Repo};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

fn names(dir: &Path) -> BTreeSet<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().as_bytes().to_vec()).collect()
}

fn stats(repo: &Repo) -> serde_json::Value {
    repo.run(&["stats", "--json"]).ok().json()
}

/// `check` finds nothing wrong and, after a prune, nothing to reclaim
/// (every part is known to be used).
fn assert_sound(repo: &Repo, args: &[&str]) {
    let mut all = vec!["check", "--json"];
    all.extend(args);
    let r = repo.run(&all);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["problems"].as_array().map(Vec::len), Some(0), "{}", r.stdout);
    assert_eq!((&j["reclaimable_trees"], &j["reclaimable_chunks"]), (&0.into(), &0.into()), "{}", r.stdout);
}

/// Peak memory of a backup or restore of a huge directory.
const MEMORY_MAX: u64 = 400 << 20;

#[test]
fn a_directory_of_a_million_entries_reads_back_every_way() {
    const N: usize = 1_000_000;
    let repo = Repo::new();
    let src = repo.scratch("src");
    let big = src.join("big");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..N {
        std::fs::File::create(big.join(format!("entry-{i:07}"))).unwrap();
    }
    std::fs::write(big.join("entry-0500000"), b"the middle").unwrap();
    // The directory is streamed, never held whole: held whole it took about
    // 1.4 KB an entry (1.4 GB here); most of what is left is the store's
    // write buffers, whatever the directory's size.
    let src_arg = src.to_str().unwrap();
    let (r, rss) = repo.run_peak_rss(&["backup", "--json", src_arg]);
    let s = r.ok().json();
    assert_eq!(s["files"], N as u64, "{s}");
    assert!(rss < MEMORY_MAX, "backup of {N} entries: peak RSS {} MiB", rss >> 20);
    // Two directories, yet many tree records: the big one is in parts.
    assert!(stats(&repo)["trees"].as_u64().unwrap() > 10, "{}", stats(&repo));

    let ls = repo.run(&["ls", "latest", big.to_str().unwrap()]).ok();
    assert_eq!(ls.stdout.lines().count(), N);

    let out = repo.scratch("out");
    let (r, rss) = repo.run_peak_rss(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]);
    r.ok();
    assert!(rss < MEMORY_MAX, "restore of {N} entries: peak RSS {} MiB", rss >> 20);
    let want = names(&big);
    assert_eq!(names(&out.join("big")), want, "restore");
    assert_eq!(std::fs::read(out.join("big/entry-0500000")).unwrap(), b"the middle");
    sh(&format!("rm -rf {}", out.display()));

    if fuse_available() {
        let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
        let inside = m.dir.join(big.strip_prefix("/").unwrap());
        let copy = repo.scratch("copy");
        sh(&format!("rsync -a {}/ {}/", inside.display(), copy.display()));
        assert_eq!(names(&copy), want, "rsync from the mount");
        assert_eq!(std::fs::read(copy.join("entry-0500000")).unwrap(), b"the middle");
        assert_eq!(m.stop(), 0);
        sh(&format!("rm -rf {}", copy.display()));
    }

    // A second backup with one entry more shares most parts with the first;
    // forget and prune the first: the second keeps every part it needs.
    std::fs::write(big.join("entry-0250000a"), b"new").unwrap();
    let (r, rss) = repo.run_peak_rss(&["backup", "--json", src_arg]);
    assert_eq!(r.ok().json()["files_unchanged"], N as u64);
    assert!(rss < MEMORY_MAX, "second backup of {N} entries: peak RSS {} MiB", rss >> 20);
    repo.run(&["forget", "--keep-last", "1", "--prune"]).ok();
    assert_sound(&repo, &[]);
    let ls = repo.run(&["ls", "latest", big.to_str().unwrap()]).ok();
    assert_eq!(ls.stdout.lines().count(), N + 1);
}

#[test]
fn a_file_of_three_million_chunks_reads_back_every_way() {
    const PIECES: usize = 3_000_000;
    // The smallest chunks a repository allows: at most 256 bytes.
    let repo = Repo::uninit();
    let init = ["--chunk-min", "64", "--chunk-avg", "256", "--chunk-max", "256"];
    repo.run(&[&["init", "--kdf-memory", "64", "--kdf-iterations", "1"][..], &init].concat()).ok();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    // One block of 256 bytes, repeated: few distinct chunks, millions of pieces.
    let block: Vec<u8> = (0..256u32).map(|i| (i * 7 % 251) as u8).collect();
    let data = block.repeat(PIECES);
    let file = src.join("big");
    std::fs::write(&file, &data).unwrap();
    repo.backup(&[&src], &[]);
    // One file, yet many chunk list records: its list is in parts.
    assert!(stats(&repo)["trees"].as_u64().unwrap() > 10, "{}", stats(&repo));

    let ls = repo.run(&["ls", "-l", "latest", src.to_str().unwrap()]).ok();
    assert!(ls.stdout.contains(&data.len().to_string()), "{}", ls.stdout);

    let out = repo.scratch("out");
    repo.run(&["restore", &format!("latest:{}", file.display()), out.to_str().unwrap()]).ok();
    assert!(std::fs::read(out.join("big")).unwrap() == data, "restore");
    std::fs::remove_dir_all(&out).unwrap();

    if fuse_available() {
        let m = Mount::start(&repo, &repo.scratch("mnt"), &["--snapshot", "latest"]);
        let copy = repo.scratch("copy");
        sh(&format!("rsync -a {}/ {}/", m.dir.join(src.strip_prefix("/").unwrap()).display(), copy.display()));
        assert!(std::fs::read(copy.join("big")).unwrap() == data, "rsync from the mount");
        assert_eq!(m.stop(), 0);
    }

    // Changed at the end; the first snapshot forgotten and pruned.
    std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(b"tail").unwrap();
    repo.backup(&[&src], &[]);
    repo.run(&["forget", "--keep-last", "1", "--prune"]).ok();
    assert_sound(&repo, &["--read-data"]);
    let dumped = repo.cmd().args(["dump", &format!("latest:{}", file.display())]).output().unwrap();
    assert!(dumped.status.success(), "{}", String::from_utf8_lossy(&dumped.stderr));
    assert!(dumped.stdout[..data.len()] == data[..] && &dumped.stdout[data.len()..] == b"tail");
}

/// Makes directories `d` nested `levels` deep in `dir`, with file `name`
/// (holding its name) in each directory numbered in `files` (1: the first
/// `d`). Through fds: the paths pass PATH_MAX.
fn nest(dir: &Path, levels: usize, files: &[(usize, &str)]) {
    use std::os::fd::AsRawFd;
    use strata::sys;
    let mut fd = sys::open_dir(dir).unwrap();
    for level in 1..=levels {
        sys::mkdirat(fd.as_raw_fd(), b"d", 0o755).unwrap();
        fd = sys::openat(fd.as_raw_fd(), b"d", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
        for (_, name) in files.iter().filter(|(l, _)| *l == level) {
            let f = sys::openat(fd.as_raw_fd(), name.as_bytes(), libc::O_WRONLY | libc::O_CREAT, 0o644).unwrap();
            assert_eq!(unsafe { libc::write(f.as_raw_fd(), name.as_ptr().cast(), name.len()) }, name.len() as isize);
        }
    }
}

/// The `d` directories nested in `dir`, and the names in the deepest.
fn nested(dir: &Path) -> (usize, BTreeSet<Vec<u8>>) {
    use std::os::fd::AsRawFd;
    use strata::sys;
    let (mut fd, mut levels) = (sys::open_dir(dir).unwrap(), 0);
    while let Ok(next) = sys::openat(fd.as_raw_fd(), b"d", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        (fd, levels) = (next, levels + 1);
    }
    (levels, names(Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd()))))
}

#[test]
fn a_tree_nested_past_the_depth_kept_backs_up_every_level_it_may() {
    use strata::format::tree::DEPTH_MAX;
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir(&src).unwrap();
    // Levels of a snapshot's tree down to src: its root, then each name.
    let above = src.components().count();
    // The deepest level kept holds `last`; `lost` lies one level below.
    let kept = DEPTH_MAX - above;
    nest(&src, kept + 5, &[(3000, "mid"), (kept, "last"), (kept + 1, "lost"), (kept + 5, "leaf")]);
    let arg = src.to_str().unwrap();
    for _ in 0..2 {
        // Once without a parent snapshot, once with: a partial backup, one warning.
        let r = repo.run(&["backup", arg]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        let warning = format!("nested deeper than {DEPTH_MAX} directories: left out");
        assert_eq!(r.stderr.matches(&warning).count(), 1, "{}", r.stderr);
    }

    let found = repo.run(&["find", "--snapshot", "latest", "mid", "last", "lost", "leaf"]).ok();
    let shown: Vec<&str> = found.stdout.lines().skip(1).filter_map(|l| l.rsplit('/').next()).collect();
    assert_eq!(shown, ["mid", "last"], "{}", found.stdout);
    let ls = repo.run(&["ls", "--recursive", "latest", arg]).ok();
    assert_eq!(ls.stdout.lines().count(), kept + 2, "the directories, mid and last");
    // mid rewritten: diff walks down to it and back.
    write_long(&src, Path::new(&format!("{}mid", "d/".repeat(3000))), b"mid, again");
    assert_eq!(repo.run(&["backup", arg]).code, 3);
    let diff = repo.run(&["diff", "latest~1", "latest"]).ok();
    let changed: Vec<&str> = diff.stdout.lines().filter(|l| l.starts_with('M')).collect();
    assert!(changed.len() == 1 && changed[0].ends_with("/d/mid"), "{}", diff.stdout);
    repo.run(&["stats"]).ok();
    assert_sound(&repo, &["--read-data"]);

    let out = repo.scratch("out");
    repo.run(&["restore", &format!("latest:{arg}"), out.to_str().unwrap()]).ok();
    let (levels, deepest) = nested(&out);
    assert_eq!((levels, deepest), (kept, BTreeSet::from([b"last".to_vec()])));
    sh(&format!("rm -rf {}", out.display()));

    let tar = repo.scratch("all.tar");
    repo.run(&["dump", &format!("latest:{arg}"), "--target", tar.to_str().unwrap()]).ok();
    let listed = sh(&format!("tar tf {} | grep -c .", tar.display()));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), (kept + 3).to_string(), "src, the directories, 2 files");
}
