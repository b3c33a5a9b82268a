use super::{human, open, path_str, time_str};
use anyhow::Result;
use serde_json::json;
use std::collections::HashMap;
use strata::cli::{Global, SnapshotsArgs};
use strata::repo::Access;

pub fn run(g: &Global, a: &SnapshotsArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let now = strata::format::Time::now();
    let holds = repo.holds()?;
    let held = |id: &strata::crypto::Id| holds.get(id).filter(|h| h.active(now));
    let filter = a.filter.filter()?;
    let mut list: Vec<_> = repo.snapshots()?.into_iter().filter(|(_, s)| filter.matches(s)).collect();
    if let Some(n) = a.latest {
        // Oldest first: count each group's snapshots from the newest.
        let mut seen: HashMap<(&str, &[Vec<u8>]), u32> = HashMap::new();
        let keep: Vec<bool> = list
            .iter()
            .rev()
            .map(|(_, s)| {
                let count = seen.entry((&s.host, &s.paths)).or_default();
                *count += 1;
                *count <= n
            })
            .collect();
        let mut keep = keep.into_iter().rev();
        list.retain(|_| keep.next().unwrap_or(false));
    }
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
