use super::open;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use strata::cli::{DumpArgs, Global};
use strata::format::tree::Kind;
use strata::reader::{FileMap, Reader};
use strata::repo::Access;

pub fn run(g: &Global, a: &DumpArgs) -> Result<i32> {
    let repo = open(g, Access::Read)?;
    let (_, _, path, entry) = super::source_entry(&repo, &a.source, a.at.as_deref(), &a.select)?;
    let mut out: Box<dyn Write + Send> = match &a.target {
        Some(t) => Box::new(std::fs::File::create(t).with_context(|| format!("--target {}", t.display()))?),
        None if std::io::stdout().is_terminal() => {
            bail!("standard output is a terminal: redirect it (`> file.tar`, `| tar -x`) or give --target FILE")
        }
        // Unbuffered: the tar writer buffers, and stdout's own buffer looks for newlines.
        None => {
            Box::new(std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned().context("standard output")?))
        }
    };
    let shown = format!("/{}", super::path_str(&path));
    if entry.kind == Kind::File {
        // A file's content as it is, holes as zeros.
        let map = FileMap::load(&repo, &entry)?;
        let reader = Reader::new(64 << 20);
        let mut at = 0;
        while at < map.size() {
            let data = reader.read(&repo, &map, at, 8 << 20).with_context(|| shown.clone())?;
            out.write_all(&data).context("writing")?;
            at += data.len() as u64;
        }
        out.flush().context("writing")?;
        return Ok(0);
    }
    strata::dump::tar(&repo, &entry, &path, &mut *out).with_context(|| shown.clone())?;
    Ok(0)
}
