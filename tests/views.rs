//! The repository's views in a mount as snapshots come and go: history/
//! (a path's versions, within each backup job), and a running mount
//! following backups and forgets, whatever the kernel has cached.

use crate::util::mount::{wait_until, Mount};
use crate::util::tree;
use crate::util::{fuse_available, sh, Repo};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn snapshot_dir(m: &Mount, name: &str, src: &Path) -> PathBuf {
    m.dir.join("snapshots").join(name).join(src.strip_prefix("/").unwrap())
}

/// The names in a directory, sorted.
fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn diff_of_two_snapshots_shows_exactly_the_changes() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("same"), b"same").unwrap();
    std::fs::write(src.join("d/edit"), b"before").unwrap();
    std::fs::write(src.join("gone"), b"bye").unwrap();
    repo.backup(&[&src], &[]);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(src.join("d/edit"), b"after").unwrap();
    std::fs::remove_file(src.join("gone")).unwrap();
    std::fs::write(src.join("new"), b"hi").unwrap();
    repo.backup(&[&src], &[]);
    let snaps = repo.snapshots();
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let a = snapshot_dir(&m, snaps[0]["time"].as_str().unwrap(), &src);
    let b = snapshot_dir(&m, snaps[1]["time"].as_str().unwrap(), &src);
    let out = std::process::Command::new("diff").arg("-r").arg(&a).arg(&b).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("Only in") || l.starts_with("diff ")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(text.contains(": gone") && text.contains(": new") && text.contains("d/edit"), "{text}");

    // history/<path>/ holds a path's versions, named by snapshot time.
    let history = m.dir.join("history").join(src.strip_prefix("/").unwrap());
    let list = |rel: &str| sorted_names(&history.join(rel));
    let (t0, t1) = (snaps[0]["time"].as_str().unwrap(), snaps[1]["time"].as_str().unwrap());
    assert_eq!(list("d/edit"), [t0, t1]);
    assert_eq!(list("same"), [t0]);
    assert_eq!(list("gone"), [t0]);
    assert_eq!(list("new"), [t1]);
    let edit = history.join("d/edit");
    assert_eq!(std::fs::read(edit.join(t0)).unwrap(), b"before");
    assert_eq!(std::fs::read(edit.join(t1)).unwrap(), b"after");
    let out = std::process::Command::new("diff").arg(edit.join(t0)).arg(edit.join(t1)).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // The directory itself changed, so it has two versions, and the names
    // ever found in it lead on.
    let top = list("");
    assert_eq!(top.len(), 6, "{top:?}");
    assert!(["d", "gone", "new", "same"].iter().all(|n| top.contains(&n.to_string())), "{top:?}");
    // Each a symlink to the directory under snapshots/: browsing goes on
    // there, and `find history/...` does not visit the tree again per level.
    for (t, body) in [(t0, &b"before"[..]), (t1, b"after")] {
        let target = std::fs::read_link(history.join(t)).unwrap();
        let depth = src.components().count(); // "/" counts for history/
        let want = format!("{}snapshots/{t}/{}", "../".repeat(depth), src.strip_prefix("/").unwrap().display());
        assert_eq!(target.to_string_lossy(), want);
        assert_eq!(std::fs::read(history.join(t).join("d/edit")).unwrap(), body);
    }
    // Each path's history directory and its versions: 15 (versions as
    // directories would add their trees' 10 entries).
    let found = String::from_utf8_lossy(&sh(&format!("find {} | wc -l", history.display())).stdout).trim().to_string();
    assert_eq!(found, "15", "entries visited by find through history/");
    assert!(!history.join("never").exists());
}

#[test]
fn a_backup_while_mounted_appears_live() {
    if !fuse_available() {
        return;
    }
    let (repo, src) = Repo::with_source(&[("f", b"1")]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    assert_eq!(std::fs::read_dir(m.dir.join("snapshots")).unwrap().count(), 1);
    let versions = m.dir.join("history").join(src.strip_prefix("/").unwrap()).join("f");
    assert_eq!(std::fs::read_dir(&versions).unwrap().count(), 1);
    // `latest`, read before the backup, must follow it (the kernel caches
    // a symlink's target by inode).
    let f = m.dir.join("latest").join(src.strip_prefix("/").unwrap()).join("f");
    assert_eq!(std::fs::read(&f).unwrap(), b"1");
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(src.join("f"), b"2").unwrap();
    // The mount must not block the backup.
    repo.backup(&[&src], &[]);
    let appeared =
        wait_until(Duration::from_secs(15), || std::fs::read_dir(m.dir.join("snapshots")).unwrap().count() == 2);
    assert!(appeared, "the new snapshot did not appear in the mount");
    assert!(wait_until(Duration::from_secs(5), || std::fs::read(&f).ok().as_deref() == Some(b"2")));
    // The file's history, listed before the backup, shows the new version.
    assert!(wait_until(Duration::from_secs(5), || std::fs::read_dir(&versions).unwrap().count() == 2));
}

/// A backup dated before the newest snapshot leaves every view's mtime as
/// it was, so the kernel's cached listing of snapshots/ must be dropped
/// for it to show (it stayed without it before the mount told the kernel).
#[test]
fn a_backup_dated_in_the_past_appears_live() {
    if !fuse_available() {
        return;
    }
    let (repo, src) = Repo::with_source(&[("f", b"1")]);
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let count = || std::fs::read_dir(m.dir.join("snapshots")).unwrap().count();
    assert_eq!(count(), 1);
    std::fs::write(src.join("f"), b"2").unwrap();
    repo.backup(&[&src], &["--time", "2020-01-01T00:00:00Z"]);
    assert!(wait_until(Duration::from_secs(15), || count() == 2), "the backup dated 2020 did not appear");
    assert!(m.dir.join("snapshots/2020-01-01T00:00:00Z").join(src.strip_prefix("/").unwrap()).join("f").exists());
}

/// snapshots/<name> and history/ directories are cached by the kernel for
/// long: a forget must still take away what it removed, at once.
#[test]
fn a_forget_while_mounted_removes_what_the_kernel_holds() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let src = repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("edit"), b"before").unwrap();
    std::fs::write(src.join("gone"), b"bye").unwrap();
    repo.backup(&[&src], &[]);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(src.join("edit"), b"after").unwrap();
    std::fs::remove_file(src.join("gone")).unwrap();
    repo.backup(&[&src], &[]);
    let snaps = repo.snapshots();
    let (t0, t1) = (snaps[0]["time"].as_str().unwrap(), snaps[1]["time"].as_str().unwrap());
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let history = m.dir.join("history").join(src.strip_prefix("/").unwrap());
    let list = |dir: &Path| sorted_names(dir);
    // Looked up, so held by the kernel.
    assert_eq!(list(&m.dir.join("snapshots")), [t0, t1]);
    assert!(m.dir.join("snapshots").join(t0).join(src.strip_prefix("/").unwrap()).join("gone").exists());
    // The directory's own versions, then the names in it.
    assert_eq!(list(&history), [t0, t1, "edit", "gone"]);
    assert_eq!(list(&history.join("edit")), [t0, t1]);
    assert_eq!(std::fs::read(history.join("edit").join(t0)).unwrap(), b"before");
    assert_eq!(list(&history.join("gone")), [t0]);

    repo.run(&["forget", snaps[0]["id"].as_str().unwrap()]).ok();
    let gone = |p: &Path| std::fs::symlink_metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    assert!(
        wait_until(Duration::from_secs(15), || gone(&m.dir.join("snapshots").join(t0))),
        "the forgotten snapshot is still under snapshots/"
    );
    assert_eq!(list(&m.dir.join("snapshots")), [t1]);
    assert!(gone(&history.join("gone")), "a path only the forgotten snapshot held is still in history/");
    assert_eq!(list(&history), [t1, "edit"]);
    assert!(gone(&history.join(t0)), "the forgotten version of the directory is still in history/");
    assert!(gone(&history.join("edit").join(t0)), "the forgotten version is still in history/");
    assert_eq!(list(&history.join("edit")), [t1]);
    assert_eq!(std::fs::read(history.join("edit").join(t1)).unwrap(), b"after");
}

/// Two hosts back up the same path, and one host runs a second job: each
/// history/ version comes from its own job, a snapshot of another job is
/// no version, and hosts/<host>/history/ and tags/<tag>/latest look at
/// their group alone.
#[test]
fn history_versions_stay_within_host_and_job() {
    if !fuse_available() {
        return;
    }
    let repo = Repo::new();
    let (src, other) = (repo.scratch("src"), repo.scratch("other"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("o"), b"o").unwrap();
    let mut names = Vec::new();
    let mut backup = |content: &[u8], host: &str, path: &Path, tag: &str| {
        if !content.is_empty() {
            std::fs::write(src.join("f"), content).unwrap();
            tree::set_mtime(&src.join("f"), 1_700_000_000, 0); // one mtime for every content
        }
        let s = repo.backup(&[path], &["--host", host, "--tag", tag]);
        names.push(s["snapshot"].as_str().unwrap().to_string());
        std::thread::sleep(Duration::from_millis(1100));
    };
    backup(b"alpha 1", "alpha", &src, "web"); // 0: a version
    backup(b"beta 1", "beta", &src, "web"); // 1: beta's own first version
    backup(b"alpha 1", "alpha", &src, "web"); // 2: alpha unchanged: no version
    backup(b"", "alpha", &other, "other"); // 3: another job, not covering src
    backup(b"alpha 2", "alpha", &src, "web"); // 4: a version
    let snaps = repo.snapshots();
    let time = |id: &str| snaps.iter().find(|s| s["id"] == id).unwrap()["time"].as_str().unwrap().to_string();
    let m = Mount::start(&repo, &repo.scratch("mnt"), &[]);
    let rel = src.strip_prefix("/").unwrap().join("f");
    let list = |dir: PathBuf| sorted_names(&dir);
    let (t0, t1, t4) = (time(&names[0]), time(&names[1]), time(&names[4]));
    assert_eq!(list(m.dir.join("history").join(&rel)), [t0.clone(), t1.clone(), t4.clone()]);
    assert_eq!(list(m.dir.join("hosts/alpha/history").join(&rel)), [t0.clone(), t4.clone()]);
    assert_eq!(list(m.dir.join("hosts/beta/history").join(&rel)), vec![t1.clone()]);
    assert_eq!(std::fs::read(m.dir.join("hosts/beta/history").join(&rel).join(&t1)).unwrap(), b"beta 1");
    assert!(!m.dir.join("hosts/beta/history").join(other.strip_prefix("/").unwrap()).exists());
    // A directory's version is a symlink to it under snapshots/, from the
    // host's history too.
    let dir_version = m.dir.join("hosts/beta/history").join(src.strip_prefix("/").unwrap()).join(&t1);
    assert!(std::fs::symlink_metadata(&dir_version).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(dir_version.join("f")).unwrap(), b"beta 1");
    // latest per host and per tag.
    let link = |p: &str| std::fs::read_link(m.dir.join(p)).unwrap().to_string_lossy().into_owned();
    assert_eq!(link("hosts/beta/latest"), t1);
    assert_eq!(link("tags/web/latest"), t4);
    assert_eq!(link("tags/other/latest"), time(&names[3]));
    assert_eq!(std::fs::read(m.dir.join("tags/web/latest").join(&rel)).unwrap(), b"alpha 2");
    assert!(list(m.dir.join("hosts/alpha")).contains(&"history".to_string()));
}
