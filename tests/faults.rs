//! Faults: crashes mid-backup, a busy repository, damaged data, unreadable
//! files, a newer format. Each ends with a clear message and nothing lost
//! that was committed.

use crate::util::tree::{self, assert_same, Options};
use crate::util::{kill_9_after, Repo, PASSWORD};

const EXACT: Options = Options { dir_mtimes: true };

fn source(repo: &Repo) -> std::path::PathBuf {
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..40 {
        std::fs::write(src.join(format!("f{i}")), tree::random(i, 1 << 20)).unwrap();
    }
    src
}

#[test]
fn kill_9_during_backup_leaves_only_complete_snapshots() {
    let repo = Repo::new();
    let src = source(&repo);
    repo.backup(&[&src], &[]);
    // New content for each killed run, so every run has chunks to write.
    for run in 0..20u64 {
        std::fs::write(src.join("changing"), tree::random(1000 + run, 8 << 20)).unwrap();
        // Delays spread over a backup's life: open, walk, write, commit.
        kill_9_after(repo.cmd().arg("backup").arg(&src), 20 + (run * 37) % 700);
    }
    let snaps = repo.snapshots();
    assert!(!snaps.is_empty());
    for s in &snaps {
        let id = s["id"].as_str().unwrap();
        let out = repo.scratch(&format!("out-{}", &id[..8]));
        repo.run(&["restore", &format!("{id}:{}", src.display()), out.to_str().unwrap()]).ok();
        // Every file but "changing" (which varied) matches the source.
        std::fs::remove_file(out.join("changing")).ok();
        for i in 0..40 {
            assert_eq!(
                std::fs::read(out.join(format!("f{i}"))).unwrap(),
                std::fs::read(src.join(format!("f{i}"))).unwrap()
            );
        }
    }
    // The next backup completes and re-stores nothing that was stored.
    let s = repo.backup(&[&src], &[]);
    assert!(s["bytes_added"].as_u64().unwrap() <= 9 << 20, "{s}");
}

#[test]
fn a_second_writer_is_refused_and_readers_still_work() {
    let repo = Repo::new();
    let src = source(&repo);
    repo.backup(&[&src], &[]);
    // Hold the writer lock from this process, as a running backup would.
    let pw = || Ok(PASSWORD.as_bytes().to_vec());
    let held = strata::repo::Repo::open(&repo.path, strata::repo::Access::Write, &pw).unwrap();
    let r = repo.run(&["backup", src.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("busy") && r.stderr.contains(&format!("pid {}", std::process::id())), "{}", r.stderr);
    // Readers are not blocked by the writer.
    assert_eq!(repo.snapshots().len(), 1);
    let out = repo.scratch("out");
    repo.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
    drop(held);
    repo.run(&["backup", src.to_str().unwrap()]).ok();
}

/// The busy error says what holds the repository: the other process's
/// subcommand, not its first arguments.
#[test]
fn a_busy_repository_names_the_holders_subcommand() {
    let repo = Repo::new();
    // The password command runs with the lock taken: a writer that waits.
    let mut holder = repo
        .cmd()
        .env_remove("STRATA_PASSWORD")
        .args(["--password-command", &format!("sleep 3; echo {PASSWORD}"), "forget", "--keep-last", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(crate::util::mount::wait_until(std::time::Duration::from_secs(10), || {
        std::fs::read_to_string(repo.path.join("lock")).is_ok_and(|l| l.contains("(strata forget)"))
    }));
    let r = repo.run(&["tag", "latest", "--add", "x"]);
    let _ = holder.wait();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("busy") && r.stderr.contains("(strata forget)"), "{}", r.stderr);
}

/// A backed-up directory of a large file ("victim", several chunks) and a
/// tiny one ("bystander").
fn victim_and_bystander(repo: &Repo) -> std::path::PathBuf {
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("victim"), tree::random(77, 3 << 20)).unwrap();
    std::fs::write(src.join("bystander"), b"fine").unwrap();
    repo.backup(&[&src], &[]);
    src
}

/// Restoring `src` fails on the victim, with `message` and the file's name,
/// and still restores the bystander. The victim is not left behind with a
/// plausible hole of zeros, and its message names the chunk once.
fn only_the_victim_fails(repo: &Repo, src: &std::path::Path, message: &str) {
    let out = repo.scratch("out");
    let r = repo.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("victim") && r.stderr.contains(message), "{}", r.stderr);
    assert_eq!(std::fs::read(out.join("bystander")).unwrap(), b"fine");
    assert!(!out.join("victim").exists(), "a damaged file was left under its own name");
    let line = r.stderr.lines().find(|l| l.contains("victim")).unwrap();
    assert!(line.contains("not restored: damaged in the repository"), "{line}");
    let id = line.split_whitespace().find(|w| w.len() >= 64 && w.chars().take(64).all(|c| c.is_ascii_hexdigit()));
    let id = &id.unwrap_or_else(|| panic!("no chunk id in {line}"))[..64];
    assert_eq!(line.matches(id).count(), 1, "the chunk id repeats: {line}");
}

#[test]
fn a_flipped_byte_is_reported_and_the_rest_restores() {
    let repo = Repo::new();
    let src = victim_and_bystander(&repo);
    // Flip one byte in the middle of every blob file (chunk records).
    let mut flipped = 0;
    for e in std::fs::read_dir(repo.path.join("db")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "blob") {
            let mut b = std::fs::read(&p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
            std::fs::write(&p, b).unwrap();
            flipped += 1;
        }
    }
    assert!(flipped > 0, "no blob files found");
    only_the_victim_fails(&repo, &src, "chunk");
}

#[test]
fn unreadable_and_vanishing_files_are_recorded_exit_3() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("locked")).unwrap();
    std::fs::write(src.join("locked/secret"), b"s").unwrap();
    std::fs::write(src.join("open"), b"o").unwrap();
    std::fs::write(src.join("private"), b"p").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("locked"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(src.join("private"), std::fs::Permissions::from_mode(0o600)).unwrap();
    // Run the backup as an unprivileged user, who cannot read those two.
    crate::util::sh(&format!("chown -R nobody {} && chmod 755 {}", repo.path.display(), repo.dir.path().display()));
    let r = crate::util::as_nobody(&repo.path).args(["backup", "--json"]).arg(&src).output().unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(3), "{out}\n{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.contains("locked") && out.contains("private"), "{out}");
    let snaps = repo.snapshots();
    let failed = snaps[0]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(repo.run(&["ls", "latest", "-R", src.to_str().unwrap()]).ok().stdout.contains("open"));
    // The counts are of what was stored: "open", not the files left out.
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((&summary["files"], &summary["files_new"], &summary["bytes"]), (&1.into(), &1.into(), &1.into()));
    assert_eq!((&snaps[0]["files"], &snaps[0]["bytes"]), (&1.into(), &1.into()), "{}", snaps[0]);
}

/// Starts `backup --json SRC` (output piped) and returns once it holds
/// `file` open, so a change made then lands mid-read (or after 20 s).
fn backup_reading(repo: &Repo, src: &std::path::Path, file: &std::path::Path) -> std::process::Child {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let child =
        repo.cmd().args(["backup", "--json"]).arg(src).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let fds = format!("/proc/{}/fd", child.id());
    let holds = || {
        std::fs::read_dir(&fds)
            .map(|d| d.flatten().any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == file)))
            .unwrap_or(false)
    };
    let end = Instant::now() + Duration::from_secs(20);
    while !holds() && Instant::now() < end {}
    child
}

/// A file changed once while read (a log appended to, say) is read again
/// and stored as it then is, with its times then: no warning, exit 0.
#[test]
fn a_file_changed_once_while_read_is_read_again() {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let log = src.join("log");
    let data: Vec<u8> = (0..32u32 << 20).map(|i| (i ^ (i >> 9)).wrapping_mul(2654435761) as u8).collect();
    for attempt in 0.. {
        std::fs::write(&log, &data).unwrap();
        let child = backup_reading(&repo, &src, &log);
        std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"appended\n").unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        let warned = stdout.contains("changed while being read");
        if summary["bytes_read"].as_u64().unwrap() <= data.len() as u64 && !warned {
            // The append came before the read or after it.
            assert!(attempt < 10, "the file never changed mid-read: {stdout}");
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(!warned, "{stdout}");
        let dump = repo.cmd().arg("dump").arg(format!("latest:{}", log.display())).output().unwrap();
        assert!(dump.stdout.len() == data.len() + 9 && dump.stdout.ends_with(b"appended\n"));
        let ls = repo.run(&["ls", "--json", "latest", log.to_str().unwrap()]).ok().json();
        let meta = std::fs::metadata(&log).unwrap();
        let mtime_ns = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        assert_eq!(ls["mtime_ns"].as_i64(), Some(mtime_ns), "{ls}");
        break;
    }
}

/// A file that shrinks while read is stored as read, and the snapshot's
/// size counts what was stored, not the size first seen.
#[test]
fn a_file_shrinking_while_read_is_counted_as_stored() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let big = src.join("big");
    let data: Vec<u8> = (0..128u32 << 20).map(|i| (i ^ (i >> 11)).wrapping_mul(2654435761) as u8).collect();
    // Shrunk as soon as the backup opens it, so mid-read; tried again
    // should the read have ended first.
    for attempt in 0.. {
        std::fs::write(&big, &data).unwrap();
        let child = backup_reading(&repo, &src, &big);
        std::fs::OpenOptions::new().write(true).open(&big).unwrap().set_len(1 << 20).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        let bytes = summary["bytes"].as_u64().unwrap();
        let ls = repo.run(&["ls", "-l", "latest", big.to_str().unwrap()]).ok().stdout;
        let stored: u64 = ls.split_whitespace().nth(3).unwrap().parse().unwrap();
        if out.status.code() != Some(3) || stored == data.len() as u64 {
            assert!(attempt < 10, "the file was never shrunk mid-read: {stdout}");
            continue;
        }
        let snaps = repo.snapshots();
        assert_eq!((bytes, snaps.last().unwrap()["bytes"].as_u64().unwrap()), (stored, stored), "{stdout}");
        assert_eq!((&summary["files"], &summary["errors"]), (&1.into(), &1.into()), "{stdout}");
        break;
    }
}

/// The chunk index says where each chunk is stored: a damaged entry fails
/// the reads of that chunk, naming it, and nothing else.
#[test]
fn a_damaged_chunk_index_entry_is_reported_and_the_rest_restores() {
    use strata::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};
    let repo = Repo::new();
    let src = victim_and_bystander(&repo);
    {
        // Cut the entries of the victim's chunks (the large ones) short.
        let store = RocksStore::open(&repo.path.join("db"), OpenMode::Write).unwrap();
        let mut b = Batch::default();
        for (id, entry) in store.range(Cf::ChunkIndex, b"", None).unwrap() {
            if u32::from_le_bytes(entry[..4].try_into().unwrap()) > 4096 {
                b.put(Cf::ChunkIndex, id, entry[..6].to_vec());
            }
        }
        assert!(!b.is_empty());
        store.write(b, Durability::Sync).unwrap();
    }
    only_the_victim_fails(&repo, &src, "chunk index entry");
}

#[test]
fn a_newer_format_is_refused_with_a_clear_message() {
    let repo = Repo::new();
    {
        use strata::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};
        let store = RocksStore::open(&repo.path.join("db"), OpenMode::Write).unwrap();
        let mut config = store.get(Cf::Meta, b"config").unwrap().unwrap();
        config[1] += 1;
        let mut b = Batch::default();
        b.put(Cf::Meta, b"config".to_vec(), config);
        store.write(b, Durability::Sync).unwrap();
    }
    let r = repo.run(&["snapshots"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("newer") && r.stderr.contains("upgrade strata"), "{}", r.stderr);
}

/// A small filesystem mounted for a test, unmounted when dropped: ext4 on a
/// loop device, as a backup disk would be, or else a tmpfs.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// None where neither can be mounted (not root), after saying why; a
    /// failure under CI.
    fn mount(at: &std::path::Path, mib: u32) -> Option<SmallDisk> {
        use std::process::Command;
        std::fs::create_dir_all(at).unwrap();
        let image = at.with_extension("img");
        let ext4 = std::fs::File::create(&image).and_then(|f| f.set_len(u64::from(mib) << 20)).is_ok()
            && Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().is_ok_and(|s| s.success())
            && Command::new("mount").args(["-o", "loop"]).arg(&image).arg(at).status().is_ok_and(|s| s.success());
        if ext4 {
            return Some(SmallDisk(at.to_path_buf()));
        }
        SmallDisk::virtual_fs(at, "tmpfs", &format!("size={mib}m"))
    }

    /// A ramfs, which stores no extended attributes at all (as NFSv3 and
    /// other targets do not); None as for `mount`.
    fn ramfs(at: &std::path::Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        SmallDisk::virtual_fs(at, "ramfs", "defaults")
    }

    /// A filesystem of type `kind` without a device at `at`.
    fn virtual_fs(at: &std::path::Path, kind: &str, options: &str) -> Option<SmallDisk> {
        let out = std::process::Command::new("mount").args(["-t", kind, "-o", options, kind]).arg(at).output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk(at.to_path_buf())),
            other => {
                let why = format!("cannot mount a {kind} at {}: {other:?}", at.display());
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("skipped: {why}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // (A loop device goes with its last mount.)
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Runs `cmd` to its end, or fails the test should it take over two minutes.
fn run_within_two_minutes(cmd: &mut std::process::Command, out: &std::path::Path) -> crate::util::Run {
    let file = || std::fs::File::create(out).unwrap();
    let mut child = cmd.stdout(std::process::Stdio::null()).stderr(file()).spawn().unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after two minutes: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(out).unwrap();
    crate::util::Run { code: status.code().unwrap_or(-1), stdout: String::new(), stderr }
}

#[test]
fn a_full_disk_fails_the_backup_at_once_and_loses_nothing() {
    let scratch = Repo::uninit();
    let Some(disk) = SmallDisk::mount(&scratch.scratch("disk"), 80) else { return };
    let repo = Repo::at(&disk.0.join("repo"));
    repo.run(&["init", "--kdf-memory", "64", "--kdf-iterations", "1"]).ok();
    let small = scratch.scratch("small");
    std::fs::create_dir_all(&small).unwrap();
    for i in 0..8 {
        std::fs::write(small.join(format!("f{i}")), tree::random(i, 1 << 20)).unwrap();
    }
    repo.backup(&[&small], &[]);
    // More than the disk holds, and something to delete later.
    let big = scratch.scratch("big");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..4 {
        std::fs::write(big.join(format!("g{i}")), tree::random(100 + i, 40 << 20)).unwrap();
    }
    // 20 MiB left: a memtable's flush (32 MiB) runs out of room part way,
    // while the backup fills the next memtable and waits for it.
    let free = strata::sys::free_bytes(&disk.0).unwrap();
    std::fs::write(disk.0.join("filler"), vec![1u8; free as usize - (20 << 20)]).unwrap();

    // RocksDB, left to itself, waits inside the write for 64 MiB to come
    // free: the backup hung for good, holding the repository's lock.
    for _ in 0..2 {
        let r = run_within_two_minutes(repo.cmd().arg("backup").arg(&big), &scratch.scratch("stderr"));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("No space left on device") || r.stderr.contains("no space left"), "{}", r.stderr);
        assert!(r.stderr.contains(&disk.0.join("repo").display().to_string()), "{}", r.stderr);
        // Said once, not once per file the abort cut short.
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
        assert_eq!(repo.snapshots().len(), 1);
    }
    repo.run(&["check", "--read-data"]).ok();

    // Once there is room again, backups go on, and prune takes back what
    // the failed ones left.
    std::fs::remove_file(disk.0.join("filler")).unwrap();
    std::fs::write(small.join("new"), b"after the disk was full").unwrap();
    repo.backup(&[&small], &[]);
    let pruned = repo.run(&["prune"]).ok();
    assert!(pruned.stdout.contains("removed"), "{}", pruned.stdout);
    repo.run(&["check", "--read-data"]).ok();
    let out = scratch.scratch("out");
    repo.run(&["restore", &format!("latest:{}", small.display()), out.to_str().unwrap()]).ok();
    assert_same(&small, &out, &EXACT);
}

/// A writer writes RocksDB's files with O_DIRECT where it can; a ramfs
/// refuses that, and a repository there works all the same (buffered).
#[test]
fn a_repository_where_direct_writes_are_refused_still_works() {
    let scratch = Repo::uninit();
    let Some(ram) = SmallDisk::ramfs(&scratch.scratch("ramfs")) else { return };
    use std::os::unix::fs::OpenOptionsExt;
    let probe = ram.0.join("probe");
    let refused = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe)
        .map_err(|e| e.raw_os_error());
    assert_eq!(refused.err(), Some(Some(libc::EINVAL)), "ramfs took O_DIRECT: this test tests nothing");
    let repo = Repo::at(&ram.0.join("repo"));
    repo.run(&["init", "--kdf-memory", "64", "--kdf-iterations", "1"]).ok();
    let src = scratch.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    // Past a memtable (32 MiB), so a flush runs during the backup too.
    for i in 0..5 {
        std::fs::write(src.join(format!("f{i}")), tree::random(i, 8 << 20)).unwrap();
    }
    repo.backup(&[&src], &[]);
    std::fs::write(src.join("f0"), b"changed").unwrap();
    repo.backup(&[&src], &[]);
    repo.run(&["forget", "--keep-last", "1"]).ok();
    repo.run(&["prune"]).ok();
    repo.run(&["check", "--read-data"]).ok();
    let out = scratch.scratch("out");
    repo.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
}

#[test]
fn a_full_disk_stops_a_restore_with_one_message_and_no_partial_files() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    for d in 0..4 {
        let dir = src.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..12 {
            std::fs::write(dir.join(format!("f{i}")), tree::random(d * 100 + i, 700 << 10)).unwrap();
        }
        std::os::unix::fs::symlink("f0", dir.join("link")).unwrap();
    }
    repo.backup(&[&src], &[]);
    let Some(disk) = SmallDisk::mount(&repo.scratch("disk"), 48) else { return };
    // Room for about a third of the 34 MiB.
    let free = strata::sys::free_bytes(&disk.0).unwrap();
    std::fs::write(disk.0.join("filler"), vec![1u8; free as usize - (12 << 20)]).unwrap();
    let out = disk.0.join("out");
    let spec = format!("latest:{}", src.display());

    let r = run_within_two_minutes(repo.cmd().args(["restore", &spec]).arg(&out), &repo.scratch("stderr"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one message, not one per file:\n{}", r.stderr);
    assert!(r.stderr.contains("filesystem is full") && r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&out.display().to_string()) && r.stderr.contains("--overwrite if-changed"),
        "{}",
        r.stderr
    );
    // What is there is whole: no empty or cut-short file looks restored.
    let mut whole = 0;
    for d in 0..4 {
        for i in 0..12 {
            let name = format!("d{d}/f{i}");
            if let Ok(data) = std::fs::read(out.join(&name)) {
                assert!(data == std::fs::read(src.join(&name)).unwrap(), "{name} is not whole");
                whole += 1;
            }
        }
    }
    assert!(whole > 0 && whole < 48, "{whole} files restored");
    assert!(r.stderr.contains(&format!("{whole} files were restored")), "{whole}: {}", r.stderr);

    // With room again, the same restore finishes the job.
    std::fs::remove_file(disk.0.join("filler")).unwrap();
    repo.run(&["restore", "--overwrite", "if-changed", &spec, out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
}

/// A target that refuses an xattr refuses it on every file that has it: a
/// restore reports each refused name once, then how many more files it
/// failed on, not a line per file. --exclude-xattr and --include-xattr
/// choose what is set, and a restore that leaves out what the target
/// refuses ends without errors.
#[test]
fn a_restore_where_xattrs_are_refused_reports_each_once_and_chooses_by_name() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("dir")).unwrap();
    tree::set_xattr(&src.join("dir"), "user.dir", b"d");
    for i in 0..20 {
        let f = src.join(format!("dir/f{i:02}"));
        std::fs::write(&f, format!("file {i}")).unwrap();
        tree::set_xattr(&f, "user.keep", b"k");
        tree::set_xattr(&f, "user.drop", b"x");
    }
    repo.backup(&[&src], &[]);
    let from = format!("latest:{}", src.display());

    let Some(ram) = SmallDisk::ramfs(&repo.scratch("ramfs")) else { return };
    let r = repo.run(&["restore", &from, ram.0.join("all").to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    // The directory's one xattr, each file xattr's first failure, and a
    // count of the 19 more files for each of the two.
    assert_eq!(lines.iter().filter(|l| l.contains("setting xattr")).count(), 5, "{}", r.stderr);
    for name in ["user.keep", "user.drop"] {
        let first = lines.iter().filter(|l| l.contains(&format!("setting xattr {name}: "))).count();
        assert_eq!(first, 1, "{}", r.stderr);
        let more = format!("setting xattr {name} failed on 19 more files the same way: Operation not supported");
        assert!(r.stderr.contains(&more), "{}", r.stderr);
    }
    assert!(r.stderr.contains("--exclude-xattr 'user.keep' leaves it out"), "{}", r.stderr);
    assert!(r.stderr.contains("5 errors during restore"), "{}", r.stderr);
    // The content is all there.
    assert_eq!(std::fs::read(ram.0.join("all/dir/f07")).unwrap(), b"file 7");

    let r = repo.run(&["restore", &from, ram.0.join("none").to_str().unwrap(), "--exclude-xattr", "*"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // Everything else is as it was. (The xattr names of each path, sorted.)
    let scan = |p: &std::path::Path| {
        let mut m = tree::scan(p, &EXACT);
        let names: Vec<(Vec<u8>, Vec<String>)> = m
            .iter_mut()
            .map(|(p, meta)| {
                let mut n: Vec<String> = meta.xattrs.drain(..).map(|(k, _)| String::from_utf8(k).unwrap()).collect();
                n.sort();
                (p.clone(), n)
            })
            .collect();
        (m, names.into_iter().collect::<std::collections::BTreeMap<_, _>>())
    };
    let (source, _) = scan(&src);
    let (none, names) = scan(&ram.0.join("none"));
    assert!(tree::diff(&source, &none).is_empty(), "{:?}", tree::diff(&source, &none));
    assert!(names.values().all(|n| n.is_empty()));

    // On a filesystem that takes them, the chosen ones alone.
    let out = repo.scratch("chosen");
    repo.run(&["restore", &from, out.to_str().unwrap(), "--exclude-xattr", "user.drop"]).ok();
    let (_, names) = scan(&out);
    assert_eq!(names[&b"dir/f03"[..]], ["user.keep"]);
    assert_eq!(names[&b"dir"[..]], ["user.dir"]);
    let out = repo.scratch("included");
    repo.run(&["restore", &from, out.to_str().unwrap(), "--include-xattr", "user.d*", "--exclude-xattr", "user.dir"])
        .ok();
    let (_, names) = scan(&out);
    assert_eq!(names[&b"dir/f03"[..]], ["user.drop"]);
    assert!(names[&b"dir"[..]].is_empty());

    let r = repo.run(&["restore", &from, repo.scratch("bad").to_str().unwrap(), "--exclude-xattr", "user.[a"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--exclude-xattr \"user.[a\""), "{}", r.stderr);
}
