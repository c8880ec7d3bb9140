//! Shared test helpers: running `make-torrent`, building input trees and talking to the
//! libtorrent helper. Finding the real tools and child processes that are killed when the
//! test ends come from `seedline-testkit`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use seedline_common::metainfo::Parsed;
use seedline_common::Metainfo;
use seedline_testkit::Run;
pub use seedline_testkit::{python, tool, KillOnDrop};

/// Runs `make-torrent` with `args` in `cwd`.
pub fn make_torrent(cwd: &Path, args: &[&str]) -> Run {
    Run::of(
        Command::new(env!("CARGO_BIN_EXE_make-torrent"))
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null()),
    )
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

/// The libtorrent helper script next to these tests.
pub fn lt_helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/lt_helper.py")
}

/// Runs the libtorrent helper's `check` command with a JSON request.
pub fn lt_check(request: &serde_json::Value) -> serde_json::Value {
    lt_command("check", request)
}

/// Runs a libtorrent helper command that takes a JSON request on stdin.
pub fn lt_command(command: &str, request: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python())
        .arg(lt_helper())
        .arg(command)
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
        "lt_helper {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lt_helper prints JSON")
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
