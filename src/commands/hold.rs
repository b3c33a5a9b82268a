use super::{open, time_str};
use anyhow::Result;
use serde_json::json;
use strata::cli::{Global, HoldCommand};
use strata::format::meta::Hold;
use strata::format::Time;
use strata::repo::Access;

pub fn run(g: &Global, c: &HoldCommand) -> Result<i32> {
    match c {
        HoldCommand::Add { snapshots, reason, until } => {
            let repo = open(g, Access::Write)?;
            let ids = snapshots.iter().map(|s| repo.resolve(s).map(|(id, _)| id)).collect::<Result<Vec<_>, _>>()?;
            let hold = Hold {
                reason: reason.clone(),
                until: *until,
                created: Time::now(),
                user: strata::sys::current_user(),
                host: strata::sys::hostname(),
            };
            repo.add_hold(&ids, &hold)?;
            for id in &ids {
                println!(
                    "snapshot {} held{}",
                    id.short(),
                    until.map(|t| format!(" until {}", time_str(t))).unwrap_or_default()
                );
            }
        }
        HoldCommand::Remove { snapshots } => {
            let repo = open(g, Access::Write)?;
            let ids = snapshots.iter().map(|s| repo.resolve(s).map(|(id, _)| id)).collect::<Result<Vec<_>, _>>()?;
            repo.remove_hold(&ids)?;
            for id in &ids {
                println!("snapshot {}: hold removed", id.short());
            }
        }
        HoldCommand::List { json } => {
            let repo = open(g, Access::Read)?;
            let holds = repo.holds()?;
            let now = Time::now();
            let mut list: Vec<_> =
                repo.snapshots()?.into_iter().filter_map(|(id, s)| holds.get(&id).map(|h| (id, s, h))).collect();
            list.sort_by_key(|(_, s, _)| s.time);
            if *json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(id, s, h)| {
                        json!({
                            "snapshot": id.to_hex(), "short_id": id.short(), "time": time_str(s.time),
                            "reason": h.reason, "until": h.until.map(time_str), "active": h.active(now),
                            "created": time_str(h.created), "user": h.user, "host": h.host,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for (id, s, h) in &list {
                    let until = match h.until {
                        Some(t) if !h.active(now) => format!("  (lapsed {})", time_str(t)),
                        Some(t) => format!("  until {}", time_str(t)),
                        None => String::new(),
                    };
                    println!(
                        "{}  {}  {}{}  (by {}@{} at {})",
                        id.short(),
                        time_str(s.time),
                        h.reason,
                        until,
                        h.user,
                        h.host,
                        time_str(h.created)
                    );
                }
                println!("{} held snapshots", list.iter().filter(|(_, _, h)| h.active(now)).count());
            }
        }
    }
    Ok(0)
}
