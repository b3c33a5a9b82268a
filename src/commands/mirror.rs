use super::{human, is_tty, repo_path};
use anyhow::{bail, Context, Result};
use strata::cli::{Global, MirrorArgs};
use strata::repo::{Access, MirrorOptions, MirrorReport, MirrorStage, Repo};

pub fn run(g: &Global, a: &MirrorArgs) -> Result<i32> {
    let path = repo_path(g)?;
    let source = Repo::open_keyless(path, Access::Read)?;
    let here = std::fs::canonicalize(path).with_context(|| format!("repository {}", path.display()))?;
    let opts = MirrorOptions { without_keys: a.without_keys, prune: a.prune };
    let mut reports = Vec::new();
    let mut failed = false;
    for target in &a.targets {
        let t = target.to_string_lossy();
        if t.contains("://") {
            bail!("mirror target {t}: only directories can be mirrored to by this build");
        }
        if std::fs::canonicalize(target).is_ok_and(|p| p == here) {
            bail!("mirror target {t}: is the repository itself");
        }
        let r = mirror_one(&source, target, opts).with_context(|| format!("mirror to {t}"))?;
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

fn mirror_one(source: &Repo, target: &std::path::Path, opts: MirrorOptions) -> Result<MirrorReport> {
    let bar = is_tty().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
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
    let r = source.mirror_to_dir(target, opts, &progress);
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
