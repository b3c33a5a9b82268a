//! Profiles and `strata run`: the whole unattended job, its hooks, its
//! database dumps (real SQLite and PostgreSQL), metrics and systemd units.

use crate::util::pg::Postgres;
use crate::util::s3::S3Server;
use crate::util::{bin, Repo, Run, PASSWORD};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A repository, a password file, and a profiles file to write.
struct Setup {
    repo: Repo,
    config: PathBuf,
    state: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let repo = Repo::new();
        std::fs::write(repo.scratch("pw"), format!("{PASSWORD}\n")).unwrap();
        let (config, state) = (repo.scratch("strata.toml"), repo.scratch("state"));
        Setup { repo, config, state }
    }

    /// `[profiles.p]` with the repository and password file, then `body`.
    fn profile(&self, body: &str) {
        let head = format!(
            "[profiles.p]\nrepository = {:?}\npassword-file = {:?}\n",
            self.repo.path.display().to_string(),
            self.repo.scratch("pw").display().to_string()
        );
        std::fs::write(&self.config, head + body).unwrap();
    }

    /// strata with nothing but the profile: no repository or password in
    /// the environment.
    fn cmd(&self, env: &[(&str, String)]) -> Command {
        let mut c = Command::new(bin());
        for v in ["STRATA_PASSWORD", "STRATA_PASSWORD_FILE", "STRATA_PASSWORD_COMMAND", "STRATA_REPOSITORY"] {
            c.env_remove(v);
        }
        c.env("XDG_STATE_HOME", &self.state).arg("--config").arg(&self.config);
        c.envs(env.iter().map(|(k, v)| (k, v)));
        c
    }

    fn run(&self, env: &[(&str, String)]) -> Run {
        Run::from(self.cmd(env).args(["run", "p", "--json"]).output().unwrap())
    }
}

fn steps(summary: &serde_json::Value) -> Vec<String> {
    summary["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap().to_string()).collect()
}

fn step<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["steps"].as_array().unwrap().iter().find(|s| s["step"] == name).unwrap()
}

/// Prometheus text format: every sample `name{labels} value` comes after
/// its HELP and TYPE lines, with a valid name and a float value.
fn parse_metrics(text: &str) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    let mut typed = std::collections::HashSet::new();
    let valid = |n: &str| {
        !n.is_empty()
            && n.chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(valid(name) && ["gauge", "counter"].contains(&kind), "{line}");
            typed.insert(name.to_string());
        } else if line.starts_with("# HELP ") {
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let name = series.split('{').next().unwrap();
            assert!(valid(name) && typed.contains(name), "sample before its TYPE: {line}");
            assert!(series.ends_with("{profile=\"p\"}"), "{line}");
            out.insert(name.to_string(), value.parse::<f64>().unwrap_or_else(|_| panic!("{line}")));
        }
    }
    out
}

/// Two sources, excludes, a policy that prunes at most hourly, mirrors to
/// a directory and to S3, a rotating check: two runs end to end.
#[test]
fn a_profile_runs_the_whole_job_twice() {
    let Some(server) = S3Server::start("strata") else { return };
    let s = Setup::new();
    let (a, b) = (s.repo.scratch("a"), s.repo.scratch("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("keep.txt"), b"one").unwrap();
    std::fs::write(a.join("skip.tmp"), b"excluded").unwrap();
    std::fs::write(b.join("other"), vec![7u8; 100_000]).unwrap();
    std::fs::create_dir_all(b.join("scratch")).unwrap();
    std::fs::write(b.join("scratch/.nobackup"), b"").unwrap();
    std::fs::write(b.join("scratch/junk"), b"excluded too").unwrap();
    let (mirror, metrics) = (s.repo.scratch("mirror"), s.repo.scratch("strata.prom"));
    s.profile(&format!(
        "sources = [{:?}, {:?}]\nexcludes = [\"*.tmp\"]\nexclude-if-present = [\".nobackup\"]\ntags = [\"nightly\"]\nmetrics-file = {:?}\n\
         [profiles.p.retention]\nkeep-last = 1\nprune-every = \"1h\"\n\
         [profiles.p.mirror]\ntargets = [{:?}, \"s3://strata/run\"]\nwithout-keys = true\n\
         [profiles.p.check]\nread-data-parts = 2\n",
        a.display().to_string(),
        b.display().to_string(),
        metrics.display().to_string(),
        mirror.display().to_string(),
    ));
    let env = server.env();
    let first = s.run(&env);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let j = first.json();
    assert_eq!(steps(&j), ["backup", "forget", "mirror", "check"], "{j}");
    let backup = &step(&j, "backup")["result"];
    assert_eq!(backup["files"], 2, "the excluded file was backed up: {backup}");
    assert!(!step(&j, "forget")["result"]["prune"].is_null(), "the first run prunes: {j}");
    assert_eq!(step(&j, "mirror")["result"]["targets"].as_array().unwrap().len(), 2, "{j}");
    std::fs::write(a.join("keep.txt"), b"two").unwrap();
    let second = s.run(&env);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let j = second.json();
    assert!(step(&j, "forget")["result"]["prune"].is_null(), "pruned again within the hour: {j}");
    // keep-last 1: one snapshot left, here and (append-only) two in the mirror.
    assert_eq!(s.repo.snapshots().len(), 1);
    let tags = &s.repo.snapshots()[0]["tags"];
    assert_eq!(tags, &serde_json::json!(["nightly"]));
    let m = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
    assert_eq!(m["strata_last_run_status"], 0.0);
    assert_eq!(m["strata_snapshots"], 1.0);
    assert_eq!(m["strata_backup_files"], 2.0);
    assert_eq!(m["strata_backup_bytes"], 100_003.0);
    assert!(m["strata_repository_size_bytes"] > 0.0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - m["strata_last_success_timestamp_seconds"]).abs() < 120.0, "{m:?}");
    // By hand, with --profile: forget takes the profile's policy.
    let by_hand = Run::from(s.cmd(&env).args(["--profile", "p", "forget", "--dry-run", "--json"]).output().unwrap());
    assert_eq!(by_hand.code, 0, "{}", by_hand.stderr);
    assert!(by_hand.json()["groups"][0]["keep"][0]["reasons"].to_string().contains("last"), "{}", by_hand.stdout);
    // The mirrors hold both runs' snapshots, and check without the key.
    let mirrored = Repo::at(&mirror);
    mirrored.run(&["check", "--no-key"]).ok();
    let in_bucket = Repo::in_bucket(&server, "s3://strata/run");
    in_bucket.run(&["check", "--no-key"]).ok();
    // Another run while one holds the profile's lock fails at once.
    let lock = std::fs::File::open(s.state.join("strata/p.lock")).unwrap();
    assert!(strata::sys::try_lock(std::os::fd::AsRawFd::as_raw_fd(&lock)).unwrap());
    let busy = s.run(&env);
    assert!(busy.code == 1 && busy.stderr.contains("another run is in progress"), "{}", busy.stderr);
}

/// A failing before-hook stops the run, and the on-error hook hears why;
/// a failing dump command writes no snapshot.
#[test]
fn failures_run_the_on_error_hook_and_write_no_snapshot() {
    let s = Setup::new();
    let src = s.repo.scratch("src");
    std::fs::create_dir_all(&src).unwrap();
    let seen = s.repo.scratch("error.txt");
    let hooks = format!(
        "[profiles.p.hooks]\nbefore = [\"exit 7\"]\non-error = [\"echo \\\"$STRATA_PROFILE: $STRATA_ERROR\\\" > {}\"]\n",
        seen.display()
    );
    s.profile(&format!("sources = [{:?}]\n{hooks}", src.display().to_string()));
    let r = s.run(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(steps(&r.json()), ["before", "on-error"], "{}", r.stdout);
    let said = std::fs::read_to_string(&seen).unwrap();
    assert!(said.starts_with("p: before hook \"exit 7\" failed"), "{said}");
    assert_eq!(s.repo.snapshots().len(), 0);

    let dump = "[[profiles.p.postgresql]]\nname = \"app\"\ndump-command = \"echo 'could not connect' >&2; exit 2\"\n";
    let hooks = format!("[profiles.p.hooks]\non-error = [\"echo \\\"$STRATA_ERROR\\\" > {}\"]\n", seen.display());
    s.profile(&format!("sources = [{:?}]\n{dump}{hooks}", src.display().to_string()));
    let r = s.run(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("could not connect"), "{}", r.stderr);
    let said = std::fs::read_to_string(&seen).unwrap();
    assert!(said.contains("backup failed") && said.contains("could not connect"), "{said}");
    assert_eq!(s.repo.snapshots().len(), 0, "a snapshot without its dump was written");
}

/// SQLite and PostgreSQL dumped by the profile, the databases dropped, and
/// restored from the dumps: the same tables.
#[test]
fn database_dumps_restore_the_same_tables() {
    let Some(pg) = Postgres::start() else { return };
    if Command::new("sqlite3").arg("-version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "sqlite3 missing under CI");
        eprintln!("skipping: sqlite3 is not installed");
        return;
    }
    let s = Setup::new();
    let db = s.repo.scratch("app.db");
    let sqlite = |db: &Path, sql: &str| {
        let o = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    sqlite(&db, "create table t(id integer primary key, name text); insert into t(name) values ('ann'), ('o''brien'), ('名前');");
    pg.psql("postgres", "create database app");
    pg.psql("app", "create table orders(id serial primary key, item text, qty int, at timestamptz default now())");
    pg.psql("app", "insert into orders(item, qty) select 'item ' || g, g from generate_series(1, 5000) g");
    let rows = |pg: &Postgres| pg.psql("app", "select id, item, qty, at from orders order by id");
    let before = rows(&pg);
    s.profile(&format!(
        "[[profiles.p.postgresql]]\nname = \"app\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"postgres\"\n\
         [[profiles.p.sqlite]]\npath = {:?}\n",
        pg.port,
        db.display().to_string()
    ));
    let r = s.run(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Gone, then back from the snapshot's dumps.
    pg.psql("postgres", "drop database app");
    pg.psql("postgres", "create database app");
    let restore = format!(
        "{} --config {} --profile p dump latest:/databases/postgresql/app.sql | psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p {} -U postgres -d app",
        bin(),
        s.config.display(),
        pg.port
    );
    let out = Command::new("sh").args(["-c", &restore]).env_remove("STRATA_PASSWORD").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rows(&pg), before);
    let copy = s.repo.scratch("restored.db");
    let restore = format!(
        "{} --config {} --profile p dump latest:/databases/sqlite/app.db.sql | sqlite3 {}",
        bin(),
        s.config.display(),
        copy.display()
    );
    let out = Command::new("sh").args(["-c", &restore]).env_remove("STRATA_PASSWORD").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sqlite(&copy, "select * from t order by id"), sqlite(&db, "select * from t order by id"));
    assert_eq!(sqlite(&copy, "select count(*) from t"), "3\n");
}

/// The service and timer `generate systemd` prints pass systemd-analyze.
#[test]
fn systemd_units_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "systemd-analyze missing under CI");
        eprintln!("skipping: systemd-analyze is not installed");
        return;
    }
    let s = Setup::new();
    s.profile("sources = [\"/etc/hostname\"]\nschedule = \"*-*-* 02:00:00\"\n");
    let dir = s.repo.scratch("units");
    let out = s.cmd(&[]).args(["generate", "systemd", "p"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (service, timer) = (dir.join("strata-p.service"), dir.join("strata-p.timer"));
    let t = std::fs::read_to_string(&timer).unwrap();
    assert!(
        t.contains("Persistent=true") && t.contains("RandomizedDelaySec=") && t.contains("OnCalendar=*-*-* 02:00:00"),
        "{t}"
    );
    let sv = std::fs::read_to_string(&service).unwrap();
    assert!(sv.contains("IOSchedulingClass=idle") && sv.contains("Nice=19") && sv.contains(" run p"), "{sv}");
    let v = Command::new("systemd-analyze").arg("verify").arg(&service).arg(&timer).output().unwrap();
    assert!(v.status.success() && v.stderr.is_empty(), "{}", String::from_utf8_lossy(&v.stderr));
}
