use super::{open, time_str};
use anyhow::Result;
use serde_json::json;
use strata::cli::{Global, LogArgs};
use strata::repo::Access;

pub fn run(g: &Global, a: &LogArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    for e in repo.audit_log()? {
        let snaps: Vec<String> = e.snapshots.iter().map(|id| id.short()).collect();
        if a.json {
            println!(
                "{}",
                json!({
                    "time": time_str(e.time), "user": e.user, "host": e.host, "command": e.command,
                    "action": e.action, "snapshots": e.snapshots.iter().map(|id| id.to_hex()).collect::<Vec<_>>(),
                    "detail": e.detail,
                })
            );
        } else {
            let detail = if e.detail.is_empty() { String::new() } else { format!("  {}", e.detail) };
            println!("{}  {}@{}  {}  {}{}", time_str(e.time), e.user, e.host, e.action, snaps.join(" "), detail);
        }
    }
    Ok(0)
}
