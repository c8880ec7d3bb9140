//! Real clients download from the seeder's webseed listener alone (BEP 19): the tracker
//! runs but nobody seeds over BitTorrent, so every byte comes over HTTP. The torrents are
//! published into the library with the origin's URL in `url-list`, written by
//! `make-torrent --publish` from `--public-http-url` or from `SEEDER_PUBLIC_HTTP_URL`.
//! Transmission and qBittorrent do the same in `transmission.rs` and `qbittorrent.rs`.

use std::process::{Command, Stdio};

use seedline_testkit::Run;

use crate::daemon_util::{test_config, Running};
use crate::real_clients::{aria2_with, assert_file_same, libtorrent, multi_file};
use crate::util::{assert_same_tree, parse, write_tree};

/// A library seeder serving over HTTP only (it announces to nowhere), a tracker nobody
/// seeds on, and two torrents published with the origin's URL: (seeder, tracker,
/// torrents, library).
async fn webseed_only() -> (Running, Running, [String; 2], tempfile::TempDir) {
    let empty = tempfile::tempdir().unwrap();
    let mut t = test_config();
    t.library = Some(empty.path().to_owned());
    t.embedded_tracker_open = true;
    let tracker = Running::start(t).await;

    let lib = tempfile::tempdir().unwrap();
    let mut cfg = test_config();
    cfg.library = Some(lib.path().to_owned());
    cfg.tracker = Some("http://127.0.0.1:9/announce".into());
    cfg.http_listen = Some("127.0.0.1:0".parse().unwrap());
    let seeder = Running::start(cfg).await;
    let url = format!("http://{}/", seeder.http.unwrap());
    let announce = format!("http://{}/announce", tracker.tracker.unwrap());

    write_tree(lib.path(), &multi_file());
    write_tree(lib.path(), &[("one.iso", 700_001)]);
    let publish = |name: &str, flag: Option<&str>| {
        let content = lib.path().join(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_make-torrent"));
        cmd.arg(&content)
            .args(["-l", "32K", "-a", &announce, "--publish"])
            .arg(lib.path())
            .env_remove("SEEDER_PUBLIC_HTTP_URL")
            .stdin(Stdio::null());
        match flag {
            Some(u) => cmd.args(["--public-http-url", u]),
            // What an operator's environment file gives both programs.
            None => cmd.env("SEEDER_PUBLIC_HTTP_URL", &url),
        };
        Run::of(&mut cmd).ok();
        let torrent = lib.path().join(format!("{name}.torrent"));
        assert_eq!(parse(&torrent).metainfo.url_list, vec![url.clone()]);
        torrent.to_str().unwrap().to_owned()
    };
    let torrents = [publish("Release ü", Some(&url)), publish("one.iso", None)];
    assert!(seeder.until_seeding(2).await);
    (seeder, tracker, torrents, lib)
}

/// Nothing came over the peer wire; at least `bytes` over HTTP.
async fn only_http(seeder: &Running, bytes: usize) {
    let m = seeder.metrics().await;
    let get = |k: &str| crate::daemon_util::metric(&m, k);
    assert_eq!(get("seedline_seeder_connections_total"), 0.0, "{m}");
    assert!(
        get("seedline_seeder_http_bytes_total") >= bytes as f64,
        "{m}"
    );
}

const MULTI_BYTES: usize = 1_500_000 + 12_345 + 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_from_the_webseed_alone() {
    let (seeder, tracker, [multi, single], lib) = webseed_only().await;
    let out = libtorrent(&multi, 1).await;
    assert_same_tree(
        &lib.path().join("Release ü"),
        &out.path().join("0/Release ü"),
    );
    let out = libtorrent(&single, 1).await;
    assert_file_same(&lib.path().join("one.iso"), &out.path().join("0/one.iso"));
    only_http(&seeder, MULTI_BYTES + 700_001).await;
    seeder.stop().await;
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aria2_downloads_from_the_webseed_alone() {
    let (seeder, tracker, [multi, single], lib) = webseed_only().await;
    // DHT, local discovery and peer exchange are off in the suite's aria2c.
    let out = aria2_with(&multi, &[]).await;
    assert_same_tree(&lib.path().join("Release ü"), &out.path().join("Release ü"));
    let out = aria2_with(&single, &[]).await;
    assert_file_same(&lib.path().join("one.iso"), &out.path().join("one.iso"));
    only_http(&seeder, MULTI_BYTES + 700_001).await;
    seeder.stop().await;
    tracker.stop().await;
}
