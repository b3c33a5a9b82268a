use super::check::{print_problems, run_on};
use super::open;
use anyhow::Result;
use serde_json::json;
use strata::check::{Options, Problem, Subset};
use strata::cli::{Global, RepairArgs};
use strata::crypto::{unhex, Id};
use strata::repo::Access;

/// What repair does about a problem check reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Remove the damaged chunk record (and its index entry), mark it missing.
    Chunk,
    /// Remove the damaged tree or chunk list, mark it missing.
    Object,
    /// It is gone already: mark it missing.
    Lost,
    /// Nothing repair can do.
    Leave,
}

fn action(kind: &str) -> Action {
    match kind {
        // An index entry whose record is gone is removed like a damaged one.
        "chunk_damaged" | "chunk_missing" => Action::Chunk,
        "tree_damaged" | "chunk_list_damaged" => Action::Object,
        "chunk_unindexed" | "tree_missing" | "chunk_list_missing" => Action::Lost,
        _ => Action::Leave,
    }
}

pub fn run(g: &Global, a: &RepairArgs) -> Result<i32> {
    let repo = open(g, if a.dry_run { Access::Read } else { Access::Write })?;
    let report = run_on(&repo, None, &Options { data: Some(Subset::All), ..Options::default() })?;
    let marked = repo.missing()?;
    let id_of = |p: &Problem| p.id.as_deref().and_then(unhex).and_then(|b| Id::from_slice(&b));
    let (mut chunks, mut objects, mut lost, mut still) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut fixed: Vec<&Problem> = Vec::new();
    let mut left: Vec<&Problem> = Vec::new();
    for p in &report.problems {
        match (action(p.kind), id_of(p)) {
            (Action::Chunk, Some(id)) => chunks.push(id),
            (Action::Object, Some(id)) => objects.push(id),
            (Action::Lost, Some(id)) if marked.contains(&id) => {
                still.push(p);
                continue;
            }
            (Action::Lost, Some(id)) => lost.push(id),
            _ => {
                left.push(p);
                continue;
            }
        }
        fixed.push(p);
    }
    let found = !(chunks.is_empty() && objects.is_empty() && lost.is_empty());
    if found && !a.dry_run {
        let detail = format!(
            "removed {} damaged chunks and {} damaged trees or chunk lists; {} lost records marked missing",
            chunks.len(),
            objects.len(),
            lost.len()
        );
        repo.remove_damaged(&chunks, &objects, &lost, detail)?;
    }
    let unlisted = report.problems_not_listed;
    if a.json {
        let list = |ps: &[&Problem]| serde_json::to_value(ps).unwrap_or_default();
        println!(
            "{}",
            json!({
                "dry_run": a.dry_run, "removed_chunks": chunks.len(), "removed_objects": objects.len(),
                "marked_lost": lost.len(), "repaired": list(&fixed), "still_missing": list(&still),
                "left": list(&left), "problems_not_listed": unlisted,
            })
        );
    } else {
        print_problems(fixed.iter().copied());
        let verb = if a.dry_run { "would remove" } else { "removed" };
        let mark = if a.dry_run { "would mark" } else { "marked" };
        println!(
            "{verb} {} damaged chunks and {} damaged trees or chunk lists; {mark} {} lost records missing",
            chunks.len(),
            objects.len(),
            lost.len()
        );
        if !still.is_empty() {
            println!("{} records an earlier repair removed are still missing:", still.len());
            print_problems(still.iter().copied());
        }
        if !fixed.is_empty() || !still.is_empty() {
            println!(
                "a backup of the files above that still hold their data stores it again, and every snapshot \
                 that uses it is whole again; until then they read as damaged"
            );
        }
        if !left.is_empty() {
            println!("left as they are (repair cannot mend them):");
            print_problems(left.iter().copied());
        }
        if unlisted > 0 {
            println!("... and {unlisted} more problems: run repair again once this one is done");
        }
        if report.problems.is_empty() && unlisted == 0 {
            println!("no problems found: nothing to repair");
        }
    }
    Ok(if left.is_empty() && unlisted == 0 { 0 } else { 1 })
}
