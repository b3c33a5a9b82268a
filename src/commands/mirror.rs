use super::{bucket, human, repo_path, spinner};
use anyhow::{bail, Context, Result};
use strata::cli::{Global, MirrorArgs};
use strata::repo::{Access, MirrorOptions, MirrorReport, MirrorStage, Repo};
use strata::s3::Bucket;

pub fn run(g: &Global, a: &MirrorArgs) -> Result<i32> {
    if a.targets.is_empty() {
        bail!("no TARGET given (a directory or s3://BUCKET/PREFIX), nor a --profile with mirror targets");
    }
    let opts = MirrorOptions { without_keys: a.without_keys, prune: a.prune };
    // The source is a bucket (`-r s3://...`, or `mirror s3://... DIR` with
    // no repository given): pull it into the directories.
    let (from, targets) = match &g.repo {
        Some(r) => (bucket(&r.to_string_lossy())?, &a.targets[..]),
        None if a.targets.len() > 1 => match bucket(&a.targets[0].to_string_lossy())? {
            Some(b) => (Some(b), &a.targets[1..]),
            None => (None, &a.targets[..]),
        },
        None => (None, &a.targets[..]),
    };
    if let Some(from) = from {
        return pull(&from, targets, opts, a.json);
    }
    let path = repo_path(g, "mirroring to a bucket or directory")?;
    let source = Repo::open_keyless(path, Access::Read)?;
    let here = std::fs::canonicalize(path).with_context(|| format!("repository {}", path.display()))?;
    let mut reports = Vec::new();
    let mut failed = false;
    for target in targets {
        let t = target.to_string_lossy();
        let r = match bucket(&t)? {
            Some(b) => progress(|p| source.mirror_to_bucket(&b, opts, p)),
            None if strata::sys::resolve_new(target).is_some_and(|p| p == here) => {
                bail!("mirror target {t}: is the repository itself")
            }
            // A copy inside the repository goes with it (an rm -rf, a
            // disk lost), which is what a mirror is for.
            None if strata::sys::resolve_new(target).is_some_and(|p| p.starts_with(&here)) => {
                bail!("mirror target {t}: is inside the repository {}; a mirror belongs elsewhere", here.display())
            }
            None => progress(|p| source.mirror_to_dir(target, opts, p)),
        }
        .with_context(|| format!("mirror to {t}"))?;
        failed |= !r.damaged.is_empty();
        if !a.json {
            print(&r);
        }
        reports.push(r);
    }
    if a.json {
        println!("{}", serde_json::json!({ "targets": reports }));
    }
    Ok(if failed { 1 } else { 0 })
}

fn pull(from: &Bucket, targets: &[std::path::PathBuf], opts: MirrorOptions, json: bool) -> Result<i32> {
    let mut reports = Vec::new();
    let mut failed = false;
    for target in targets {
        if strata::s3::parse_url(&target.to_string_lossy()).is_some() {
            bail!("mirror from {} to {}: from a bucket, only to directories", from.url(), target.display());
        }
        let r = progress(|p| Repo::pull_from_bucket(from, target, opts, p))
            .with_context(|| format!("mirror from {} to {}", from.url(), target.display()))?;
        failed |= !r.damaged.is_empty();
        if !json {
            print(&r);
        }
        reports.push(r);
    }
    if json {
        println!("{}", serde_json::json!({ "targets": reports }));
    }
    Ok(if failed { 1 } else { 0 })
}

/// Runs one mirror with a progress line on a terminal.
fn progress(run: impl FnOnce(&dyn Fn(MirrorStage)) -> strata::Result<MirrorReport>) -> Result<MirrorReport> {
    let bar = spinner();
    let progress = |stage: MirrorStage| {
        let Some(b) = &bar else { return };
        b.set_message(match stage {
            MirrorStage::Chunks(n, of, bytes) => format!("chunks: {n} of {of} looked at, {} sent", human(bytes)),
            MirrorStage::Trees(n) => format!("trees: {n} looked at"),
            MirrorStage::Snapshots => "snapshots and meta records".into(),
            MirrorStage::Pruning => "removing what the source no longer has".into(),
        });
        b.tick();
    };
    let r = run(&progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(r?)
}

fn print(r: &MirrorReport) {
    let made = if r.created { " (new)" } else { "" };
    println!("{}{made}:", r.target);
    println!(
        "  sent {} chunks ({}), {} trees ({}), {} snapshots, {} key and meta records",
        r.chunks_sent,
        human(r.chunk_bytes_sent),
        r.trees_sent,
        human(r.tree_bytes_sent),
        r.snapshots_sent,
        r.meta_sent
    );
    println!(
        "  already there: {} chunks, {} trees, {} snapshots",
        r.chunks_skipped, r.trees_skipped, r.snapshots_skipped
    );
    if r.snapshots_removed + r.chunks_removed + r.trees_removed + r.meta_removed > 0 {
        println!(
            "  removed: {} snapshots, {} chunks, {} trees, {} meta records",
            r.snapshots_removed, r.chunks_removed, r.trees_removed, r.meta_removed
        );
    }
    for d in &r.damaged {
        println!("  not copied: {d}");
    }
    if !r.damaged.is_empty() {
        println!("  damaged records at the source: no snapshot was copied (run `strata check`)");
    }
}
