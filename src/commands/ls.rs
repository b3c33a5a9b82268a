use super::{open, path_str, print_bytes, time_full, time_str};
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use std::os::unix::ffi::OsStrExt;
use strata::cli::{Global, LsArgs};
use strata::format::tree::{Entry, Kind};
use strata::repo::{Access, Repo};

pub fn mode_string(e: &Entry) -> String {
    let t = match e.kind {
        Kind::File => '-',
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::Fifo => 'p',
        Kind::CharDev => 'c',
        Kind::BlockDev => 'b',
    };
    let m = e.mode;
    let bit = |b: u32, c: char| if m & b != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (m & x != 0, m & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        t,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

pub fn run(g: &Global, a: &LsArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    // With --at the one positional is the path.
    let (spec, path) = match &a.at {
        Some(_) if a.path.is_some() => bail!("with --at, give the PATH alone (no SNAPSHOT)"),
        Some(_) => (None, a.snapshot.as_deref()),
        None => (a.snapshot.as_deref(), a.path.as_deref()),
    };
    let spec =
        spec.map(|s| s.to_str().ok_or_else(|| anyhow!("{}: not a snapshot", s.to_string_lossy()))).transpose()?;
    let path = path.map_or(&b"/"[..], |p| p.as_bytes());
    let (id, snap) = super::choose(&repo, spec, a.at.as_deref(), &super::selection(&a.select)?)?;
    let shown = path_str(path);
    let path = &path[..path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)];
    let root = if path.is_empty() {
        None
    } else {
        Some(
            repo.lookup(&snap.tree, path)?
                .ok_or_else(|| anyhow!("{shown}: no such path in snapshot {}", id.short()))?,
        )
    };
    match root {
        Some(e) if e.kind != Kind::Dir => print(&e, path, a),
        Some(e) => walk(&repo, &e.subtree.ok_or_else(|| anyhow!("{shown}: directory without tree"))?, path, a)?,
        None => walk(&repo, &snap.tree, b"", a)?,
    }
    Ok(0)
}

fn walk(repo: &Repo, tree: &strata::crypto::Id, prefix: &[u8], a: &LsArgs) -> Result<()> {
    for e in repo.tree(tree)?.entries {
        let p = [prefix, b"/", &e.name].concat();
        print(&e, &p, a);
        if a.recursive {
            if let Some(sub) = e.subtree {
                walk(repo, &sub, &p, a)?;
            }
        }
    }
    Ok(())
}

fn print(e: &Entry, path: &[u8], a: &LsArgs) {
    if a.json {
        println!(
            "{}",
            json!({
                "path": path_str(path), "type": format!("{:?}", e.kind).to_lowercase(), "mode": e.mode,
                "uid": e.uid, "gid": e.gid, "user": e.user, "group": e.group, "size": e.size,
                "mtime": time_full(e.mtime), "mtime_ns": e.mtime.as_nanos() as i64,
                "hash": e.hash.map(|h| strata::crypto::hex(&h)),
                "target": (e.kind == Kind::Symlink).then(|| path_str(&e.target)),
            })
        );
    } else if a.long {
        let owner = if e.user.is_empty() { e.uid.to_string() } else { e.user.clone() };
        let group = if e.group.is_empty() { e.gid.to_string() } else { e.group.clone() };
        let head = format!("{} {:<8} {:<8} {:>12} {} ", mode_string(e), owner, group, e.size, time_str(e.mtime));
        let link: &[&[u8]] = if e.kind == Kind::Symlink { &[b" -> ", &e.target] } else { &[] };
        print_bytes(&[&[head.as_bytes(), path][..], link].concat());
    } else {
        print_bytes(&[path]);
    }
}
