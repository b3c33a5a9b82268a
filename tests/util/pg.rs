//! A real PostgreSQL server for tests: Debian's packages (installed by the
//! test command), a data directory in a temp dir, run as the `postgres`
//! user, listening on 127.0.0.1 only, trust authentication, stopped when
//! dropped.

use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

/// The server's programs (initdb, pg_ctl), newest version first.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn as_postgres(program: PathBuf) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

impl Postgres {
    /// `None` (the test skips, saying why) where PostgreSQL is not
    /// installed, and not under CI.
    pub fn start() -> Option<Postgres> {
        let missing = match (bin_dir(), Command::new("id").arg("postgres").output()) {
            (None, _) => Some("no PostgreSQL server under /usr/lib/postgresql"),
            (_, Ok(o)) if !o.status.success() => Some("no postgres user"),
            _ if Command::new("pg_dump").arg("--version").output().is_err() => Some("no pg_dump"),
            _ => None,
        };
        if let Some(why) = missing {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL test cannot run under CI: {why} (scripts/setup.sh installs it)");
            }
            eprintln!("skipping PostgreSQL test: {why}");
            return None;
        }
        let bin = bin_dir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        crate::util::sh(&format!("chown postgres: {}", dir.path().display()));
        let out = as_postgres(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "--username=postgres", "--no-sync", "--encoding=UTF8"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!("-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", dir.path().display());
        let out = as_postgres(bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &opts, "-w", "-t", "60", "start"])
            .output()
            .unwrap();
        let pg = Postgres { port, bin, data, _dir: dir };
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
        Some(pg)
    }

    /// Runs SQL in `db`; returns psql's unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", db, "-At", "-v"])
            .arg("ON_ERROR_STOP=1")
            .args(["-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ =
            as_postgres(self.bin.join("pg_ctl")).arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).output();
    }
}
