//! Profiles: named settings in a TOML file (`strata.toml`) that every
//! command can start from (`--profile NAME`) and that `strata run` executes
//! as one job. Command-line flags and the environment override a profile.

use crate::backup::{Stream, StreamSource};
use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// A directory or s3://BUCKET/PREFIX.
    pub repository: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    pub host: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    #[serde(default)]
    pub excludes: Vec<String>,
    #[serde(default)]
    pub exclude_files: Vec<PathBuf>,
    #[serde(default)]
    pub exclude_caches: bool,
    #[serde(default)]
    pub exclude_if_present: Vec<String>,
    /// As --exclude-larger-than: "500M", "2G".
    pub exclude_larger_than: Option<String>,
    #[serde(default)]
    pub one_file_system: bool,
    pub retention: Option<Retention>,
    pub mirror: Option<Mirror>,
    pub check: Option<Check>,
    #[serde(default)]
    pub hooks: Hooks,
    /// Prometheus textfile metrics, written after every `strata run`.
    pub metrics_file: Option<PathBuf>,
    /// systemd OnCalendar= for `generate systemd` (default "daily").
    pub schedule: Option<String>,
    #[serde(default)]
    pub postgresql: Vec<Database>,
    #[serde(default)]
    pub mysql: Vec<Database>,
    #[serde(default)]
    pub sqlite: Vec<Sqlite>,
}

/// A count (`7`) or "unlimited".
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum CountValue {
    N(u32),
    Word(String),
}

impl CountValue {
    fn arg(&self) -> String {
        match self {
            CountValue::N(n) => n.to_string(),
            CountValue::Word(w) => w.clone(),
        }
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Retention {
    pub keep_last: Option<CountValue>,
    pub keep_hourly: Option<CountValue>,
    pub keep_daily: Option<CountValue>,
    pub keep_weekly: Option<CountValue>,
    pub keep_monthly: Option<CountValue>,
    pub keep_yearly: Option<CountValue>,
    pub keep_within: Option<String>,
    #[serde(default)]
    pub keep_tags: Vec<String>,
    /// `strata run` prunes when the last prune it did is at least this old
    /// ("7d"; "0s": every run); without it, `run` never prunes.
    pub prune_every: Option<String>,
}

impl Retention {
    /// The `forget` flags of this policy.
    pub fn args(&self) -> Vec<String> {
        let mut out = Vec::new();
        let counts = [
            ("--keep-last", &self.keep_last),
            ("--keep-hourly", &self.keep_hourly),
            ("--keep-daily", &self.keep_daily),
            ("--keep-weekly", &self.keep_weekly),
            ("--keep-monthly", &self.keep_monthly),
            ("--keep-yearly", &self.keep_yearly),
        ];
        for (flag, v) in counts {
            if let Some(v) = v {
                out.extend([flag.to_string(), v.arg()]);
            }
        }
        if let Some(w) = &self.keep_within {
            out.extend(["--keep-within".to_string(), w.clone()]);
        }
        for t in &self.keep_tags {
            out.extend(["--keep-tag".to_string(), t.clone()]);
        }
        out
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Mirror {
    pub targets: Vec<String>,
    #[serde(default)]
    pub without_keys: bool,
    #[serde(default)]
    pub prune: bool,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Check {
    /// Each run reads the next of this many parts of the data (`n/t`, n
    /// advancing), so every chunk is read once in that many runs; 0 or
    /// absent: structure only.
    #[serde(default)]
    pub read_data_parts: u32,
    /// Also fail when the newest snapshot is older than this.
    pub max_age: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Hooks {
    /// Shell commands run first; one failing aborts the run.
    #[serde(default)]
    pub before: Vec<String>,
    /// Run after every step succeeded.
    #[serde(default)]
    pub after: Vec<String>,
    /// Run when a step failed, with STRATA_ERROR set to what failed.
    #[serde(default)]
    pub on_error: Vec<String>,
}

/// A PostgreSQL or MySQL/MariaDB database, dumped into the snapshot.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Database {
    /// The database; "all" for every one (pg_dumpall, --all-databases).
    pub name: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    /// Extra arguments for the dump tool.
    #[serde(default)]
    pub options: Vec<String>,
    /// A whole command instead (its output is the dump).
    pub dump_command: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sqlite {
    pub path: PathBuf,
}

/// Quotes a word for `sh -c`.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn command(words: &[String]) -> String {
    words.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ")
}

fn file_name(s: &str) -> String {
    crate::vfs::component(s)
}

impl Profile {
    /// The database dumps as streamed files, under /databases/ in the snapshot.
    pub fn streams(&self) -> Vec<Stream> {
        let mut out = Vec::new();
        let opt = |flag: &str, v: Option<String>| v.map(|v| vec![flag.to_string(), v]).unwrap_or_default();
        for d in &self.postgresql {
            let cmd = d.dump_command.clone().unwrap_or_else(|| {
                let mut w = vec![if d.name == "all" { "pg_dumpall" } else { "pg_dump" }.to_string()];
                w.extend(opt("--host", d.host.clone()));
                w.extend(opt("--port", d.port.map(|p| p.to_string())));
                w.extend(opt("--username", d.username.clone()));
                w.push("--no-password".into());
                w.extend(d.options.iter().cloned());
                if d.name != "all" {
                    w.extend(["--dbname".to_string(), d.name.clone()]);
                }
                command(&w)
            });
            let path = PathBuf::from(format!("/databases/postgresql/{}.sql", file_name(&d.name)));
            out.push(Stream { path, source: StreamSource::Command(cmd) });
        }
        for d in &self.mysql {
            let cmd = d.dump_command.clone().unwrap_or_else(|| {
                let mut w = vec!["mysqldump".to_string(), "--single-transaction".into(), "--routines".into()];
                w.push("--events".into());
                w.extend(opt("--host", d.host.clone()));
                w.extend(opt("--port", d.port.map(|p| p.to_string())));
                w.extend(opt("--user", d.username.clone()));
                w.extend(d.options.iter().cloned());
                if d.name == "all" {
                    w.push("--all-databases".into());
                } else {
                    w.extend(["--databases".to_string(), d.name.clone()]);
                }
                command(&w)
            });
            let path = PathBuf::from(format!("/databases/mysql/{}.sql", file_name(&d.name)));
            out.push(Stream { path, source: StreamSource::Command(cmd) });
        }
        for d in &self.sqlite {
            // .dump runs in one read transaction: a consistent copy of a
            // database in use.
            let db = d.path.to_string_lossy().into_owned();
            let cmd = command(&["sqlite3".into(), "-bail".into(), db.clone(), ".dump".into()]);
            let base = d.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(db);
            let path = PathBuf::from(format!("/databases/sqlite/{}.sql", file_name(&base)));
            out.push(Stream { path, source: StreamSource::Command(cmd) });
        }
        out
    }
}

/// The configuration file: `--config`, else `$XDG_CONFIG_HOME/strata/strata.toml`
/// (`~/.config/strata/strata.toml`) when it exists, else `/etc/strata/strata.toml`.
pub fn config_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(p) = xdg.map(|d| d.join("strata/strata.toml")).filter(|p| p.exists()) {
        return p;
    }
    PathBuf::from("/etc/strata/strata.toml")
}

/// The profile `name` in the file at `path`.
pub fn load(path: &Path, name: &str) -> Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file: File = toml::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
    file.profiles.get(name).cloned().ok_or_else(|| {
        Error::Invalid(format!("{}: no profile {name:?} (profiles: {})", path.display(), known.join(", ")))
    })
}

/// Makes the command start from the profile: what the command line and
/// the environment left unset comes from it (for forget: the retention
/// policy, when no --keep-* and no snapshot is given).
pub fn apply(cli: &mut Cli, p: &Profile) -> Result<()> {
    let g = &mut cli.global;
    if g.repo.is_none() {
        g.repo = p.repository.as_ref().map(PathBuf::from);
    }
    let password_given =
        g.password_file.is_some() || g.password_command.is_some() || std::env::var_os("STRATA_PASSWORD").is_some();
    if !password_given {
        g.password_file.clone_from(&p.password_file);
        g.password_command.clone_from(&p.password_command);
    }
    match &mut cli.command {
        Command::Backup(a) => {
            let listed = !a.files_from.is_empty() || !a.files_from_raw.is_empty();
            if a.paths.is_empty() && !listed && !a.stdin && a.stdin_from_command.is_none() {
                a.paths.clone_from(&p.sources);
                a.streams = p.streams();
            }
            a.excludes.extend(p.excludes.iter().cloned());
            a.exclude_files.extend(p.exclude_files.iter().cloned());
            a.exclude_caches |= p.exclude_caches;
            a.exclude_if_present.extend(p.exclude_if_present.iter().cloned());
            if let (None, Some(size)) = (a.exclude_larger_than, &p.exclude_larger_than) {
                let bad = || Error::Invalid(format!("exclude-larger-than {size:?}: expected a size like 500M or 2G"));
                a.exclude_larger_than = Some(crate::cli::parse_size(size).ok_or_else(bad)?);
            }
            a.one_file_system |= p.one_file_system;
            if a.tags.is_empty() {
                a.tags.clone_from(&p.tags);
            }
            if a.host.is_none() {
                a.host.clone_from(&p.host);
            }
        }
        Command::Mirror(a) => {
            if let (true, Some(m)) = (a.targets.is_empty(), &p.mirror) {
                a.targets = m.targets.iter().map(PathBuf::from).collect();
                a.without_keys |= m.without_keys;
                a.prune |= m.prune;
            }
        }
        Command::Forget(a) => {
            let given = [a.keep_last, a.keep_hourly, a.keep_daily, a.keep_weekly, a.keep_monthly, a.keep_yearly]
                .iter()
                .any(Option::is_some)
                || a.keep_within.is_some()
                || !a.keep_tag.is_empty();
            if let (false, true, Some(r)) = (given, a.snapshots.is_empty(), &p.retention) {
                let count = |key: &str, v: &Option<CountValue>| -> Result<Option<crate::policy::Count>> {
                    v.as_ref()
                        .map(|v| v.arg().parse().map_err(|e| Error::Invalid(format!("retention.{key}: {e}"))))
                        .transpose()
                };
                a.keep_last = count("keep-last", &r.keep_last)?;
                a.keep_hourly = count("keep-hourly", &r.keep_hourly)?;
                a.keep_daily = count("keep-daily", &r.keep_daily)?;
                a.keep_weekly = count("keep-weekly", &r.keep_weekly)?;
                a.keep_monthly = count("keep-monthly", &r.keep_monthly)?;
                a.keep_yearly = count("keep-yearly", &r.keep_yearly)?;
                a.keep_within = r
                    .keep_within
                    .as_ref()
                    .map(|w| w.parse().map_err(|e| Error::Invalid(format!("retention.keep-within: {e}"))))
                    .transpose()?;
                a.keep_tag.clone_from(&r.keep_tags);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("strata.toml");
        std::fs::write(
            &f,
            "[profiles.a]\nrepository = \"/r\"\n\n[profiles.a.retention]\nkeep-daily = 7\nkeep-dayly = 3\n",
        )
        .unwrap();
        let e = load(&f, "a").unwrap_err().to_string();
        assert!(e.contains(&f.display().to_string()) && e.contains("line 6") && e.contains("keep-dayly"), "{e}");
        std::fs::write(&f, "[profiles.a]\nrepository = \"/r\"\n").unwrap();
        let e = load(&f, "b").unwrap_err().to_string();
        assert!(e.contains("no profile \"b\"") && e.contains("profiles: a"), "{e}");
    }

    #[test]
    fn database_dumps_become_streams() {
        let p: Profile = toml::from_str(
            "[[postgresql]]\nname = \"app\"\nhost = \"127.0.0.1\"\nport = 5433\nusername = \"postgres\"\n\
             [[sqlite]]\npath = \"/var/lib/my app/data.db\"\n[[mysql]]\nname = \"all\"\n",
        )
        .unwrap();
        let s = p.streams();
        let cmd = |i: usize| match &s[i].source {
            StreamSource::Command(c) => c.clone(),
            StreamSource::Stdin => unreachable!(),
        };
        assert_eq!(s[0].path, Path::new("/databases/postgresql/app.sql"));
        assert_eq!(cmd(0), "pg_dump --host 127.0.0.1 --port 5433 --username postgres --no-password --dbname app");
        assert_eq!(s[1].path, Path::new("/databases/mysql/all.sql"));
        assert!(cmd(1).ends_with("--all-databases"), "{}", cmd(1));
        assert_eq!(s[2].path, Path::new("/databases/sqlite/data.db.sql"));
        assert_eq!(cmd(2), "sqlite3 -bail '/var/lib/my app/data.db' .dump");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn a_profile_gives_backup_its_excludes_unless_flags_do() {
        use clap::Parser;
        let p: Profile = toml::from_str(
            "sources = [\"/srv\"]\nexclude-if-present = [\".nobackup\"]\nexclude-larger-than = \"2G\"\n",
        )
        .unwrap();
        let backup = |args: &[&str]| {
            let mut cli = Cli::parse_from([&["strata", "backup"][..], args].concat());
            apply(&mut cli, &p).map(|()| match cli.command {
                Command::Backup(a) => a,
                _ => unreachable!(),
            })
        };
        let a = backup(&[]).unwrap();
        assert_eq!((a.paths, a.exclude_if_present), (vec![PathBuf::from("/srv")], vec![".nobackup".to_string()]));
        assert_eq!(a.exclude_larger_than, Some(2 << 30));
        let a = backup(&["--exclude-larger-than", "1M", "--files-from", "list"]).unwrap();
        assert_eq!(a.exclude_larger_than, Some(1 << 20));
        assert!(a.paths.is_empty(), "a --files-from backup took the profile's sources too");
        let bad: Profile = toml::from_str("exclude-larger-than = \"2 gigs\"\n").unwrap();
        let mut cli = Cli::parse_from(["strata", "backup", "/x"]);
        let e = apply(&mut cli, &bad).unwrap_err().to_string();
        assert!(e.contains("exclude-larger-than \"2 gigs\""), "{e}");
    }
}
