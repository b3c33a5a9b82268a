use super::{human, open, path_str, selection};
use anyhow::{bail, Result};
use serde_json::json;
use strata::cli::{DiffArgs, Global};
use strata::diff::{Change, Differ};
use strata::format::tree::{Entry, Kind};
use strata::repo::Access;

pub fn run(g: &Global, a: &DiffArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let sel = selection(&a.select)?;
    let (_, from) = repo.resolve_in(&a.from, &sel)?;
    let (_, to) = repo.resolve_in(&a.to, &sel)?;
    let path = a.path.as_deref().unwrap_or("/").trim_matches('/');
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
    if path.is_empty() {
        d.trees(b"", &from.tree, &to.tree)?;
    } else {
        let (ea, eb) = (repo.lookup(&from.tree, path.as_bytes())?, repo.lookup(&to.tree, path.as_bytes())?);
        if ea.is_none() && eb.is_none() {
            bail!("/{path}: in neither snapshot");
        }
        d.entries(path.as_bytes(), ea.as_ref(), eb.as_ref())?;
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
