//! strata's entry point: parse the command line, run the command, map the
//! outcome to an exit code (documented in `cli::EXIT_CODES`).

mod commands;

use clap::Parser;
use strata::cli::{Cli, Command};

fn run(cli: &Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => commands::init::run(g, a),
        Command::Backup(a) => commands::backup::run(g, a),
        Command::Snapshots(a) => commands::snapshots::run(g, a),
        Command::Ls(a) => commands::ls::run(g, a),
        Command::Restore(a) => commands::restore::run(g, a),
        Command::Mount(a) => commands::mount::run(g, a),
        Command::Forget(a) => commands::forget::run(g, a),
        Command::Prune(a) => commands::prune::run(g, a),
        Command::Check(a) => commands::check::run(g, a),
        Command::Hold(c) => commands::hold::run(g, c),
        Command::Tag(a) => commands::tag::run(g, a),
        Command::Log(a) => commands::log::run(g, a),
        Command::Mirror(a) => commands::mirror::run(g, a),
        Command::Key(c) => commands::key::run(g, c),
        Command::Generate(c) => commands::generate::run(c),
    }
}

fn main() {
    // Die quietly on a closed pipe (`strata ls ... | head`), as Unix tools do.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    raise_fd_limit();
    let cli = Cli::parse();
    let code = match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`strata ls ... | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                0
            } else {
                eprintln!("strata: error: {e:#}");
                1
            }
        }
    };
    std::process::exit(code);
}

/// Deep trees hold one fd per level during a walk; lift the soft limit.
fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
