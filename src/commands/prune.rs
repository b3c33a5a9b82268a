use super::{human, open, spinner};
use anyhow::Result;
use serde_json::json;
use strata::cli::{Global, PruneArgs};
use strata::prune::{self, Report, Stage};
use strata::repo::{Access, Repo};

pub fn run(g: &Global, a: &PruneArgs) -> Result<i32> {
    let repo = open(g, Access::Write)?;
    let report = run_on(&repo, a.dry_run)?;
    print(&report, a.json);
    Ok(0)
}

/// Prunes with a progress line on a terminal.
pub fn run_on(repo: &Repo, dry_run: bool) -> Result<Report> {
    let bar = spinner();
    let progress = |stage: Stage| {
        if let Some(b) = &bar {
            b.set_message(match stage {
                Stage::Counting => "counting records".to_string(),
                Stage::Marking(n) => format!("marking: {n} trees read"),
                Stage::Sweeping(n, of) => format!("sweeping: {n} of {of} records"),
                Stage::Compacting => "compacting: giving the space back".to_string(),
            });
            b.tick();
        }
    };
    let report = prune::run(repo, dry_run, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(report?)
}

pub fn to_json(r: &Report) -> serde_json::Value {
    json!({
        "dry_run": r.dry_run, "snapshots": r.snapshots, "trees_walked": r.trees_walked,
        "chunks": r.chunks, "chunks_removed": r.chunks_removed, "chunk_bytes_removed": r.chunk_bytes_removed,
        "trees": r.objects, "trees_removed": r.objects_removed, "tree_bytes_removed": r.object_bytes_removed,
        "size_before": r.size_before, "size_after": r.size_after,
    })
}

pub fn print(r: &Report, as_json: bool) {
    if as_json {
        println!("{}", to_json(r));
        return;
    }
    let verb = if r.dry_run { "would remove" } else { "removed" };
    println!(
        "{} snapshots reach {} of {} chunks and {} of {} trees",
        r.snapshots,
        r.chunks - r.chunks_removed,
        r.chunks,
        r.objects - r.objects_removed,
        r.objects
    );
    println!(
        "{verb} {} chunks ({}) and {} trees ({})",
        r.chunks_removed,
        human(r.chunk_bytes_removed),
        r.objects_removed,
        human(r.object_bytes_removed)
    );
    if r.dry_run {
        println!("repository size {}, about {} after a prune", human(r.size_before), human(r.size_after));
    } else {
        println!("repository size {} before, {} after", human(r.size_before), human(r.size_after));
    }
}
