use super::{human, open, path_str, time_str};
use anyhow::Result;
use serde_json::json;
use strata::cli::{Global, SnapshotsArgs};
use strata::repo::Access;

pub fn run(g: &Global, a: &SnapshotsArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let now = strata::format::Time::now();
    let holds = repo.holds()?;
    let held = |id: &strata::crypto::Id| holds.get(id).filter(|h| h.active(now));
    let list: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| a.host.as_ref().is_none_or(|h| &s.host == h))
        .filter(|(_, s)| a.tag.as_ref().is_none_or(|t| s.tags.contains(t)))
        .collect();
    if a.json {
        let v: Vec<_> = list
            .iter()
            .map(|(id, s)| {
                json!({
                    "id": id.to_hex(), "short_id": id.short(), "time": time_str(s.time),
                    "time_ns": s.time.as_nanos() as i64, "host": s.host, "user": s.user,
                    "paths": s.paths.iter().map(|p| path_str(p)).collect::<Vec<_>>(), "tags": s.tags,
                    "description": s.description, "parent": s.parent.map(|p| p.to_hex()), "tree": s.tree.to_hex(),
                    "files": s.counters.files, "bytes": s.counters.bytes, "bytes_added": s.counters.bytes_added,
                    "errors": s.counters.errors, "held": held(id).map(|h| h.reason.clone()),
                    "failed": s.failed.iter().map(|(p, w)| json!({"path": path_str(p), "error": w})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(0);
    }
    println!("{:<16}  {:<20}  {:<12}  {:>10}  {:<10}  paths", "id", "time", "host", "size", "tags");
    for (id, s) in &list {
        let paths: Vec<String> = s.paths.iter().map(|p| path_str(p)).collect();
        println!(
            "{:<16}  {:<20}  {:<12}  {:>10}  {:<10}  {}",
            id.short(),
            time_str(s.time),
            s.host,
            human(s.counters.bytes),
            s.tags.join(","),
            paths.join(" ")
        );
        if let Some(h) = held(id) {
            println!("{:<16}  held: {}", "", h.reason);
        }
    }
    println!("{} snapshots", list.len());
    Ok(0)
}
