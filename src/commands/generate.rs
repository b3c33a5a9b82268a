//! Man pages and completions, generated from the clap definitions.

use anyhow::{anyhow, Context, Result};
use clap::CommandFactory;
use strata::cli::{Cli, GenerateCommand, Shell};

pub fn run(g: &strata::cli::Global, c: &GenerateCommand) -> Result<i32> {
    match c {
        GenerateCommand::Systemd { profile, dir } => systemd(g, profile, dir.as_deref())?,
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

/// A oneshot service running `strata run PROFILE` at idle priority, and a
/// timer on the profile's schedule (default daily), catching up missed runs
/// (Persistent=) at a random delay (so many machines do not start at once).
fn systemd(g: &strata::cli::Global, name: &str, dir: Option<&std::path::Path>) -> Result<()> {
    let config = strata::profile::config_path(g.config.as_deref());
    let profile = strata::profile::load(&config, name)?;
    let exe = std::env::current_exe().context("the path of this program")?;
    let config = std::path::absolute(&config)?;
    let quote = |p: &std::path::Path| -> Result<String> {
        let s = p.to_str().ok_or_else(|| anyhow!("{}: not UTF-8, cannot go in a unit file", p.display()))?;
        Ok(if s.contains([' ', '"', '\\']) {
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            s.to_string()
        })
    };
    let unit = format!("strata-{}", strata::vfs::component(name).replace(' ', "_"));
    let service = format!(
        "[Unit]\nDescription=strata backup, profile {name}\nWants=network-online.target\nAfter=network-online.target\n\n\
         [Service]\nType=oneshot\nExecStart={} --config {} run {}\nNice=19\nIOSchedulingClass=idle\n\
         CPUSchedulingPolicy=batch\nUMask=0077\n",
        quote(&exe)?,
        quote(&config)?,
        strata::profile::shell_quote(name),
    );
    let schedule = profile.schedule.as_deref().unwrap_or("daily");
    let timer = format!(
        "[Unit]\nDescription=strata backup timer, profile {name}\n\n\
         [Timer]\nOnCalendar={schedule}\nPersistent=true\nRandomizedDelaySec=30min\n\n\
         [Install]\nWantedBy=timers.target\n"
    );
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            for (ext, text) in [("service", &service), ("timer", &timer)] {
                let p = d.join(format!("{unit}.{ext}"));
                std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
                println!("{}", p.display());
            }
        }
        None => print!("# {unit}.service\n{service}\n# {unit}.timer\n{timer}"),
    }
    Ok(())
}
