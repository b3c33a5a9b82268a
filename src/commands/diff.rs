use super::{human, open, path_str, selection};
use anyhow::{bail, Context, Result};
use serde_json::json;
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
    let live = a.to.starts_with('/') || a.to.starts_with('.');
    if live && a.path.is_some() {
        bail!("with a live directory ({}), give no PATH: the directory is the path compared", a.to);
    }
    let live_dir = if live {
        Some(std::path::absolute(&a.to).with_context(|| a.to.clone())?.canonicalize().with_context(|| a.to.clone())?)
    } else {
        None
    };
    let to = if live { None } else { Some(repo.resolve_in(&a.to, &sel)?.1) };
    let live_path = live_dir.as_ref().map(|d| d.to_string_lossy().into_owned());
    let path = live_path.as_deref().or(a.path.as_deref()).unwrap_or("/").trim_matches('/');
    let json = a.json;
    let mut print = |c: Change, p: &[u8], e: &Entry| {
        let shown = format!("/{}", path_str(p));
        if json {
            let kind = format!("{:?}", e.kind).to_lowercase();
            println!("{}", json!({"change": c.marker(), "path": shown, "type": kind, "size": e.size}));
        } else {
            println!("{}    {shown}{}", c.marker(), if e.kind == Kind::Dir { "/" } else { "" });
        }
    };
    let mut d = Differ::new(&repo, a.metadata, &mut print);
    if let Some(dir) = &live_dir {
        let tree = if path.is_empty() {
            Some(from.tree)
        } else {
            match repo.lookup(&from.tree, path.as_bytes())? {
                Some(e) if e.kind == Kind::Dir => e.subtree,
                Some(_) => bail!("/{path}: not a directory in the snapshot"),
                None => None,
            }
        };
        d.live(path.as_bytes(), tree.as_ref(), &strata::diff::Live::open(dir)?)?;
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

fn diff_stored(d: &mut Differ, repo: &strata::repo::Repo, path: &str, from: &Id, to: &Id) -> Result<()> {
    if path.is_empty() {
        return Ok(d.trees(b"", from, to)?);
    }
    let (ea, eb) = (repo.lookup(from, path.as_bytes())?, repo.lookup(to, path.as_bytes())?);
    if ea.is_none() && eb.is_none() {
        bail!("/{path}: in neither snapshot");
    }
    Ok(d.entries(path.as_bytes(), ea.as_ref(), eb.as_ref())?)
}
