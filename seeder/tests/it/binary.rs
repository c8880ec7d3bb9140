//! The real `seeder` binary: config errors exit 64 before binding, `--print-config`
//! shows flags and environment, and SIGTERM announces `stopped` and exits 0.

use std::process::{Command, Stdio};
use std::time::Duration;

use seedline_testkit::{KillOnDrop, Run};
use seedline_tracker::{Config as TrackerConfig, Listeners as TrackerListeners};
use tokio_util::sync::CancellationToken;

use crate::daemon_util::{eventually, scrape, AllowTracker};
use crate::seed::release;

const BIN: &str = env!("CARGO_BIN_EXE_seeder");

/// The seeder binary on loopback serving `torrent` (content in `data`), announcing to
/// the tracker at `tracker`, output discarded.
fn seeder_cmd(
    torrent: &std::path::Path,
    data: &std::path::Path,
    tracker: std::net::SocketAddr,
) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .arg("--torrent")
        .arg(torrent)
        .arg("--data")
        .arg(data)
        .arg("--tracker")
        .arg(format!("http://{tracker}/announce"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn config_errors_exit_64_and_print_config_shows_the_sources() {
    let stderr = Run::of(&mut Command::new(BIN)).fails_with(64);
    assert!(stderr.contains("nothing to seed"));

    let stderr = Run::of(Command::new(BIN).args(["--library", "/srv/lib", "--upload-slots", "0"]))
        .fails_with(64);
    assert!(stderr.contains("upload_slots"));

    // Issue 14: a library that does not exist is a configuration error, not a seeder
    // that runs with nothing to serve.
    let stderr = Run::of(Command::new(BIN).args(["--library", "/nonexistent/seedline-library"]))
        .fails_with(64);
    assert!(
        stderr.contains("/nonexistent/seedline-library is not a directory"),
        "{stderr}"
    );

    let printed = Run::of(
        Command::new(BIN)
            .env("SEEDER_UPLOAD_RATE", "1000000")
            .args(["--library", "/srv/lib", "--print-config"]),
    )
    .ok();
    assert!(printed.contains("upload_rate = 1000000"), "{printed}");
    assert!(printed.contains("library = \"/srv/lib\""), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_announces_stopped_and_exits_zero() {
    let tcfg = TrackerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        ..TrackerConfig::default()
    };
    let tl = TrackerListeners::bind(&tcfg).unwrap();
    let tracker = tl.public_addrs()[0];
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    tokio::spawn(seedline_tracker::run(tcfg, tl, stop));

    let dir = tempfile::tempdir().unwrap();
    let (torrent, _) = release(dir.path(), true);
    let ih = seedline_common::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap())
        .unwrap()
        .info_hash;
    let log = dir.path().join("seeder.log");
    let mut cmd = seeder_cmd(&torrent, dir.path(), tracker);
    cmd.args(["--log-format", "json"])
        .stderr(std::fs::File::create(&log).unwrap());
    let child = KillOnDrop::spawn(&mut cmd);
    assert!(
        eventually(|| async { scrape(tracker, ih).await.is_some_and(|s| s.complete == 1) }).await,
        "the seeder announces started"
    );
    assert!(child.signal("TERM"));
    let status = child.finish(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{status}");
    // Issue 14, item 9: the line said nothing of whose shutdown it was (it comes from the
    // tracker crate's module).
    let log = std::fs::read_to_string(&log).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("shutting down"))
        .unwrap_or_else(|| panic!("no shutdown line: {log}"));
    assert!(line.contains(r#""service":"seeder""#), "{line}");
    // An empty swarm is dropped by the tracker, so `stopped` shows as no entry at all.
    let after = scrape(tracker, ih).await;
    assert!(
        after.is_none_or(|s| s.complete == 0),
        "the tracker heard `stopped` before the seeder exited: {after:?}"
    );
}

/// With `--tracker-api`, an allow-mode tracker learns the torrent from the seeder itself
/// and then tracks it; nothing is announced before the registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_an_allow_mode_tracker_then_announces() {
    let token = "seeder-test-token-0123456789";
    let allow = AllowTracker::start(token);
    let (t, tracker, admin) = (&allow.tracker, allow.addr, allow.admin);

    let dir = tempfile::tempdir().unwrap();
    let (torrent, _) = release(dir.path(), true);
    let meta = seedline_common::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let _child = KillOnDrop::spawn(
        seeder_cmd(&torrent, dir.path(), tracker)
            .arg("--tracker-api")
            .arg(format!("http://{admin}"))
            .env("SEEDER_TRACKER_API_TOKEN_FILE", &token_file),
    );
    assert!(
        eventually(|| async {
            scrape(tracker, meta.info_hash)
                .await
                .is_some_and(|s| s.complete == 1)
        })
        .await,
        "registered, then announced"
    );
    let entry = t.access.registration(&meta.info_hash).expect("registered");
    assert_eq!(
        entry.name.as_deref(),
        Some(meta.metainfo.info.name.as_str())
    );
    // The tracker never refused an announce from the seeder (the test's own early
    // scrapes were refused, as they should be).
    let m = String::from_utf8(t.metrics.render()).unwrap();
    assert!(
        m.contains("seedline_tracker_requests_total{endpoint=\"announce\",outcome=\"failure\",protocol=\"http\"} 0"),
        "{m}"
    );
}
