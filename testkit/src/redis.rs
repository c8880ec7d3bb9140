//! A private `redis-server` (Debian's package) or `valkey-server` on a free loopback port,
//! no persistence, killed when dropped; it can be stopped and started again on the same
//! port to play an outage. Also over TLS (certificates made by `openssl` for the test),
//! and as a Redis Cluster of several such servers.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::child::KillOnDrop;
use crate::net::free_port;
use crate::tools::tool;

pub struct RedisServer {
    pub port: u16,
    child: Option<KillOnDrop>,
    /// (program, Debian package).
    program: (&'static str, &'static str),
    args: Vec<String>,
    tls: Option<Tls>,
}

/// A CA and a server certificate for 127.0.0.1 that it signed.
struct Tls {
    dir: TempDir,
}

impl Tls {
    fn make() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::write(d.join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        let openssl = tool("openssl", "openssl");
        for args in [
            "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=seedline-test-ca",
            "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext",
        ] {
            let ok = Command::new(&openssl)
                .args(args.split(' '))
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run openssl")
                .success();
            assert!(ok, "openssl {args} failed");
        }
        Self { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl RedisServer {
    fn new(program: (&'static str, &'static str), args: Vec<String>, tls: bool) -> Self {
        let cluster = args.iter().any(|a| a == "--cluster-enabled");
        let mut r = Self {
            port: 0,
            child: None,
            program,
            args,
            tls: tls.then(Tls::make),
        };
        // A free port can be taken by another test before the server binds it (and a
        // cluster node also binds port + 10000): the server then exits, and it is
        // started again on another port.
        for _ in 0..5 {
            r.port = if cluster { cluster_port() } else { free_port() };
            if r.launch() {
                return r;
            }
        }
        panic!("{} did not start on any of 5 ports", r.program.0);
    }

    /// Debian's `redis-server`.
    pub fn start() -> Self {
        Self::new(("redis-server", "redis-server"), Vec::new(), false)
    }

    /// `valkey-server` (Debian 13, or bookworm-backports).
    pub fn start_valkey() -> Self {
        Self::new(("valkey-server", "valkey-server"), Vec::new(), false)
    }

    /// `redis-server` accepting TLS only, with a certificate signed by [`Self::ca_file`].
    pub fn start_tls() -> Self {
        Self::new(("redis-server", "redis-server"), Vec::new(), true)
    }

    /// `redis://127.0.0.1:PORT/0` (`rediss://` over TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    /// The CA that signed the server's certificate (TLS only).
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|t| PathBuf::from(t.file("ca.pem")))
    }

    /// `redis-cli ARGS...` against this server: its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(tool("redis-cli", "redis-tools"));
        cmd.args(["-p", &self.port.to_string()]);
        if let Some(t) = &self.tls {
            cmd.args(["--tls", "--cacert", &t.file("ca.pem")]);
        }
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        assert!(out.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends `sig` (`STOP`, `CONT`, ...) to the server.
    pub fn signal(&self, sig: &str) {
        let c = self.child.as_ref().expect("the server runs");
        assert!(c.signal(sig), "kill -{sig} redis-server");
    }

    /// Kills the server (its data goes with it) and waits until the port is closed.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.signal("KILL");
            c.wait(Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same port; waits until it accepts connections.
    pub fn resume(&mut self) {
        assert!(self.launch(), "{} did not start", self.program.0);
    }

    /// Starts the server on `self.port`; whether it accepts connections within 10 s (not
    /// if it exited: its port was taken).
    fn launch(&mut self) -> bool {
        let bin = tool(self.program.0, self.program.1);
        let port = self.port.to_string();
        let mut cmd = Command::new(bin);
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no"]);
        match &self.tls {
            Some(t) => {
                cmd.args(["--port", "0", "--tls-port", &port])
                    .args(["--tls-cert-file", &t.file("server.pem")])
                    .args(["--tls-key-file", &t.file("server.key")])
                    .args(["--tls-ca-cert-file", &t.file("ca.pem")])
                    .args(["--tls-auth-clients", "no"]);
            }
            None => {
                cmd.args(["--port", &port]);
            }
        }
        let child = KillOnDrop::spawn(
            cmd.args(&self.args)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = matches!(child.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() >= deadline {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// A free port whose cluster bus port (+10000) is free too.
fn cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p <= 55_535 && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

/// A Redis Cluster of `redis-server`s, each the primary of a third (or so) of the
/// slots, no replicas.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    _dir: TempDir,
}

impl RedisCluster {
    pub fn start(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let nodes: Vec<RedisServer> = (0..n)
            .map(|i| {
                let conf = dir.path().join(format!("nodes-{i}.conf"));
                let args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]
                    .map(String::from)
                    .into_iter()
                    .chain(["--cluster-config-file".into(), path(&conf)])
                    .collect();
                RedisServer::new(("redis-server", "redis-server"), args, false)
            })
            .collect();
        let mut create = vec!["--cluster".to_string(), "create".into()];
        create.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
        let args: Vec<&str> = create.iter().map(String::as_str).collect();
        nodes[0].cli(&args);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|n| n.cli(&["cluster", "info"]).contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster did not form");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { nodes, _dir: dir }
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
