use super::{human, open, spinner, warn};
use anyhow::Result;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use strata::backup::{self, Excludes, Progress};
use strata::cli::{BackupArgs, Global};
use strata::repo::Access;

pub fn run(g: &Global, a: &BackupArgs) -> Result<i32> {
    let repo = open(g, if a.dry_run { Access::Read } else { Access::Write })?;
    let parent = a.parent.as_deref().map(|p| repo.resolve(p)).transpose()?.map(|(id, _)| id);
    let mut excludes = Excludes::new(&a.excludes, &a.exclude_files)?;
    excludes.caches = a.exclude_caches;
    excludes.set_if_present(&a.exclude_if_present)?;
    excludes.larger_than = a.exclude_larger_than;
    excludes.one_file_system = a.one_file_system;
    excludes.cache_dir = Some(super::cache(g).dir);
    let json = a.json;
    let bar = if json { None } else { spinner() };
    let warn_bar = bar.clone();
    let source = match (&a.stdin_from_command, a.stdin) {
        (Some(cmd), _) => Some(backup::StreamSource::Command(cmd.clone())),
        (None, true) => Some(backup::StreamSource::Stdin),
        (None, false) => None,
    };
    let mut streams = a.streams.clone();
    streams.extend(source.map(|source| backup::Stream { path: a.stdin_filename.clone(), source }));
    let mut paths = a.paths.clone();
    let lists = a
        .files_from
        .iter()
        .map(|f| (f, "--files-from"))
        .chain(a.files_from_raw.iter().map(|f| (f, "--files-from-raw")));
    for (file, option) in lists {
        if file.as_os_str() == "-" && a.stdin {
            anyhow::bail!("{option} -: standard input cannot hold both the list of paths and --stdin's file");
        }
        let listed = paths_from(file, option == "--files-from-raw")
            .map_err(|e| anyhow::anyhow!("{option} {}: {e}", file.display()))?;
        if listed.is_empty() {
            anyhow::bail!("{option} {}: lists no paths", file.display());
        }
        paths.extend(listed);
    }
    if paths.is_empty() && streams.is_empty() {
        anyhow::bail!(
            "nothing to back up: give PATHs, --files-from, --stdin, --stdin-from-command, or a --profile with sources"
        );
    }
    let opts = backup::Options {
        paths,
        streams,
        host: a.host.clone().unwrap_or_else(strata::sys::hostname),
        tags: a.tags.clone(),
        description: a.description.clone(),
        time: a.time,
        parent,
        excludes,
        estimate: bar.is_some() || json,
        dry_run: a.dry_run,
        warn: Box::new(move |m: &str| {
            if json {
                println!("{}", json!({"type": "warning", "message": m}));
            } else if let Some(b) = &warn_bar {
                b.suspend(|| warn(m));
            } else {
                warn(m);
            }
        }),
    };
    let progress = Arc::new(Progress::default());
    // Dropping `done` stops the ticker at once (not after its sleep).
    let (done, stopped) = crossbeam_channel::bounded::<()>(0);
    let ticker = (bar.is_some() || json).then(|| {
        let (p, b) = (progress.clone(), bar.clone());
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let every = Duration::from_millis(if b.is_some() { 150 } else { 1000 });
            while stopped.recv_timeout(every) == Err(crossbeam_channel::RecvTimeoutError::Timeout) {
                let files = p.files.load(Ordering::Relaxed);
                let read = p.bytes_read.load(Ordering::Relaxed);
                let done = read + p.bytes_unchanged.load(Ordering::Relaxed);
                let total = p.bytes_total.load(Ordering::Relaxed);
                let rate = read as f64 / start.elapsed().as_secs_f64().max(0.001);
                if let Some(b) = &b {
                    let cur = p.current.lock().map(|c| c.clone()).unwrap_or_default();
                    if total > 0 {
                        if b.length().is_none() {
                            b.set_style(
                                indicatif::ProgressStyle::with_template(
                                    "{elapsed_precise} [{bar:25}] {percent:>3}% {bytes}/~{total_bytes} eta {eta} {msg}",
                                )
                                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                            );
                        }
                        // An estimate: never past the end.
                        b.set_length(total.max(done));
                        b.set_position(done);
                    }
                    b.set_message(format!("{files} files, {} read ({}/s), {}", human(read), human(rate as u64), cur));
                    b.tick();
                } else {
                    let total = (total > 0).then_some(total);
                    println!(
                        "{}",
                        json!({"type": "progress", "files": files, "bytes_read": read, "bytes_done": done,
                        "bytes_total_estimate": total, "bytes_added": p.bytes_added.load(Ordering::Relaxed)})
                    );
                }
            }
        })
    });
    let result = backup::run(&repo, opts, progress);
    drop(done);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (id, s) = result?;
    let c = &s.counters;
    if json {
        println!(
            "{}",
            json!({
                "type": "summary", "dry_run": a.dry_run,
                "snapshot": id.map(|id| id.to_hex()), "short_id": id.map(|id| id.short()),
                "files": c.files, "dirs": c.dirs, "files_new": c.files_new, "files_changed": c.files_changed,
                "files_unchanged": c.files_unchanged, "bytes": c.bytes, "bytes_read": c.bytes_read,
                "bytes_added": c.bytes_added, "chunks_added": c.chunks_added, "errors": c.errors,
                "duration": s.duration_ms as f64 / 1000.0, "parent": s.parent.map(|p| p.to_hex()),
            })
        );
    } else {
        let (head, added) = match id {
            Some(id) => (format!("snapshot {} saved", id.short()), "added"),
            None => ("dry run: nothing written".to_string(), "would add"),
        };
        println!(
            "{head}\n  files: {} new, {} changed, {} unchanged ({} dirs)\n  read {}, {added} {} to the repository, {} total\n  took {:.1}s",
            c.files_new, c.files_changed, c.files_unchanged, c.dirs,
            human(c.bytes_read), human(c.bytes_added), human(c.bytes), s.duration_ms as f64 / 1000.0
        );
        if c.errors > 0 {
            eprintln!("{} paths could not be backed up completely (listed above)", c.errors);
        }
    }
    Ok(if c.errors > 0 { 3 } else { 0 })
}

/// The paths a --files-from (`raw`: --files-from-raw) file lists, as bytes.
fn paths_from(file: &std::path::Path, raw: bool) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    let mut text = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut text)?;
    } else {
        std::fs::File::open(file)?.read_to_end(&mut text)?;
    }
    let listed: Vec<&[u8]> = if raw {
        text.split(|&b| b == 0).filter(|p| !p.is_empty()).collect()
    } else {
        text.split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
            .collect()
    };
    Ok(listed.into_iter().map(|p| std::ffi::OsStr::from_bytes(p).into()).collect())
}
