use super::check::{print_problems, run_on};
use super::open;
use anyhow::Result;
use serde_json::json;
use std::collections::HashSet;
use strata::check::{Options, Problem, Subset};
use strata::cli::{Global, RepairArgs};
use strata::crypto::{unhex, Id};
use strata::repo::{Access, Repo};

/// What repair removes and marks missing.
#[derive(Default)]
struct Plan {
    /// Damaged chunk records (or index entries whose record is gone).
    chunks: Vec<Id>,
    /// Damaged tree and chunk-list records (whole ones, indexes, parts).
    objects: Vec<Id>,
    /// Records gone already.
    lost: Vec<Id>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.objects.is_empty() && self.lost.is_empty()
    }

    /// The records at fault in problem `p`, as found in `repo` now; `None`
    /// when repair can do nothing about it.
    fn take(&mut self, repo: &Repo, p: &Problem, marked: &HashSet<Id>) -> Option<bool> {
        let id = p.id.as_deref().and_then(unhex).and_then(|b| Id::from_slice(&b))?;
        let before = self.chunks.len() + self.objects.len() + self.lost.len();
        match p.kind {
            // An index entry whose record is gone is removed like a damaged one.
            "chunk_damaged" | "chunk_missing" => {
                if repo.chunk(&id).is_ok() {
                    return None; // sound since (a backup or prune ran meanwhile)
                }
                self.chunks.push(id);
            }
            "tree_damaged" | "chunk_list_damaged" | "tree_missing" | "chunk_list_missing" => {
                let tree = p.kind.starts_with("tree");
                for bad in repo.damaged_records(&id, tree) {
                    let gone = !repo.records().has_object(&bad).unwrap_or(true);
                    match (gone, marked.contains(&bad)) {
                        (true, true) => {}
                        (true, false) => self.lost.push(bad),
                        (false, _) => self.objects.push(bad),
                    }
                }
            }
            "chunk_unindexed" if !marked.contains(&id) => self.lost.push(id),
            "chunk_unindexed" => {}
            _ => return None,
        }
        // Whether this run does something about it (else: marked already).
        Some(self.chunks.len() + self.objects.len() + self.lost.len() > before)
    }
}

pub fn run(g: &Global, a: &RepairArgs) -> Result<i32> {
    // Reading everything takes long: without the lock, so backups go on.
    let report = {
        let repo = open(g, Access::Read)?;
        run_on(&repo, None, &Options { data: Some(Subset::All), ..Options::default() })?
    };
    // What to remove is settled under the lock, against the repository as
    // it is then.
    let repo = open(g, if a.dry_run { Access::Read } else { Access::Write })?;
    let marked = repo.missing()?;
    let mut plan = Plan::default();
    let (mut fixed, mut still, mut left) = (Vec::new(), Vec::new(), Vec::new());
    for p in &report.problems {
        match plan.take(&repo, p, &marked) {
            Some(true) => fixed.push(p),
            Some(false) => still.push(p),
            None => left.push(p),
        }
    }
    if !plan.is_empty() && !a.dry_run {
        let detail = format!(
            "removed {} damaged chunks and {} damaged trees or chunk lists; {} lost records marked missing",
            plan.chunks.len(),
            plan.objects.len(),
            plan.lost.len()
        );
        repo.remove_damaged(&plan.chunks, &plan.objects, &plan.lost, detail)?;
    }
    let unlisted = report.problems_not_listed;
    if a.json {
        let list = |ps: &[&Problem]| serde_json::to_value(ps).unwrap_or_default();
        println!(
            "{}",
            json!({
                "dry_run": a.dry_run, "removed_chunks": plan.chunks.len(), "removed_objects": plan.objects.len(),
                "marked_lost": plan.lost.len(), "repaired": list(&fixed), "still_missing": list(&still),
                "left": list(&left), "problems_not_listed": unlisted,
            })
        );
    } else {
        print_problems(fixed.iter().copied());
        let verb = if a.dry_run { "would remove" } else { "removed" };
        let mark = if a.dry_run { "would mark" } else { "marked" };
        println!(
            "{verb} {} damaged chunks and {} damaged trees or chunk lists; {mark} {} lost records missing",
            plan.chunks.len(),
            plan.objects.len(),
            plan.lost.len()
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
