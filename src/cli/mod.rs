//! The command line, as clap types only. Shared by `main` and by the man page
//! and completion generators, so the docs never drift from the parser.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

mod care;
pub use care::*;

pub const EXIT_CODES: &str = "\
ENVIRONMENT
  STRATA_REPOSITORY        the repository (as -r)
  STRATA_PASSWORD          the password itself
  STRATA_PASSWORD_FILE     a file whose first line is the password
  STRATA_PASSWORD_COMMAND  a command that prints the password
  STRATA_CACHE_DIR, STRATA_CACHE_LIMIT  a bucket repository's local cache
  AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                           where a bucket (s3://BUCKET/PREFIX) is, and its credentials
  STRATA_LOG               what the log shows: error, warn (the default), info, debug, off
  An empty variable counts as unset. The password is taken from
  --password-file, --password-command, STRATA_PASSWORD, then a prompt.

EXIT STATUS
  0  success
  1  error (the message names the path, id or option at fault)
  2  invalid command line
  3  backup: the snapshot was written, but some files could not be read
     (they are listed, and recorded in the snapshot)";

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "Deduplicating, encrypted backups whose snapshots are directories",
    long_about = "strata backs up directories into a deduplicating, encrypted repository \
                  and shows every snapshot, and any moment in time, as a read-only \
                  directory (`strata mount`).",
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Repository directory
    #[arg(short = 'r', long = "repo", env = "STRATA_REPOSITORY", global = true, value_name = "REPO")]
    pub repo: Option<PathBuf>,
    /// Read the password from the first line of this file
    #[arg(long, env = "STRATA_PASSWORD_FILE", global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Run this shell command and use the first line it prints as the password
    #[arg(long, env = "STRATA_PASSWORD_COMMAND", global = true, value_name = "CMD")]
    pub password_command: Option<String>,
    /// When another process writes to the repository, wait up to this long
    /// for it (30s, 5m, 1h) instead of failing at once
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_wait)]
    pub retry_lock: Option<std::time::Duration>,
    /// Where the local cache of a bucket repository (-r s3://...) lives
    /// [default: $XDG_CACHE_HOME/strata, else ~/.cache/strata]
    #[arg(long, env = "STRATA_CACHE_DIR", global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// How much of a bucket's data that cache keeps (500M, 2G); pack
    /// indexes and snapshot records come on top
    #[arg(long, env = "STRATA_CACHE_LIMIT", global = true, value_name = "SIZE", default_value = "2G",
          value_parser = parse_size_arg)]
    pub cache_limit: u64,
    /// The profiles file [default: $XDG_CONFIG_HOME/strata/strata.toml
    /// when it exists, else /etc/strata/strata.toml]
    #[arg(long, env = "STRATA_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Start from this profile: its repository and password, and for
    /// backup its sources, excludes, tags, host and database dumps, for
    /// mirror its targets; flags and the environment override it
    #[arg(long, env = "STRATA_PROFILE", global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

/// A size: bytes, or with a binary unit (K, M, G, T; KiB, MB... all mean
/// powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = s[digits.len()..].to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift).filter(|&b| b > 0)
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).ok_or_else(|| format!("{s:?}: expected a size like 500M or 2G"))
}

fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    crate::timespec::parse_duration(s).ok_or_else(|| format!("{s:?}: expected a duration like 30s, 5m or 1h"))
}

pub(super) fn parse_time(s: &str) -> Result<crate::format::Time, String> {
    crate::timespec::parse_start(s).ok_or_else(|| {
        format!("{s:?}: expected a time like 2026-11-20T14:00:00Z, 2026-11-20T14:00 (local), @1763647200 or '2h ago'")
    })
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a repository
    Init(InitArgs),
    /// Back up files and directories into a new snapshot
    ///
    /// Wherever the walk meets them, the repository backed up to, strata's
    /// cache (--cache-dir) and strata mounts are left out; a source path
    /// inside a mount is backed up as asked.
    Backup(BackupArgs),
    /// List snapshots, oldest first
    Snapshots(SnapshotsArgs),
    /// List the contents of a snapshot
    Ls(LsArgs),
    /// What changed between two snapshots: + added, - removed, M content
    /// modified, T type changed, U metadata (with --metadata)
    Diff(DiffArgs),
    /// Write a file's content, or a directory as a tar stream (POSIX pax,
    /// every attribute kept), to standard output or --target
    Dump(DumpArgs),
    /// Run a profile's whole job: before-hooks, backup (with database
    /// dumps), forget (and prune when due), mirror, check of the next part
    /// of the data, after-hooks (on-error hooks on failure); one summary
    Run(RunArgs),
    /// Find files by name, path or content hash in every snapshot (or the
    /// chosen ones): which snapshots hold them, and with what size and time
    Find(FindArgs),
    /// What snapshots hold and cost: files, restore size, unique data,
    /// stored size, compression and deduplication (all snapshots by default)
    Stats(StatsArgs),
    /// Restore a snapshot, or a path within one, into a directory
    Restore(RestoreArgs),
    /// Show the repository, one snapshot, or the state at a time, as a read-only filesystem
    ///
    /// Without --snapshot or --at, the mount shows the whole repository:
    ///
    ///   snapshots/<time>/   one directory per snapshot, named by its UTC time
    ///   latest              the newest snapshot
    ///   ids/<id>            a snapshot by its short id
    ///   hosts/<host>/<time>, hosts/<host>/latest, tags/<tag>/<time>
    ///   at/<time>           the newest snapshot at or before any moment:
    ///                       2026-11-20T14:00:00Z, 2026-11-20T14:00 (local time),
    ///                       2026-11-20 (the end of that day), @1763647200,
    ///                       'yesterday 14:00', today, now, '2h ago', -2h
    ///   history/<path>/     the versions of that file or directory, one per
    ///                       change, each named by the snapshot that first held it
    ///                       (a directory's: a symlink to it under snapshots/)
    ///
    /// New snapshots appear within a few seconds. Copy out with rsync -aHAX or cp -a.
    #[command(verbatim_doc_comment)]
    Mount(MountArgs),
    /// Remove snapshots, by id or by a retention policy (prune gives the space back)
    ///
    /// With a policy, snapshots are grouped (by host and paths unless
    /// --group-by says otherwise) and each group keeps what any rule keeps:
    ///
    ///   --keep-last N          the N newest
    ///   --keep-hourly N, --keep-daily N, --keep-weekly N (ISO weeks),
    ///   --keep-monthly N, --keep-yearly N
    ///                          the newest snapshot of each of the N newest
    ///                          periods that have snapshots (and the oldest
    ///                          snapshot, while periods are left over)
    ///   --keep-within SPAN     all taken within SPAN (2y5m7d3h) of the
    ///                          group's newest snapshot
    ///   --keep-within-daily SPAN (and -hourly, -weekly, -monthly, -yearly)
    ///                          the newest of each period within SPAN
    ///   --keep-tag TAG         all with this tag
    ///
    /// N may be `unlimited`. Held snapshots and snapshots dated in the
    /// future are always kept. Periods are in local time.
    #[command(verbatim_doc_comment)]
    Forget(ForgetArgs),
    /// Delete the data no snapshot uses any more, and give the space back
    Prune(PruneArgs),
    /// Take files out of existing snapshots: each becomes a new snapshot
    /// without them (a secret or a cache backed up by mistake)
    ///
    /// The excludes are backup's: a glob with a '/' matches the whole path
    /// (from the snapshot's root, as backed up), one without matches any
    /// name. A matched directory goes with all it holds. With --exclude-lost,
    /// so do the files whose data is lost and the directories whose listing
    /// is (damaged, removed by repair, and stored again by no backup), as
    /// restic's repair snapshots does. The snapshots are those named, else
    /// every one the filters choose (all, without any).
    ///
    /// Each snapshot the excludes match something in is written again, with
    /// its host, paths and tags. Beside its original, it is tagged `rewrite`
    /// and taken one nanosecond later (so that latest and --at choose it);
    /// with --forget it replaces the original in the same step, at the same
    /// time (a held snapshot is refused). Only the directories on the way to
    /// what was removed are stored again. The data goes at the next prune,
    /// once no snapshot holds it; a mirror keeps the original until
    /// `mirror --prune`. Every rewrite is in the audit log (strata log).
    #[command(verbatim_doc_comment)]
    Rewrite(RewriteArgs),
    /// Verify the repository: its structure, and with --read-data its data
    ///
    /// Without --read-data, checks the structure and reads no chunk data: every
    /// store file's checksums, every snapshot, every tree and chunk list a
    /// snapshot reaches, every chunk they use indexed, every index entry's
    /// record stored. What no snapshot uses is counted as reclaimable (prune
    /// removes it), not as a problem.
    ///
    /// With --read-data, also opens every chunk record (checksums, encryption
    /// tag, content against its id, length against the index), reading the
    /// store's files front to back. --read-data-subset reads a fixed part,
    /// chosen by chunk id: `1/7` to `7/7` on the days of a week cover it all.
    ///
    /// Without the password (--no-key, or when none is available), verifies
    /// every record's stored checksum and the index against the records: what
    /// a mirror site can check. It says what it could not check.
    ///
    /// Never changes the repository; runs beside a backup or a mount.
    #[command(verbatim_doc_comment, after_long_help = CHECK_EXIT)]
    Check(CheckArgs),
    /// Remove damaged data from the repository, so that backups store it again
    ///
    /// Reads all of it, as check --read-data does. Each chunk, tree or
    /// chunk list found damaged is removed, and marked missing with those
    /// found lost. A backup then reads again every file that uses a missing
    /// record, even one that looks unchanged, and stores what the file
    /// still holds: every snapshot that uses that data is whole again (ids
    /// are content hashes). Until then, restore and the mount report those
    /// files as damaged, and check lists them. Without repair, a backup
    /// would keep reusing the damaged record.
    ///
    /// Damage repair cannot mend (a store file RocksDB cannot read, a
    /// damaged snapshot record) is listed, and the exit status is 1.
    #[command(verbatim_doc_comment)]
    Repair(RepairArgs),
    /// Hold snapshots (legal hold): a held snapshot survives every forget and prune
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Change the tags of snapshots
    Tag(TagArgs),
    /// Show the audit log: every forget, prune, hold, tag change, rewrite
    /// and repair
    Log(LogArgs),
    /// Copy the repository to another directory or a bucket, without the password
    ///
    /// Each TARGET, a directory or s3://BUCKET/PREFIX, becomes the same
    /// repository and is kept up to date: only the records it lacks travel, each verified
    /// by its checksum on the way. Append-only unless --prune: what the
    /// source no longer has (forgotten snapshots, pruned data) stays at the
    /// target, so a compromised or mistaken source cannot empty its mirror.
    /// Crash-safe: the target never lists a snapshot whose data it lacks;
    /// after a kill, mirror again.
    ///
    /// A bucket's endpoint and credentials come from AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. In it,
    /// records travel in immutable packs with an index; no object is ever
    /// overwritten. `strata mirror s3://BUCKET/PREFIX DIR` (or -r
    /// s3://BUCKET/PREFIX mirror DIR) pulls it back into a repository.
    #[command(verbatim_doc_comment)]
    Mirror(MirrorArgs),
    /// Manage the passwords that unlock the repository
    #[command(subcommand)]
    Key(KeyCommand),
    /// Generate man pages or shell completions
    #[command(subcommand)]
    Generate(GenerateCommand),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Store data unencrypted (only for storage you trust)
    #[arg(long)]
    pub no_encryption: bool,
    /// Minimum chunk size in bytes
    #[arg(long, default_value_t = 256 << 10, value_name = "BYTES")]
    pub chunk_min: usize,
    /// Average chunk size in bytes (a power of two)
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub chunk_avg: usize,
    /// Maximum chunk size in bytes (at most 16 MiB)
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub chunk_max: usize,
    /// zstd compression level (0 turns compression off)
    #[arg(long, default_value_t = 3, value_name = "LEVEL", allow_negative_numbers = true)]
    pub compression: i32,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Args, Debug, Clone)]
pub struct KdfArgs {
    /// Argon2id memory for the password's key, in KiB (at least 8)
    #[arg(long, default_value_t = 65536, value_name = "KIB", value_parser = clap::value_parser!(u32).range(8..))]
    pub kdf_memory: u32,
    /// Argon2id passes (at least 1)
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub kdf_iterations: u32,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Files and directories to back up (a --profile's sources when none)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also back up the paths listed in this file, one a line (blank lines
    /// and lines starting with '#' ignored; '-' reads standard input;
    /// repeatable)
    #[arg(long = "files-from", value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Also back up the paths listed in this file, each ended by a NUL byte,
    /// as `find -print0` writes them ('-' reads standard input; repeatable)
    #[arg(long = "files-from-raw", value_name = "FILE")]
    pub files_from_raw: Vec<PathBuf>,
    /// Streamed files from a profile's database dumps.
    #[arg(skip)]
    pub streams: Vec<crate::backup::Stream>,
    /// Also store standard input as one file (see --stdin-filename)
    #[arg(long, conflicts_with = "stdin_from_command")]
    pub stdin: bool,
    /// Run this shell command and store its output as one file (a database
    /// dump: `pg_dump app`); when it exits nonzero no snapshot is written
    /// and its error output is shown
    #[arg(long, value_name = "CMD")]
    pub stdin_from_command: Option<String>,
    /// Where --stdin or --stdin-from-command's file appears in the snapshot:
    /// a name at its root, or an absolute path
    #[arg(long, value_name = "NAME", default_value = "stdin")]
    pub stdin_filename: PathBuf,
    /// Host name recorded in the snapshot (default: this machine's)
    #[arg(long)]
    pub host: Option<String>,
    /// Tag for the snapshot (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Free-text description of the snapshot
    #[arg(long, default_value = "")]
    pub description: String,
    /// Snapshot to compare against for change detection (default: the newest
    /// one with the same host and paths)
    #[arg(long, value_name = "SNAPSHOT")]
    pub parent: Option<String>,
    /// Leave out paths matching this glob; with a '/', matched against the
    /// whole path, else against each name (repeatable)
    #[arg(long = "exclude", short = 'e', value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Read exclude globs from this file, one a line
    #[arg(long = "exclude-file", value_name = "FILE")]
    pub exclude_files: Vec<PathBuf>,
    /// Leave out directories holding a valid CACHEDIR.TAG
    #[arg(long)]
    pub exclude_caches: bool,
    /// Leave out directories holding an entry of this name, a marker such
    /// as .nobackup (repeatable)
    #[arg(long = "exclude-if-present", value_name = "NAME")]
    pub exclude_if_present: Vec<String>,
    /// Leave out files larger than this (500M, 2G)
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub exclude_larger_than: Option<u64>,
    /// Do not cross filesystem boundaries
    #[arg(long, short = 'x')]
    pub one_file_system: bool,
    /// Record the snapshot as taken at this time (for imports): 2026-11-20T14:00:00Z,
    /// 2026-11-20T14:00 (local time), 2026-11-20, @1763647200
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub time: Option<crate::format::Time>,
    /// Read, chunk and compress everything, and say what the backup would
    /// add; write nothing (no snapshot; the repository is only read)
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print progress and the summary as JSON lines
    #[arg(long)]
    pub json: bool,
}

/// Which snapshots `snapshots` lists and `forget` considers.
#[derive(Args, Debug)]
pub struct FilterArgs {
    /// Only snapshots of this host (repeatable)
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// Only snapshots with this tag (repeatable: any of them)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only snapshots of this source path (repeatable: all of them)
    #[arg(long, value_name = "PATH")]
    pub path: Vec<PathBuf>,
}

impl FilterArgs {
    /// The filter, with relative paths made absolute as backup records them.
    pub fn filter(&self) -> crate::error::Result<crate::forget::Filter> {
        use std::os::unix::ffi::OsStrExt;
        let paths = self
            .path
            .iter()
            .map(|p| crate::backup::absolute(p).map(|p| p.as_os_str().as_bytes().to_vec()))
            .collect::<crate::error::Result<Vec<_>>>()?;
        Ok(crate::forget::Filter { hosts: self.host.clone(), tags: self.tag.clone(), paths })
    }
}

#[derive(Args, Debug)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only the newest N snapshots of each host and set of paths
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub latest: Option<u32>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier snapshot (as for ls)
    #[arg(value_name = "SNAPSHOT")]
    pub from: String,
    /// The later snapshot, or a live directory (a path starting with '/'
    /// or '.'), compared with the same path in the earlier snapshot
    #[arg(value_name = "SNAPSHOT|DIR")]
    pub to: OsString,
    /// Only below this path
    #[arg(value_name = "PATH")]
    pub path: Option<OsString>,
    /// Also report changes of mode, owner, times and xattrs (U)
    #[arg(long)]
    pub metadata: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print JSON lines (one change a line, then the statistics) instead of text
    #[arg(long)]
    pub json: bool,
}

const RUN_EXIT: &str = "\
EXIT STATUS
  0  every step succeeded
  1  a step failed (the on-error hooks ran; the summary names the step)
  3  every step succeeded, but the backup could not read some files";

#[derive(Args, Debug)]
#[command(after_long_help = RUN_EXIT)]
pub struct RunArgs {
    /// The profile (else --profile)
    #[arg(value_name = "PROFILE")]
    pub name: Option<String>,
    /// Write Prometheus textfile metrics here after the run (else the
    /// profile's metrics-file)
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// SNAPSHOT:PATH (SNAPSHOT as for ls, PATH absolute; SNAPSHOT alone is
    /// its whole tree); with --at, PATH alone
    #[arg(value_name = "SNAPSHOT[:PATH]")]
    pub source: OsString,
    /// The newest snapshot at or before this time (local time without a
    /// zone), instead of SNAPSHOT
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct FindArgs {
    /// Glob patterns: one with a '/' matches the whole absolute path
    /// (/home/*/.bashrc, **/etc/*.conf), one without matches names (*.pdf);
    /// '*' stops at '/', '**' does not. An entry matching any is shown
    #[arg(value_name = "PATTERN", required_unless_present = "hash")]
    pub patterns: Vec<String>,
    /// Search only this snapshot (as for ls; repeatable); default: every
    /// snapshot the selection keeps
    #[arg(long = "snapshot", short = 's', value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Files with this content: the BLAKE3 hash `b3sum` prints (and
    /// user.strata.blake3 in the mount shows)
    #[arg(long, value_name = "HEX")]
    pub hash: Option<String>,
    /// Only entries modified at or after this time (local time without a zone)
    #[arg(long, value_name = "TIME")]
    pub oldest: Option<String>,
    /// Only entries modified at or before this time
    #[arg(long, value_name = "TIME")]
    pub newest: Option<String>,
    /// Print JSON lines (one match a line) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Snapshots (as for ls); none: every snapshot the selection keeps
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Which snapshots `latest`, `latest~N`, a time and `--at` choose among.
#[derive(Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Choose among this host's snapshots
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Choose among snapshots of this source path
    #[arg(long = "path", value_name = "PATH")]
    pub source_path: Option<PathBuf>,
    /// Choose among snapshots with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Snapshot: id, unique id prefix, latest, latest~N, or the time it
    /// was taken in (2026-12-02T06:18:42Z; local time without a zone; a day
    /// such as 2026-12-02, today, yesterday); left out with --at
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: Option<OsString>,
    /// Path within the snapshot
    #[arg(value_name = "PATH")]
    pub path: Option<OsString>,
    /// The newest snapshot at or before this time (local time without a
    /// zone), instead of SNAPSHOT
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Long listing: mode, owner, size, time
    #[arg(short = 'l', long)]
    pub long: bool,
    /// List subdirectories too
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// SNAPSHOT or SNAPSHOT:PATH (SNAPSHOT as for ls); with --at, PATH alone
    #[arg(value_name = "SNAPSHOT[:PATH]")]
    pub source: OsString,
    /// The newest snapshot at or before this time (local time without a
    /// zone), instead of SNAPSHOT
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Directory to restore into
    pub target: PathBuf,
    /// Restore only paths matching this glob (repeatable): with a '/', a
    /// path relative to the restored directory, else a name at any depth
    #[arg(long = "include", short = 'i', value_name = "GLOB")]
    pub includes: Vec<String>,
    /// Leave out paths matching this glob (repeatable), as --include matches
    #[arg(long = "exclude", short = 'e', value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Set only the extended attributes whose names match this glob
    /// (repeatable; all by default)
    #[arg(long = "include-xattr", value_name = "GLOB")]
    pub include_xattrs: Vec<String>,
    /// Do not set extended attributes whose names match this glob
    /// (repeatable): 'security.selinux', 'trusted.*', or '*' for none, where
    /// the target refuses them
    #[arg(long = "exclude-xattr", value_name = "GLOB")]
    pub exclude_xattrs: Vec<String>,
    /// Print what would be created, overwritten and deleted; change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// What to do with files that exist in the target (needed when it is not empty)
    #[arg(long, value_enum, value_name = "MODE")]
    pub overwrite: Option<crate::restore::Overwrite>,
    /// Remove files in the target that the snapshot lacks
    #[arg(long)]
    pub delete: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MountArgs {
    /// Empty directory to mount on
    pub mountpoint: PathBuf,
    /// Show this snapshot's tree at the mount root (id, prefix, latest)
    #[arg(long, conflicts_with = "at", value_name = "SNAPSHOT")]
    pub snapshot: Option<String>,
    /// Show the newest snapshot at or before this time at the mount root
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// For --snapshot and --at: which snapshots they choose among
    #[command(flatten)]
    pub select: SelectArgs,
    /// Detach once the filesystem is mounted (a password is asked for
    /// first); its log then goes to --log-file, else to syslog
    #[arg(long)]
    pub daemon: bool,
    /// With --daemon: append the mount's log (read errors naming path and
    /// chunk) to this file
    #[arg(long, value_name = "FILE", requires = "daemon")]
    pub log_file: Option<std::path::PathBuf>,
    /// Mount options passed to FUSE (e.g. allow_other)
    #[arg(short = 'o', value_name = "OPTION", value_delimiter = ',')]
    pub options: Vec<String>,
    /// Bytes of decoded chunks and directories to cache (a fifth of it, at
    /// most 128 MiB, for directories). The mount's whole memory stays
    /// within this plus about 150 MiB (threads, buffers, RocksDB)
    #[arg(long, default_value_t = 640 << 20, value_name = "BYTES")]
    pub cache_size: usize,
    /// List user.strata.blake3 (each file's b3sum) among the xattrs, so
    /// `getfattr -d` shows it. Off by default, as `rsync -X` and `cp -a`
    /// would then copy it onto every restored file; it is always readable
    /// by name (`getfattr -n user.strata.blake3 FILE`)
    #[arg(long)]
    pub list_hash: bool,
}

#[derive(Subcommand, Debug)]
pub enum GenerateCommand {
    /// Print (or write into DIR) a systemd service and timer that run
    /// `strata run PROFILE` on the profile's schedule
    Systemd {
        /// The profile
        #[arg(value_name = "PROFILE")]
        profile: String,
        /// Write strata-PROFILE.service and .timer here instead of printing them
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Write man pages into a directory
    Man {
        /// The directory (made if missing), e.g. /usr/local/share/man/man1
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print a shell completion script
    Completions {
        /// The shell the script is for
        shell: Shell,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}
