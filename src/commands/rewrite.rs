use super::{human, open, path_str, print_bytes, time_str};
use anyhow::{bail, Result};
use serde_json::json;
use strata::backup::Excludes;
use strata::cli::{Global, RewriteArgs};
use strata::crypto::Id;
use strata::format::snapshot::Snapshot;
use strata::format::Time;
use strata::repo::Access;
use strata::rewrite::{Removed, Rewriter};

/// The tag a rewrite that keeps its original carries (as restic's).
const TAG: &str = "rewrite";

pub fn run(g: &Global, a: &RewriteArgs) -> Result<i32> {
    if a.excludes.is_empty() && a.exclude_files.is_empty() && !a.exclude_lost {
        bail!("nothing to take out: give --exclude, --exclude-file or --exclude-lost");
    }
    let filtered = !a.filter.host.is_empty() || !a.filter.tag.is_empty() || !a.filter.path.is_empty();
    if !a.snapshots.is_empty() && filtered {
        bail!("give either snapshots or filters (--host, --tag, --path), not both");
    }
    let excludes = Excludes::new(&a.excludes, &a.exclude_files)?;
    let repo = open(g, if a.dry_run { Access::Read } else { Access::Write })?;
    let chosen: Vec<(Id, Snapshot)> = if a.snapshots.is_empty() {
        let filter = a.filter.filter()?;
        repo.snapshots()?.into_iter().filter(|(_, s)| filter.matches(s)).collect()
    } else {
        let mut out: Vec<(Id, Snapshot)> = Vec::new();
        for spec in &a.snapshots {
            let (id, s) = repo.resolve(spec)?;
            if !out.iter().any(|(o, _)| *o == id) {
                out.push((id, s));
            }
        }
        out
    };

    // Every rewrite is worked out (and its trees stored) before any is
    // committed, so a refusal below leaves every snapshot as it was.
    let mut rewriter = Rewriter::new(&repo, &excludes, a.dry_run);
    if a.exclude_lost {
        rewriter = rewriter.without_lost(repo.missing()?);
    }
    let mut plans = Vec::new();
    for (id, s) in &chosen {
        let rewritten = rewriter.rewrite(s).map_err(|e| anyhow::anyhow!("snapshot {}: {e}", id.short()))?;
        plans.push(((*id, s.clone()), rewritten));
    }
    if a.forget && !a.dry_run {
        let holds = repo.holds()?;
        for ((id, _), _) in plans.iter().filter(|(_, r)| r.is_some()) {
            if let Some(h) = holds.get(id).filter(|h| h.active(Time::now())) {
                bail!(
                    "snapshot {}: held ({}); --forget would remove it: nothing was rewritten (lift the hold, or \
                     rewrite without --forget)",
                    id.short(),
                    h.reason
                );
            }
        }
    }

    let what = describe(a);
    let mut done = Vec::new();
    for (old, rewritten) in plans {
        let Some((mut new, removed)) = rewritten else {
            done.push((old, None));
            continue;
        };
        if !a.forget {
            if !new.tags.iter().any(|t| t == TAG) {
                new.tags.push(TAG.to_string());
            }
            // A nanosecond after the original kept beside it, so that
            // `latest`, --at and the mount's at/ choose the rewrite.
            new.time = match new.time.nanos {
                999_999_999 => Time { secs: new.time.secs + 1, nanos: 0 },
                n => Time { nanos: n + 1, ..new.time },
            };
        }
        let new_id = if a.dry_run {
            None
        } else {
            let detail = format!("{} (matching {what})", counts(&removed));
            Some(repo.commit_rewrite(&old, &new, a.forget, detail)?)
        };
        done.push((old, Some((new_id, removed))));
    }

    if a.json {
        println!("{}", to_json(&done, a));
        return Ok(0);
    }
    for ((id, s), r) in &done {
        let head = format!("snapshot {} {}", id.short(), time_str(s.time));
        match r {
            None => println!("{head}: nothing matches"),
            Some((new, removed)) => {
                let verb = if a.dry_run { "would take out" } else { "took out" };
                println!("{head}: {verb} {}", counts(removed));
                if a.dry_run {
                    for p in &removed.paths {
                        print_bytes(&[b"  ", p]);
                    }
                } else if let Some(new) = new {
                    let fate = if a.forget { "forgotten" } else { "kept" };
                    println!("  now snapshot {}; the original is {fate}", new.short());
                }
            }
        }
    }
    let n = done.iter().filter(|(_, r)| r.is_some()).count();
    let verb = if a.dry_run { "would rewrite" } else { "rewrote" };
    let after = if a.dry_run || n == 0 { "" } else { "; prune gives back the space no snapshot uses any more" };
    println!("{verb} {n} of {} snapshots{after}", done.len());
    Ok(0)
}

fn counts(r: &Removed) -> String {
    let mut parts = vec![format!("{} files ({})", r.files, human(r.bytes))];
    if r.dirs > 0 {
        parts.push(format!("{} directories", r.dirs));
    }
    if r.others > 0 {
        parts.push(format!("{} other entries", r.others));
    }
    parts.join(", ")
}

/// The excludes, as the audit log records them.
fn describe(a: &RewriteArgs) -> String {
    let e = a.excludes.iter().map(|p| format!("--exclude {p:?}"));
    let f = a.exclude_files.iter().map(|f| format!("--exclude-file {:?}", f.display().to_string()));
    let lost = a.exclude_lost.then(|| "--exclude-lost".to_string());
    e.chain(f).chain(lost).collect::<Vec<_>>().join(" ")
}

type Done = ((Id, Snapshot), Option<(Option<Id>, Removed)>);

fn to_json(done: &[Done], a: &RewriteArgs) -> serde_json::Value {
    let v: Vec<_> = done
        .iter()
        .map(|((id, s), r)| {
            let mut o =
                json!({"id": id.to_hex(), "short_id": id.short(), "time": time_str(s.time), "rewritten": r.is_some()});
            if let Some((new, removed)) = r {
                o["new_id"] = new.map_or(serde_json::Value::Null, |n| json!(n.to_hex()));
                o["removed"] = json!({
                    "files": removed.files, "bytes": removed.bytes, "dirs": removed.dirs, "others": removed.others,
                    "paths": removed.paths.iter().map(|p| path_str(p)).collect::<Vec<_>>(),
                });
            }
            o
        })
        .collect();
    json!({"dry_run": a.dry_run, "forget": a.forget, "snapshots": v})
}
