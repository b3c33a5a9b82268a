use super::{open, prompt};
use anyhow::{bail, Context, Result};
use strata::cli::{Global, KeyCommand};
use strata::crypto::KdfParams;
use strata::repo::Access;

pub fn run(g: &Global, c: &KeyCommand) -> Result<i32> {
    match c {
        KeyCommand::Add { new_password_file, kdf } => {
            let repo = open(g, Access::Write)?;
            let pw = match new_password_file {
                Some(f) => {
                    let b = std::fs::read(f).with_context(|| format!("password file {}", f.display()))?;
                    b.split(|&c| c == b'\n').next().unwrap_or_default().to_vec()
                }
                None => {
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
            repo.add_password(
                &pw,
                KdfParams { memory_kib: kdf.kdf_memory, iterations: kdf.kdf_iterations, parallelism: 1 },
            )?;
            println!("password added");
        }
        KeyCommand::List { json } => {
            let repo = open(g, Access::Read)?;
            for (id, key) in repo.key_files()? {
                if *json {
                    println!(
                        "{}",
                        serde_json::json!({"id": id, "created": super::time_str(key.created), "host": key.host, "user": key.user})
                    );
                } else {
                    println!("{id}  {}  {}@{}", super::time_str(key.created), key.user, key.host);
                }
            }
        }
    }
    Ok(0)
}
