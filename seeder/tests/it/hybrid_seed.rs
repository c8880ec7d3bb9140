//! A hybrid torrent (BEP 52 + BEP 47) published into the library is served through its v1
//! swarm: its pad files are zeros the seeder never looks for on disk, and libtorrent,
//! which joins both swarms, downloads it byte-exact from the origin through the v2 one.
//! Both swarms are registered (linked) and announced.

use seedline_common::InfoHash;

use crate::daemon_util::{eventually, scrape, test_config, AllowTracker, Running};
use crate::real_clients::{assert_file_same, libtorrent, multi_file};
use crate::util::{assert_same_tree, make_torrent, parse, write_tree};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_a_hybrid_from_the_origin() {
    let lib = tempfile::tempdir().unwrap();
    let mut cfg = test_config();
    cfg.library = Some(lib.path().to_owned());
    cfg.http_listen = Some("127.0.0.1:0".parse().unwrap());
    let seeder = Running::start(cfg).await;
    let announce = format!("http://{}/announce", seeder.tracker.unwrap());
    write_tree(lib.path(), &multi_file());
    write_tree(lib.path(), &[("one.iso", 700_001)]);
    for name in ["Release ü", "one.iso"] {
        let content = lib.path().join(name);
        let args = [
            content.to_str().unwrap(),
            "--hybrid",
            "-l",
            "32K",
            "-a",
            &announce,
            "--publish",
            lib.path().to_str().unwrap(),
        ];
        make_torrent(lib.path(), &args).ok();
    }
    assert!(
        seeder.until_seeding(2).await,
        "both hybrids seeding: {}",
        seeder.metrics().await
    );
    let multi = lib.path().join("Release ü.torrent");
    let out = libtorrent(multi.to_str().unwrap(), 1).await;
    assert_same_tree(
        &lib.path().join("Release ü"),
        &out.path().join("0/Release ü"),
    );
    // libtorrent announces both swarms and speaks v2: it joins the v2 one (BEP 52).
    let v2 = seeder
        .metric("seedline_seeder_connections_swarm_total{swarm=\"v2\"}")
        .await;
    assert!(v2 >= 1.0, "{}", seeder.metrics().await);
    let single = lib.path().join("one.iso.torrent");
    let out = libtorrent(single.to_str().unwrap(), 1).await;
    assert_file_same(&lib.path().join("one.iso"), &out.path().join("0/one.iso"));
    // No pad file is on disk, and none can be asked for over HTTP: `extras/notes.txt`
    // (12 345 bytes) is followed by `.pad/20423` in the v1 list.
    assert!(!lib.path().join("Release ü/.pad").exists());
    let http = seeder.http.unwrap();
    let (status, _) = crate::daemon_util::http_get(http, "/Release%20%C3%BC/.pad/20423").await;
    assert!(status.contains("404"), "{status}");
    seeder.stop().await;
}

/// A hybrid is two swarms to a tracker: the origin registers both with an allow-mode
/// tracker's API, linked to each other (one release), and announces both; the tracker's
/// scrape answers both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_swarms_are_registered_linked_and_announced() {
    let token = "seeder-test-token-0123456789";
    let allow = AllowTracker::start(token);
    let lib = tempfile::tempdir().unwrap();
    let mut cfg = test_config();
    cfg.library = Some(lib.path().to_owned());
    cfg.tracker = Some(format!("http://{}/announce", allow.addr));
    cfg.tracker_api = Some(format!("http://{}", allow.admin));
    cfg.tracker_api_token = Some(token.into());
    let seeder = Running::start(cfg).await;
    write_tree(lib.path(), &[("one.iso", 100_000)]);
    let content = lib.path().join("one.iso");
    let args = [content.to_str().unwrap(), "--hybrid", "--publish"];
    make_torrent(
        lib.path(),
        &[&args[..], &[lib.path().to_str().unwrap()]].concat(),
    )
    .ok();
    let parsed = parse(&lib.path().join("one.iso.torrent"));
    let v1 = parsed.info_hash;
    let v2 = InfoHash(parsed.v2.unwrap().info_hash[..20].try_into().unwrap());
    for h in [v1, v2] {
        let seeded =
            eventually(|| async { scrape(allow.addr, h).await.is_some_and(|s| s.complete == 1) });
        assert!(seeded.await, "{h} registered and announced");
    }
    let access = &allow.tracker.access;
    assert_eq!(access.registration(&v1).unwrap().linked, Some(v2));
    assert_eq!(access.registration(&v2).unwrap().linked, Some(v1));
    assert_eq!(
        (access.registered_len(), access.registered_releases()),
        (2, 1)
    );
    seeder.stop().await;
}
