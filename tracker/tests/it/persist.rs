//! The state file across real restarts of the `tracker` binary, and SIGHUP reloads.

use seedline_common::failure::FailureResponse;
use seedline_common::{AnnounceResponse, Event, InfoHash, ScrapeResponse};

use crate::process::Proc;
use crate::util::*;

const TOKEN: &str = "persist-token-0123456789";

async fn downloaded(p: &Proc, ih: u8) -> Option<u32> {
    let r = get(
        p.public,
        &format!("/scrape?info_hash={}", format!("%{ih:02x}").repeat(20)),
    )
    .await;
    let sr = ScrapeResponse::decode(&r.body).unwrap();
    sr.files.get(&InfoHash([ih; 20])).map(|s| s.downloaded)
}

async fn complete(p: &Proc, ih: u8, peer: u8) {
    let mut a = announce(ih, peer, 6000 + u16::from(peer), 10, Event::Started);
    get(p.public, &announce_target(&a)).await;
    a.left = 0;
    a.event = Event::Completed;
    get(p.public, &announce_target(&a)).await;
}

#[tokio::test]
async fn counts_and_registrations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tracker.state");
    let args = [
        "--state-file",
        state.to_str().unwrap(),
        "--admin-token",
        TOKEN,
    ];
    let p = Proc::spawn(&args);
    complete(&p, 1, 1).await;
    complete(&p, 1, 2).await;
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        p.admin,
        "PUT",
        &format!("/api/torrents/{}", InfoHash([2; 20]).to_hex()),
        &[("Authorization", &auth)],
        br#"{"name": "release-2.iso"}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    complete(&p, 2, 3).await;
    assert_eq!(downloaded(&p, 1).await, Some(2));
    assert!(p.stop().success());
    assert!(state.exists(), "state saved at shutdown");

    let p = Proc::spawn(&args);
    // No peers were saved; the counts still are, registered or not.
    assert_eq!(downloaded(&p, 1).await, Some(2));
    assert_eq!(downloaded(&p, 2).await, Some(1));
    let r = request(
        p.admin,
        "GET",
        &format!("/api/torrents/{}", InfoHash([2; 20]).to_hex()),
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["registered"].as_bool(), v["name"].as_str()),
        (Some(true), Some("release-2.iso"))
    );
    // A new download adds to the restored count.
    complete(&p, 1, 9).await;
    assert_eq!(downloaded(&p, 1).await, Some(3));
    let m = String::from_utf8(get(p.admin, "/metrics").await.body).unwrap();
    assert_eq!(
        metric(&m, "seedline_tracker_state_loads_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert!(p.stop().success());
}

#[tokio::test]
async fn persisted_peers_are_handed_out_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tracker.state");
    let args = ["--state-file", state.to_str().unwrap(), "--persist-peers"];
    let p = Proc::spawn(&args);
    get(
        p.public,
        &announce_target(&announce(5, 1, 7777, 0, Event::Started)),
    )
    .await;
    assert!(p.stop().success());

    let p = Proc::spawn(&args);
    let r = get(
        p.public,
        &announce_target(&announce(5, 2, 8888, 1, Event::Started)),
    )
    .await;
    assert_eq!(
        reply_peers(&r.body),
        vec!["127.0.0.1:7777".parse().unwrap()]
    );
    let head = AnnounceResponse::decode(&r.body).unwrap().head;
    assert_eq!((head.complete, head.incomplete), (1, 1));
    assert!(p.stop().success());
}

#[tokio::test]
async fn a_corrupt_state_file_is_reported_kept_aside_and_the_tracker_starts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tracker.state");
    std::fs::write(&state, b"seedline-tracker-state\n\0\0\0\x01\x03garbage").unwrap();
    let p = Proc::spawn(&["--state-file", state.to_str().unwrap()]);
    let v = p.find_log("state file damaged").expect("damage logged");
    assert!(
        v["fields"]["problem"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{v}"
    );
    let m = String::from_utf8(get(p.admin, "/metrics").await.body).unwrap();
    assert_eq!(
        metric(&m, "seedline_tracker_state_loads_total{result=\"corrupt\"}"),
        Some(1.0)
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "damaged file kept for inspection");
    let r = get(
        p.public,
        &announce_target(&announce(1, 1, 1, 1, Event::Started)),
    )
    .await;
    assert!(AnnounceResponse::decode(&r.body).is_ok(), "serving");
    assert!(p.stop().success());
    // The next start reads the fresh file written at shutdown.
    let mut p = Proc::spawn(&["--state-file", state.to_str().unwrap()]);
    assert!(p.wait_log("state loaded").is_some());
    assert!(p.find_log("state file damaged").is_none());
}

#[tokio::test]
async fn sighup_reloads_the_access_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("allow.txt");
    std::fs::write(&list, "# nothing yet\n").unwrap();
    let p = Proc::spawn(&[
        "--mode",
        "allow",
        "--access-list",
        list.to_str().unwrap(),
        "--access-list-poll",
        "0",
    ]);
    let target = announce_target(&announce(3, 1, 1, 1, Event::Started));
    assert!(FailureResponse::decode(&get(p.public, &target).await.body).is_some());
    std::fs::write(&list, format!("{}\n", InfoHash([3; 20]).to_hex())).unwrap();
    p.signal("HUP");
    let served = eventually(|| async {
        AnnounceResponse::decode(&get(p.public, &target).await.body).is_ok()
    })
    .await;
    assert!(served, "SIGHUP reloaded the list");
    assert!(p.stop().success(), "SIGHUP did not kill the tracker");

    // A broken list at start is a configuration error.
    std::fs::write(&list, "nope\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tracker"))
        .args(["--mode", "allow", "--access-list", list.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{out:?}"
    );
}
