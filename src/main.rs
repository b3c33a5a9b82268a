//! strata's entry point: parse the command line, run the command, map the
//! outcome to an exit code (documented, with the environment, in `cli::EXIT_CODES`).

mod commands;

use clap::{CommandFactory, FromArgMatches};
use strata::cli::{Cli, Command};

fn run(cli: &Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    // What a writer creates (repositories, their files, RocksDB's files) is
    // its owner's alone, whatever the umask: key files and unencrypted data
    // must not be readable by other users. Readers create nothing there
    // (their caches live in directories made 0700).
    if matches!(
        cli.command,
        Command::Init(_)
            | Command::Backup(_)
            | Command::Forget(_)
            | Command::Prune(_)
            | Command::Rewrite(_)
            | Command::Repair(_)
            | Command::Tag(_)
            | Command::Hold(_)
            | Command::Key(_)
            | Command::Mirror(_)
    ) {
        unsafe { libc::umask(0o077) };
    }
    match &cli.command {
        Command::Init(a) => commands::init::run(g, a),
        Command::Backup(a) => commands::backup::run(g, a),
        Command::Snapshots(a) => commands::snapshots::run(g, a),
        Command::Ls(a) => commands::ls::run(g, a),
        Command::Diff(a) => commands::diff::run(g, a),
        Command::Find(a) => commands::find::run(g, a),
        Command::Dump(a) => commands::dump::run(g, a),
        Command::Run(a) => commands::run::run(g, a),
        Command::Stats(a) => commands::stats::run(g, a),
        Command::Restore(a) => commands::restore::run(g, a),
        Command::Mount(a) => commands::mount::run(g, a),
        Command::Forget(a) => commands::forget::run(g, a),
        Command::Rewrite(a) => commands::rewrite::run(g, a),
        Command::Repair(a) => commands::repair::run(g, a),
        Command::Prune(a) => commands::prune::run(g, a),
        Command::Check(a) => commands::check::run(g, a),
        Command::Hold(c) => commands::hold::run(g, c),
        Command::Tag(a) => commands::tag::run(g, a),
        Command::Log(a) => commands::log::run(g, a),
        Command::Mirror(a) => commands::mirror::run(g, a),
        Command::Key(c) => commands::key::run(g, c),
        Command::Generate(c) => commands::generate::run(g, c),
    }
}

/// glibc gives each thread that allocates its own arena, up to 8 per core,
/// and memory freed into one is kept for that arena: with a backup's dozen
/// threads passing chunk buffers between them, that is memory no thread
/// uses. Two arenas per core (first backup of the bench corpus on 2 cores,
/// peak RSS: 16 arenas 281 MB, 4 arenas 229 MB, 2 arenas 224 MB; but 2
/// were 25% slower, the threads waiting on the arenas' locks).
/// MALLOC_ARENA_MAX, when set, has the last word.
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2 * cores as libc::c_int) };
    }
}

fn main() {
    // Die quietly on a closed pipe (`strata ls ... | head`), as Unix tools do.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    raise_fd_limit();
    cap_malloc_arenas();
    init_log();
    // An empty variable is no setting (not clap's "a value is required").
    for (k, v) in std::env::vars_os() {
        if v.is_empty() && k.to_str().is_some_and(|k| k.starts_with("STRATA_")) {
            std::env::remove_var(k);
        }
    }
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(e) = use_profile(&mut cli) {
        eprintln!("strata: error: {e:#}");
        std::process::exit(1);
    }
    if let Some(name) = matches.subcommand_name() {
        strata::repo::set_activity(name);
    }
    let code = match run_deep(&cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`strata ls ... | head`) is not a failure.
            let pipe = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(pipe)
                    || matches!(c.downcast_ref(), Some(strata::Error::Io { error, .. }) if pipe(error))
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

/// Trees are walked recursively, a frame or two per directory level: up to
/// 6.5 KB a level (backup's walk), so the main thread's 8 MiB ended at about
/// 2,500 levels, in an abort. Commands run on a thread whose stack holds
/// `DEPTH_MAX` levels (which backup never passes) twice over; only the
/// pages touched take memory (should the address space be too tight for
/// it, the command runs on the main thread as before). `mount` stays on
/// the main thread: it may fork, and walks no tree.
fn run_deep(cli: &Cli) -> anyhow::Result<i32> {
    const STACK: usize = 64 << 20;
    if matches!(cli.command, Command::Mount(_)) {
        return run(cli);
    }
    std::thread::scope(|s| {
        match std::thread::Builder::new().name("main".into()).stack_size(STACK).spawn_scoped(s, || run(cli)) {
            Ok(worker) => worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => run(cli),
        }
    })
}

/// With --profile (or `run PROFILE`), the command starts from the profile.
fn use_profile(cli: &mut Cli) -> anyhow::Result<()> {
    if let Command::Run(a) = &cli.command {
        if let Some(n) = &a.name {
            cli.global.profile = Some(n.clone());
        }
    }
    let Some(name) = cli.global.profile.clone() else {
        return Ok(());
    };
    let path = strata::profile::config_path(cli.global.config.as_deref());
    let profile = strata::profile::load(&path, &name)?;
    Ok(strata::profile::apply(cli, &profile)?)
}

/// The library's log records (`log` crate), a line each on stderr: the
/// terminal in the foreground, a detached mount's `--log-file` or syslog
/// (see `commands::mount`). Warnings and errors by default; `STRATA_LOG`
/// (`error`, `warn`, `info`, `debug`, `trace`, `off`) changes the level.
fn init_log() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata) -> bool {
            // Other crates' warnings (fuser's "[Not Implemented] flush" on
            // every close) are not the user's business; their errors are.
            m.level() <= log::max_level() && (m.target().starts_with("strata") || m.level() <= log::Level::Error)
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                use std::io::Write;
                // One write per line, so lines of concurrent threads never mix.
                let line = format!("strata: {}\n", r.args());
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let level = std::env::var("STRATA_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(log::LevelFilter::Warn);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
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
