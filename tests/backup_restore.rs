//! Backup then restore must give back exactly what was there.

use crate::util::tree::{assert_same, build_full, scan, Options};
use crate::util::{tree, Repo};
use std::path::Path;

const EXACT: Options = Options { dir_mtimes: true };

fn restore(repo: &Repo, spec: &str, target: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = vec!["restore", spec, target.to_str().unwrap()];
    args.extend_from_slice(extra);
    repo.run(&args)
}

#[test]
fn every_kind_of_entry_round_trips() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    let s = repo.backup(&[&src], &[]);
    assert_eq!(s["errors"], 0, "{s}");
    assert!(s["files"].as_u64().unwrap() >= 15, "{s}");
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &[]).ok();
    assert_same(&src, &out, &EXACT);
    // Holes stayed holes.
    let m = scan(&out, &EXACT);
    assert!(m[&b"sparse".to_vec()].sparse, "restored sparse file is not sparse");
}

/// `dump` of a tree with every kind of entry, extracted by GNU tar, gives
/// back the source attribute by attribute; a file dumps as its content.
#[test]
fn dump_is_a_tar_stream_gnu_tar_extracts_exactly() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    // GNU tar cannot create paths beyond PATH_MAX; restore covers those.
    crate::util::sh(&format!("rm -rf {}/deep", src.display()));
    repo.backup(&[&src], &[]);
    let tar = repo.scratch("dump.tar");
    let spec = format!("latest:{}", src.display());
    repo.run(&["dump", &spec, "--target", tar.to_str().unwrap()]).ok();
    let out = repo.scratch("out");
    std::fs::create_dir_all(&out).unwrap();
    // Without --xattrs-include GNU tar restores user.* xattrs alone.
    let r = crate::util::sh(&format!(
        "tar --xattrs --xattrs-include='*' --acls --numeric-owner -xpf {} -C {}",
        tar.display(),
        out.display()
    ));
    assert!(r.status.success(), "tar: {}", String::from_utf8_lossy(&r.stderr));
    let inside = out.join(src.strip_prefix("/").unwrap());
    assert_same(&src, &inside, &EXACT);
    assert!(scan(&inside, &EXACT)[&b"sparse".to_vec()].sparse, "the sparse file came back dense");
    // The member names are the snapshot's paths, relative.
    let list = crate::util::sh(&format!("tar -tf {}", tar.display()));
    let first = String::from_utf8_lossy(&list.stdout).lines().next().unwrap().to_string();
    assert_eq!(first, format!("{}/", src.strip_prefix("/").unwrap().display()));
    // A file: its content, raw.
    let file = repo.run(&["dump", &format!("{spec}/small.txt")]).ok();
    assert_eq!(file.stdout, "hello strata\n");
    let missing = repo.run(&["dump", &format!("{spec}/nope")]);
    assert!(missing.code == 1 && missing.stderr.contains("/nope: no such path"), "{}", missing.stderr);
}

#[test]
fn unchanged_files_are_not_read_again() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    build_full(&src);
    let first = repo.backup(&[&src], &[]);
    let second = repo.backup(&[&src], &[]);
    assert_eq!(second["files_new"], 0, "{second}");
    assert_eq!(second["files_changed"], 0, "{second}");
    assert_eq!(second["files_unchanged"], first["files"], "{second}");
    assert_eq!(second["bytes_read"], 0, "{second}");
    assert_eq!(second["chunks_added"], 0, "{second}");
    assert_eq!(second["parent"], first["snapshot"]);
}

#[test]
fn a_changed_file_is_stored_and_dedups_the_rest() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut data = tree::random(9, 24 << 20);
    std::fs::write(src.join("large"), &data).unwrap();
    std::fs::write(src.join("other"), b"other").unwrap();
    let first = repo.backup(&[&src], &[]);
    // Small edit in the middle: an insertion shifts everything after it.
    data.splice(12 << 20..12 << 20, b"inserted bytes".iter().copied());
    std::fs::write(src.join("large"), &data).unwrap();
    let second = repo.backup(&[&src], &[]);
    assert_eq!(second["files_changed"], 1, "{second}");
    assert_eq!(second["files_unchanged"], 1, "{second}");
    let added = second["bytes_added"].as_u64().unwrap();
    assert!(added < first["bytes_added"].as_u64().unwrap() / 4, "edit re-stored too much: {second}");
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &[]).ok();
    assert_eq!(std::fs::read(out.join("large")).unwrap(), data);
    let old = repo.scratch("old");
    restore(&repo, &format!("latest~1:{}/large", src.display()), &old, &[]).ok();
    assert_eq!(std::fs::read(old.join("large")).unwrap().len(), 24 << 20);
}

#[test]
fn large_directories_and_many_files() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    let big = src.join("big");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..100_000 {
        std::fs::File::create(big.join(format!("f{i:06}"))).unwrap();
    }
    std::fs::write(big.join("f000007"), b"seven").unwrap();
    let s = repo.backup(&[&src], &[]);
    assert_eq!(s["files"], 100_000, "{s}");
    let ls = repo.run(&["ls", "latest", &format!("{}/big", src.display())]).ok();
    assert_eq!(ls.stdout.lines().count(), 100_000);
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &[]).ok();
    assert_eq!(std::fs::read(out.join("big/f000007")).unwrap(), b"seven");
    assert_eq!(std::fs::read_dir(out.join("big")).unwrap().count(), 100_000);
}

#[test]
fn excludes_patterns_files_and_caches() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("keep/cache")).unwrap();
    std::fs::create_dir_all(src.join("build/out")).unwrap();
    std::fs::write(src.join("keep/a.txt"), b"a").unwrap();
    std::fs::write(src.join("keep/b.tmp"), b"b").unwrap();
    std::fs::write(src.join("build/out/x"), b"x").unwrap();
    std::fs::write(src.join("keep/cache/CACHEDIR.TAG"), b"Signature: 8a477f597d28d172789f06886806bc55\n").unwrap();
    std::fs::write(src.join("keep/cache/blob"), b"cached").unwrap();
    std::fs::write(src.join("listed"), b"l").unwrap();
    let xfile = repo.scratch("excludes");
    std::fs::write(&xfile, "# comment\n\nlisted\n").unwrap();
    repo.backup(
        &[&src],
        &[
            "--exclude",
            "*.tmp",
            "--exclude",
            "build/out",
            "--exclude-file",
            xfile.to_str().unwrap(),
            "--exclude-caches",
        ],
    );
    let ls = repo.run(&["ls", "latest", src.to_str().unwrap(), "--recursive"]).ok().stdout;
    let rel: Vec<String> = ls.lines().map(|l| l.trim_start_matches(src.to_str().unwrap()).to_string()).collect();
    assert_eq!(rel, vec!["/build", "/keep", "/keep/a.txt"], "{ls}");
}

#[test]
fn one_file_system_stops_at_mount_points() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    let inner = src.join("other-fs");
    std::fs::create_dir_all(&inner).unwrap();
    crate::util::sh(&format!("mount -t tmpfs strata-test {}", inner.display()));
    std::fs::write(inner.join("hidden"), b"h").unwrap();
    std::fs::write(src.join("seen"), b"s").unwrap();
    let r = repo.run(&["backup", "--one-file-system", src.to_str().unwrap()]);
    crate::util::sh(&format!("umount {}", inner.display()));
    r.ok();
    let ls = repo.run(&["ls", "latest", src.to_str().unwrap(), "-R"]).ok().stdout;
    assert!(ls.contains("other-fs") && ls.contains("seen") && !ls.contains("hidden"), "{ls}");
}

#[test]
fn restore_refuses_non_empty_target_and_honours_overwrite_modes() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"snapshot a").unwrap();
    std::fs::write(src.join("b"), b"snapshot b").unwrap();
    repo.backup(&[&src], &[]);
    let spec = format!("latest:{}", src.display());
    let out = repo.scratch("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("a"), b"local a").unwrap();
    std::fs::write(out.join("extra"), b"extra").unwrap();
    // Extra names before, between and after the tree's (merged in order).
    std::fs::write(out.join("0-before"), b"extra").unwrap();
    std::fs::create_dir_all(out.join("ab-dir/inner")).unwrap();

    let r = restore(&repo, &spec, &out, &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains(out.to_str().unwrap()) && r.stderr.contains("--overwrite"), "{}", r.stderr);

    let dry = restore(&repo, &spec, &out, &["--overwrite", "always", "--delete", "--dry-run"]).ok();
    assert!(dry.stdout.contains("would overwrite") && dry.stdout.contains("/a"), "{}", dry.stdout);
    assert!(dry.stdout.contains("would create") && dry.stdout.contains("/b"), "{}", dry.stdout);
    assert!(dry.stdout.contains("would delete") && dry.stdout.contains("extra"), "{}", dry.stdout);
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"local a", "dry run changed a file");
    assert!(!out.join("b").exists() && out.join("extra").exists());

    restore(&repo, &spec, &out, &["--overwrite", "never"]).ok();
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"local a");
    assert_eq!(std::fs::read(out.join("b")).unwrap(), b"snapshot b");

    let dry = restore(&repo, &spec, &out, &["--overwrite", "if-changed", "--delete", "--dry-run"]).ok();
    let deletes: Vec<&str> = dry.stdout.lines().filter(|l| l.starts_with("would delete")).collect();
    assert_eq!(deletes.len(), 3, "{}", dry.stdout);
    restore(&repo, &spec, &out, &["--overwrite", "if-changed", "--delete"]).ok();
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"snapshot a");
    let mut left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["a", "b"], "extra names were left");
}

/// Restore skips the chown of a file that was created with its owner
/// already, learnt from what the target directory gives a new file: in a
/// setgid directory that is the directory's group, which the files must
/// not keep.
#[test]
fn files_get_their_owners_in_a_setgid_target() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (repo, src) = Repo::with_source(&[("a", b"a"), ("b", b"b"), ("c", b"c"), ("d", b"d")]);
    std::os::unix::fs::chown(src.join("c"), Some(1234), Some(4000)).unwrap();
    repo.backup(&[&src], &[]);
    let out = repo.scratch("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::chown(&out, None, Some(4000)).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o2775)).unwrap();
    restore(&repo, &format!("latest:{}", src.display()), &out, &["--overwrite", "never"]).ok();
    for (name, owner) in [("a", (0, 0)), ("b", (0, 0)), ("c", (1234, 4000)), ("d", (0, 0))] {
        let m = std::fs::metadata(out.join(name)).unwrap();
        assert_eq!((m.uid(), m.gid()), owner, "{name}");
        let mode = std::fs::metadata(src.join(name)).unwrap().mode();
        assert_eq!(m.mode(), mode, "{name}");
    }
}

/// In a target with a default ACL, which masks a new file's mode instead
/// of the umask, files and directories still get their own modes.
#[test]
fn modes_survive_a_default_acl_on_the_target() {
    use crate::util::tree::{posix_acl, ACL_GROUP_OBJ, ACL_OTHER, ACL_USER_OBJ};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (repo, src) = Repo::with_source(&[("a", b"a"), ("b", b"b"), ("sub/c", b"c"), ("sub/d", b"d")]);
    for name in ["a", "b", "sub/c", "sub/d"] {
        std::fs::set_permissions(src.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let out = repo.scratch("out");
    std::fs::create_dir_all(&out).unwrap();
    // user::rwx, group::r-x, other::---: a file created 0644 would be 0640.
    tree::set_xattr(
        &out,
        "system.posix_acl_default",
        &posix_acl(&[(ACL_USER_OBJ, 7), (ACL_GROUP_OBJ, 5), (ACL_OTHER, 0)]),
    );
    restore(&repo, &format!("latest:{}", src.display()), &out, &["--overwrite", "never"]).ok();
    for name in ["a", "b", "sub", "sub/c", "sub/d"] {
        let (got, want) = (std::fs::metadata(out.join(name)).unwrap(), std::fs::metadata(src.join(name)).unwrap());
        assert_eq!(got.mode(), want.mode(), "{name}");
    }
}

/// The actions a restore reports (`--json`), in order.
fn actions(r: &crate::util::Run) -> Vec<(String, String)> {
    r.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "action")
        .map(|v| (v["action"].as_str().unwrap().to_string(), v["path"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn a_dry_run_restore_reports_exactly_what_the_real_one_then_does() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("a/deeper")).unwrap();
    std::fs::write(src.join("a/keep"), b"keep").unwrap();
    std::fs::write(src.join("a/changed"), b"snapshot").unwrap();
    std::fs::write(src.join("a/deeper/f"), b"f").unwrap();
    std::os::unix::fs::symlink("a/keep", src.join("link")).unwrap();
    repo.backup(&[&src], &[]);
    let spec = format!("latest:{}", src.display());
    let out = repo.scratch("out");
    restore(&repo, &spec, &out, &[]).ok();
    std::fs::write(out.join("a/changed"), b"edited here").unwrap();
    std::fs::write(out.join("a/extra"), b"x").unwrap();
    std::fs::write(out.join("a/deeper/extra2"), b"x").unwrap();
    std::fs::create_dir(out.join("new-dir")).unwrap();

    let args = ["--overwrite", "if-changed", "--delete", "--json"];
    let dry = actions(&restore(&repo, &spec, &out, &[&args[..], &["--dry-run"]].concat()).ok());
    let real = actions(&restore(&repo, &spec, &out, &args).ok());
    assert_eq!(dry, real, "the dry run said otherwise than the run did");
    let p = |rel: &str| out.join(rel).to_string_lossy().into_owned();
    for want in [("overwrite", p("a/changed")), ("delete", p("a/extra")), ("delete", p("a/deeper/extra2"))] {
        assert!(real.contains(&(want.0.to_string(), want.1.clone())), "{want:?} not in {real:?}");
    }
    assert!(!real.iter().any(|(_, path)| path.ends_with("/a/a")), "{real:?}");
    assert_eq!(std::fs::read(out.join("a/changed")).unwrap(), b"snapshot");
    assert!(!out.join("a/extra").exists() && !out.join("a/deeper/extra2").exists() && !out.join("new-dir").exists());
}

#[test]
fn overwrite_if_changed_leaves_an_equal_symlink_alone() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink("same/target", src.join("same")).unwrap();
    std::os::unix::fs::symlink("new/target", src.join("moved")).unwrap();
    repo.backup(&[&src], &[]);
    let spec = format!("latest:{}", src.display());
    let out = repo.scratch("out");
    restore(&repo, &spec, &out, &[]).ok();
    std::fs::remove_file(out.join("moved")).unwrap();
    std::os::unix::fs::symlink("old/target", out.join("moved")).unwrap();
    let got = actions(&restore(&repo, &spec, &out, &["--overwrite", "if-changed", "--json"]).ok());
    let of = |name: &str| got.iter().find(|(_, p)| p.ends_with(&format!("/{name}"))).map(|(a, _)| a.as_str());
    assert_eq!((of("same"), of("moved")), (Some("skip"), Some("overwrite")), "{got:?}");
    assert_eq!(std::fs::read_link(out.join("moved")).unwrap(), Path::new("new/target"));
}

#[test]
fn restore_include_and_exclude() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("docs/old")).unwrap();
    std::fs::write(src.join("docs/a.md"), b"a").unwrap();
    std::fs::write(src.join("docs/old/b.md"), b"b").unwrap();
    std::fs::write(src.join("code.rs"), b"c").unwrap();
    repo.backup(&[&src], &[]);
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &["--include", "docs", "--exclude", "docs/old"]).ok();
    assert!(out.join("docs/a.md").exists());
    assert!(!out.join("docs/old").exists());
    assert!(!out.join("code.rs").exists());

    // A pattern that matches nothing is named, and the restore exits 1
    // (borg's "never matched"); what the others chose is restored.
    let out = repo.scratch("out2");
    let r = restore(&repo, &format!("latest:{}", src.display()), &out, &["-i", "code.rs", "-i", "doc", "-n"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--include \"doc\": matched nothing"), "{}", r.stderr);
    assert!(!r.stderr.contains("code.rs"), "{}", r.stderr);
    let r = restore(&repo, &format!("latest:{}", src.display()), &out, &["-i", "code.rs", "-i", "docs/*/b.md"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(out.join("code.rs").exists() && out.join("docs/old/b.md").exists() && !out.join("docs/a.md").exists());

    // Without a '/', a pattern names a file at any depth, as backup's do.
    let out = repo.scratch("out3");
    restore(&repo, &format!("latest:{}", src.display()), &out, &["--exclude", "*.md"]).ok();
    assert!(out.join("code.rs").exists() && out.join("docs/old").is_dir());
    assert!(!out.join("docs/a.md").exists() && !out.join("docs/old/b.md").exists());
    let out = repo.scratch("out4");
    restore(&repo, &format!("latest:{}", src.display()), &out, &["--include", "b.md"]).ok();
    assert!(out.join("docs/old/b.md").exists() && !out.join("docs/a.md").exists() && !out.join("code.rs").exists());

    // --delete deletes only within what the patterns choose.
    std::fs::write(out.join("stray"), b"mine").unwrap();
    std::fs::write(out.join("docs/old/stray"), b"old").unwrap();
    std::fs::write(out.join("docs/old/keep.tmp"), b"kept").unwrap();
    let args = ["--include", "docs/old", "--exclude", "*.tmp", "--delete", "--overwrite", "always"];
    restore(&repo, &format!("latest:{}", src.display()), &out, &args).ok();
    assert!(!out.join("docs/old/stray").exists());
    assert!(out.join("stray").exists() && out.join("docs/old/keep.tmp").exists() && out.join("docs/old/b.md").exists());
}

#[test]
fn several_sources_keep_their_absolute_paths() {
    let repo = Repo::new();
    let a = repo.scratch("a");
    let b = repo.scratch("b/nested");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("f"), b"1").unwrap();
    std::fs::write(b.join("g"), b"2").unwrap();
    repo.backup(&[&a, &b], &[]);
    let out = repo.scratch("out");
    restore(&repo, "latest", &out, &[]).ok();
    let rel = |p: &Path| out.join(p.strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(rel(&a).join("f")).unwrap(), b"1");
    assert_eq!(std::fs::read(rel(&b).join("g")).unwrap(), b"2");
    let snaps = repo.snapshots();
    assert_eq!(snaps[0]["paths"].as_array().unwrap().len(), 2);
}

#[test]
fn sockets_are_skipped_with_a_note_not_an_error() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    std::fs::write(src.join("kept"), b"k").unwrap();
    let r = repo.run(&["backup", src.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("sock") && r.stderr.contains("socket skipped"), "{}", r.stderr);
    let ls = repo.run(&["ls", "latest", src.to_str().unwrap()]).ok().stdout;
    assert!(ls.contains("kept") && !ls.contains("sock"), "{ls}");
}

fn stored_chunks(repo: &Repo) -> Vec<(Vec<u8>, Vec<u8>)> {
    use strata::store::{Cf, OpenMode, RocksStore, Store};
    let store = RocksStore::open(&repo.path.join("db"), OpenMode::Read).unwrap();
    let chunks = store.range(Cf::Chunks, b"", None).unwrap();
    chunks
        .into_iter()
        .map(|(key, _)| {
            let id = &key[key.len() - 32..];
            (key.clone(), store.get(Cf::ChunkIndex, id).unwrap().expect("an index entry for every chunk"))
        })
        .collect()
}

/// RocksDB lays blob files out in key order: chunks are keyed by write
/// order first, so a later backup's chunks follow an earlier one's, and a
/// tree's files are read back from one stretch of disk.
#[test]
fn chunks_are_stored_in_write_order() {
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        std::fs::write(src.join(format!("f{i:02}")), tree::random(i, 3000)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let first = stored_chunks(&repo);
    assert_eq!(first.len(), 20);
    for i in 20..30 {
        std::fs::write(src.join(format!("f{i:02}")), tree::random(i, 3000)).unwrap();
    }
    repo.backup(&[&src], &[]);
    let all = stored_chunks(&repo);
    assert_eq!(all.len(), 30);
    // The first backup's chunks come first, in key order.
    assert_eq!(all[..20], first[..]);
    for (key, entry) in &all {
        assert_eq!(key.len(), 8 + 32, "key {key:02x?}");
        assert_eq!(entry[4..], key[..8], "the index entry points at the key");
    }
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &[]).ok();
    assert_same(&src, &out, &EXACT);
}

/// A repository made before chunks were keyed by write order (config
/// version 1) keeps keying them by id, so older builds still read it.
#[test]
fn version_1_repositories_keep_keying_chunks_by_id() {
    use strata::format::config::Config;
    use strata::store::{Batch, Cf, Durability, OpenMode, RocksStore, Store};
    let repo = Repo::new();
    {
        let store = RocksStore::open(&repo.path.join("db"), OpenMode::Write).unwrap();
        let mut config = Config::decode(&store.get(Cf::Meta, b"config").unwrap().unwrap()).unwrap();
        assert!(config.ordered_chunks(), "new repositories key chunks by write order");
        config.version = 1;
        let mut batch = Batch::default();
        batch.put(Cf::Meta, b"config".to_vec(), config.encode());
        store.write(batch, Durability::Sync).unwrap();
    }
    let src = repo.scratch("src");
    build_full(&src);
    repo.backup(&[&src], &[]);
    let chunks = stored_chunks(&repo);
    assert!(!chunks.is_empty());
    for (key, entry) in &chunks {
        assert_eq!((key.len(), entry.len()), (32, 4), "key {key:02x?}");
    }
    let out = repo.scratch("out");
    restore(&repo, &format!("latest:{}", src.display()), &out, &[]).ok();
    assert_same(&src, &out, &EXACT);
}

/// `--stdin` and `--stdin-from-command` store a stream as one file beside
/// the paths; a failing command writes no snapshot and shows its error.
#[test]
fn streams_are_stored_as_files_and_a_failing_dump_writes_nothing() {
    use std::io::Write;
    let (repo, src) = Repo::with_source(&[("f", b"on disk")]);
    let mut child = repo
        .cmd()
        .args(["backup", "--json", "--stdin", "--stdin-filename", "dumps/app.sql"])
        .arg(&src)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dump: Vec<u8> = (0..200_000u32).flat_map(|i| format!("INSERT {i};\n").into_bytes()).collect();
    child.stdin.take().unwrap().write_all(&dump).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let got = repo.run(&["dump", "latest:/dumps/app.sql"]).ok();
    assert_eq!(got.stdout.as_bytes(), &dump[..]);
    let spec = format!("latest:{}/f", src.display());
    assert_eq!(repo.run(&["dump", &spec]).ok().stdout, "on disk");
    let paths = &repo.snapshots()[1]["paths"];
    assert_eq!(paths, &serde_json::json!(["/dumps/app.sql", src.to_str().unwrap()]), "{paths}");
    // From a command: its output, its b3sum in the mount's xattr's place.
    repo.run(&["backup", "--stdin-from-command", "printf 'from a command'", "--stdin-filename", "/cmd.out"]).ok();
    let found = repo.run(&["find", "--json", "--hash", &blake3::hash(b"from a command").to_hex()]).ok().stdout;
    assert!(found.contains("\"/cmd.out\""), "{found}");
    let before = repo.snapshots().len();
    let r = repo.run(&["backup", "--stdin-from-command", "printf partial; echo 'access denied' >&2; exit 2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("access denied") && r.stderr.contains("exit status: 2"), "{}", r.stderr);
    assert_eq!(repo.snapshots().len(), before, "a snapshot was written despite the failed command");
    let r = repo.run(&["backup", "--stdin-from-command", "true", "--stdin-filename", "../x"]);
    assert!(r.code == 1 && r.stderr.contains("stream file name ../x"), "{}", r.stderr);
    let inside = src.join("f");
    let r = repo.run(&[
        "backup",
        "--stdin-from-command",
        "true",
        "--stdin-filename",
        inside.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    assert!(r.code == 1 && r.stderr.contains("overlaps the source path"), "{}", r.stderr);
}

/// A restore into a directory holding the repository it reads from never
/// deletes it (--delete) nor restores over it (a snapshot taken before
/// backups left the repository out, or of another tree, may hold a
/// directory of its name); a target inside the repository is refused.
#[test]
fn a_restore_leaves_the_repository_it_reads_from_alone() {
    let repo = Repo::new();
    let top = repo.dir.path();
    std::fs::create_dir_all(top.join("app")).unwrap();
    std::fs::write(top.join("app/f"), b"a").unwrap();
    repo.backup(&[top], &[]);
    std::fs::write(top.join("app/f"), b"b").unwrap();
    let to = top.to_str().unwrap();
    let r = restore(&repo, &format!("latest:{to}"), top, &["--overwrite", "always", "--delete"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("repo: left alone: it is the repository restored from"), "{}", r.stderr);
    assert_eq!(std::fs::read(top.join("app/f")).unwrap(), b"a");

    // A tree with a directory where the repository is.
    let other = repo.scratch("other");
    std::fs::create_dir_all(other.join("repo/db")).unwrap();
    std::fs::write(other.join("repo/db/CURRENT"), b"stale").unwrap();
    repo.backup(&[&other], &[]);
    let r = restore(&repo, &format!("latest:{}", other.display()), top, &["--overwrite", "always"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("left alone"), "{}", r.stderr);
    repo.run(&["check", "--read-data"]).ok();

    // Also two levels down, where neither the target nor its parent exists.
    for inside in [repo.path.join("restored"), repo.path.join("new/restored")] {
        let r = restore(&repo, &format!("latest:{to}"), &inside, &[]);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("inside the repository"), "{}", r.stderr);
        assert!(!inside.exists() && !repo.path.join("new").exists());
    }
    assert_eq!(repo.snapshots().len(), 2);
}

/// A source that does not exist (a disk not attached, a service not
/// deployed yet) is reported and left out, as restic does, and the backup
/// exits 3; the snapshot names it, so the next backup with the same paths
/// has a parent. With no source at all there is nothing to back up.
#[test]
fn a_missing_source_is_reported_and_left_out() {
    let (repo, src) = Repo::with_source(&[("kept", b"data")]);
    let gone = repo.scratch("gone");
    let deeper = repo.scratch("no/such/dir");
    let args = [src.to_str().unwrap(), gone.to_str().unwrap(), deeper.to_str().unwrap()];
    let r = repo.run(&[&["backup", "--json"][..], &args].concat());
    assert_eq!(r.code, 3, "{}", r.stderr);
    for p in [&gone, &deeper] {
        assert!(r.stdout.contains(&format!("{}: does not exist: left out", p.display())), "{}", r.stdout);
    }
    let snap = repo.snapshots().pop().unwrap();
    let paths: Vec<&str> = snap["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let mut want = args.to_vec();
    want.sort();
    assert_eq!(paths, want);
    assert_eq!(snap["failed"].as_array().unwrap().len(), 2, "{snap}");
    let ls = repo.run(&["ls", "latest", src.to_str().unwrap()]).ok();
    assert!(ls.stdout.contains("kept"), "{}", ls.stdout);

    // The same paths again: the first is the parent, and the file unchanged.
    let r = repo.run(&[&["backup", "--json"][..], &args].concat());
    assert_eq!(r.code, 3, "{}", r.stderr);
    let summary = r.stdout.lines().last().unwrap();
    let summary: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert_eq!(summary["files_unchanged"], 1, "{summary}");
    assert_eq!(summary["parent"], snap["id"], "{summary}");

    let r = repo.run(&["backup", gone.to_str().unwrap(), deeper.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nothing to back up") && r.stderr.contains("does not exist"), "{}", r.stderr);
    assert_eq!(repo.snapshots().len(), 3);
}

/// --files-from lists paths a line each (comments, blank lines and a
/// CRLF's CR aside), --files-from-raw as `find -print0` writes them, any
/// bytes a name may hold; both add to the PATHs given, and '-' reads
/// standard input.
#[test]
fn files_from_lists_take_the_paths_to_back_up() {
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    let (repo, src) = Repo::with_source(&[
        ("with space.txt", b"1"),
        ("dir/inner", b"2"),
        ("left/out", b"3"),
        ("given", b"4"),
        ("piped", b"5"),
    ]);
    let odd = src.join(std::ffi::OsStr::from_bytes(b"r\xe9sum\xe9\nline"));
    std::fs::write(&odd, b"6").unwrap();
    let s = src.display();
    let list = repo.scratch("list");
    std::fs::write(&list, format!("# what to keep\n\n{s}/with space.txt\r\n{s}/dir\n")).unwrap();
    let raw = repo.scratch("list0");
    std::fs::write(&raw, [odd.as_os_str().as_bytes(), b"\0"].concat()).unwrap();
    let mut cmd = repo.cmd();
    cmd.args(["backup", "--files-from"]).arg(&list).arg("--files-from-raw").arg(&raw);
    cmd.args(["--files-from", "-"]).arg(src.join("given"));
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{s}/piped\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let ls = repo.run(&["ls", "latest", src.to_str().unwrap()]).ok();
    let mut names: Vec<&str> = ls.stdout.lines().collect();
    names.sort();
    let want = [format!("{s}/dir"), format!("{s}/given"), format!("{s}/piped"), format!("{s}/with space.txt")];
    // The odd name prints as its bytes: not a line of UTF-8 of its own.
    assert_eq!(names.iter().filter(|n| want.contains(&n.to_string())).count(), 4, "{}", ls.stdout);
    assert!(!ls.stdout.contains("left"), "{}", ls.stdout);
    let spec = [b"latest:", odd.as_os_str().as_bytes()].concat();
    let dumped = repo.run_os(&[std::ffi::OsStr::new("dump"), std::ffi::OsStr::from_bytes(&spec)]);
    assert_eq!(dumped.stdout, "6");

    let empty = repo.scratch("empty");
    std::fs::write(&empty, "# nothing\n").unwrap();
    let r = repo.run(&["backup", "--files-from", empty.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--files-from") && r.stderr.contains("lists no paths"), "{}", r.stderr);
}

/// --exclude-if-present leaves out a directory holding an entry of that
/// name (any kind, a dangling symlink too), with all below it.
#[test]
fn a_directory_holding_a_marker_is_left_out() {
    let (repo, src) = Repo::with_source(&[
        ("keep/f", b"1"),
        ("skip/.nobackup", b""),
        ("skip/f", b"2"),
        ("deep/a/f", b"3"),
        ("deep/a/b/.nobackup", b""),
        ("deep/a/b/c/f", b"4"),
    ]);
    std::fs::create_dir_all(src.join("linked")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", src.join("linked/NOBACKUP")).unwrap();
    let s = src.to_str().unwrap();
    let r = repo.run(&["backup", s, "--exclude-if-present", ".nobackup", "--exclude-if-present", "NOBACKUP"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ls = repo.run(&["ls", "-R", "latest", s]).ok();
    let mut got: Vec<String> = ls.stdout.lines().map(|l| l.strip_prefix(s).unwrap().to_string()).collect();
    got.sort();
    assert_eq!(got, ["/deep", "/deep/a", "/deep/a/f", "/keep", "/keep/f"]);

    let r = repo.run(&["backup", s, "--exclude-if-present", "a/.nobackup"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--exclude-if-present \"a/.nobackup\""), "{}", r.stderr);
}

/// --exclude-larger-than leaves out the regular files over the size (a
/// source given by name is backed up as asked).
#[test]
fn files_over_exclude_larger_than_are_left_out() {
    let (repo, src) = Repo::with_source(&[("small", &[1u8; 1000]), ("exact", &[2u8; 1024]), ("big", &[3u8; 1025])]);
    std::fs::write(src.join("sparse"), b"").unwrap();
    std::fs::File::options().write(true).open(src.join("sparse")).unwrap().set_len(1 << 30).unwrap();
    let s = src.to_str().unwrap();
    let r = repo.run(&["backup", s, "--exclude-larger-than", "1K"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ls = repo.run(&["ls", "latest", s]).ok();
    let names: Vec<&str> = ls.stdout.lines().map(|l| l.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["exact", "small"]);
    let big = src.join("big");
    repo.run(&["backup", big.to_str().unwrap(), "--exclude-larger-than", "1K"]).ok();
    let ls = repo.run(&["ls", "latest", s]).ok();
    assert!(ls.stdout.contains("/big"), "{}", ls.stdout);
    let r = repo.run(&["backup", s, "--exclude-larger-than", "1Q"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("1Q") && r.stderr.contains("--exclude-larger-than"), "{}", r.stderr);
}

/// `backup --dry-run` does all a backup does but store: it reports what a
/// real backup then adds, to the byte, and leaves the repository as it was.
#[test]
fn a_dry_run_reports_what_the_backup_would_add_and_writes_nothing() {
    let (repo, src) = Repo::with_source(&[("same", b"unchanged"), ("edited", b"first"), ("dup", &[5u8; 300_000])]);
    std::fs::write(src.join("edited"), b"second version").unwrap();
    std::fs::write(src.join("new"), tree::random(1, 3 << 20)).unwrap();
    // Content already stored, or met twice, is counted once or not at all.
    std::fs::write(src.join("dup2"), [5u8; 300_000]).unwrap();
    std::fs::write(src.join("new2"), tree::random(1, 3 << 20)).unwrap();
    let files = |dir: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("db"))
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name(), e.metadata().unwrap().len(), e.metadata().unwrap().modified().unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = files(&repo.path);

    let dry = repo.backup(&[&src], &["--dry-run"]);
    assert_eq!((dry["dry_run"].as_bool(), dry["snapshot"].is_null()), (Some(true), true), "{dry}");
    assert_eq!(files(&repo.path), before, "a dry run wrote to the store");
    assert_eq!(repo.snapshots().len(), 1);
    let text = repo.run(&["backup", "-n", src.to_str().unwrap()]).ok().stdout;
    assert!(text.starts_with("dry run: nothing written\n"), "{text}");
    assert!(text.contains(", would add "), "{text}");

    let real = repo.backup(&[&src], &[]);
    for k in ["files", "files_new", "files_changed", "files_unchanged", "bytes", "bytes_read", "chunks_added"] {
        assert_eq!(dry[k], real[k], "{k}: dry run {dry}, backup {real}");
    }
    // The trees may differ by a few bytes (the times of /tmp, on the way to
    // the source, change between the runs); the chunks do not.
    let added = |v: &serde_json::Value| v["bytes_added"].as_i64().unwrap();
    assert!((added(&dry) - added(&real)).abs() < 64, "dry run {dry}, backup {real}");
    assert_eq!((real["files_new"].as_u64(), real["files_changed"].as_u64()), (Some(3), Some(1)), "{real}");
    assert!(real["bytes_added"].as_u64().unwrap() > 3 << 20, "{real}");
    assert_eq!(repo.snapshots().len(), 2);
}
