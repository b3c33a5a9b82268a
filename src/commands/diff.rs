use super::{human, open, path_str, print_bytes, selection};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use std::os::unix::ffi::OsStrExt;
use strata::cli::{DiffArgs, Global};
use strata::crypto::Id;
use strata::diff::{Change, Differ};
use strata::format::tree::{Entry, Kind};
use strata::repo::Access;

pub fn run(g: &Global, a: &DiffArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let sel = selection(&a.select)?;
    let (_, from) = repo.resolve_in(&a.from, &sel)?;
    // A path (not a snapshot name: those never start with '/' or '.') is
    // a live directory, compared with the same path in the snapshot.
    let to_bytes = a.to.as_bytes();
    let live = to_bytes.starts_with(b"/") || to_bytes.starts_with(b".");
    let shown_to = a.to.to_string_lossy();
    if live && a.path.is_some() {
        bail!("with a live directory ({shown_to}), give no PATH: the directory is the path compared");
    }
    let live_dir = if live {
        let abs = std::path::absolute(&a.to).with_context(|| shown_to.to_string())?;
        Some(abs.canonicalize().with_context(|| shown_to.to_string())?)
    } else {
        None
    };
    let to = match live {
        true => None,
        false => {
            let spec = a.to.to_str().ok_or_else(|| anyhow!("{shown_to}: not a snapshot"))?;
            Some(repo.resolve_in(spec, &sel)?.1)
        }
    };
    let path = match (&live_dir, &a.path) {
        (Some(d), _) => d.as_os_str().as_bytes(),
        (None, Some(p)) => p.as_bytes(),
        (None, None) => b"/",
    };
    let path = super::trim_slashes(path);
    let json = a.json;
    let mut print = |c: Change, p: &[u8], e: &Entry| {
        if json {
            let kind = format!("{:?}", e.kind).to_lowercase();
            let shown = format!("/{}", path_str(p));
            println!("{}", json!({"change": c.marker(), "path": shown, "type": kind, "size": e.size}));
        } else {
            let slash: &[u8] = if e.kind == Kind::Dir { b"/" } else { b"" };
            print_bytes(&[c.marker().as_bytes(), b"    /", p, slash]);
        }
    };
    let mut d = Differ::new(&repo, a.metadata, &mut print);
    if let Some(dir) = &live_dir {
        let tree = if path.is_empty() {
            Some(from.tree)
        } else {
            match repo.lookup(&from.tree, path)? {
                Some(e) if e.kind == Kind::Dir => e.subtree,
                Some(_) => bail!("/{}: not a directory in the snapshot", path_str(path)),
                None => None,
            }
        };
        let own = strata::backup::Own::of(repo.path(), Some(&super::cache(g).dir));
        d.live(path, tree.as_ref(), &strata::diff::Live::open(dir, own)?)?;
    } else if let Some(to) = &to {
        diff_stored(&mut d, &repo, path, &from.tree, &to.tree)?;
    }
    let t = d.totals;
    if json {
        let mut v = serde_json::to_value(&t)?;
        v["type"] = json!("statistics");
        println!("{v}");
    } else {
        println!(
            "\nadded: {} files, {} dirs, {} others, {}; removed: {} files, {} dirs, {} others, {}; \
             {} modified, {} changed type{}",
            t.files_added,
            t.dirs_added,
            t.others_added,
            human(t.bytes_added),
            t.files_removed,
            t.dirs_removed,
            t.others_removed,
            human(t.bytes_removed),
            t.modified,
            t.type_changed,
            if a.metadata { format!(", {} metadata changed", t.metadata_changed) } else { String::new() }
        );
    }
    Ok(0)
}

fn diff_stored(d: &mut Differ, repo: &strata::repo::Repo, path: &[u8], from: &Id, to: &Id) -> Result<()> {
    if path.is_empty() {
        return Ok(d.trees(b"", from, to)?);
    }
    let (ea, eb) = (repo.lookup(from, path)?, repo.lookup(to, path)?);
    if ea.is_none() && eb.is_none() {
        bail!("/{}: in neither snapshot", path_str(path));
    }
    Ok(d.entries(path, ea.as_ref(), eb.as_ref())?)
}
