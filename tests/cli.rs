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
    assert!(snaps[0]["time_ns"].as_i64().unwrap() < snaps[2]["time_ns"].as_i64().unwrap());
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

/// A name that is not UTF-8 (an old Latin-1 file name, say) is given on
/// the command line as the bytes it is, and printed back as them.
#[test]
fn names_that_are_not_utf8_are_taken_and_printed_as_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let src = repo.scratch("src");
    let dir = src.join(OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(OsStr::from_bytes(b"r\xe9sum\xe9.txt"));
    std::fs::write(&file, b"old").unwrap();
    repo.backup(&[&src], &[]);
    std::fs::write(&file, b"newer").unwrap();
    repo.backup(&[&src], &[]);
    let raw = |args: &[&[u8]]| {
        let o = repo.cmd().args(args.iter().map(|a| OsStr::from_bytes(a))).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let (src, dir, path) = (src.as_os_str().as_bytes(), dir.as_os_str().as_bytes(), file.as_os_str().as_bytes());
    let line = |head: &[u8]| [head, path, b"\n"].concat();

    assert_eq!(raw(&[b"ls", b"-R", b"latest", src]), [dir, b"\n", path, b"\n"].concat());
    assert!(raw(&[b"ls", b"-l", b"latest", path]).ends_with(&line(b" ")));
    assert_eq!(raw(&[b"dump", &[b"latest~1:", path].concat()]), b"old");
    let out = repo.scratch("out");
    raw(&[b"restore", &[b"latest:", path].concat(), out.as_os_str().as_bytes()]);
    assert_eq!(std::fs::read(out.join(OsStr::from_bytes(b"r\xe9sum\xe9.txt"))).unwrap(), b"newer");
    assert!(raw(&[b"diff", b"latest~1", b"latest", dir]).starts_with(&line(b"M    ")));
    std::fs::write(&file, b"newest!").unwrap();
    assert!(raw(&[b"diff", b"latest", dir]).starts_with(&line(b"M    ")));
    let found = raw(&[b"find", b"*.txt"]);
    let found: Vec<&[u8]> = found.split(|&b| b == b'\n').filter(|l| !l.is_empty()).skip(1).collect();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|l| l.ends_with(&[b"  ", path].concat())));
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
    // Every page a page names exists.
    let pages: Vec<String> =
        std::fs::read_dir(&committed).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for page in &pages {
        let text = std::fs::read_to_string(committed.join(page)).unwrap();
        for named in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '(' || c == ')')) {
            if let Some(name) = named.strip_suffix("(1)").filter(|n| n.starts_with("strata")) {
                assert!(pages.contains(&format!("{name}.1")), "{page} names {name}(1), which does not exist");
            }
        }
    }
    let completions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [("bash", "strata.bash"), ("zsh", "_strata"), ("fish", "strata.fish")] {
        let r =
            std::process::Command::new(crate::util::bin()).args(["generate", "completions", shell]).output().unwrap();
        assert!(r.status.success() && String::from_utf8_lossy(&r.stdout).contains("strata"));
        assert!(
            std::fs::read(completions.join(file)).ok() == Some(r.stdout),
            "completions/{file} out of date: run `strata generate completions {shell} > completions/{file}` and commit"
        );
    }
}

/// Every file and directory of a repository is its owner's alone, whatever
/// the umask (key files, unencrypted data); check warns about one that is
/// not.
#[test]
fn repositories_are_private_to_their_owner_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let repo = Repo::uninit();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("secret"), b"s").unwrap();
    for args in [&["init", "--kdf-memory", "64", "--kdf-iterations", "1"][..], &["backup", src.to_str().unwrap()]] {
        let mut c = repo.cmd();
        c.args(args);
        unsafe {
            c.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            })
        };
        crate::util::Run::from(c.output().unwrap()).ok();
    }
    let mut open = Vec::new();
    let mut stack = vec![repo.path.clone()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.permissions().mode() & 0o077 != 0 {
            open.push(format!("{} {:o}", p.display(), m.permissions().mode()));
        }
        if m.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(open.is_empty(), "readable by others: {open:?}");
    let r = repo.run(&["check"]).ok();
    assert!(!r.stdout.contains("warning"), "{}", r.stdout);
    crate::util::sh(&format!("chmod -R go+rX {}", repo.path.display()));
    let r = repo.run(&["check", "--json"]).ok();
    let w = r.json()["warnings"].clone();
    assert!(w[0].as_str().unwrap().contains("read by other users"), "{w}");
}

/// The progress ticker of `backup --json` stops with the backup, not after
/// its one-second sleep.
#[test]
fn backup_json_exits_as_soon_as_the_backup_is_done() {
    let (repo, src) = Repo::with_source(&[("f", b"x")]);
    let best = (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            repo.run(&["backup", "--json", src.to_str().unwrap()]).ok();
            t.elapsed()
        })
        .min()
        .unwrap();
    assert!(best < std::time::Duration::from_millis(900), "backup --json took {best:?} at best");
}

/// An I/O error says what failed once, not once per layer.
#[test]
fn an_io_error_is_printed_once() {
    let (repo, src) = Repo::with_source(&[("f", b"data")]);
    let missing = repo.scratch("no-such-dir").join("f");
    let path = format!("latest:{}/f", src.display());
    let r = repo.run(&["dump", &path, "--target", missing.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr.matches("No such file or directory").count(), 1, "{}", r.stderr);
}

/// Each mistake gets a message that names what is at fault, once.
#[test]
fn bad_options_and_places_get_clear_messages() {
    use std::os::unix::process::CommandExt;
    let repo = Repo::uninit();
    let r = repo.run(&["init", "--kdf-memory", "1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--kdf-memory") && !r.stderr.contains("KdfParams"), "{}", r.stderr);

    let file = repo.scratch("a-file");
    std::fs::write(&file, b"x").unwrap();
    let r = crate::util::Repo::at(&file).run(&["init"]);
    assert!(r.stderr.contains("exists and is not a directory") && r.stderr.contains("a-file"), "{}", r.stderr);

    let r = crate::util::Run::from(
        std::process::Command::new(crate::util::bin()).arg("snapshots").env("STRATA_REPOSITORY", "").output().unwrap(),
    );
    assert!(r.stderr.contains("no repository given"), "{}", r.stderr);

    for url in ["sftp:host:/srv/repo", "rest:http://host/", "s3:bucket/repo"] {
        let mut c = std::process::Command::new(crate::util::bin());
        let r = crate::util::Run::from(c.current_dir(repo.dir.path()).args(["-r", url, "init"]).output().unwrap());
        assert_eq!(r.code, 1, "{url}: {}", r.stderr);
        assert!(r.stderr.contains(url), "{url}: {}", r.stderr);
    }
    assert!(!repo.dir.path().join("sftp:host:").exists() && !repo.dir.path().join("s3:bucket").exists());

    let repo = Repo::new();
    let r = repo.run(&["backup", "--exclude-file", "/no/such/excludes", repo.dir.path().to_str().unwrap()]);
    assert!(r.stderr.contains("--exclude-file /no/such/excludes"), "{}", r.stderr);

    // No terminal: the new password must come from a file, and it says so.
    let mut c = repo.cmd();
    c.args(["key", "add"]).stdin(std::process::Stdio::null());
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    };
    let r = crate::util::Run::from(c.output().unwrap());
    assert!(r.code == 1 && r.stderr.contains("--new-password-file"), "{}", r.stderr);

    // A repository on a read-only filesystem: writers say so, once.
    let ro = repo.scratch("ro");
    std::fs::create_dir_all(&ro).unwrap();
    crate::util::sh(&format!(
        "mount --bind {} {ro} && mount -o remount,ro,bind {ro}",
        repo.path.display(),
        ro = ro.display()
    ));
    let r = crate::util::Repo::at(&ro).run(&["backup", repo.dir.path().to_str().unwrap()]);
    crate::util::sh(&format!("umount {}", ro.display()));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot be written") && r.stderr.matches("Read-only file system").count() == 1,
        "{}",
        r.stderr
    );
}

/// `latest`, `latest~N`, a snapshot's time and `--at` choose among the
/// snapshots of a host, a source path or a tag.
#[test]
fn snapshots_are_chosen_by_host_path_tag_and_time() {
    let repo = Repo::new();
    let (a, b) = (repo.scratch("a"), repo.scratch("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("f"), b"a1").unwrap();
    std::fs::write(b.join("f"), b"b1").unwrap();
    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
    repo.backup(&[&a], &["--host", "web1", "--time", "2026-01-01T10:00:00Z"]);
    repo.backup(&[&b], &["--host", "web2", "--tag", "db", "--time", "2026-01-01T11:00:00Z"]);
    std::fs::write(a.join("f"), b"a2").unwrap();
    repo.backup(&[&a], &["--host", "web1", "--time", "2026-01-01T12:00:00Z"]);
    let restored = |args: &[&str]| -> Vec<u8> {
        let out = repo.scratch(&format!("out-{}", args.join("-").replace('/', "_")));
        let mut all = vec!["restore"];
        all.extend_from_slice(args);
        all.push(out.to_str().unwrap());
        repo.run(&all).ok();
        std::fs::read(out.join("f")).unwrap()
    };
    assert_eq!(restored(&["--host", "web1", &format!("latest~1:{sa}")]), b"a1");
    assert_eq!(restored(&["--host", "web2", &format!("latest:{sb}")]), b"b1");
    assert_eq!(restored(&["--tag", "db", &format!("latest:{sb}")]), b"b1");
    assert_eq!(restored(&["--path", sb, &format!("latest:{sb}")]), b"b1");
    assert_eq!(restored(&[&format!("2026-01-01T12:00:00Z:{sa}")]), b"a2");
    assert_eq!(restored(&["--host", "web1", "--at", "2026-01-01T11:30:00Z", sa]), b"a1");
    let ls = repo.run(&["ls", "--at", "2026-01-01T11:30:00Z", sb]).ok().stdout;
    assert!(ls.contains("/f"), "{ls}");
    // A time without a zone is local time.
    let r =
        crate::util::Run::from(repo.cmd().env("TZ", "UTC").args(["ls", "2026-01-01T10:00:00", sa]).output().unwrap());
    assert!(r.ok().stdout.contains("/f"));
    let r = repo.run(&["ls", "--host", "nosuch", "latest"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("host nosuch") && r.stderr.contains("no such snapshot"), "{}", r.stderr);
    let r = repo.run(&["restore", "latest", "-"]);
    assert!(r.code == 1 && r.stderr.contains("not to standard output"), "{}", r.stderr);
}

/// `key remove`: never the last key, not the one in use without --force;
/// the removed password opens nothing any more.
#[test]
fn a_key_is_removed_but_never_the_last_nor_the_one_in_use_unforced() {
    let repo = Repo::new();
    let second = repo.scratch("pw2");
    std::fs::write(&second, "second password\n").unwrap();
    let add =
        ["key", "add", "--new-password-file", second.to_str().unwrap(), "--kdf-memory", "64", "--kdf-iterations", "1"];
    repo.run(&add).ok();
    let ids = |r: &Repo| -> Vec<String> {
        r.run(&["key", "list", "--json"])
            .ok()
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
            .collect()
    };
    let both = ids(&repo);
    assert_eq!(both.len(), 2);
    let with_second = |args: &[&str]| {
        crate::util::Run::from(repo.cmd().env("STRATA_PASSWORD", "second password").args(args).output().unwrap())
    };
    // `key list` marks the key the password opened.
    let listed = with_second(&["key", "list", "--json"]).ok().stdout;
    let mine: Vec<String> = listed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["in_use"] == true)
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine.len(), 1, "{listed}");
    let r = with_second(&["key", "remove", &mine[0]]);
    assert!(r.code == 1 && r.stderr.contains("your password opened"), "{}", r.stderr);
    let first = both.iter().find(|id| **id != mine[0]).unwrap();
    with_second(&["key", "remove", &first[..6]]).ok();
    let r = repo.run(&["snapshots"]);
    assert!(r.code == 1 && r.stderr.contains("wrong password"), "{}", r.stderr);
    let r = with_second(&["key", "remove", "--force", &mine[0]]);
    assert!(r.code == 1 && r.stderr.contains("only key"), "{}", r.stderr);
    with_second(&["snapshots"]).ok();
    // key passwd: the new password opens it, the old one no longer does.
    let third = repo.scratch("pw3");
    std::fs::write(&third, "third password\n").unwrap();
    let passwd = ["key", "passwd", "--new-password-file", third.to_str().unwrap(), "--kdf-memory", "64"];
    with_second(&passwd).ok();
    let r = with_second(&["snapshots"]);
    assert!(r.code == 1 && r.stderr.contains("wrong password"), "{}", r.stderr);
    let with_third = repo.cmd().env("STRATA_PASSWORD", "third password").args(["key", "list"]).output().unwrap();
    let listed = crate::util::Run::from(with_third).ok().stdout;
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("(in use)"), "{listed}");
}

/// `stats`: two snapshots of the same data restore twice its size from one
/// stored copy; compressible data is stored smaller.
#[test]
fn stats_count_restore_size_unique_and_stored_data() {
    let zeros = vec![b'z'; 1 << 20];
    let random = crate::util::tree::random(8, 512 << 10);
    let (repo, src) = Repo::with_source(&[("z", &zeros), ("r", &random)]);
    repo.backup(&[&src], &[]);
    let size = (zeros.len() + random.len()) as u64;
    let all = repo.run(&["stats", "--json"]).ok().json();
    assert_eq!((all["snapshots"].as_u64(), all["restore_bytes"].as_u64()), (Some(2), Some(2 * size)), "{all}");
    assert_eq!(all["unique_bytes"].as_u64(), Some(size), "{all}");
    assert_eq!(all["dedup_ratio"].as_f64(), Some(2.0), "{all}");
    assert!(all["compression_ratio"].as_f64().unwrap() > 1.5, "{all}");
    assert!(all["stored_chunk_bytes"].as_u64().unwrap() < size, "{all}");
    let one = repo.run(&["stats", "--json", "latest"]).ok().json();
    assert_eq!((one["snapshots"].as_u64(), one["restore_bytes"].as_u64()), (Some(1), Some(size)), "{one}");
    assert!(repo.run(&["stats"]).ok().stdout.contains("deduplication:    2.00x"));
}

/// `diff`: added, removed, modified, type-changed and (with --metadata)
/// metadata-changed paths between two snapshots, and their statistics.
#[test]
fn diff_names_each_change_and_counts_them() {
    let (repo, src) =
        Repo::with_source(&[("same", b"s"), ("edit", b"old"), ("gone/f", b"g"), ("kind", b"file"), ("perm", b"p")]);
    std::fs::write(src.join("edit"), b"new content").unwrap();
    std::fs::remove_dir_all(src.join("gone")).unwrap();
    std::fs::remove_file(src.join("kind")).unwrap();
    std::fs::create_dir(src.join("kind")).unwrap();
    std::fs::write(src.join("added"), b"12345").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("perm"), std::fs::Permissions::from_mode(0o600)).unwrap();
    repo.backup(&[&src], &[]);
    let s = src.to_str().unwrap();
    let lines: Vec<String> =
        repo.run(&["diff", "latest~1", "latest", s]).ok().stdout.lines().map(String::from).collect();
    for want in [
        format!("+    {s}/added"),
        format!("M    {s}/edit"),
        format!("-    {s}/gone/"),
        format!("-    {s}/gone/f"),
        format!("T    {s}/kind/"),
    ] {
        assert!(lines.contains(&want), "{want:?} not in {lines:?}");
    }
    assert!(!lines.iter().any(|l| l.ends_with("/same") || l.ends_with("/perm")), "{lines:?}");
    let meta = repo.run(&["diff", "--metadata", "latest~1", "latest", s]).ok().stdout;
    assert!(meta.contains(&format!("U    {s}/perm")), "{meta}");
    let r = repo.run(&["diff", "--json", "latest~1", "latest"]).ok();
    let stats = r.json();
    assert_eq!(stats["type"], "statistics");
    assert_eq!((stats["files_added"].as_u64(), stats["files_removed"].as_u64()), (Some(1), Some(1)), "{stats}");
    assert_eq!((stats["modified"].as_u64(), stats["type_changed"].as_u64()), (Some(1), Some(1)), "{stats}");
    assert_eq!(stats["bytes_added"].as_u64(), Some(5 + 11), "{stats}");
    // A snapshot against itself, and against the live source it was taken of.
    let same = repo.run(&["diff", "--metadata", "latest", "latest"]).ok().stdout;
    assert_eq!(same.lines().filter(|l| !l.is_empty() && !l.starts_with("added:")).count(), 0, "{same}");
    let live = repo.run(&["diff", "--metadata", "latest", s]).ok().stdout;
    assert_eq!(live.lines().filter(|l| !l.is_empty() && !l.starts_with("added:")).count(), 0, "{live}");
    // Live changes: content with size and mtime kept (found by hash), a
    // new file, a removed one, a file turned symlink.
    let mtime = std::fs::metadata(src.join("edit")).unwrap().modified().unwrap();
    std::fs::write(src.join("edit"), b"NEW content").unwrap();
    std::fs::File::options().write(true).open(src.join("edit")).unwrap().set_modified(mtime).unwrap();
    std::fs::write(src.join("kind/inner"), b"i").unwrap();
    std::fs::remove_file(src.join("added")).unwrap();
    std::fs::remove_file(src.join("same")).unwrap();
    std::os::unix::fs::symlink("perm", src.join("same")).unwrap();
    let lines: Vec<String> = repo.run(&["diff", "latest", s]).ok().stdout.lines().map(String::from).collect();
    for want in
        [format!("M    {s}/edit"), format!("+    {s}/kind/inner"), format!("-    {s}/added"), format!("T    {s}/same")]
    {
        assert!(lines.contains(&want), "{want:?} not in {lines:?}");
    }
    assert_eq!(lines.iter().filter(|l| l.starts_with(['+', '-', 'M', 'T'])).count(), 4, "{lines:?}");
}

/// `find`: a file removed two snapshots ago is found in exactly the
/// snapshots that hold it, by name, by path and by content hash.
#[test]
fn find_names_the_snapshots_holding_a_removed_file() {
    let (repo, src) = Repo::with_source(&[("docs/report.pdf", b"quarterly"), ("docs/notes.txt", b"n")]);
    let first = repo.snapshots()[0]["id"].as_str().unwrap().to_string();
    std::fs::write(src.join("docs/notes.txt"), b"more notes").unwrap();
    let second = repo.backup(&[&src], &[])["snapshot"].as_str().unwrap().to_string();
    std::fs::remove_file(src.join("docs/report.pdf")).unwrap();
    repo.backup(&[&src], &[]);
    repo.backup(&[&src], &[]);
    let holding = |args: &[&str]| -> Vec<String> {
        let out = repo.run(&[&["find", "--json"], args].concat()).ok().stdout;
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert_eq!(v["path"], format!("{}/docs/report.pdf", src.display()), "{v}");
                assert_eq!((v["type"].as_str(), v["size"].as_u64()), (Some("file"), Some(9)), "{v}");
                assert!(v["mtime_ns"].as_i64().unwrap() > 0 && v["mtime"].as_str().unwrap().ends_with('Z'), "{v}");
                assert!(v["snapshot_time_ns"].as_i64().unwrap() > 0, "{v}");
                v["snapshot"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(holding(&["*.pdf"]), vec![first.clone(), second.clone()]);
    assert_eq!(holding(&["**/docs/report.*"]), vec![first.clone(), second.clone()]);
    let b3 = blake3::hash(b"quarterly").to_hex().to_string();
    assert_eq!(holding(&["--hash", &b3]), vec![first.clone(), second.clone()]);
    assert_eq!(holding(&["--snapshot", "latest~2", "report.pdf"]), vec![second]);
    assert!(holding(&["--snapshot", "latest", "*.pdf"]).is_empty());
    // '*' stops at '/': a path pattern must name each level.
    assert!(holding(&["/*/report.pdf"]).is_empty());
    let text = repo.run(&["find", "notes.txt"]).ok();
    assert_eq!(text.stdout.lines().filter(|l| l.ends_with("/docs/notes.txt")).count(), 4, "{}", text.stdout);
    let bad = repo.run(&["find", "--hash", "abc"]);
    assert!(bad.code == 1 && bad.stderr.contains("--hash \"abc\""), "{}", bad.stderr);
    let bad = repo.run(&["find", "a[b"]);
    assert!(bad.code == 1 && bad.stderr.contains("pattern \"a[b\""), "{}", bad.stderr);
}
