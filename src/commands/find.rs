use super::{open, path_str, print_bytes, selection, time_full, time_str};
use anyhow::{anyhow, Result};
use serde_json::json;
use strata::cli::{FindArgs, Global};
use strata::find::{Finder, Query};
use strata::repo::Access;

pub fn run(g: &Global, a: &FindArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let sel = selection(&a.select)?;
    let mut query = Query::new(&a.patterns)?;
    if let Some(h) = &a.hash {
        let bytes = strata::crypto::unhex(h.trim()).filter(|b| b.len() == 32);
        let bytes = bytes.ok_or_else(|| anyhow!("--hash {h:?}: not a BLAKE3 hash (64 hex digits, as b3sum prints)"))?;
        query.hash = Some(bytes.try_into().expect("32 bytes"));
    }
    let time = |flag: &str, t: &Option<String>| -> Result<Option<strata::format::Time>> {
        t.as_ref()
            .map(|t| {
                strata::timespec::parse(t).ok_or_else(|| anyhow!("{flag} {t:?}: not a time (try 2026-11-20T14:00)"))
            })
            .transpose()
    };
    query.oldest = time("--oldest", &a.oldest)?;
    query.newest = time("--newest", &a.newest)?;
    let snaps = if a.snapshots.is_empty() {
        repo.snapshots()?.into_iter().filter(|(_, s)| sel.matches(s)).collect()
    } else {
        a.snapshots.iter().map(|s| repo.resolve_in(s, &sel)).collect::<strata::Result<Vec<_>>>()?
    };
    let mut finder = Finder::new(&repo, query);
    let mut matches = 0u64;
    if !a.json {
        println!("{:<20}  {:<16}  {:<7}  {:>12}  {:<20}  path", "snapshot", "id", "type", "size", "mtime");
    }
    for (id, snap) in &snaps {
        let found = finder.tree(&snap.tree, b"")?;
        found.each(b"", &mut |path, e| {
            matches += 1;
            let kind = format!("{:?}", e.kind).to_lowercase();
            if a.json {
                println!(
                    "{}",
                    json!({
                        "snapshot": id.to_hex(), "snapshot_time": time_str(snap.time),
                        "snapshot_time_ns": snap.time.as_nanos() as i64, "host": snap.host,
                        "path": format!("/{}", path_str(path)), "type": kind, "size": e.size, "mode": e.mode,
                        "mtime": time_full(e.mtime), "mtime_ns": e.mtime.as_nanos() as i64,
                        "hash": e.hash.map(|h| strata::crypto::hex(&h)),
                    })
                );
            } else {
                let head = format!(
                    "{:<20}  {:<16}  {:<7}  {:>12}  {:<20}  /",
                    time_str(snap.time),
                    id.short(),
                    kind,
                    e.size,
                    time_str(e.mtime)
                );
                print_bytes(&[head.as_bytes(), path]);
            }
        });
    }
    if !a.json {
        eprintln!("{matches} matches in {} snapshots ({} distinct trees read)", snaps.len(), finder.trees_read);
    }
    Ok(0)
}
