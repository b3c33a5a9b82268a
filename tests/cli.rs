//! The command line's contract: snapshot specs, passwords, errors, docs.

use crate::util::{Repo, PASSWORD};

#[test]
fn snapshot_specs_latest_n_and_prefixes() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        std::fs::write(src.join("f"), format!("version {i}")).unwrap();
        ids.push(repo.backup(&[&src], &[])["snapshot"].as_str().unwrap().to_string());
    }
    let f = format!("{}/f", src.display());
    let cat = |spec: &str| {
        let out = repo.scratch(&format!("o-{}", spec.replace('~', "_")));
        repo.run(&["restore", &format!("{spec}:{f}"), out.to_str().unwrap()]).ok();
        std::fs::read_to_string(out.join("f")).unwrap()
    };
    assert_eq!(cat("latest"), "version 2");
    assert_eq!(cat("latest~2"), "version 0");
    assert_eq!(cat(&ids[1][..10]), "version 1");
    assert_eq!(cat(&ids[0]), "version 0");
    let r = repo.run(&["ls", "latest~3"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("latest~3"), "{}", r.stderr);
    let r = repo.run(&["ls", "zzzz"]);
    assert!(r.stderr.contains("zzzz") && r.stderr.contains("no such snapshot"), "{}", r.stderr);
    let snaps = repo.snapshots();
    assert_eq!(snaps.len(), 3);
    assert!(snaps[0]["time_ns"].as_str().unwrap() < snaps[2]["time_ns"].as_str().unwrap());
    let text = repo.run(&["snapshots"]).ok().stdout;
    assert!(text.contains(&ids[2][..16]) && text.contains("3 snapshots"), "{text}");
}

#[test]
fn wrong_password_is_a_clear_error() {
    let repo = Repo::new();
    let r = repo.cmd().env("STRATA_PASSWORD", "wrong").arg("snapshots").output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("wrong password") && err.contains(repo.path.to_str().unwrap()), "{err}");
}

#[test]
fn passwords_from_file_command_and_added_keys() {
    let repo = Repo::new();
    let pwfile = repo.scratch("pw");
    std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
    let r =
        repo.cmd().env_remove("STRATA_PASSWORD").arg("--password-file").arg(&pwfile).arg("snapshots").output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = repo
        .cmd()
        .env_remove("STRATA_PASSWORD")
        .args(["--password-command", &format!("echo '{PASSWORD}'"), "snapshots"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let second = repo.scratch("pw2");
    std::fs::write(&second, "second password\n").unwrap();
    repo.run(&[
        "key",
        "add",
        "--new-password-file",
        second.to_str().unwrap(),
        "--kdf-memory",
        "64",
        "--kdf-iterations",
        "1",
    ])
    .ok();
    let r = repo.cmd().env("STRATA_PASSWORD", "second password").arg("snapshots").output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(repo.run(&["key", "list"]).ok().stdout.lines().count(), 2);
    // Without any source and no terminal, the error says what to do.
    let r =
        repo.cmd().env_remove("STRATA_PASSWORD").arg("snapshots").stdin(std::process::Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
}

#[test]
fn unencrypted_repositories_need_no_password() {
    let repo = Repo::uninit();
    repo.cmd().env_remove("STRATA_PASSWORD").args(["init", "--no-encryption"]).output().unwrap();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("x"), b"plain").unwrap();
    let r = repo.cmd().env_remove("STRATA_PASSWORD").arg("backup").arg(&src).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn init_validates_options_and_refuses_to_reinit() {
    let repo = Repo::uninit();
    let r = repo.run(&["init", "--chunk-avg", "1000"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--chunk-avg") && r.stderr.contains("power of two"), "{}", r.stderr);
    repo.run(&["init", "--kdf-memory", "64", "--kdf-iterations", "1"]).ok();
    let r = repo.run(&["init"]);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    let missing = Repo::uninit();
    let r = missing.run(&["snapshots"]);
    assert!(r.stderr.contains("strata init") && r.stderr.contains(missing.path.to_str().unwrap()), "{}", r.stderr);
}

#[test]
fn ls_long_and_json() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"12345").unwrap();
    std::os::unix::fs::symlink("f", src.join("l")).unwrap();
    repo.backup(&[&src], &[]);
    let long = repo.run(&["ls", "-l", "latest", src.to_str().unwrap()]).ok().stdout;
    assert!(long.lines().any(|l| l.starts_with("-rw-r--r--") && l.contains(" 5 ")), "{long}");
    assert!(long.contains("l -> f"), "{long}");
    let json = repo.run(&["ls", "--json", "latest", src.to_str().unwrap()]).ok().stdout;
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["size"], 5);
    assert_eq!(first["type"], "file");
}

#[test]
fn man_pages_and_completions_match_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let r = std::process::Command::new(crate::util::bin()).args(["generate", "man"]).arg(dir.path()).output().unwrap();
    assert!(r.status.success());
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut drift = Vec::new();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let want = std::fs::read(e.path()).unwrap();
        if std::fs::read(committed.join(e.file_name())).ok().as_ref() != Some(&want) {
            drift.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(drift.is_empty(), "man pages out of date ({drift:?}): run `strata generate man man/` and commit");
    let r = std::process::Command::new(crate::util::bin()).args(["generate", "completions", "bash"]).output().unwrap();
    assert!(String::from_utf8_lossy(&r.stdout).contains("strata"));
}
