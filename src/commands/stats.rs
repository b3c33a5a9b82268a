use super::{human, open, selection};
use anyhow::Result;
use strata::cli::{Global, StatsArgs};
use strata::repo::Access;

pub fn run(g: &Global, a: &StatsArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let sel = selection(&a.select)?;
    let snapshots = if a.snapshots.is_empty() {
        repo.snapshots()?.into_iter().filter(|(_, s)| sel.matches(s)).collect()
    } else {
        a.snapshots.iter().map(|spec| repo.resolve_in(spec, &sel)).collect::<strata::Result<Vec<_>>>()?
    };
    let s = strata::stats::of(&repo, &snapshots)?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(0);
    }
    println!("snapshots:        {}", s.snapshots);
    println!("files, dirs:      {}, {} (summed over the snapshots)", s.files, s.dirs);
    println!("restore size:     {} (restoring every snapshot)", human(s.restore_bytes));
    println!("unique data:      {} in {} chunks", human(s.unique_bytes), s.chunks);
    println!(
        "stored:           {} of chunks, {} of {} trees and chunk lists",
        human(s.stored_chunk_bytes),
        human(s.stored_tree_bytes),
        s.trees
    );
    println!("compression:      {:.2}x (unique data / stored chunks)", s.compression_ratio);
    println!("deduplication:    {:.2}x (restore size / unique data)", s.dedup_ratio);
    Ok(0)
}
