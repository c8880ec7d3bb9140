//! A child process that cannot outlive its test: killed and reaped when dropped, however
//! the test ends (a failed assertion unwinds through the drop), and waited for only up to
//! a deadline.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a deadline wait looks at the child again.
const POLL: Duration = Duration::from_millis(20);

/// A child process that is killed and reaped when dropped.
pub struct KillOnDrop {
    pub child: Child,
}

impl KillOnDrop {
    /// Starts `cmd`, failing the test if it cannot.
    pub fn spawn(cmd: &mut Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        Self { child }
    }

    /// The child's exit status once it exits, or `None` if it still runs at `timeout`
    /// (it is then left to the drop to kill), for a caller that says what it waited for.
    pub fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the process to exit, failing the test at `timeout`.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        match self.wait_for(timeout) {
            Some(status) => status,
            None => panic!("child still running after {timeout:?}"),
        }
    }

    /// [`Self::wait`] on a blocking thread, so an async test's runtime keeps serving
    /// while the child runs; the child is dropped (killed if still running) there.
    pub async fn finish(mut self, timeout: Duration) -> ExitStatus {
        match tokio::task::spawn_blocking(move || self.wait(timeout)).await {
            Ok(status) => status,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Sends `sig` (a name such as `TERM` or `INT`) with kill(1), as an operator or
    /// init system would; whether kill succeeded (it fails once the child is gone).
    pub fn signal(&self, sig: &str) -> bool {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    }

    /// The child's stdout line by line, read in a thread, so reads can time out.
    pub fn stdout_lines(&mut self) -> mpsc::Receiver<String> {
        lines(self.child.stdout.take().expect("stdout is piped"))
    }

    /// The child's stderr line by line, read in a thread, so reads can time out.
    pub fn stderr_lines(&mut self) -> mpsc::Receiver<String> {
        lines(self.child.stderr.take().expect("stderr is piped"))
    }

    pub fn take_stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin is piped")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `r` line by line in a thread until it ends or the receiver is dropped: a pipe
/// read blocks, a channel can be read with `recv_timeout`.
pub fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
