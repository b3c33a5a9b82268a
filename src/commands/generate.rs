//! Man pages and completions, generated from the clap definitions.

use anyhow::{Context, Result};
use clap::CommandFactory;
use strata::cli::{Cli, GenerateCommand, Shell};

pub fn run(c: &GenerateCommand) -> Result<i32> {
    match c {
        GenerateCommand::Man { dir } => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            write_man_pages(dir)?;
        }
        GenerateCommand::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "strata", &mut std::io::stdout());
        }
    }
    Ok(0)
}

pub fn write_man_pages(dir: &std::path::Path) -> Result<()> {
    let cmd = Cli::command();
    let write = |name: &str, c: clap::Command| -> Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))
    };
    // Every page a SEE ALSO or SUBCOMMANDS section names: one per command,
    // nested ones (strata-key-add) too.
    fn pages(prefix: &str, cmd: &clap::Command, write: &dyn Fn(&str, clap::Command) -> Result<()>) -> Result<()> {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}-{}", sub.get_name());
            write(&name, sub.clone().name(name.clone()))?;
            pages(&name, sub, write)?;
        }
        Ok(())
    }
    write("strata", cmd.clone())?;
    pages("strata", &cmd, &write)
}
