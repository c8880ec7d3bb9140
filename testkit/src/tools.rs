//! Finding the real programs the tests run. A missing one fails the test with what to
//! install: a test that skips itself would pass on a machine that checks nothing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The path of `program` on `PATH`, or a failure that names the Debian `package`.
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

/// Debian's python3 with python3-libtorrent (a python3 from pyenv earlier on `PATH`
/// lacks it). `SEEDLINE_TEST_PYTHON` points elsewhere if needed.
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
