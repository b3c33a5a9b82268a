//! Objects past what one record may hold: a directory of a million entries
//! and a file of three million chunks are stored in parts, and every way of
//! reading them back works: ls, restore, a mount with rsync from it, check,
//! and prune after forget keeps what the remaining snapshots need.

use crate::util::mount::Mount;
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
