//! The tracker as its clients see it: started with some settings, announced to, its
//! replies decoded, and the counts its admin listener shows.

use seedline_common::{AnnounceRequest, AnnounceResponse, FailureResponse};
use seedline_tracker::Config;

use crate::util::{announce_target, get, metric, test_config, Response, TestServer};

/// A tracker on the test config with `tweak` applied to it.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let mut cfg = test_config();
    tweak(&mut cfg);
    TestServer::start(cfg).await
}

/// Sends the announce `r` to the tracker's first listener: the response as it came.
pub async fn send_announce(s: &TestServer, r: &AnnounceRequest) -> Response {
    get(s.addr(), &announce_target(r)).await
}

/// Announces `r`; the reply, which must be a normal one.
pub async fn announce_reply(s: &TestServer, r: &AnnounceRequest) -> AnnounceResponse {
    let resp = send_announce(s, r).await;
    AnnounceResponse::decode(&resp.body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&resp.body)))
}

/// Announces `r`; the reply, which must be a failure.
pub async fn announce_refused(s: &TestServer, r: &AnnounceRequest) -> FailureResponse {
    let resp = send_announce(s, r).await;
    FailureResponse::decode(&resp.body)
        .unwrap_or_else(|| panic!("a failure: {:?}", String::from_utf8_lossy(&resp.body)))
}

/// Asserts that the metrics on the admin listener read as `want` says: a line each, the
/// start of a metric's line (its name, and labels if any) and its value, as in the
/// exposition format.
pub async fn assert_metrics(s: &TestServer, want: &str) {
    let m = s.metrics().await;
    for line in want.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (prefix, value) = line.rsplit_once(' ').expect("a metric and its value");
        let value: f64 = value.parse().expect("a value");
        assert_eq!(metric(&m, prefix), Some(value), "{prefix} in\n{m}");
    }
}
