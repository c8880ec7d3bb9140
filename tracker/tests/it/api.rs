//! The admin API: authentication, validation, registration and what it changes.

use seedline_common::{Event, InfoHash};
use seedline_tracker::access::Mode;
use serde_json::Value;

use crate::client::*;
use crate::util::*;

const TOKEN: &str = "test-token-0123456789";

pub fn api_config(mode: Mode) -> seedline_tracker::Config {
    let mut cfg = test_config();
    cfg.mode = mode;
    cfg.admin_token = Some(TOKEN.into());
    cfg
}

pub async fn call(s: &TestServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        s.admin,
        method,
        path,
        &[("Authorization", &auth)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    (
        r.status,
        serde_json::from_slice(&r.body).expect("JSON body"),
    )
}

fn hex(b: u8) -> String {
    InfoHash([b; 20]).to_hex()
}

#[tokio::test]
async fn authentication_and_validation() {
    let s = TestServer::start(api_config(Mode::Allow)).await;
    let path = format!("/api/torrents/{}", hex(1));
    let r = request(s.admin, "GET", &path, &[], b"").await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let r = request(
        s.admin,
        "PUT",
        &path,
        &[("Authorization", "Bearer wrong-token-0123456789")],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    // The API lives on the admin listener only.
    assert_eq!(get(s.addr(), &path).await.status, 404);

    for bad in ["/api/torrents/xyz", "/api/torrents/0123", "/api/denied/zz"] {
        let (status, v) = call(&s, "PUT", bad, "").await;
        assert_eq!(status, 400, "{bad}");
        assert!(v["error"].as_str().unwrap().contains("info hash"), "{v}");
    }
    assert_eq!(call(&s, "PUT", &path, "{not json").await.0, 400);
    assert_eq!(
        call(&s, "PUT", &path, r#"{"name": "x", "extra": 1}"#)
            .await
            .0,
        400
    );
    assert_eq!(
        call(
            &s,
            "PUT",
            &path,
            &format!(r#"{{"name": "{}"}}"#, "n".repeat(300))
        )
        .await
        .0,
        400
    );
    assert_eq!(call(&s, "PUT", &path, &" ".repeat(20_000)).await.0, 413);
    assert_eq!(call(&s, "POST", &path, "").await.0, 405);
    assert_eq!(call(&s, "DELETE", "/api/stats", "").await.0, 405);
    assert_eq!(call(&s, "GET", "/api/nothing", "").await.0, 404);
    assert_eq!(call(&s, "GET", "/api/torrents?limit=0", "").await.0, 400);
    assert_eq!(
        call(&s, "GET", "/api/torrents?after=nothex", "").await.0,
        400
    );
    // Nothing was registered by any of that.
    assert_eq!(s.tracker.access.registered_len(), 0);
    let m = s.metrics().await;
    assert_eq!(
        metric(&m, "seedline_tracker_api_requests_total{status=\"401\"}"),
        Some(2.0)
    );
    assert!(metric(&m, "seedline_tracker_api_requests_total{status=\"400\"}").unwrap() >= 6.0);
    s.stop().await;
}

#[tokio::test]
async fn without_a_token_there_is_no_api() {
    let s = TestServer::start(test_config()).await;
    let r = request(
        s.admin,
        "GET",
        "/api/stats",
        &[("Authorization", "Bearer anything-at-all-123")],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(String::from_utf8_lossy(&r.body).contains("admin API is off"));
    s.stop().await;
}

#[tokio::test]
async fn register_announce_inspect_list_and_unregister() {
    let a = announce(1, 1, 6881, 0, Event::Started);
    let s = TestServer::start(api_config(Mode::Allow)).await;
    announce_refused(&s, &a).await;

    let path = format!("/api/torrents/{}", hex(1));
    let (status, v) = call(&s, "PUT", &path, r#"{"name": "ubuntu-24.04.iso"}"#).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["registered"], true);
    assert_eq!(v["name"], "ubuntu-24.04.iso");
    assert_eq!(
        call(&s, "PUT", &path, "").await.0,
        200,
        "registering again is idempotent"
    );

    // Now served: a seeder and a leecher that completes.
    announce_reply(&s, &a).await;
    let mut l = announce(1, 2, 6882, 5, Event::Started);
    send_announce(&s, &l).await;
    l.left = 0;
    l.event = Event::Completed;
    send_announce(&s, &l).await;
    let (status, v) = call(&s, "GET", &path, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            v["seeders"].as_u64(),
            v["leechers"].as_u64(),
            v["downloaded"].as_u64()
        ),
        (Some(2), Some(0), Some(1))
    );
    assert_eq!(v["tracked"], true);
    assert_eq!(
        call(&s, "GET", &format!("/api/torrents/{}", hex(7)), "")
            .await
            .0,
        404
    );

    // Paging walks every torrent once, in hash order.
    for b in 2..=5 {
        call(&s, "PUT", &format!("/api/torrents/{}", hex(b)), "").await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let (status, v) = call(&s, "GET", &format!("/api/torrents?limit=2{after}"), "").await;
        assert_eq!(status, 200);
        for t in v["torrents"].as_array().unwrap() {
            seen.push(t["info_hash"].as_str().unwrap().to_string());
        }
        match v["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=5).map(hex).collect::<Vec<_>>());

    let (_, stats) = call(&s, "GET", "/api/stats", "").await;
    assert_eq!(stats["mode"], "allow");
    assert_eq!(stats["registered"], 5);
    assert_eq!(stats["seeders"], 2);

    // Unregistering in allow mode stops tracking: the swarm goes, announces fail.
    let (status, v) = call(&s, "DELETE", &path, "").await;
    assert_eq!(status, 200);
    assert_eq!(v["registered"], false);
    assert_eq!(call(&s, "DELETE", &path, "").await.0, 404);
    assert!(s.tracker.store.stats(&InfoHash([1; 20])).is_none());
    announce_refused(&s, &a).await;
    assert_metrics(
        &s,
        r#"seedline_tracker_access_list_entries{source="api_registered"} 4"#,
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn deny_through_the_api_drops_the_swarm() {
    let s = TestServer::start(api_config(Mode::Deny)).await;
    let a = announce(4, 1, 6881, 1, Event::Started);
    send_announce(&s, &a).await;
    assert_eq!(s.tracker.store.torrent_count(), 1);
    let path = format!("/api/denied/{}", hex(4));
    assert_eq!(call(&s, "PUT", &path, r#"{"name": "leaked"}"#).await.0, 201);
    assert_eq!(s.tracker.store.torrent_count(), 0);
    assert_eq!(
        announce_refused(&s, &a).await.reason,
        "torrent is not allowed on this tracker"
    );
    let (status, v) = call(&s, "GET", &path, "").await;
    assert_eq!((status, v["name"].as_str()), (200, Some("leaked")));
    assert_eq!(call(&s, "DELETE", &path, "").await.0, 200);
    announce_reply(&s, &a).await;
    s.stop().await;
}

/// A hybrid torrent is announced under two info hashes; the origin registers each linked
/// to the other, and the tracker counts them as one release.
#[tokio::test]
async fn a_hybrids_two_swarms_are_registered_linked() {
    let s = TestServer::start(api_config(Mode::Allow)).await;
    let (v1, v2) = (format!("/api/torrents/{}", hex(1)), hex(2));
    let body = format!(r#"{{"name": "release.iso", "linked": "{v2}"}}"#);
    let (status, v) = call(&s, "PUT", &v1, &body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["linked"], v2.as_str());
    let body = format!(r#"{{"name": "release.iso", "linked": "{}"}}"#, hex(1));
    let (status, _) = call(&s, "PUT", &format!("/api/torrents/{v2}"), &body).await;
    assert_eq!(status, 201);
    call(&s, "PUT", &format!("/api/torrents/{}", hex(3)), "").await;
    let (_, stats) = call(&s, "GET", "/api/stats", "").await;
    assert_eq!(
        (
            stats["registered"].as_u64(),
            stats["registered_releases"].as_u64()
        ),
        (Some(3), Some(2)),
        "{stats}"
    );
    // Registering again without a link keeps it; an unlinked torrent shows none.
    call(&s, "PUT", &v1, r#"{"name": "release.iso"}"#).await;
    assert_eq!(call(&s, "GET", &v1, "").await.1["linked"], v2.as_str());
    let (_, v) = call(&s, "GET", &format!("/api/torrents/{}", hex(3)), "").await;
    assert!(v.get("linked").is_none(), "{v}");
    // Once one side goes, the other is a release of its own again.
    call(&s, "DELETE", &format!("/api/torrents/{v2}"), "").await;
    let (_, stats) = call(&s, "GET", "/api/stats", "").await;
    assert_eq!(stats["registered_releases"], 2);

    let bad = [
        (r#"{"linked": "xyz"}"#, "40-hex-digit"),
        (&*format!(r#"{{"linked": "{}"}}"#, hex(1)), "itself"),
    ];
    for (body, says) in bad {
        let (status, v) = call(&s, "PUT", &v1, body).await;
        assert_eq!(status, 400, "{body}");
        assert!(v["error"].as_str().unwrap().contains(says), "{v}");
    }
    let (status, v) = call(&s, "PUT", &format!("/api/denied/{}", hex(4)), &body).await;
    assert_eq!(status, 400, "{v}");
    s.stop().await;
}
