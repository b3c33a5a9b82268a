//! The repository's life: forget by policy and by id, holds, tags, the
//! audit log, and prune giving the disk back, including kill -9 during
//! prune, prune under a live mount, and a backup meeting a running prune.

use crate::util::mount::{wait_until, Mount};
use crate::util::tree::{self, assert_same, Options};
use crate::util::{fuse_available, Repo, PASSWORD};
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXACT: Options = Options { dir_mtimes: true };

/// Bytes the directory occupies on disk, as `du` counts them.
fn du(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                du(&e.path())
            } else {
                m.blocks() * 512
            }
        })
        .sum()
}

/// `n` files of 1 MiB of random data, from seeds starting at `seed`, plus a
/// few small ones.
fn fill(dir: &Path, seed: u64, n: u64) {
    std::fs::create_dir_all(dir.join("small")).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(format!("f{i:02}")), tree::random(seed + i, 1 << 20)).unwrap();
    }
    for i in 0..20 {
        std::fs::write(dir.join("small").join(format!("s{i}")), format!("small file {i}\n")).unwrap();
    }
}

fn ids(repo: &Repo) -> Vec<String> {
    repo.snapshots().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// Restores `spec` (SNAPSHOT:PATH) and compares it with `expected`.
fn assert_restores(repo: &Repo, spec: &str, expected: &Path) {
    let out = repo.scratch(&format!("restore-{}", rand_suffix()));
    repo.run(&["restore", spec, out.to_str().unwrap()]).ok();
    assert_same(expected, &out, &EXACT);
    std::fs::remove_dir_all(&out).unwrap();
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn forget_and_prune_give_the_space_back() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 40);
    repo.backup(&[&src], &[]);
    // Change most of it: 30 of the 40 large files get new content.
    for i in 0..30u64 {
        std::fs::write(src.join(format!("f{i:02}")), tree::random(1000 + i, 1 << 20)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let before = du(&repo.path);
    let first = ids(&repo)[0].clone();
    let dry = repo.run(&["forget", "--dry-run", &first]).ok();
    assert!(dry.stdout.contains("would remove 1 snapshots"), "{}", dry.stdout);
    assert_eq!(ids(&repo).len(), 2, "a dry run removes nothing");
    repo.run(&["forget", &first]).ok();
    let dry = repo.run(&["prune", "--dry-run", "--json"]).ok().json();
    assert!(dry["chunks_removed"].as_u64().unwrap() >= 30, "{dry}");
    assert!(dry["chunk_bytes_removed"].as_u64().unwrap() >= 30 << 20, "{dry}");
    assert!(du(&repo.path) >= before - (1 << 20), "a dry run deletes nothing");

    let r = repo.run(&["prune", "--json"]).ok().json();
    assert_eq!(r["chunks_removed"], dry["chunks_removed"], "{r}");
    assert_eq!(r["chunk_bytes_removed"], dry["chunk_bytes_removed"], "{r}");
    let after = du(&repo.path);

    // A fresh repository holding only the second snapshot's data.
    let fresh = Repo::new();
    fresh.backup(&[&src], &[]);
    let fresh_size = du(&fresh.path);
    eprintln!("before prune {before}, after {after}, fresh {fresh_size}");
    assert!(
        after as f64 <= fresh_size as f64 * 1.10,
        "pruned repository {after} bytes, fresh one {fresh_size} (before prune {before})"
    );
    assert!(r["size_after"].as_u64() < r["size_before"].as_u64(), "{r}");
    assert_restores(&repo, &format!("latest:{}", src.display()), &src);
    let log = repo.run(&["log", "--json"]).ok();
    let actions: Vec<String> = log
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["forget", "prune"]);
}

#[test]
fn forget_by_policy_groups_explains_and_keeps_what_it_should() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 1);
    // Two snapshots a day for five days, on two hosts.
    for day in 1..=5 {
        for hour in ["08:00", "20:00"] {
            let t = format!("2026-03-{day:02}T{hour}:00Z");
            repo.backup(&[&src], &["--time", &t, "--host", "alpha"]);
        }
    }
    repo.backup(&[&src], &["--time", "2026-03-01T12:00:00Z", "--host", "beta"]);
    // Days are local days: pin the zone so the times above are unambiguous.
    let utc = |args: &[&str]| crate::util::Run::from(repo.cmd().env("TZ", "UTC").args(args).output().unwrap());
    let r = utc(&["forget", "--keep-daily", "3", "--dry-run", "--json"]).ok().json();
    assert_eq!(r["dry_run"], true);
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{r}");
    let alpha = groups.iter().find(|g| g["host"] == "alpha").unwrap();
    let kept: Vec<&str> = alpha["keep"].as_array().unwrap().iter().map(|k| k["time"].as_str().unwrap()).collect();
    assert_eq!(kept, ["2026-03-03T20:00:00Z", "2026-03-04T20:00:00Z", "2026-03-05T20:00:00Z"]);
    assert_eq!(alpha["keep"][0]["reasons"], serde_json::json!(["daily"]));
    assert_eq!(alpha["remove"].as_array().unwrap().len(), 7);
    assert_eq!(repo.snapshots().len(), 11, "a dry run changes nothing");

    let text = utc(&["forget", "--keep-daily", "3", "--host", "alpha"]).ok().stdout;
    assert!(text.contains("host alpha") && text.contains("removed 7 snapshots"), "{text}");
    assert_eq!(repo.snapshots().len(), 4);
    // The other host was filtered out, and so untouched.
    assert!(repo.snapshots().iter().any(|s| s["host"] == "beta"));

    let e = repo.run(&["forget"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("no policy given"), "{}", e.stderr);
    let e = repo.run(&["forget", "latest", "--keep-last", "1"]);
    assert!(e.code != 0 && e.stderr.contains("not both"), "{}", e.stderr);
    let e = repo.run(&["forget", "--keep-within", "3w"]);
    assert!(e.code == 2 && e.stderr.contains("3w"), "{}", e.stderr);
    let e = repo.run(&["backup", "--time", "tomorrow", src.to_str().unwrap()]);
    assert!(e.code == 2 && e.stderr.contains("tomorrow"), "{}", e.stderr);
}

/// `snapshots` narrows the list as forget does (--host, --tag, --path,
/// each repeatable), and --latest N keeps each group's newest N.
#[test]
fn snapshots_lists_what_the_filters_choose() {
    let repo = Repo::new();
    let (a, b) = (repo.scratch("a"), repo.scratch("b"));
    fill(&a, 0, 1);
    fill(&b, 1, 1);
    let at = |n: u32| format!("2026-03-01T{n:02}:00:00Z");
    for n in 0..4 {
        repo.backup(&[&a], &["--time", &at(n), "--host", "alpha", "--tag", if n % 2 == 0 { "even" } else { "odd" }]);
    }
    repo.backup(&[&a, &b], &["--time", &at(5), "--host", "alpha"]);
    repo.backup(&[&b], &["--time", &at(6), "--host", "beta"]);
    let times = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["snapshots", "--json"];
        all.extend(args);
        let list = repo.run(&all).ok().json();
        list.as_array().unwrap().iter().map(|s| s["time"].as_str().unwrap()[11..13].to_string()).collect()
    };
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    assert_eq!(times(&[]), ["00", "01", "02", "03", "05", "06"]);
    assert_eq!(times(&["--path", a]), ["00", "01", "02", "03", "05"]);
    assert_eq!(times(&["--path", a, "--path", b]), ["05"]);
    assert_eq!(times(&["--host", "beta", "--host", "alpha", "--tag", "odd"]), ["01", "03"]);
    assert_eq!(times(&["--latest", "1"]), ["03", "05", "06"]);
    assert_eq!(times(&["--latest", "2", "--host", "alpha"]), ["02", "03", "05"]);
    // A relative path is the one a backup from here would record.
    let rel = repo.cmd().current_dir(repo.scratch("")).args(["snapshots", "--path", "b"]).output().unwrap();
    let text = String::from_utf8(rel.stdout).unwrap();
    assert!(text.ends_with("2 snapshots\n"), "{text}");
    let e = repo.run(&["snapshots", "--latest", "0"]);
    assert!(e.code == 2 && e.stderr.contains("--latest"), "{}", e.stderr);
}

#[test]
fn a_held_snapshot_survives_forget_and_prune_until_released() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 4);
    let kept_copy = repo.scratch("first");
    repo.backup(&[&src], &["--time", "2026-01-01T00:00:00Z"]);
    crate::util::sh(&format!("cp -a {} {}", src.display(), kept_copy.display()));
    for (i, t) in ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"].iter().enumerate() {
        fill(&src, 100 + 10 * i as u64, 4);
        repo.backup(&[&src], &["--time", t]);
    }
    let first = ids(&repo)[0].clone();
    repo.run(&["hold", "add", &first[..10], "--reason", "litigation 42"]).ok();
    let list = repo.run(&["hold", "list", "--json"]).ok().json();
    assert_eq!(list[0]["snapshot"], first.as_str());
    assert_eq!(list[0]["reason"], "litigation 42");

    let e = repo.run(&["forget", &first]);
    assert!(e.code == 1 && e.stderr.contains("held (litigation 42)"), "{}", e.stderr);
    let out = repo.run(&["forget", "--keep-last", "1", "--prune"]).ok().stdout;
    assert!(out.contains("held: litigation 42"), "{out}");
    assert_eq!(ids(&repo).len(), 2);
    assert_eq!(ids(&repo)[0], first);
    assert_restores(&repo, &format!("{first}:{}", src.display()), &kept_copy);

    repo.run(&["hold", "remove", &first]).ok();
    let doc = repo.run(&["forget", "--keep-last", "1", "--prune", "--json"]).ok().json();
    assert_eq!(doc["groups"][0]["remove"][0]["id"], first.as_str(), "{doc}");
    assert!(doc["prune"]["chunks_removed"].as_u64().unwrap() >= 4, "the first snapshot's own data goes: {doc}");
    assert_eq!(ids(&repo).len(), 1);
    assert_restores(&repo, &format!("latest:{}", src.display()), &src);
    // A lapsed hold protects nothing.
    repo.backup(&[&src], &["--time", "2026-04-01T00:00:00Z"]);
    repo.run(&["hold", "add", "latest", "--reason", "short", "--until", "2026-01-01"]).ok();
    repo.run(&["forget", "latest"]).ok();
    let log = repo.run(&["log"]).ok().stdout;
    for action in ["hold add", "forget", "prune", "hold remove"] {
        assert!(log.contains(action), "{action} missing from the log:\n{log}");
    }
}

#[test]
fn tags_change_after_the_backup_and_keep_tag_honours_them() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 1);
    repo.backup(&[&src], &["--time", "2026-01-01T00:00:00Z", "--tag", "nightly"]);
    repo.backup(&[&src], &["--time", "2026-01-02T00:00:00Z", "--tag", "nightly"]);
    repo.backup(&[&src], &["--time", "2026-01-03T00:00:00Z"]);
    let first = ids(&repo)[0].clone();
    repo.run(&["tag", &first, "--add", "release", "--remove", "nightly"]).ok();
    let snaps = repo.snapshots();
    assert_eq!(snaps[0]["tags"], serde_json::json!(["release"]));
    assert_eq!(snaps[1]["tags"], serde_json::json!(["nightly"]));
    repo.run(&["tag", "latest~1", "--set", "a", "--set", "b"]).ok();
    assert_eq!(repo.snapshots()[1]["tags"], serde_json::json!(["a", "b"]));
    let e = repo.run(&["tag", "latest"]);
    assert!(e.code == 1 && e.stderr.contains("--add"), "{}", e.stderr);
    // Grouped by host and paths (not tags): release survives by its tag.
    repo.run(&["forget", "--keep-last", "1", "--keep-tag", "release"]).ok();
    let left: Vec<String> = repo.snapshots().iter().map(|s| s["time"].as_str().unwrap().to_string()).collect();
    assert_eq!(left, ["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"]);
    let log = repo.run(&["log", "--json"]).ok().stdout;
    assert!(log.lines().filter(|l| l.contains("\"action\":\"tag\"")).count() == 2, "{log}");
}

/// Garbage for prune: a snapshot of 24 MiB of other data (some 24,000
/// small chunks, so a prune writes several delete batches), forgotten.
fn add_garbage(repo: &Repo, extra: &Path, seed: u64) {
    std::fs::create_dir_all(extra).unwrap();
    std::fs::write(extra.join("big"), tree::random(seed, 24 << 20)).unwrap();
    let s = repo.backup(&[extra], &[]);
    repo.run(&["forget", s["snapshot"].as_str().unwrap()]).ok();
}

#[test]
fn kill_9_during_prune_loses_no_remaining_snapshot() {
    let repo = Repo::uninit();
    let init = ["init", "--kdf-memory", "64", "--kdf-iterations", "1", "--chunk-min", "256", "--chunk-avg", "1024"];
    repo.run(&[&init[..], &["--chunk-max", "4096"]].concat()).ok();
    let src = repo.scratch("src");
    fill(&src, 0, 4);
    repo.backup(&[&src], &[]);
    let extra = repo.scratch("extra");
    // Twenty moments: each named point of a prune (a SIGKILL the process
    // sends itself there), then kills from outside at times spread over
    // the rest of its life, compaction included.
    let points = ["prune:marked", "prune:batch:1", "prune:batch:3", "prune:batch:5", "prune:swept", "prune:flushed"];
    let mut crashes = 0;
    for run in 0..20u64 {
        add_garbage(&repo, &extra, 5000 + run);
        let mut cmd = repo.cmd();
        cmd.arg("prune").stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        if let Some(p) = points.get(run as usize) {
            cmd.env("STRATA_CRASH_AT", p);
        }
        let mut child = cmd.spawn().unwrap();
        if run as usize >= points.len() {
            std::thread::sleep(Duration::from_millis(20 * (run - points.len() as u64)));
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        }
        if child.wait().unwrap().code().is_none() {
            crashes += 1;
        }
        assert_eq!(ids(&repo).len(), 1);
        assert_restores(&repo, &format!("latest:{}", src.display()), &src);
    }
    eprintln!("{crashes} of 20 prunes died before they finished");
    assert!(crashes >= 12, "only {crashes} of 20 prunes died before they finished");
    // The next prune finishes the job: afterwards there is nothing left.
    repo.run(&["prune"]).ok();
    let again = repo.run(&["prune", "--dry-run", "--json"]).ok().json();
    assert_eq!(again["chunks_removed"].as_u64(), Some(0), "{again}");
    assert_restores(&repo, &format!("latest:{}", src.display()), &src);
    // And the next backup still dedups against what is left.
    let s = repo.backup(&[&src], &[]);
    assert_eq!(s["bytes_read"].as_u64(), Some(0), "{s}");
}

#[test]
fn a_writer_meets_busy_during_prune_or_waits_with_retry_lock() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 2);
    repo.backup(&[&src], &[]);
    // Hold the writer lock as a running prune does.
    let pw = || Ok(PASSWORD.as_bytes().to_vec());
    let held = strata::repo::Repo::open(&repo.path, strata::repo::Access::Write, &pw).unwrap();
    for args in [vec!["backup", src.to_str().unwrap()], vec!["prune"], vec!["forget", "latest"]] {
        let start = std::time::Instant::now();
        let r = repo.run(&args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains("busy"), "{args:?}: {}", r.stderr);
        assert!(start.elapsed() < Duration::from_secs(5), "busy must come at once");
    }
    let mut waiting = repo
        .cmd()
        .args(["--retry-lock", "30s", "backup", "--json"])
        .arg(&src)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(waiting.try_wait().unwrap().is_none(), "the backup should be waiting for the lock");
    drop(held);
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ids(&repo).len(), 2);
    // A wait that runs out says busy.
    let _held = strata::repo::Repo::open(&repo.path, strata::repo::Access::Write, &pw).unwrap();
    let r = repo.run(&["--retry-lock", "1s", "prune"]);
    assert!(r.code == 1 && r.stderr.contains("busy"), "{}", r.stderr);
}

#[test]
fn prune_while_mounted_keeps_the_mount_working() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    fill(&src, 0, 8);
    repo.backup(&[&src], &["--time", "2026-01-01T00:00:00Z"]);
    let extra = repo.scratch("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("big"), tree::random(77, 16 << 20)).unwrap();
    repo.backup(&[&extra], &["--time", "2026-01-02T00:00:00Z"]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let snapshots = m.dir.join("snapshots");
    let names = || -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(&snapshots).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(names(), ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]);
    repo.run(&["forget", "latest"]).ok();
    repo.run(&["prune"]).ok();
    assert!(wait_until(Duration::from_secs(10), || names() == ["2026-01-01T00:00:00Z"]), "{:?}", names());
    let inside: PathBuf = snapshots.join("2026-01-01T00:00:00Z").join(src.strip_prefix("/").unwrap());
    assert_same(&src, &inside, &EXACT);
    // Tags changed meanwhile show too.
    repo.run(&["tag", "latest", "--add", "kept"]).ok();
    assert!(wait_until(Duration::from_secs(10), || m.dir.join("tags/kept").exists()));
    assert_eq!(m.stop(), 0);
}

/// Hourly backups for weeks: each commit flushes small table files, which
/// are merged as they pile up, so the store's file count stays bounded and
/// listing the snapshots does not read thousands of files.
#[test]
fn many_small_backups_leave_few_store_files() {
    let (repo, src) = Repo::with_source(&[("a", b"first")]);
    for i in 0..80 {
        std::fs::write(src.join("a"), format!("version {i}")).unwrap();
        repo.run(&["backup", "--time", &format!("@{}", 1_700_000_000 + i * 3600), src.to_str().unwrap()]).ok();
    }
    let tables = std::fs::read_dir(repo.path.join("db"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".sst"))
        .count();
    // Unmerged: 247.
    assert!(tables < 80, "{tables} table files after 81 backups");
    assert_eq!(repo.snapshots().len(), 81);
    repo.run(&["check"]).ok();
}

#[test]
fn rewrite_takes_files_out_of_snapshots_and_prune_gives_the_space_back() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    tree::build_full(&src);
    std::fs::create_dir_all(src.join("app/.cache/deep")).unwrap();
    std::fs::write(src.join("app/.cache/deep/blob"), tree::random(77, 2 << 20)).unwrap();
    std::fs::write(src.join("app/prod.env"), b"PASSWORD=hunter2\n").unwrap();
    std::fs::write(src.join("dir/sub/old.env"), b"TOKEN=1\n").unwrap();
    repo.backup(&[&src], &["--time", "2026-01-01T00:00:00Z"]);
    std::fs::write(src.join("app/prod.env"), b"PASSWORD=hunter3\n").unwrap();
    repo.backup(&[&src], &["--time", "2026-01-02T00:00:00Z"]);
    let before = ids(&repo);
    let s = src.to_str().unwrap();
    // By name, by a whole path (a directory, with all it holds), and by a
    // relative path: one of three hardlinks.
    let cache = format!("{s}/app/.cache");
    let excludes = ["-e", "*.env", "-e", &cache, "-e", "sub/linked-three"];
    let rewrite = |args: &[&str]| repo.run(&[&["rewrite"], args, &excludes[..]].concat());
    let gone = [format!("{s}/app/.cache"), format!("{s}/app/prod.env"), format!("{s}/dir/sub/linked-three")];
    let gone = [&gone[..], &[format!("{s}/dir/sub/old.env")]].concat();

    let out = rewrite(&["-n"]).ok().stdout;
    assert!(out.contains("would rewrite 2 of 2 snapshots"), "{out}");
    for p in &gone {
        assert!(out.contains(&format!("\n  {p}\n")), "{p} in {out}");
    }
    assert_eq!(ids(&repo), before, "a dry run writes nothing");

    // The newest, kept beside its rewrite.
    let doc = rewrite(&["latest", "--json"]).ok().json();
    let r = &doc["snapshots"][0];
    assert_eq!(r["id"], before[1].as_str());
    let paths: Vec<&str> = r["removed"]["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(paths, gone);
    assert_eq!(r["removed"]["files"], 4, "{r}");
    assert_eq!(r["removed"]["dirs"], 2, "{r}");
    assert_eq!(r["removed"]["bytes"], (2 << 20) + 17 + 8 + 70_000, "{r}");
    let new = r["new_id"].as_str().unwrap().to_string();
    let snaps = repo.snapshots();
    assert_eq!(snaps.len(), 3);
    let by_id = |id: &str| snaps.iter().find(|x| x["id"] == id).unwrap();
    let (old, rewritten) = (by_id(&before[1]), by_id(&new));
    assert_eq!(rewritten["time"], old["time"]);
    assert_eq!(rewritten["time_ns"].as_i64().unwrap(), old["time_ns"].as_i64().unwrap() + 1, "after its original");
    let app = format!("{s}/app");
    let listed = |spec: &str| repo.run(&["ls", spec, &app]).ok().stdout;
    assert!(listed(&before[1]).contains("prod.env"), "{}", listed(&before[1]));
    assert!(!listed("latest").contains("prod.env"), "latest is the rewrite: {}", listed("latest"));
    assert_eq!(rewritten["tags"], serde_json::json!(["rewrite"]));
    assert_eq!(rewritten["files"].as_u64().unwrap(), old["files"].as_u64().unwrap() - 4);
    assert_eq!(rewritten["bytes"].as_u64().unwrap(), old["bytes"].as_u64().unwrap() - (2 << 20) - 17 - 8 - 70_000);
    // The rewrite restores as the source without what was taken out, every
    // attribute kept (directory times too); the original, as it was.
    let out = repo.scratch("restored");
    repo.run(&["restore", &format!("{new}:{s}"), out.to_str().unwrap()]).ok();
    let mut expected = tree::scan(&src, &EXACT);
    expected.retain(|p, _| {
        let p = [s.as_bytes(), b"/", p].concat();
        !gone.iter().any(|g| p.starts_with(g.as_bytes()) && matches!(p.get(g.len()), None | Some(b'/')))
    });
    let diff = tree::diff(&expected, &tree::scan(&out, &EXACT));
    assert!(diff.is_empty(), "{diff:#?}");
    assert_restores(&repo, &format!("{}:{s}", before[1]), &src);

    // --forget refuses a held snapshot, and then rewrites nothing.
    repo.run(&["hold", "add", &before[0], "--reason", "audit"]).ok();
    let e = rewrite(&["--forget"]);
    assert!(e.code == 1 && e.stderr.contains(&before[0][..16]) && e.stderr.contains("held (audit)"), "{}", e.stderr);
    assert_eq!(ids(&repo).len(), 3);
    repo.run(&["hold", "remove", &before[0]]).ok();

    let out = rewrite(&["--forget"]).ok().stdout;
    assert!(out.contains("rewrote 2 of 3 snapshots"), "the rewrite matches nothing: {out}");
    let after = ids(&repo);
    assert_eq!(after.len(), 3);
    assert!(!after.contains(&before[0]) && !after.contains(&before[1]) && after.contains(&new), "{after:?}");
    let found = repo.run(&["find", "*.env"]).ok();
    assert!(found.stderr.contains("0 matches in 3 snapshots"), "{}", found.stderr);
    // One line a rewrite in the audit log, naming the original and its rewrite.
    let log = repo.run(&["log", "--json"]).ok().stdout;
    let rewrites: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "rewrite")
        .collect();
    assert_eq!(rewrites.len(), 3, "{log}");
    assert_eq!(rewrites[0]["snapshots"], serde_json::json!([before[1], new]));
    assert!(rewrites[0]["detail"].as_str().unwrap().contains("--exclude \"*.env\""), "{log}");

    // The data no snapshot holds any more comes back: most of the 2 MiB
    // the blob took (prune's own writes take a little).
    let size = du(&repo.path);
    repo.run(&["prune"]).ok();
    assert!(du(&repo.path) + (3 << 19) <= size, "{} -> {}", size, du(&repo.path));
    repo.run(&["check", "--read-data"]).ok();

    let e = repo.run(&["rewrite", "latest"]);
    assert!(e.code == 1 && e.stderr.contains("nothing to take out"), "{}", e.stderr);
    let e = repo.run(&["rewrite", "latest", "--host", "x", "-e", "a"]);
    assert!(e.code == 1 && e.stderr.contains("not both"), "{}", e.stderr);
}
