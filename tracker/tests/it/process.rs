//! The real `tracker` binary as a child process: started on ephemeral ports, its JSON
//! log read for addresses and events, signalled, and always killed on drop.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seedline_testkit::KillOnDrop;

use crate::util::WAIT;

pub struct Proc {
    child: KillOnDrop,
    pub public: SocketAddr,
    pub admin: SocketAddr,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Proc {
    /// Starts the tracker with `args` plus loopback listeners and JSON logs; waits
    /// (bounded) until both listeners are up.
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_wrapped(&[], args)
    }

    /// As [`Self::spawn`], run through `wrapper` (a command that ends by running its
    /// first operand with the rest, such as `sh -c 'ulimit -f 8; exec "$0" "$@"'`).
    pub fn spawn_wrapped(wrapper: &[&str], args: &[&str]) -> Self {
        let bin = env!("CARGO_BIN_EXE_tracker");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = KillOnDrop::spawn(
            cmd.args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
                .args(["--log-format", "json", "--log-level", "info"])
                .args(args)
                .env_remove("RUST_LOG")
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let stderr = child.child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "fields": { "message": line } }));
                sink.lock().unwrap().push(v);
            }
        });
        let mut p = Self {
            child,
            public: "0.0.0.0:0".parse().unwrap(),
            admin: "0.0.0.0:0".parse().unwrap(),
            log,
        };
        p.public = p.addr_of("tracker listening");
        p.admin = p.addr_of("admin listening");
        p
    }

    fn addr_of(&mut self, message: &str) -> SocketAddr {
        let v = self
            .wait_log(message)
            .unwrap_or_else(|| panic!("tracker did not log {message:?}: {:?}", self.messages()));
        v["fields"]["addr"].as_str().unwrap().parse().unwrap()
    }

    /// The first log event whose message starts with `message`, waiting up to [`WAIT`].
    pub fn wait_log(&mut self, message: &str) -> Option<serde_json::Value> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(v) = self.find_log(message) {
                return Some(v);
            }
            if let Ok(Some(status)) = self.child.child.try_wait() {
                panic!("tracker exited ({status}): {:?}", self.messages());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn find_log(&self, message: &str) -> Option<serde_json::Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .find(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .cloned()
    }

    pub fn messages(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["fields"].to_string())
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.child.id()
    }

    pub fn signal(&self, sig: &str) {
        assert!(self.child.signal(sig), "kill -{sig}");
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        self.child
            .wait_for(WAIT)
            .expect("tracker did not exit after SIGTERM")
    }
}
