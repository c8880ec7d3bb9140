//! What the webseed refuses and bounds: bad pieces, hostile clients (slowloris, a
//! non-reader, floods of ranges, the per-address cap), the upload budget, private and
//! ambiguous torrents, HTTP/1.0.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::daemon_util::{eventually, one_off, test_config, Running, DEADLINE};
use crate::util::{make_torrent, write_tree};
use crate::webseed::{connect, origin, raw_status, request, Origin, PIECE};

/// Flips one byte of `rel` in place, keeping its size and modification time: only the
/// piece hashes can tell.
fn corrupt(o: &Origin, rel: &str, at: usize) -> Vec<u8> {
    let path = o.data.join(rel);
    let good = o.file(rel);
    let mut bad = good.clone();
    bad[at] ^= 0xff;
    let meta = std::fs::metadata(&path).unwrap();
    std::fs::write(&path, &bad).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    good
}

/// Our `make-torrent` torrents are trusted: each piece is hashed just before it is first
/// served. A bad piece among the first chunk's gets a 503 before any content; one found
/// later ends the response where it begins. The torrent is then not served at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_piece_ends_the_response_and_is_never_sent() {
    let o = origin(|_| {}, &[("big.bin", 4 << 20)]).await;
    let get = |name: &str| format!("GET /{name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    corrupt(&o, "one.iso", 3 * PIECE + 100);
    let (code, out) = raw_status(o.http, &get("one.iso")).await;
    assert_eq!(code, 503, "{}", String::from_utf8_lossy(&out));

    // Past the first chunk (1 MiB): the head is out, the response is cut at the piece.
    let cut = 2 << 20;
    let good = corrupt(&o, "big.bin", cut + 100);
    let (code, out) = raw_status(o.http, &get("big.bin")).await;
    assert_eq!(code, 200);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = &out[split..];
    assert_eq!(
        body.len(),
        cut,
        "the good pieces before the bad one, and no more"
    );
    assert!(
        body == &good[..cut],
        "what was sent is the verified content"
    );
    assert_eq!(
        o.seeder
            .metric("seedline_seeder_http_responses_aborted_total{reason=\"not_servable\"}")
            .await,
        1.0
    );
    for name in ["one.iso", "big.bin"] {
        let (code, _) = raw_status(o.http, &get(name)).await;
        assert_eq!(code, 503, "a damaged torrent is not served");
    }
    o.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_are_cut_off_while_others_are_served() {
    let o = origin(
        |c| {
            c.http_header_timeout = 1;
            c.write_timeout = 2;
            c.http_max_connections_per_address = 4;
        },
        &[("big.bin", 32 << 20)],
    )
    .await;
    let one = o.file("one.iso");
    let served = |addr| async move {
        let mut c = connect(addr).await;
        let (s, _, body) = request(&mut c, Method::GET, "/one.iso", &[]).await;
        s == StatusCode::OK && body.len() == 100_003
    };

    // Slowloris: a request head a byte at a time.
    let mut slow = TcpStream::connect(o.http).await.unwrap();
    // A client that asks for 32 MiB and never reads.
    let mut stuck = TcpStream::connect(o.http).await.unwrap();
    stuck
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let drip = async {
        for b in b"GET /one.iso HTTP/1.1\r\n" {
            if slow.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    tokio::time::timeout(DEADLINE, drip).await.unwrap();
    assert!(
        served(o.http).await,
        "served beside a slowloris and a non-reader"
    );
    let closed = |reason: &'static str| {
        let s = &o.seeder;
        async move {
            let key =
                format!("seedline_seeder_http_connections_closed_total{{reason=\"{reason}\"}}");
            eventually(|| async { s.metric(&key).await >= 1.0 }).await
        }
    };
    assert!(closed("slow_head").await);
    assert!(closed("write_stalled").await);
    let sent = o.seeder.metric("seedline_seeder_http_bytes_total").await;
    assert!(
        sent < (24 << 20) as f64,
        "{sent} bytes taken for a client that reads nothing"
    );

    // Ten thousand tiny ranges pipelined on one connection, all answered in order.
    let mut s = TcpStream::connect(o.http).await.unwrap();
    let (mut rd, mut wr) = s.split();
    let count = 10_000;
    let write = async {
        let mut reqs = Vec::new();
        for i in 0..count {
            let r = format!("GET /one.iso HTTP/1.1\r\nHost: x\r\nRange: bytes={i}-{i}\r\n\r\n");
            reqs.extend_from_slice(r.as_bytes());
        }
        wr.write_all(&reqs).await.unwrap();
    };
    let read = async {
        let mut all = Vec::new();
        let mut buf = vec![0u8; 65536];
        let marker = b"206 Partial Content";
        let mut seen = 0;
        while seen < count {
            let n = rd.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {seen} replies");
            all.extend_from_slice(&buf[..n]);
            seen = all.windows(marker.len()).filter(|w| w == marker).count();
        }
        all
    };
    let (_, all) = tokio::time::timeout(DEADLINE, async { tokio::join!(write, read) })
        .await
        .expect("10 000 replies in time");
    // The last reply's body is the byte at 9 999.
    assert_eq!(all.last(), Some(&one[count - 1]));
    // One header naming ten thousand ranges: the whole file.
    let many = (0..count)
        .map(|i| format!("{i}-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut c = connect(o.http).await;
    let (st, _, body) = request(
        &mut c,
        Method::GET,
        "/one.iso",
        &[("range", &format!("bytes={}", &many[..12_000]))],
    )
    .await;
    assert!(st == StatusCode::OK && body == one);

    // The per-address cap: 4 connections open, a fifth is closed at once.
    let _held: Vec<_> = open_connections(o.http, 3).await;
    let (code, _) = raw_status(o.http, "GET /one.iso HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(code, 0, "closed without a reply");
    assert!(
        o.seeder
            .metric("seedline_seeder_http_connections_refused_total{reason=\"per_address\"}")
            .await
            >= 1.0
    );
    drop(c);
    o.seeder.stop().await;
}

async fn open_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(TcpStream::connect(addr).await.unwrap());
    }
    v
}

/// The torrent's upload budget (shared with the peer wire) paces HTTP too: a lower bound
/// on the time, which a slow machine can only make longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_budget_paces_http() {
    let rate = 64 * 1024;
    let o = origin(|c| c.torrent_upload_rate = rate, &[]).await;
    let started = std::time::Instant::now();
    let mut c = connect(o.http).await;
    for _ in 0..2 {
        let (s, _, body) = request(&mut c, Method::GET, "/one.iso", &[]).await;
        assert!(s == StatusCode::OK && body.len() == 100_003);
    }
    // One second of burst, then the rest at `rate`.
    let least = (2.0 * 100_003.0 - rate as f64) / rate as f64;
    let took = started.elapsed().as_secs_f64();
    assert!(
        took >= least * 0.9,
        "{took:.2} s for what the budget allows in {least:.2} s"
    );
    o.seeder.stop().await;
}

/// A private torrent (BEP 27) is its tracker's to hand out: never served over HTTP.
/// Two torrents of one name from different data directories: refused as ambiguous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_ambiguous_torrents_are_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(&d.join("one"), &[("rel.bin", 5000), ("p.bin", 3000)]);
    write_tree(&d.join("two"), &[("rel.bin", 7000)]);
    let mut cfg = test_config();
    for (data, name, extra) in [
        ("one", "rel.bin", None),
        ("two", "rel.bin", None),
        ("one", "p.bin", Some("-p")),
    ] {
        let torrent = d.join(format!("{data}-{name}.torrent"));
        let content = d.join(data).join(name);
        let mut args = vec![
            content.to_str().unwrap(),
            "-a",
            "http://127.0.0.1:9/announce",
            "-o",
            torrent.to_str().unwrap(),
        ];
        args.extend(extra);
        make_torrent(d, &args).ok();
        cfg.torrents.push(one_off(&torrent, &d.join(data)));
    }
    cfg.tracker = Some("http://127.0.0.1:9/announce".into());
    cfg.http_listen = Some("127.0.0.1:0".parse().unwrap());
    let seeder = Running::start(cfg).await;
    assert!(seeder.until_seeding(3).await);
    let http = seeder.http.unwrap();
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(raw_status(http, &get("/rel.bin")).await.0, 409);
    assert_eq!(raw_status(http, &get("/p.bin")).await.0, 404);
    // HTTP/1.0 gets one response and the connection closes (raw_status reads to EOF).
    let (code, out) = raw_status(
        http,
        "GET /p.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )
    .await;
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&out).contains("connection: close"));
    seeder.stop().await;
}
