//! A private `redis-server` (Debian's package) on a free loopback port, no persistence,
//! killed when dropped; it can be stopped and started again on the same port to play
//! an outage.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::KillOnDrop;
use crate::net::free_port;
use crate::tools::tool;

pub struct RedisServer {
    pub port: u16,
    child: Option<KillOnDrop>,
}

impl RedisServer {
    pub fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.resume();
        r
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `redis-cli ARGS...` against this server: its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(tool("redis-cli", "redis-tools"))
            .args(["-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        assert!(out.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
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
        let bin = tool("redis-server", "redis-server");
        let child = KillOnDrop::spawn(
            Command::new(bin)
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
