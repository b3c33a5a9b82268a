//! The command line's repository-care commands: forget, prune, check,
//! hold, tag, log, mirror and key.

use super::{parse_time, KdfArgs};
use crate::forget::GroupBy;
use crate::policy::{Count, Span};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Snapshots to remove (id, prefix, latest, latest~N); not with a policy
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Keep the N newest snapshots
    #[arg(long, value_name = "N")]
    pub keep_last: Option<Count>,
    /// Keep the newest snapshot of each of the last N hours with snapshots
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<Count>,
    /// Keep the newest snapshot of each of the last N days with snapshots
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<Count>,
    /// Keep the newest snapshot of each of the last N ISO weeks with snapshots
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<Count>,
    /// Keep the newest snapshot of each of the last N months with snapshots
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<Count>,
    /// Keep the newest snapshot of each of the last N years with snapshots
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<Count>,
    /// Keep every snapshot within SPAN (e.g. 2y5m7d3h) of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within: Option<Span>,
    /// Keep the newest snapshot of each hour within SPAN of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within_hourly: Option<Span>,
    /// Keep the newest snapshot of each day within SPAN of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within_daily: Option<Span>,
    /// Keep the newest snapshot of each week within SPAN of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within_weekly: Option<Span>,
    /// Keep the newest snapshot of each month within SPAN of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within_monthly: Option<Span>,
    /// Keep the newest snapshot of each year within SPAN of the group's newest
    #[arg(long, value_name = "SPAN")]
    pub keep_within_yearly: Option<Span>,
    /// Keep every snapshot with this tag (repeatable)
    #[arg(long, value_name = "TAG")]
    pub keep_tag: Vec<String>,
    /// Group snapshots by these (host, paths, tags; '' for one group)
    #[arg(long, value_name = "KEYS", default_value = "host,paths")]
    pub group_by: GroupBy,
    #[command(flatten)]
    pub filter: super::FilterArgs,
    /// Say what would be removed; remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Run prune afterwards
    #[arg(long)]
    pub prune: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RewriteArgs {
    /// Snapshots to rewrite (id, prefix, latest, latest~N, a time); all
    /// that the filters choose when none
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Take out paths matching this glob; with a '/', matched against the
    /// whole path, else against each name (repeatable)
    #[arg(long = "exclude", short = 'e', value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Read exclude globs from this file, one a line
    #[arg(long = "exclude-file", value_name = "FILE")]
    pub exclude_files: Vec<PathBuf>,
    /// Also take out the files whose data is lost (damaged, and removed by
    /// `repair`) and the directories whose listing is: what no backup
    /// could store again
    #[arg(long)]
    pub exclude_lost: bool,
    #[command(flatten)]
    pub filter: super::FilterArgs,
    /// Remove each original snapshot once its rewrite is written (instead
    /// of tagging the rewrite `rewrite`)
    #[arg(long)]
    pub forget: bool,
    /// Say what would be taken out of which snapshots; write nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// Say what would be removed; change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub(super) const CHECK_EXIT: &str = "\
EXIT STATUS
  0  everything checked is sound (and, with --max-age, fresh)
  1  a problem was found (each is listed, with what it affects), or the
     check could not run";

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Also read and verify every chunk record
    #[arg(long)]
    pub read_data: bool,
    /// Read and verify part of the data: n/t (the n-th of t parts), a
    /// percentage (10%) or a size (50G)
    #[arg(long, value_name = "SUBSET", conflicts_with = "read_data")]
    pub read_data_subset: Option<crate::check::Subset>,
    /// Check without the password (checksums and structure only)
    #[arg(long)]
    pub no_key: bool,
    /// Also fail when the newest snapshot is older than this (26h, 2d)
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub max_age: Option<std::time::Duration>,
    /// With --max-age: only this host's snapshots count
    #[arg(long, requires = "max_age")]
    pub host: Option<String>,
    /// Print the report as one JSON document (counts, problems, what was not checked)
    #[arg(long)]
    pub json: bool,
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    crate::timespec::parse_duration(s).ok_or_else(|| format!("{s:?}: expected a duration like 26h, 2d or 90m"))
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Say what would be removed and how much space would come back; change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum HoldCommand {
    /// Hold snapshots
    Add {
        /// Snapshots (id, unique id prefix, latest, latest~N)
        #[arg(required = true, value_name = "SNAPSHOT")]
        snapshots: Vec<String>,
        /// Why they are held (recorded with the hold and in the log)
        #[arg(long, required = true)]
        reason: String,
        /// Let the hold lapse at this time
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        until: Option<crate::format::Time>,
    },
    /// Lift the holds of snapshots
    Remove {
        /// Snapshots (id, unique id prefix, latest, latest~N)
        #[arg(required = true, value_name = "SNAPSHOT")]
        snapshots: Vec<String>,
    },
    /// List held snapshots
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Snapshots (id, unique id prefix, latest, latest~N)
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Add this tag (repeatable)
    #[arg(long, value_name = "TAG")]
    pub add: Vec<String>,
    /// Remove this tag (repeatable)
    #[arg(long, value_name = "TAG")]
    pub remove: Vec<String>,
    /// Replace all tags with these (repeatable; --set '' removes them all)
    #[arg(long, value_name = "TAG", conflicts_with_all = ["add", "remove"])]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// Directories or s3://BUCKET/PREFIX to mirror to (made into
    /// repositories if new)
    #[arg(value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// Leave the key files out: the copy holds nothing that unlocks it
    /// (move them with `strata key export` and `key import`)
    #[arg(long)]
    pub without_keys: bool,
    /// Also remove at each target what the source no longer has
    /// (directories only, for now)
    #[arg(long)]
    pub prune: bool,
    /// Print one JSON document: what was sent and skipped, per target
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Remove a key file (a password): never the last one, nor the one in
    /// use without --force
    Remove {
        /// The key's id, or a unique prefix of it (see `key list`)
        #[arg(value_name = "ID")]
        id: String,
        /// Also when it is the key your password opened
        #[arg(long)]
        force: bool,
    },
    /// Add a password (asked for, or from --new-password-file)
    Add {
        /// Read the new password from the first line of this file
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Change the password in use: adds a key for the new password, then
    /// removes the one the old password opened (data is not rewritten)
    Passwd {
        /// Read the new password from the first line of this file
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// List the key files
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Write the key files (each still locked by its password) to FILE, to
    /// keep apart from a mirror made --without-keys; needs no password
    Export {
        /// The file to write the key files to
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Add the key files in FILE (from `key export`) to the repository,
    /// so its passwords open it; needs no password
    Import {
        /// The file `key export` wrote
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}
