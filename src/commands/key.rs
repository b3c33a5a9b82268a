use super::{open, prompt, repo_path};
use anyhow::{bail, Context, Result};
use strata::cli::{Global, KeyCommand};
use strata::crypto::{unhex, KdfParams};
use strata::repo::{Access, Repo};

fn kdf_params(kdf: &strata::cli::KdfArgs) -> KdfParams {
    KdfParams { memory_kib: kdf.kdf_memory, iterations: kdf.kdf_iterations, parallelism: 1 }
}

/// A new password: the first line of `file`, else asked for twice.
fn new_password(file: Option<&std::path::Path>) -> Result<Vec<u8>> {
    let pw = match file {
        Some(f) => {
            let b = std::fs::read(f).with_context(|| format!("password file {}", f.display()))?;
            b.split(|&c| c == b'\n').next().unwrap_or_default().to_vec()
        }
        None => {
            if std::fs::File::open("/dev/tty").is_err() {
                bail!("no terminal to ask for the new password on: give it with --new-password-file FILE");
            }
            let p = prompt("New password: ")?;
            if prompt("Repeat new password: ")? != p {
                bail!("the passwords do not match");
            }
            p
        }
    };
    if pw.is_empty() {
        bail!("the new password is empty");
    }
    Ok(pw)
}

/// The first line of an exported key file.
const EXPORT_HEADER: &str = "strata key files v1";

pub fn run(g: &Global, c: &KeyCommand) -> Result<i32> {
    match c {
        KeyCommand::Add { new_password_file, kdf } => {
            let repo = open(g, Access::Write)?;
            repo.add_password(&new_password(new_password_file.as_deref())?, kdf_params(kdf))?;
            println!("password added");
        }
        KeyCommand::Passwd { new_password_file, kdf } => {
            let repo = open(g, Access::Write)?;
            let old = repo.key_id().map(strata::crypto::hex).context("no key file opened this repository")?;
            repo.add_password(&new_password(new_password_file.as_deref())?, kdf_params(kdf))?;
            // The new key exists before the old one goes: never no key at all.
            repo.remove_key(&old, true).with_context(|| {
                format!("the new password was added, but the old one (key {old}) is still valid: remove it with `strata key remove {old} --force`")
            })?;
            println!("password changed (key {old} removed)");
        }
        KeyCommand::Remove { id, force } => {
            let repo = open(g, Access::Write)?;
            let removed = repo.remove_key(id, *force)?;
            println!("key {} removed", strata::crypto::hex(&removed));
        }
        KeyCommand::List { json } => {
            let repo = open(g, Access::Read)?;
            let in_use = repo.key_id().map(strata::crypto::hex);
            for (id, key) in repo.key_files()? {
                let mine = in_use.as_ref() == Some(&id);
                if *json {
                    println!(
                        "{}",
                        serde_json::json!({"id": id, "created": super::time_str(key.created), "host": key.host,
                                           "user": key.user, "in_use": mine})
                    );
                } else {
                    let mark = if mine { "  (in use)" } else { "" };
                    println!("{id}  {}  {}@{}{mark}", super::time_str(key.created), key.user, key.host);
                }
            }
        }
        KeyCommand::Export { file } => {
            let repo = super::open_with(g, Access::Read, None)?;
            let keys = repo.export_keys()?;
            let mut out = format!("{EXPORT_HEADER}\n");
            for (id, bytes) in &keys {
                out.push_str(&format!("{} {}\n", strata::crypto::hex(id), strata::crypto::hex(bytes)));
            }
            write_private(file, out.as_bytes()).with_context(|| format!("key export file {}", file.display()))?;
            println!("{} key files written to {}", keys.len(), file.display());
        }
        KeyCommand::Import { file } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("key file {}", file.display()))?;
            let keys = parse_export(&text).with_context(|| format!("key file {}", file.display()))?;
            let repo = Repo::open_keyless(repo_path(g, "key import")?, Access::Write)?;
            let n = repo.import_keys(&keys)?;
            println!("{n} key files added ({} already there)", keys.len() - n);
        }
    }
    Ok(0)
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn parse_export(text: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut lines = text.lines();
    if lines.next() != Some(EXPORT_HEADER) {
        bail!("not a file written by `strata key export`");
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let (id, bytes) = l.split_once(' ').unwrap_or((l, ""));
            match (unhex(id), unhex(bytes.trim())) {
                (Some(id), Some(bytes)) => Ok((id, bytes)),
                _ => bail!("line {}: not a key file entry", n + 2),
            }
        })
        .collect()
}
