use super::{password, repo_path};
use anyhow::Result;
use strata::cli::{Global, InitArgs};
use strata::crypto::KdfParams;
use strata::repo::{InitOptions, Repo};

pub fn run(g: &Global, a: &InitArgs) -> Result<i32> {
    let path = repo_path(g, "init")?;
    let chunker = strata_chunker::Params::new(a.chunk_min, a.chunk_avg, a.chunk_max)
        .map_err(|e| anyhow::anyhow!("chunk sizes (--chunk-min/--chunk-avg/--chunk-max): {e}"))?;
    if !(0..=22).contains(&a.compression) {
        anyhow::bail!("--compression {}: must be 0 (off) to 22", a.compression);
    }
    let opts = InitOptions {
        encrypted: !a.no_encryption,
        chunker,
        compression: a.compression,
        kdf: KdfParams { memory_kib: a.kdf.kdf_memory, iterations: a.kdf.kdf_iterations, parallelism: 1 },
    };
    let pw = if opts.encrypted { Some(password(g, true)?) } else { None };
    Repo::init(path, &opts, pw.as_deref())?;
    println!("created {} repository at {}", if opts.encrypted { "encrypted" } else { "unencrypted" }, path.display());
    if opts.encrypted {
        println!("keep the password safe: without it the data cannot be read");
    }
    Ok(0)
}
