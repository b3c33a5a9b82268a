use super::open;
use anyhow::{bail, Result};
use strata::cli::{Global, TagArgs};
use strata::repo::Access;

pub fn run(g: &Global, a: &TagArgs) -> Result<i32> {
    if a.add.is_empty() && a.remove.is_empty() && a.set.is_empty() {
        bail!("nothing to change: give --add, --remove or --set");
    }
    let repo = open(g, Access::Write)?;
    let mut changes = Vec::new();
    for spec in &a.snapshots {
        let (id, s) = repo.resolve(spec)?;
        let mut tags =
            if a.set.is_empty() { s.tags.clone() } else { a.set.iter().filter(|t| !t.is_empty()).cloned().collect() };
        tags.retain(|t| !a.remove.contains(t));
        for t in &a.add {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        println!(
            "snapshot {}: tags {}",
            id.short(),
            if tags.is_empty() { "(none)".to_string() } else { tags.join(",") }
        );
        changes.push((id, tags));
    }
    repo.set_tags(&changes)?;
    Ok(0)
}
