use super::{human, spinner};
use anyhow::Result;
use strata::check::{self, Options, Problem, Report, Stage, Subset};
use strata::cli::{CheckArgs, Global};
use strata::repo::{Access, Repo};

pub fn run(g: &Global, a: &CheckArgs) -> Result<i32> {
    let opts = Options {
        data: if a.read_data { Some(Subset::All) } else { a.read_data_subset },
        max_age: a.max_age,
        host: a.host.clone(),
    };
    let report = match open(g, a.no_key) {
        Ok((repo, password)) => run_on(&repo, password, &opts)?,
        // RocksDB refuses to open over a damaged file it reads at open:
        // still say which files are damaged.
        Err(e) => match e.downcast_ref::<strata::Error>() {
            Some(strata::Error::Store { path, detail }) if detail.contains("Corruption") => {
                check::files_only(path, detail.clone())
            }
            _ => return Err(e),
        },
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print(&report);
    }
    Ok(if report.sound() { 0 } else { 1 })
}

/// With the key when a password is to be had; else (or with --no-key)
/// without it, saying so. A bucket is read afresh, not from the cache.
/// The repository comes open without its key, with the password to derive
/// it from beside the checks that need none.
fn open(g: &Global, no_key: bool) -> Result<(Repo, Option<Vec<u8>>)> {
    let cache = strata::repo::CacheOptions { fresh: true, ..super::cache(g) };
    let open = |pw: Option<strata::repo::PasswordSource>| super::open_in(g, Access::Read, pw, &cache);
    let repo = open(None)?;
    if no_key {
        return Ok((repo, None));
    }
    if !repo.config().encrypted {
        return Ok((repo.unlocked(&|| Ok(Vec::new()))?, None));
    }
    let have = g.password_file.is_some()
        || g.password_command.is_some()
        || std::env::var_os("STRATA_PASSWORD").is_some()
        || std::fs::File::open("/dev/tty").is_ok();
    if have {
        let pw = super::password(g, false)?;
        return Ok((repo, Some(pw)));
    }
    super::warn("no password available: checking without the key (as with --no-key)");
    Ok((repo, None))
}

pub(super) fn run_on(repo: &Repo, password: Option<Vec<u8>>, opts: &Options) -> Result<Report> {
    let bar = spinner();
    let progress = |stage: Stage| {
        let Some(b) = &bar else { return };
        match stage {
            Stage::Reading(done, total) => {
                if b.length() != Some(total) {
                    b.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{elapsed_precise} reading data [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    b.set_length(total);
                }
                b.set_position(done);
            }
            other => {
                b.set_message(match other {
                    Stage::Files(n, of) => format!("store files: {n} of {of} verified"),
                    Stage::Snapshots => "snapshots and meta records".into(),
                    Stage::Walking(n) => format!("trees: {n} read"),
                    Stage::Index(n) => format!("chunk index: {n} entries"),
                    Stage::Attributing => "finding what uses the damage".into(),
                    Stage::Reading(..) => unreachable!("handled above"),
                });
                b.tick();
            }
        }
    };
    let report = std::thread::scope(|s| {
        let derive = password.map(|pw| s.spawn(move || repo.unlocked(&|| Ok(pw.clone()))));
        let unlock = derive.map(|h| -> check::Unlock {
            Box::new(move || h.join().unwrap_or_else(|_| Err(strata::Error::Invalid("deriving the key failed".into()))))
        });
        check::run(repo, unlock, opts, &progress)
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(report?)
}

fn print(r: &Report) {
    print_problems(&r.problems);
    if r.problems_not_listed > 0 {
        println!("... and {} more problems", r.problems_not_listed);
    }
    for n in &r.not_checked {
        println!("not checked: {n}");
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    let key = if r.keyless { " (without the key)" } else { "" };
    println!(
        "checked{key}: {} snapshots, {} trees and chunk lists, {} chunks ({}), {} table and {} blob files",
        r.snapshots,
        r.trees,
        r.chunks,
        human(r.chunk_bytes),
        r.table_files,
        r.blob_files
    );
    if r.read_data != "none" {
        println!("read data ({}): {} chunks, {}", r.read_data, r.chunks_read, human(r.bytes_read));
    }
    if !r.keyless {
        println!(
            "reclaimable by prune: about {} chunks ({}) and {} trees",
            r.reclaimable_chunks,
            human(r.reclaimable_bytes),
            r.reclaimable_trees
        );
    }
    if let Some(t) = &r.newest_snapshot {
        println!("newest snapshot: {t}");
    }
    let n = r.problems.len() as u64 + r.problems_not_listed;
    if n == 0 {
        println!("no problems found");
    } else {
        println!("{n} problems found");
    }
}

/// Each problem: what and where, and the snapshots and paths using it.
pub(super) fn print_problems<'a>(problems: impl IntoIterator<Item = &'a Problem>) {
    for p in problems {
        let what = match (&p.id, &p.file) {
            (Some(id), _) => format!(" {id}"),
            (None, Some(f)) => format!(" {f}"),
            (None, None) => String::new(),
        };
        println!("problem: {}{what}: {}", p.kind, p.detail);
        if !p.snapshots.is_empty() {
            let short: Vec<&str> = p.snapshots.iter().map(|s| &s[..s.len().min(8)]).collect();
            println!("  used {} times, by snapshots {}", p.uses, short.join(" "));
            for path in &p.paths {
                println!("    {path}");
            }
            if p.paths.len() as u64 > 0 && p.uses > p.paths.len() as u64 {
                println!("    (and more)");
            }
        }
    }
}
