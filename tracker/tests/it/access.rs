//! Allow and deny modes, the access-list file and its reloads.

use seedline_common::failure::FailureResponse;
use seedline_common::{AnnounceResponse, Event, InfoHash, ScrapeResponse};
use seedline_tracker::access::Mode;

use crate::client::*;
use crate::util::*;

fn hex(b: u8) -> String {
    InfoHash([b; 20]).to_hex()
}

fn failure(body: &[u8]) -> Option<String> {
    FailureResponse::decode(body).map(|f| f.reason)
}

async fn announce_ih(s: &TestServer, ih: u8) -> Response {
    send_announce(s, &announce(ih, 1, 6881, 1, Event::Started)).await
}

/// A tracker in `mode` with its list in the file `name`, written with `contents` before
/// it starts and looked at again every `poll` seconds if given: the tracker, the file and
/// the directory that holds it.
async fn with_list(
    mode: Mode,
    name: &str,
    contents: &str,
    poll: Option<u32>,
) -> (TestServer, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join(name);
    std::fs::write(&list, contents).unwrap();
    let s = start_with(|c| {
        c.mode = mode;
        c.access_list = Some(list.clone());
        if let Some(poll) = poll {
            c.access_list_poll = poll;
        }
    })
    .await;
    (s, list, dir)
}

#[tokio::test]
async fn allow_mode_serves_listed_torrents_only_and_reloads_on_change() {
    let first = format!("# our releases\n{}  # first\n", hex(1));
    let (s, list, _dir) = with_list(Mode::Allow, "allow.txt", &first, Some(1)).await;

    let ok = announce_ih(&s, 1).await;
    assert!(
        AnnounceResponse::decode(&ok.body).is_ok(),
        "listed torrent served"
    );
    let refused = announce_ih(&s, 2).await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        failure(&refused.body).as_deref(),
        Some("torrent not registered with this tracker")
    );
    // The refused announce stored nothing.
    assert_eq!(s.tracker.store.torrent_count(), 1);
    let scrape = get(s.addr(), &format!("/scrape?info_hash={}", "%02".repeat(20))).await;
    assert_eq!(
        failure(&scrape.body).as_deref(),
        Some("torrent not registered with this tracker")
    );

    // An edit that adds torrent 2 and drops torrent 1 is picked up by the poll; the
    // dropped torrent's swarm goes with it.
    std::fs::write(&list, format!("{}\n", hex(2))).unwrap();
    let reloaded =
        eventually(|| async { AnnounceResponse::decode(&announce_ih(&s, 2).await.body).is_ok() })
            .await;
    assert!(reloaded, "the changed list was loaded");
    assert_eq!(
        failure(&announce_ih(&s, 1).await.body).as_deref(),
        Some("torrent not registered with this tracker")
    );
    assert!(
        s.tracker.store.stats(&InfoHash([1; 20])).is_none(),
        "swarm 1 dropped"
    );

    // A broken file keeps the previous list.
    std::fs::write(&list, format!("{}\nthis is not a hash\n", hex(3))).unwrap();
    let failed = eventually(|| async {
        metric(
            &s.metrics().await,
            "seedline_tracker_access_list_reloads_total{result=\"error\"}",
        ) == Some(1.0)
    })
    .await;
    assert!(failed, "the broken file was read and refused");
    assert!(AnnounceResponse::decode(&announce_ih(&s, 2).await.body).is_ok());
    assert!(failure(&announce_ih(&s, 3).await.body).is_some());

    assert_metrics(
        &s,
        r#"seedline_tracker_access_list_entries{source="file"} 1"#,
    )
    .await;
    let m = s.metrics().await;
    assert!(
        metric(
            &m,
            "seedline_tracker_failures_total{reason=\"not_registered\"}"
        )
        .unwrap()
            >= 4.0
    );
    s.stop().await;
}

#[tokio::test]
async fn deny_mode_refuses_listed_torrents_and_scrapes_skip_them() {
    let (s, _, _dir) = with_list(Mode::Deny, "deny.txt", &format!("{}\n", hex(9)), None).await;
    assert_eq!(
        failure(&announce_ih(&s, 9).await.body).as_deref(),
        Some("torrent is not allowed on this tracker")
    );
    assert!(AnnounceResponse::decode(&announce_ih(&s, 8).await.body).is_ok());
    // A scrape of an allowed and a denied torrent answers for the allowed one only.
    let r = get(
        s.addr(),
        &format!(
            "/scrape?info_hash={}&info_hash={}",
            "%08".repeat(20),
            "%09".repeat(20)
        ),
    )
    .await;
    let sr = ScrapeResponse::decode(&r.body).unwrap();
    assert_eq!(sr.files.len(), 1);
    assert!(sr.files.contains_key(&InfoHash([8; 20])));
    assert_metrics(&s, r#"seedline_tracker_failures_total{reason="denied"} 1"#).await;
    s.stop().await;
}

#[tokio::test]
async fn full_scrape_lists_tracked_torrents_from_a_short_lived_cache() {
    let s = start_with(|c| (c.full_scrape, c.full_scrape_cache) = (true, 3600)).await;
    announce_ih(&s, 1).await;
    let first = ScrapeResponse::decode(&get(s.addr(), "/scrape").await.body).unwrap();
    assert_eq!(first.files.len(), 1);
    announce_ih(&s, 2).await;
    // Within the cache's lifetime the same reply is served.
    let second = ScrapeResponse::decode(&get(s.addr(), "/scrape").await.body).unwrap();
    assert_eq!(second.files.len(), 1);
    assert_metrics(
        &s,
        "
        seedline_tracker_full_scrape_builds_total 1
        seedline_tracker_full_scrape_cache_hits_total 1
        ",
    )
    .await;
    s.stop().await;

    let s = start_with(|c| {
        (c.full_scrape, c.full_scrape_cache, c.full_scrape_max) = (true, 0, 2);
    })
    .await;
    for ih in 1..=5 {
        announce_ih(&s, ih).await;
    }
    let all = ScrapeResponse::decode(&get(s.addr(), "/scrape").await.body).unwrap();
    assert_eq!(all.files.len(), 2, "bounded by full_scrape_max");
    s.stop().await;
}

#[tokio::test]
async fn a_torrent_dropped_by_a_list_edit_keeps_its_count() {
    let (s, list, dir) =
        with_list(Mode::Allow, "allow.txt", &format!("{}\n", hex(1)), Some(1)).await;
    let mut a = announce(1, 1, 6881, 5, Event::Started);
    send_announce(&s, &a).await;
    a.left = 0;
    a.event = Event::Completed;
    send_announce(&s, &a).await;

    // Replaced by rename, as operators should: never seen half-written.
    let tmp = dir.path().join("allow.new");
    std::fs::write(&tmp, format!("{}\n", hex(2))).unwrap();
    std::fs::rename(&tmp, &list).unwrap();
    assert!(
        eventually(|| async { failure(&announce_ih(&s, 1).await.body).is_some() }).await,
        "torrent 1 dropped"
    );
    std::fs::write(&tmp, format!("{}\n{}\n", hex(1), hex(2))).unwrap();
    std::fs::rename(&tmp, &list).unwrap();
    let back = eventually(|| async {
        let r = get(s.addr(), &format!("/scrape?info_hash={}", "%01".repeat(20))).await;
        ScrapeResponse::decode(&r.body)
            .ok()
            .and_then(|sr| sr.files.get(&InfoHash([1; 20])).map(|f| f.downloaded))
            == Some(1)
    })
    .await;
    assert!(back, "the count came back with the torrent");
    s.stop().await;
}
