use super::{human, open};
use anyhow::{bail, Result};
use serde_json::json;
use std::os::unix::ffi::OsStrExt;
use strata::cli::{Global, RestoreArgs};
use strata::repo::Access;
use strata::restore;

pub fn run(g: &Global, a: &RestoreArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    if a.target.as_os_str() == "-" {
        bail!("restore writes into a directory, not to standard output (`-`): give a directory, or use `strata dump` for a tar stream or a file's content");
    }
    let (id, _, _, entry) = super::source_entry(&repo, &a.source, a.at.as_deref(), &a.select)?;
    let json = a.json;
    let dry = a.dry_run;
    let opts = restore::Options {
        overwrite: a.overwrite,
        delete: a.delete,
        dry_run: a.dry_run,
        include: restore::globs(&a.includes)?,
        exclude: restore::globs(&a.excludes)?,
        xattrs: restore::XattrFilter::new(&a.include_xattrs, &a.exclude_xattrs)?,
        report: Box::new(move |action, p| {
            if json {
                println!("{}", json!({"type": "action", "action": action, "path": p.to_string_lossy()}));
            } else if dry {
                super::print_bytes(&[b"would ", action.as_bytes(), b" ", p.as_os_str().as_bytes()]);
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
        let n = s.errors.len();
        eprintln!("{n} {} during restore (listed above)", if n == 1 { "error" } else { "errors" });
        return Ok(1);
    }
    Ok(0)
}
