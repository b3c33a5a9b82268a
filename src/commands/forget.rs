use super::{open, path_str, time_str};
use anyhow::{bail, Result};
use serde_json::json;
use strata::cli::{ForgetArgs, Global};
use strata::forget::{self, Group};
use strata::format::Time;
use strata::policy::Policy;
use strata::repo::Access;

fn policy(a: &ForgetArgs) -> Policy {
    Policy {
        last: a.keep_last,
        periods: [a.keep_hourly, a.keep_daily, a.keep_weekly, a.keep_monthly, a.keep_yearly],
        within: a.keep_within,
        within_periods: [
            a.keep_within_hourly,
            a.keep_within_daily,
            a.keep_within_weekly,
            a.keep_within_monthly,
            a.keep_within_yearly,
        ],
        tags: a.keep_tag.clone(),
    }
}

pub fn run(g: &Global, a: &ForgetArgs) -> Result<i32> {
    let policy = policy(a);
    if !a.snapshots.is_empty() && policy != Policy::default() {
        bail!("give either snapshots or a policy (--keep-*), not both");
    }
    if a.snapshots.is_empty() && policy.is_empty() {
        bail!("no policy given: say what to keep (--keep-last, --keep-daily, ...) or name the snapshots to remove");
    }
    let repo = open(g, Access::Write)?;
    let groups = if a.snapshots.is_empty() {
        let filter = a.filter.filter()?;
        forget::plan(repo.snapshots()?, &repo.holds()?, &policy, a.group_by, &filter, Time::now(), &chrono::Local)
    } else {
        by_id(&repo, &a.snapshots)?
    };
    let remove: Vec<_> =
        groups.iter().flat_map(|g| &g.snapshots).filter(|p| !p.keep).map(|p| (p.id, p.snapshot.clone())).collect();
    if !a.json {
        print(&groups);
    }
    if !a.dry_run && !remove.is_empty() {
        repo.forget(&remove)?;
    }
    if !a.json {
        let verb = if a.dry_run { "would remove" } else { "removed" };
        println!("{verb} {} snapshots", remove.len());
    }
    let pruned = if a.prune && !a.dry_run { Some(super::prune::run_on(&repo, false)?) } else { None };
    if a.json {
        let mut doc = to_json(&groups, a.dry_run);
        doc["prune"] = pruned.as_ref().map_or(serde_json::Value::Null, super::prune::to_json);
        println!("{doc}");
    } else if let Some(r) = &pruned {
        super::prune::print(r, false);
    }
    Ok(0)
}

/// Named snapshots, each in a group of its own, all to be removed; a held
/// one is an error naming it.
fn by_id(repo: &strata::repo::Repo, specs: &[String]) -> Result<Vec<Group>> {
    let holds = repo.holds()?;
    let mut out: Vec<Group> = Vec::new();
    for spec in specs {
        let (id, snapshot) = repo.resolve(spec)?;
        if let Some(h) = holds.get(&id).filter(|h| h.active(Time::now())) {
            bail!("snapshot {}: held ({}); `strata hold remove {}` first", id.short(), h.reason, id.short());
        }
        if out.iter().any(|g| g.snapshots[0].id == id) {
            continue;
        }
        let key =
            forget::GroupKey { host: Some(snapshot.host.clone()), paths: Some(snapshot.paths.clone()), tags: None };
        out.push(Group { key, snapshots: vec![forget::Planned { id, snapshot, keep: false, reasons: Vec::new() }] });
    }
    Ok(out)
}

/// The plan as one JSON document.
fn to_json(groups: &[Group], dry_run: bool) -> serde_json::Value {
    let v: Vec<_> = groups
            .iter()
            .map(|g| {
                let entry = |p: &forget::Planned| {
                    json!({"id": p.id.to_hex(), "short_id": p.id.short(), "time": time_str(p.snapshot.time),
                           "tags": p.snapshot.tags, "reasons": p.reasons})
                };
                json!({
                    "host": g.key.host, "paths": g.key.paths.as_ref().map(|ps| ps.iter().map(|p| path_str(p)).collect::<Vec<_>>()),
                    "tags": g.key.tags,
                    "keep": g.snapshots.iter().filter(|p| p.keep).map(entry).collect::<Vec<_>>(),
                    "remove": g.snapshots.iter().filter(|p| !p.keep).map(entry).collect::<Vec<_>>(),
                })
            })
            .collect();
    json!({"dry_run": dry_run, "groups": v})
}

fn print(groups: &[Group]) {
    for g in groups {
        let mut what = Vec::new();
        if let Some(h) = &g.key.host {
            what.push(format!("host {h}"));
        }
        if let Some(p) = &g.key.paths {
            what.push(format!("paths {}", p.iter().map(|p| path_str(p)).collect::<Vec<_>>().join(" ")));
        }
        if let Some(t) = &g.key.tags {
            what.push(format!("tags [{}]", t.join(",")));
        }
        println!("{}:", if what.is_empty() { "all snapshots".to_string() } else { what.join(", ") });
        for p in &g.snapshots {
            let mark = if p.keep { "keep  " } else { "remove" };
            let why = if p.keep { format!("  ({})", p.reasons.join(", ")) } else { String::new() };
            println!("  {mark}  {}  {}{why}", p.id.short(), time_str(p.snapshot.time));
        }
    }
}
