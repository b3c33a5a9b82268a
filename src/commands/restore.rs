use super::{human, open};
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use strata::cli::{Global, RestoreArgs};
use strata::format::tree::{Entry, Kind};
use strata::repo::Access;
use strata::restore;

pub fn run(g: &Global, a: &RestoreArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    if a.target.as_os_str() == "-" {
        bail!("restore writes into a directory, not to standard output (`-`): give a directory");
    }
    let sel = super::selection(&a.select)?;
    let ((id, snap), path) = match &a.at {
        Some(_) => (super::choose(&repo, None, a.at.as_deref(), &sel)?, a.source.trim_start_matches(':')),
        None => split_source(&repo, &a.source, &sel)?,
    };
    let path = path.trim_end_matches('/');
    let entry = if path.is_empty() {
        Entry { subtree: Some(snap.tree), mode: 0o755, ..Entry::new(Vec::new(), Kind::Dir) }
    } else {
        repo.lookup(&snap.tree, path.as_bytes())?
            .ok_or_else(|| anyhow!("{path}: no such path in snapshot {}", id.short()))?
    };
    let json = a.json;
    let dry = a.dry_run;
    let opts = restore::Options {
        overwrite: a.overwrite,
        delete: a.delete,
        dry_run: a.dry_run,
        include: restore::globs(&a.includes)?,
        exclude: restore::globs(&a.excludes)?,
        report: Box::new(move |action, p| {
            if json {
                println!("{}", json!({"type": "action", "action": action, "path": p.to_string_lossy()}));
            } else if dry {
                println!("would {action} {}", p.display());
            }
        }),
        warn: Box::new(move |m| {
            if json {
                println!("{}", json!({"type": "warning", "message": m}));
            } else {
                super::warn(m);
            }
        }),
    };
    let s = restore::run(&repo, &entry, &a.target, opts)?;
    if json {
        println!(
            "{}",
            json!({"type": "summary", "snapshot": id.to_hex(), "files": s.files, "dirs": s.dirs, "bytes": s.bytes,
                   "skipped": s.skipped, "deleted": s.deleted, "errors": s.errors.len(), "dry_run": dry})
        );
    } else {
        println!(
            "{}restored {} files, {} dirs, {} from snapshot {} to {}{}{}",
            if dry { "would have " } else { "" },
            s.files,
            s.dirs,
            human(s.bytes),
            id.short(),
            a.target.display(),
            if s.skipped > 0 { format!(", {} skipped", s.skipped) } else { String::new() },
            if s.deleted > 0 { format!(", {} deleted", s.deleted) } else { String::new() },
        );
    }
    if !s.errors.is_empty() {
        eprintln!("{} errors during restore (listed above)", s.errors.len());
        return Ok(1);
    }
    Ok(0)
}

/// `SNAPSHOT[:PATH]`: a snapshot's time has colons of its own (and
/// `2026-01-01T12` names a snapshot too), so the snapshot is the longest
/// prefix before a colon that names one.
fn split_source<'a>(
    repo: &strata::repo::Repo,
    source: &'a str,
    sel: &strata::repo::Selection,
) -> Result<((strata::crypto::Id, strata::format::snapshot::Snapshot), &'a str)> {
    let mut first_error = None;
    for (i, _) in source.rmatch_indices(':') {
        match repo.resolve_in(&source[..i], sel) {
            Ok(found) => return Ok((found, &source[i + 1..])),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (repo.resolve_in(source, sel), first_error) {
        (Ok(found), _) => Ok((found, "")),
        (Err(_), Some(e)) | (Err(e), None) => Err(e.into()),
    }
}
