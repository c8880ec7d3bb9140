//! Requests a tracker on the internet receives every day. Each gets the right kind of
//! answer, and the server stays healthy afterwards.

use seedline_common::FailureResponse;
use tokio::io::AsyncWriteExt;

use crate::util::*;

const IH: &str = "%124Vx%9A%BC%DE%F0%124Vx%9A%BC%DE%F0%124Vx";
const PID: &str = "-TR3000-xyzxyzxyzxyz";

/// Announce/scrape queries that must each get HTTP 200 with a failure reason containing
/// the given text.
fn failure_cases() -> Vec<(String, &'static str)> {
    let ok = format!("info_hash={IH}&peer_id={PID}&port=6881&left=0");
    vec![
        ("/announce".into(), "missing info_hash"),
        ("/announce?".into(), "missing info_hash"),
        (
            format!("/announce?peer_id={PID}&port=1&left=0"),
            "missing info_hash",
        ),
        (
            format!("/announce?info_hash={IH}&port=1&left=0"),
            "missing peer_id",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&left=0"),
            "missing port",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=1"),
            "missing left",
        ),
        (
            format!("/announce?info_hash=short&peer_id={PID}&port=1&left=0"),
            "info_hash must be 20 bytes, got 5",
        ),
        (
            format!("/announce?info_hash={IH}%00&peer_id={PID}&port=1&left=0"),
            "info_hash must be 20 bytes, got 21",
        ),
        (
            format!("/announce?info_hash=&peer_id={PID}&port=1&left=0"),
            "info_hash must be 20 bytes, got 0",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id=abc&port=1&left=0"),
            "peer_id must be 20 bytes",
        ),
        (
            format!(
                "/announce?info_hash=%G1{}&peer_id={PID}&port=1&left=0",
                "a".repeat(19)
            ),
            "info_hash is not valid percent-encoding",
        ),
        (
            format!(
                "/announce?info_hash={}%4&peer_id={PID}&port=1&left=0",
                "a".repeat(19)
            ),
            "info_hash is not valid percent-encoding",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=0&left=0"),
            "port must be between 1 and 65535",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=65536&left=0"),
            "port must be between",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=-1&left=0"),
            "port must be between",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=http&left=0"),
            "port must be between",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=1&left=lots"),
            "left must be a whole number",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=1&left=-5"),
            "left must be a whole number",
        ),
        (
            format!("/announce?info_hash={IH}&peer_id={PID}&port=1&left=99999999999999999999999"),
            "left must be a whole number",
        ),
        (
            format!("/announce?{ok}&uploaded=1.5"),
            "uploaded must be a whole number",
        ),
        (
            format!("/announce?{ok}&downloaded=0x10"),
            "downloaded must be a whole number",
        ),
        (format!("/announce?{ok}&event=start"), "unknown event"),
        (format!("/announce?{ok}&event=STARTED"), "unknown event"),
        (
            format!("/announce?{ok}&numwant=many"),
            "numwant must be a whole number",
        ),
        (
            format!("/announce?{ok}&key={}", "k".repeat(40)),
            "key must be at most 32 bytes",
        ),
        (
            format!("/announce?{ok}&key=%zz"),
            "key is not valid percent-encoding",
        ),
        (
            "/scrape?info_hash=abc".into(),
            "info_hash must be 20 bytes, got 3",
        ),
        (
            "/scrape?info_hash=%%%".into(),
            "info_hash is not valid percent-encoding",
        ),
        ("/scrape".into(), "full scrape is disabled"),
        ("/scrape?foo=bar".into(), "full scrape is disabled"),
        (
            format!("/announce?info_hash={IH}&info_hash=x&peer_id={PID}&port=1"),
            "missing left",
        ),
    ]
}

#[tokio::test]
async fn protocol_errors_get_a_failure_reason() {
    let s = TestServer::start(test_config()).await;
    let cases = failure_cases();
    assert!(cases.len() >= 30);
    let mut conn = Conn::open(s.addr()).await;
    for (target, want) in &cases {
        // All on one keep-alive connection: a failure must not poison the connection.
        conn.send(target, &[]).await;
        let r = conn
            .read_response()
            .await
            .unwrap_or_else(|| panic!("{target}: connection closed"));
        assert_eq!(r.status, 200, "{target}");
        let f = FailureResponse::decode(&r.body).unwrap_or_else(|| {
            panic!(
                "{target}: not a failure: {:?}",
                String::from_utf8_lossy(&r.body)
            )
        });
        assert!(
            f.reason.contains(want),
            "{target}: got {:?}, want {want:?}",
            f.reason
        );
    }
    s.assert_healthy().await;
    let m = s.metrics().await;
    let failures = metric(
        &m,
        "seedline_tracker_requests_total{endpoint=\"announce\",outcome=\"failure\",protocol=\"http\"}",
    )
    .unwrap()
        + metric(
            &m,
            "seedline_tracker_requests_total{endpoint=\"scrape\",outcome=\"failure\",protocol=\"http\"}",
        )
        .unwrap();
    assert_eq!(failures as usize, cases.len());
    assert_eq!(
        metric(&m, "seedline_tracker_torrents"),
        Some(0.0),
        "no failed request stored anything"
    );
    s.stop().await;
}

/// HTTP-level garbage: the status each must get (`None`: the server may just close).
fn http_cases() -> Vec<(Vec<u8>, Option<u16>)> {
    vec![
        (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Some(404)),
        (
            b"GET /announce/extra HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Some(404),
        ),
        (
            b"POST /announce HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Some(405),
        ),
        (
            b"DELETE /scrape HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Some(405),
        ),
        (b"GARBAGE\r\n\r\n".to_vec(), Some(400)),
        (b"GET /announce HTTP/9.9\r\n\r\n".to_vec(), None),
        (
            b"GET /announce?\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Some(400),
        ),
        (
            b"GET /announce HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
            Some(400),
        ),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
            None,
        ),
        (b"\r\n\r\n\r\n\r\n".to_vec(), None),
        (
            [
                b"GET /announce?".to_vec(),
                vec![b'a'; 9000],
                b" HTTP/1.1\r\n\r\n".to_vec(),
            ]
            .concat(),
            Some(431),
        ),
        (
            [
                b"GET / HTTP/1.1\r\nX: ".to_vec(),
                vec![b'a'; 9000],
                b"\r\n\r\n".to_vec(),
            ]
            .concat(),
            Some(431),
        ),
    ]
}

#[tokio::test]
async fn malformed_http_gets_4xx_or_a_clean_close() {
    let s = TestServer::start(test_config()).await;
    for (bytes, want) in http_cases() {
        let mut c = Conn::open(s.addr()).await;
        c.send_raw(&bytes).await;
        let _ = c.stream.shutdown().await;
        let r = c.read_response().await;
        let label = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
        match (want, r) {
            (Some(code), Some(r)) => assert_eq!(r.status, code, "{label}"),
            (Some(code), None) => panic!("{label}: closed without the expected {code}"),
            (None, Some(r)) => assert!(r.status >= 400, "{label}: {}", r.status),
            (None, None) => {}
        }
    }
    s.assert_healthy().await;
    s.stop().await;
}

#[tokio::test]
async fn random_bytes_never_hurt_the_server() {
    use rand::{Rng, SeedableRng};
    let s = TestServer::start(test_config()).await;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    for _ in 0..200 {
        let len = rng.random_range(1..2000);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) {
            bytes.splice(0..0, b"GET /announce?".iter().copied());
        }
        let mut c = Conn::open(s.addr()).await;
        c.send_raw(&bytes).await;
        let _ = c.stream.shutdown().await;
        let _ = c.read_response().await;
    }
    s.assert_healthy().await;
    s.stop().await;
}
