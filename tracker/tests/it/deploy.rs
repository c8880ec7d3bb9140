//! The shipped deploy/ files, checked with the real programs (nginx, HAProxy, Prometheus,
//! systemd-analyze) against this build of the tracker. The runner lives in deploy/tests.

use std::path::Path;
use std::process::Command;

#[test]
fn deploy_files_work_with_the_real_programs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let out = Command::new("/usr/bin/python3")
        .arg(root.join("deploy/tests/run.py"))
        .args(["--tracker", env!("CARGO_BIN_EXE_tracker")])
        .current_dir(root)
        .output()
        .expect("run /usr/bin/python3 deploy/tests/run.py (apt-get install python3)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "deploy tests failed:\n{text}");
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("");
    assert!(
        summary.contains(" 0 failed"),
        "no clean summary line:\n{text}"
    );
}
