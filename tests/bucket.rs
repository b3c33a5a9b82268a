//! `strata mirror` to and from a real S3-compatible server (SeaweedFS on
//! 127.0.0.1): incremental, never overwriting an object, pulled back into a
//! repository that restores the source exactly; damage and bad
//! credentials, endpoints and buckets are clear errors that list no
//! snapshot.

use crate::util::s3::S3Server;
use crate::util::tree::{self, assert_same, Options};
use crate::util::{kill_9_after, Repo, Run};
use std::path::Path;

const EXACT: Options = Options { dir_mtimes: true };

/// `strata ARGS` (with `-r repo` when given) with the server's environment
/// and no password.
fn run(server: &S3Server, repo: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = crate::util::keyless_cmd(repo);
    c.args(args).envs(server.env()).envs(env.iter().copied());
    Run::from(c.output().unwrap())
}

fn mirror(server: &S3Server, repo: &Path, url: &str) -> serde_json::Value {
    run(server, Some(repo), &["mirror", "--json", url], &[]).ok().json()["targets"][0].clone()
}

#[test]
fn a_bucket_mirror_is_incremental_and_pulls_back_into_the_same_repository() {
    let Some(server) = S3Server::start("strata") else { return };
    let repo = Repo::new();
    let src = repo.scratch("src");
    tree::build_full(&src);
    std::fs::write(src.join("large"), tree::random(9, 40 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    let url = "s3://strata/office/repo";
    let r = mirror(&server, &repo.path, url);
    assert_eq!((r["created"].as_bool(), r["snapshots_sent"].as_u64()), (Some(true), Some(1)), "{r}");
    assert!(r["chunk_bytes_sent"].as_u64().unwrap() > 40 << 20, "{r}");
    let bucket = server.bucket("strata", "office/repo");
    let objects = bucket.list("").unwrap();
    assert!(objects.iter().any(|o| o.key == "config"));
    assert!(objects.iter().filter(|o| o.key.ends_with(".pack")).count() >= 2, "40 MiB is two packs: {objects:?}");

    // Unchanged: nothing travels, nothing is written.
    let r = mirror(&server, &repo.path, url);
    assert_eq!(
        (r["chunks_sent"].as_u64(), r["trees_sent"].as_u64(), r["snapshots_sent"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{r}"
    );
    assert_eq!(bucket.list("").unwrap(), objects, "an unchanged mirror writes no object");

    // More backed up: only it travels, and no object is rewritten.
    std::fs::write(src.join("new"), tree::random(10, 3 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    let r = mirror(&server, &repo.path, url);
    assert_eq!(r["snapshots_sent"], 1, "{r}");
    assert!(r["chunk_bytes_sent"].as_u64().unwrap() < 5 << 20, "{r}");
    let after = bucket.list("").unwrap();
    for o in &objects {
        assert!(after.contains(o), "{} changed or went", o.key);
    }

    // Back into a directory: the same repository, the same files.
    let back = repo.scratch("back");
    let r = run(&server, None, &["mirror", "--json", url, back.to_str().unwrap()], &[]).ok().json();
    assert_eq!(r["targets"][0]["snapshots_sent"], 2, "{r}");
    let b = Repo::at(&back);
    assert_eq!(b.snapshots().len(), 2);
    let out = repo.scratch("out");
    b.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
    b.run(&["check", "--read-data"]).ok();
    // Pulling again fetches nothing.
    let r = run(&server, Some(Path::new(url)), &["mirror", "--json", back.to_str().unwrap()], &[]).ok().json();
    assert_eq!(
        (r["targets"][0]["chunks_sent"].as_u64(), r["targets"][0]["snapshots_sent"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
}

#[test]
fn a_damaged_pack_bad_credentials_and_missing_buckets_are_clear_errors() {
    let Some(server) = S3Server::start("strata") else { return };
    let (repo, _) = Repo::with_source(&[("a", &tree::random(3, 2 << 20)), ("b", b"beta")]);
    let url = "s3://strata/r";
    mirror(&server, &repo.path, url);

    let r = run(&server, Some(&repo.path), &["mirror", url], &[("AWS_SECRET_ACCESS_KEY", "wrong")]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("s3://strata/r") && r.stderr.contains("AWS_SECRET_ACCESS_KEY"), "{}", r.stderr);
    let r = run(&server, Some(&repo.path), &["mirror", "s3://nosuchbucket/r"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nosuchbucket") && r.stderr.contains("does not exist"), "{}", r.stderr);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead_url = format!("http://127.0.0.1:{dead}");
    let r = run(&server, Some(&repo.path), &["mirror", url], &[("AWS_ENDPOINT_URL", &dead_url)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains(&dead_url) && r.stderr.contains("s3://strata/r"), "{}", r.stderr);

    // A flipped byte in a pack: the pull finds it and lists no snapshot.
    let bucket = server.bucket("strata", "r");
    let pack = bucket.list("data/").unwrap().into_iter().find(|o| o.key.ends_with(".pack")).unwrap();
    let mut bytes = bucket.get(&pack.key).unwrap().unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    bucket.put(&pack.key, &bytes).unwrap();
    let back = repo.scratch("back");
    let r = run(&server, None, &["mirror", url, back.to_str().unwrap()], &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("does not match its name"), "{}", r.stdout);
    assert_eq!(Repo::at(&back).snapshots().len(), 0, "a damaged pull lists no snapshot");
}

/// kill -9 at any moment of a bucket mirror: what the bucket lists pulls
/// back whole, and the next mirror completes.
#[test]
fn kill_9_during_a_bucket_mirror_leaves_only_complete_snapshots() {
    let Some(server) = S3Server::start("strata") else { return };
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let url = "s3://strata/killed";
    for run in 0..6u64 {
        for i in 0..4 {
            std::fs::write(src.join(format!("f{i}")), tree::random(run * 10 + i, 12 << 20)).unwrap();
        }
        repo.backup(&[&src], &[]);
        let mut mirror = crate::util::keyless_cmd(Some(&repo.path));
        kill_9_after(mirror.args(["mirror", url]).envs(server.env()), 50 + (run * 97) % 500);
        // Whatever the bucket lists pulls back and checks whole.
        let back = repo.scratch(&format!("back{run}"));
        let r = run_pull(&server, url, &back);
        if r.code == 0 && back.join("db/CURRENT").exists() {
            let c = Repo::at(&back).run(&["check", "--read-data", "--json"]);
            assert_eq!(c.code, 0, "after a kill in run {run}: {}\n{}", c.stdout, c.stderr);
        } else {
            assert!(r.stderr.contains("no strata repository there"), "run {run}: {}\n{}", r.stdout, r.stderr);
        }
    }
    mirror(&server, &repo.path, url);
    let back = repo.scratch("back-final");
    run_pull(&server, url, &back).ok();
    let b = Repo::at(&back);
    assert_eq!(b.snapshots().len(), 6);
    b.run(&["check", "--read-data"]).ok();
}

/// kill -9 at any moment of a pull from a bucket: what the directory holds
/// checks whole (no chunk record without its index entry, which a batch
/// written between the two would leave), and the next pull completes.
#[test]
fn kill_9_during_a_pull_leaves_a_repository_that_checks_whole() {
    let Some(server) = S3Server::start("strata") else { return };
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    // 72 MiB of chunks: a pull writes many 4 MiB batches on its way.
    for i in 0..6 {
        std::fs::write(src.join(format!("f{i}")), tree::random(700 + i, 12 << 20)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let url = "s3://strata/pulled";
    mirror(&server, &repo.path, url);
    let back = repo.scratch("back");
    for run in 0..6u64 {
        let mut pull = crate::util::keyless_cmd(None);
        kill_9_after(pull.args(["mirror", url, back.to_str().unwrap()]).envs(server.env()), 150 + run * 120);
        if back.join("db/CURRENT").exists() {
            let c = Repo::at(&back).run(&["check", "--read-data", "--json"]);
            assert_eq!(c.code, 0, "after a kill in run {run}: {}\n{}", c.stdout, c.stderr);
        }
    }
    run_pull(&server, url, &back).ok();
    let b = Repo::at(&back);
    assert_eq!(b.snapshots().len(), 1);
    b.run(&["check", "--read-data"]).ok();
    let out = repo.scratch("out");
    b.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
}

fn run_pull(server: &S3Server, url: &str, dir: &Path) -> Run {
    run(server, None, &["mirror", url, dir.to_str().unwrap()], &[])
}

/// Bytes of the files under `dir`, recursively, but for temporary ones (a
/// read-ahead cut short when the process exits; swept by a later open).
fn du(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => du(&e.path()),
            Ok(_) if e.file_name().to_string_lossy().contains(".tmp") => 0,
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Every reading command opens the bucket itself, read-only, through a
/// bounded cache: snapshots, ls, restore, check with and without the key,
/// and rsync from a mount give exactly what the repository does; writers
/// are refused; a flipped byte in a pack is caught by a keyless check.
#[test]
fn commands_read_a_bucket_through_a_bounded_cache() {
    let Some(server) = S3Server::start("strata") else { return };
    let repo = Repo::new();
    let src = repo.scratch("src");
    tree::build_full(&src);
    std::fs::write(src.join("large"), tree::random(11, 40 << 20)).unwrap();
    tree::settle_mtimes(&src);
    repo.backup(&[&src], &[]);
    std::fs::write(src.join("later"), b"second").unwrap();
    tree::settle_mtimes(&src);
    repo.backup(&[&src], &[]);
    let url = "s3://strata/read/repo";
    mirror(&server, &repo.path, url);
    let b = Repo::in_bucket(&server, url);

    let ids = |r: &Repo| r.snapshots().iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&b), ids(&repo));
    let ls = |r: &Repo| r.run(&["ls", "-l", "latest~1", src.to_str().unwrap()]).ok().stdout;
    assert_eq!(ls(&b), ls(&repo));

    let out = repo.scratch("out");
    b.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
    // A cache far smaller than the data: still exact, and bounded.
    let cache = b.scratch("cache");
    std::fs::remove_dir_all(&cache).unwrap();
    let small = repo.scratch("out-small");
    b.run(&["--cache-limit", "8M", "restore", &format!("latest:{}", src.display()), small.to_str().unwrap()]).ok();
    assert_same(&src, &small, &EXACT);
    let blocks: u64 = std::fs::read_dir(&cache).unwrap().flatten().map(|e| du(&e.path().join("blocks"))).sum();
    assert!(blocks > 0 && blocks <= 8 << 20, "the cache holds {blocks} bytes of blocks, over its 8 MiB limit");
    // Tagged as a cache: a backup with --exclude-caches leaves it out.
    let tag = std::fs::read(cache.join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with(b"Signature: 8a477f597d28d172789f06886806bc55"));
    let home = b.dir.path();
    std::fs::write(home.join("kept"), b"k").unwrap();
    let mut other = Repo::new();
    other.backup(&[home], &["--exclude-caches"]);
    let listed = |r: &Repo| r.run(&["ls", "-R", "latest", home.to_str().unwrap()]).ok().stdout;
    assert_eq!(listed(&other).trim(), home.join("kept").to_str().unwrap());
    // And strata's own cache is left out without being asked.
    other.env.push(("STRATA_CACHE_DIR".into(), cache.to_str().unwrap().into()));
    other.backup(&[home], &[]);
    assert_eq!(listed(&other).trim(), home.join("kept").to_str().unwrap());

    // Writers are refused, naming the bucket.
    let r = b.run(&["backup", src.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(url) && r.stderr.contains("read-only"), "{}", r.stderr);

    b.run(&["check", "--read-data"]).ok();
    let cache_env = ("STRATA_CACHE_DIR", cache.to_str().unwrap());
    let keyless = |args: &[&str]| run(&server, Some(Path::new(url)), args, &[cache_env]);
    let r = keyless(&["check", "--json"]);
    assert_eq!((r.code, r.json()["keyless"].as_bool()), (0, Some(true)), "{}\n{}", r.stdout, r.stderr);

    if crate::util::fuse_available() {
        let m = crate::util::mount::Mount::start(&b, &repo.scratch("mnt"), &[]);
        let rsynced = repo.scratch("rsynced");
        crate::util::sh(&format!(
            "rsync -aHAXS --numeric-ids --exclude=/deep '{}/latest{}/' '{}/'",
            m.dir.display(),
            src.display(),
            rsynced.display()
        ));
        // rsync cannot handle paths over 4096 bytes; restore covered those.
        std::fs::remove_dir_all(src.join("deep")).unwrap();
        assert_same(&src, &rsynced, &EXACT);
        let history = m.dir.join("history").join(src.strip_prefix("/").unwrap()).join("later");
        assert_eq!(std::fs::read_dir(&history).unwrap().count(), 1, "one version of `later`");
        // A snapshot mirrored while mounted appears in the mount.
        std::fs::write(src.join("later"), b"third").unwrap();
        repo.backup(&[&src], &[]);
        mirror(&server, &repo.path, url);
        let snaps = m.dir.join("snapshots");
        let appeared = crate::util::mount::wait_until(std::time::Duration::from_secs(60), || {
            std::fs::read_dir(&snaps).unwrap().count() == 3
        });
        assert!(appeared, "the mirrored snapshot did not appear in the bucket's mount");
        let later = m.dir.join("latest").join(src.strip_prefix("/").unwrap()).join("later");
        let wait = |f: &dyn Fn() -> bool| crate::util::mount::wait_until(std::time::Duration::from_secs(10), f);
        let ok = wait(&|| std::fs::read(&later).ok().as_deref() == Some(b"third"));
        assert!(ok, "latest is not the new snapshot: {:?}", std::fs::read_link(m.dir.join("latest")));
        assert!(wait(&|| std::fs::read_dir(&history).unwrap().count() == 2), "two versions of `later`");
    }

    // A flipped byte in the big pack: the keyless check of the bucket (not
    // of the cache, which holds the good bytes) finds it.
    let bucket = server.bucket("strata", "read/repo");
    let pack = bucket.list("data/").unwrap().into_iter().filter(|o| o.key.ends_with(".pack")).max_by_key(|o| o.size);
    let pack = pack.unwrap();
    let mut bytes = bucket.get(&pack.key).unwrap().unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    bucket.put(&pack.key, &bytes).unwrap();
    let r = keyless(&["check", "--json"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let problems = r.json()["problems"].as_array().unwrap().clone();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]["kind"].as_str().unwrap().contains("chunk"), "{problems:?}");
    let r = b.run(&["check", "--read-data"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let private: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .filter(|d| d.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with("fresh-"))
        .collect();
    assert!(private.is_empty(), "check leaves its private blocks behind: {private:?}");
}

/// `mirror --prune` to a bucket: forgotten snapshots go, packs with nothing
/// live go, mostly dead packs are rewritten; what remains reads back exact.
/// Without --prune the bucket keeps everything.
#[test]
fn a_pruning_bucket_mirror_removes_what_the_source_pruned() {
    let Some(server) = S3Server::start("strata") else { return };
    let (repo, src) = Repo::with_source(&[("keep", &tree::random(20, 5 << 20))]);
    std::fs::write(src.join("gone"), tree::random(21, 40 << 20)).unwrap();
    let doomed = repo.backup(&[&src], &[])["snapshot"].as_str().unwrap().to_string();
    let url = "s3://strata/pruned";
    mirror(&server, &repo.path, url);
    std::fs::remove_file(src.join("gone")).unwrap();
    repo.backup(&[&src], &[]);
    repo.run(&["forget", &doomed]).ok();
    repo.run(&["prune"]).ok();
    let bucket = server.bucket("strata", "pruned");
    let pack_bytes = || -> u64 { bucket.list("data/").unwrap().iter().map(|o| o.size).sum() };

    let r = mirror(&server, &repo.path, url);
    assert_eq!(r["snapshots_removed"], 0, "{r}");
    let b = Repo::in_bucket(&server, url);
    assert_eq!(b.snapshots().len(), 3, "append-only: the forgotten snapshot stays in the bucket");
    let before = pack_bytes();

    let r =
        run(&server, Some(&repo.path), &["mirror", "--prune", "--json", url], &[]).ok().json()["targets"][0].clone();
    assert_eq!(r["snapshots_removed"], 1, "{r}");
    assert!(r["packs_removed"].as_u64().unwrap() >= 2 && r["chunks_removed"].as_u64().unwrap() > 0, "{r}");
    let after = pack_bytes();
    assert!(after + (38 << 20) < before, "{before} bytes of packs before, {after} after");
    assert_eq!(b.snapshots().len(), 2);
    let out = repo.scratch("out");
    b.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
    b.run(&["check", "--read-data"]).ok();
    // Pruning again changes nothing.
    let r =
        run(&server, Some(&repo.path), &["mirror", "--prune", "--json", url], &[]).ok().json()["targets"][0].clone();
    assert_eq!((r["packs_removed"].as_u64(), r["snapshots_removed"].as_u64()), (Some(0), Some(0)), "{r}");
}

/// A SeaweedFS cluster (master, three volume servers with every write on
/// two, a filer with the S3 gateway): a volume server killed during a
/// mirror; the mirror completes, or fails naming the bucket and completes
/// when run again; what the bucket holds restores exactly.
#[test]
fn a_mirror_survives_a_volume_server_killed_under_it() {
    let Some(mut server) = S3Server::cluster("strata") else { return };
    let repo = Repo::new();
    let src = repo.scratch("src");
    tree::build_full(&src);
    for i in 0..5 {
        std::fs::write(src.join(format!("big{i}")), tree::random(30 + i, 24 << 20)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let url = "s3://strata/cluster";
    let child = crate::util::keyless_cmd(Some(&repo.path))
        .args(["mirror", url])
        .envs(server.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bucket = server.bucket("strata", "cluster");
    let packs = || bucket.list("data/").map_or(0, |l| l.iter().filter(|o| o.key.ends_with(".idx")).count());
    assert!(crate::util::mount::wait_until(std::time::Duration::from_secs(60), || packs() >= 1));
    server.kill("volume2");
    let first = Run::from(child.wait_with_output().unwrap());
    if first.code != 0 {
        assert!(first.stderr.contains(url), "a failed mirror names the bucket: {}", first.stderr);
        run(&server, Some(&repo.path), &["mirror", url], &[]).ok();
    }
    let b = Repo::in_bucket(&server, url);
    assert_eq!(b.snapshots().len(), 1);
    let out = repo.scratch("out");
    b.run(&["restore", &format!("latest:{}", src.display()), out.to_str().unwrap()]).ok();
    assert_same(&src, &out, &EXACT);
    b.run(&["check", "--read-data"]).ok();
}
