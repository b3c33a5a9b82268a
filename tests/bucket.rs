//! `strata mirror` to and from a real S3-compatible server (SeaweedFS on
//! 127.0.0.1): incremental, never overwriting an object, pulled back into a
//! repository that restores the source exactly; damage and bad
//! credentials, endpoints and buckets are clear errors that list no
//! snapshot.

use crate::util::s3::S3Server;
use crate::util::tree::{self, assert_same, Options};
use crate::util::{Repo, Run};
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
        let mut child = crate::util::keyless_cmd(Some(&repo.path))
            .args(["mirror", url])
            .envs(server.env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50 + (run * 97) % 500));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
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

fn run_pull(server: &S3Server, url: &str, dir: &Path) -> Run {
    run(server, None, &["mirror", url, dir.to_str().unwrap()], &[])
}
