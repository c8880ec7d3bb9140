//! Shared test helpers: running `make-torrent`, building input trees, finding the real
//! tools (a missing tool fails the test with the package to install), and child
//! processes that are killed when the test ends, however it ends.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use seedline_common::metainfo::Parsed;
use seedline_common::Metainfo;

/// The output of one `make-torrent` run.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns standard output.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(
            self.status.success(),
            "make-torrent failed: {}",
            self.stderr
        );
        self.stdout
    }

    /// Asserts the exit status of `verify` finding bad data and returns standard output.
    #[track_caller]
    pub fn mismatch(self) -> String {
        let stdout = self.stdout.clone();
        self.fails_with(3);
        stdout
    }

    /// Asserts the given exit code and returns standard error.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> String {
        assert_eq!(
            self.status.code(),
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self.stderr
    }
}

/// Runs `make-torrent` with `args` in `cwd`.
pub fn make_torrent(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_make-torrent"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("make-torrent runs");
    into_run(out)
}

fn into_run(out: Output) -> Run {
    Run {
        status: out.status,
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Reads and parses a torrent with our own parser.
pub fn parse(path: &Path) -> Parsed {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Metainfo::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deterministic content that differs between files and positions.
pub fn content(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ seed.wrapping_mul(97) ^ (i >> 9)) as u8)
        .collect()
}

/// Creates files of the given lengths below `root`.
pub fn write_tree(root: &Path, files: &[(&str, usize)]) {
    for (i, (rel, len)) in files.iter().enumerate() {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content(*len, i)).unwrap();
    }
}

/// The path of a program from a Debian package, or a failure that says what to install.
pub fn tool(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{program} is not installed; install Debian's {package} package (.ci/run does)")
    })
}

/// Debian's python3 with python3-libtorrent (pyenv's python3 on PATH lacks it).
/// `SEEDLINE_TEST_PYTHON` points elsewhere if needed.
pub fn python() -> PathBuf {
    let python = std::env::var_os("SEEDLINE_TEST_PYTHON")
        .map_or_else(|| PathBuf::from("/usr/bin/python3"), PathBuf::from);
    let ok = Command::new(&python)
        .args(["-c", "import libtorrent"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import libtorrent; install Debian's python3-libtorrent package (.ci/run does)",
        python.display()
    );
    python
}

/// The libtorrent helper script next to these tests.
pub fn lt_helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/lt_helper.py")
}

/// Runs the libtorrent helper's `check` command with a JSON request.
pub fn lt_check(request: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python())
        .arg(lt_helper())
        .arg("check")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "lt_helper check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lt_helper prints JSON")
}

/// A child process that is killed and reaped when dropped.
pub struct KillOnDrop {
    pub child: Child,
}

impl KillOnDrop {
    pub fn spawn(cmd: &mut Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        Self { child }
    }

    /// Waits for the process to exit, failing the test at `timeout`.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "child still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Reads the child's stdout line by line in a thread, so reads can time out.
    pub fn stdout_lines(&mut self) -> mpsc::Receiver<String> {
        let stdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
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

/// A port that was free a moment ago, for tools that cannot bind port 0 themselves.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every file below `root`, relative, sorted.
pub fn list_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// Asserts two trees hold the same files with the same bytes.
#[track_caller]
pub fn assert_same_tree(expected: &Path, got: &Path) {
    let files = list_files(expected);
    assert_eq!(files, list_files(got), "file lists differ");
    for f in files {
        assert!(
            fs::read(expected.join(&f)).unwrap() == fs::read(got.join(&f)).unwrap(),
            "{f} differs"
        );
    }
}
