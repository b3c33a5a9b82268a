//! `strata mirror` to a directory: made and kept without the password,
//! incremental, append-only unless --prune, crash-safe; the mirror is a
//! repository every command opens, and restores the source exactly.

use crate::util::tree::{self, assert_same, Options};
use crate::util::{kill_9_after, Repo, Run};
use std::path::{Path, PathBuf};

const EXACT: Options = Options { dir_mtimes: true };

/// `strata -r REPO ARGS` with no password anywhere in reach.
fn keyless(repo: &Path, args: &[&str]) -> Run {
    Run::from(crate::util::keyless_cmd(Some(repo)).args(args).output().unwrap())
}

fn mirror(repo: &Repo, target: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["mirror", "--json"];
    args.extend_from_slice(extra);
    args.push(target.to_str().unwrap());
    let r = keyless(&repo.path, &args).ok();
    r.json()["targets"][0].clone()
}

fn ids(repo: &Repo) -> Vec<String> {
    repo.snapshots().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

fn restore(repo: &Repo, spec: &str, out: &Path) {
    repo.run(&["restore", spec, out.to_str().unwrap()]).ok();
}

#[test]
fn a_mirror_is_the_same_repository_kept_up_to_date_without_the_password() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    tree::build_full(&src);
    std::fs::write(src.join("large"), tree::random(5, 6 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    let target = repo.scratch("mirror");
    let r = mirror(&repo, &target, &[]);
    assert_eq!(r["created"], true, "{r}");
    assert_eq!(r["snapshots_sent"], 1, "{r}");
    assert!(r["chunk_bytes_sent"].as_u64().unwrap() > 6 << 20, "{r}");
    let m = Repo::at(&target);
    assert_eq!(ids(&m), ids(&repo));
    let out = repo.scratch("out1");
    restore(&m, &format!("latest:{}", src.display()), &out);
    assert_same(&src, &out, &EXACT);
    m.run(&["check", "--read-data"]).ok();

    // Unchanged: nothing travels.
    let r = mirror(&repo, &target, &[]);
    assert_eq!(
        (r["chunks_sent"].as_u64(), r["trees_sent"].as_u64(), r["snapshots_sent"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{r}"
    );
    assert!(r["chunks_skipped"].as_u64().unwrap() > 0, "{r}");

    // A new backup: only what changed travels.
    std::fs::write(src.join("new"), tree::random(6, 1 << 20)).unwrap();
    repo.backup(&[&src], &[]);
    let r = mirror(&repo, &target, &[]);
    assert_eq!(r["snapshots_sent"], 1, "{r}");
    assert!(r["chunk_bytes_sent"].as_u64().unwrap() < 2 << 20, "{r}");
    assert_eq!(ids(&m), ids(&repo));

    // Forget and prune at the source: the mirror keeps all (append-only) ...
    let first = ids(&repo)[0].clone();
    repo.run(&["forget", &first, "--prune"]).ok();
    let r = mirror(&repo, &target, &[]);
    assert_eq!(r["snapshots_removed"], 0, "{r}");
    assert_eq!(ids(&m).len(), 2);
    let out = repo.scratch("out2");
    restore(&m, &format!("{first}:{}", src.display()), &out);
    std::fs::remove_file(src.join("new")).unwrap();
    assert_same(&src, &out, &Options { dir_mtimes: false });
    // ... until --prune.
    let r = mirror(&repo, &target, &["--prune"]);
    assert_eq!(r["snapshots_removed"], 1, "{r}");
    assert_eq!(ids(&m), ids(&repo));
    m.run(&["check", "--read-data"]).ok();
    let holds = m.run(&["log"]).ok().stdout;
    assert!(holds.contains("forget"), "the audit log travels too: {holds}");
}

#[test]
fn a_mirror_without_keys_opens_once_they_are_imported() {
    let (repo, src) = Repo::with_source(&[("a", b"alpha"), ("d/b", b"beta")]);
    let target = repo.scratch("mirror");
    mirror(&repo, &target, &["--without-keys"]);
    let m = Repo::at(&target);
    let r = m.run(&["snapshots"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("wrong password"), "{}", r.stderr);
    // Keyless checking works on it all the same.
    let r = keyless(&target, &["check", "--json"]).ok();
    assert_eq!(r.json()["keyless"], true);

    let keys = repo.scratch("keys");
    keyless(&repo.path, &["key", "export", keys.to_str().unwrap()]).ok();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
    let r = keyless(&target, &["key", "import", keys.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("1 key files added"), "{}", r.stdout);
    let out = repo.scratch("out");
    restore(&m, &format!("latest:{}", src.display()), &out);
    assert_eq!(std::fs::read(out.join("d/b")).unwrap(), b"beta");
    let bad = repo.scratch("bad");
    std::fs::write(&bad, "something else\n").unwrap();
    let r = keyless(&target, &["key", "import", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("bad") && r.stderr.contains("key export"), "{}", r.stderr);
}

#[test]
fn a_mirror_refuses_a_target_that_is_something_else() {
    let (repo, _) = Repo::with_source(&[("a", b"alpha")]);
    let (other, _) = Repo::with_source(&[("b", b"beta")]);
    let r = keyless(&repo.path, &["mirror", other.path.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("holds another repository"), "{}", r.stderr);
    let full = repo.scratch("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let r = keyless(&repo.path, &["mirror", full.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    let r = keyless(&repo.path, &["mirror", repo.path.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("the repository itself"), "{}", r.stderr);
    assert_eq!(std::fs::read(full.join("x")).unwrap(), b"x");
    // Nor inside it, through a path that does not exist yet, or a symlink.
    let inside = repo.path.join("offsite/new");
    std::os::unix::fs::symlink(&repo.path, repo.scratch("link")).unwrap();
    for target in [inside.clone(), repo.scratch("link").join("x/../y")] {
        let r = keyless(&repo.path, &["mirror", target.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("is inside the repository"), "{}", r.stderr);
    }
    assert!(!repo.path.join("offsite").exists() && !repo.path.join("y").exists());
}

/// kill -9 at any moment of a mirror, then mirror again: the target never
/// lists a snapshot whose records it lacks, and the next run completes.
#[test]
fn kill_9_during_a_mirror_leaves_only_complete_snapshots() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let target: PathBuf = repo.scratch("mirror");
    for run in 0..8u64 {
        for i in 0..6 {
            std::fs::write(src.join(format!("f{i}")), tree::random(run * 100 + i, 4 << 20)).unwrap();
        }
        repo.backup(&[&src], &[]);
        let mut mirror = std::process::Command::new(crate::util::bin());
        kill_9_after(mirror.arg("-r").arg(&repo.path).arg("mirror").arg(&target), 30 + (run * 53) % 400);
        if target.join("db/CURRENT").exists() {
            // Whatever it lists is whole.
            let r = Repo::at(&target).run(&["check", "--read-data", "--json"]);
            assert_eq!(r.code, 0, "after a kill in run {run}: {}\n{}", r.stdout, r.stderr);
        }
    }
    mirror(&repo, &target, &[]);
    let m = Repo::at(&target);
    assert_eq!(ids(&m), ids(&repo));
    m.run(&["check", "--read-data"]).ok();
    let out = repo.scratch("out");
    restore(&m, &format!("latest:{}", src.display()), &out);
    assert_same(&src, &out, &EXACT);
}
