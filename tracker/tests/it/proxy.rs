use seedline_common::announce_response::{AnnounceResponse, Peers};
use seedline_common::{AnnounceRequest, Event, FailureResponse};
use seedline_process::settings::Settings;

use crate::client::*;
use crate::util::*;

fn peers_v4(body: &[u8]) -> Vec<std::net::SocketAddr> {
    match AnnounceResponse::decode(body).unwrap().peers {
        Peers::Compact { v4, .. } => v4,
        Peers::Dict(_) => panic!("compact requested"),
    }
}

/// Announces `a` to torrent 1, then another peer (port 7001): what that one is given.
async fn handed_out_after(s: &TestServer, a: &AnnounceRequest) -> Vec<std::net::SocketAddr> {
    send_announce(s, a).await;
    let r = send_announce(s, &announce(1, 2, 7001, 5, Event::Started)).await;
    peers_v4(&r.body)
}

#[tokio::test]
async fn trusted_proxy_headers_decide_the_client_address() {
    let s = start_with(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let t = announce_target(&announce(1, 1, 5000, 5, Event::Started));
    // A client-supplied hop on the left must not win over what our proxy appended.
    let r = get_with(s.addr(), &t, &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")]).await;
    let ext = AnnounceResponse::decode(&r.body).unwrap().head.external_ip;
    assert_eq!(ext, Some("203.0.113.7".parse().unwrap()));
    let r = get_with(
        s.addr(),
        &announce_target(&announce(1, 2, 5001, 5, Event::Started)),
        &[("X-Real-IP", "198.51.100.2")],
    )
    .await;
    assert_eq!(peers_v4(&r.body), vec!["203.0.113.7:5000".parse().unwrap()]);

    // Without either header: a failure reply and a metric, never a crash.
    let r = get(s.addr(), &t).await;
    assert_eq!(r.status, 200);
    let f = FailureResponse::decode(&r.body).expect("failure");
    assert!(f.reason.contains("X-Forwarded-For"), "{}", f.reason);
    let r = get_with(s.addr(), &t, &[("X-Forwarded-For", "garbage")]).await;
    assert!(FailureResponse::decode(&r.body).is_some());
    assert_metrics(
        &s,
        r#"
        seedline_tracker_failures_total{reason="proxy_header_missing"} 1
        seedline_tracker_failures_total{reason="proxy_header_invalid"} 1
        "#,
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn untrusted_connections_cannot_spoof_their_address() {
    let s = start_with(|c| c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let t = announce_target(&announce(1, 1, 5000, 5, Event::Started));
    let r = get_with(
        s.addr(),
        &t,
        &[
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Real-IP", "203.0.113.8"),
        ],
    )
    .await;
    let ext = AnnounceResponse::decode(&r.body).unwrap().head.external_ip;
    assert_eq!(ext, Some("127.0.0.1".parse().unwrap()));
    s.stop().await;
}

#[tokio::test]
async fn ip_parameter_ignored_unless_enabled() {
    let mut a = announce(1, 1, 7000, 5, Event::Started);
    a.ip = Some("192.0.2.1".parse().unwrap());
    for (allow, want) in [(false, "127.0.0.1:7000"), (true, "192.0.2.1:7000")] {
        let s = start_with(|c| c.allow_ip_param = allow).await;
        let got = handed_out_after(&s, &a).await;
        assert_eq!(got, vec![want.parse().unwrap()], "allow_ip_param {allow}");
        s.stop().await;
    }
}

#[tokio::test]
async fn ip_parameter_believed_only_from_listed_networks() {
    let mut a = announce(1, 1, 7000, 0, Event::Started);
    a.ip = Some("192.0.2.1".parse().unwrap());
    for (net, want) in [
        ("10.0.0.0/8", "127.0.0.1:7000"),
        ("127.0.0.0/8", "192.0.2.1:7000"),
    ] {
        let s = start_with(|c| c.ip_param_from = vec![net.parse().unwrap()]).await;
        let got = handed_out_after(&s, &a).await;
        assert_eq!(got, vec![want.parse().unwrap()], "{net}");
        s.stop().await;
    }
}

/// Issue 13, finding 3: behind a proxy, `ip=` came from every client. A configuration
/// where the two lists overlap is refused (the binary's exit 64 is in `lifecycle`).
#[test]
fn ip_parameter_networks_may_not_overlap_proxies() {
    let mut cfg = test_config();
    cfg.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    cfg.ip_param_from = vec!["127.0.0.0/8".parse().unwrap()];
    assert!(cfg.validate().is_err());
    cfg.ip_param_from = vec!["10.0.0.5/32".parse().unwrap()];
    cfg.validate().unwrap();
}
