//! The webseed listener (BEP 19, `http_listen`) over real HTTP: hyper's client on one
//! keep-alive connection, raw requests no client would normalise, curl, many requests at
//! once. What it refuses and bounds is in `webseed_limits.rs`; real BitTorrent clients
//! downloading from it alone in `webseed_clients.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use seedline_seeder::daemon::config::Config;

use crate::daemon_util::{one_off, test_config, Running, DEADLINE};
use crate::util::{make_torrent, tool, write_tree};

/// Piece length of the test torrents: files start and end inside pieces.
pub const PIECE: usize = 16 * 1024;

pub const MULTI: [(&str, usize); 4] = [
    ("Rel ü/a.bin", 40_000),
    ("Rel ü/sub dir/b.bin", 70_001),
    ("Rel ü/empty", 0),
    ("Rel ü/c.txt", 5),
];

/// A seeder serving `one.iso` and `Rel ü/` over HTTP, announcing to nowhere.
pub struct Origin {
    pub seeder: Running,
    pub http: SocketAddr,
    pub data: PathBuf,
    _dir: TempDir,
}

pub async fn origin(tune: impl FnOnce(&mut Config), extra: &[(&str, usize)]) -> Origin {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut files = vec![("one.iso", 100_003)];
    files.extend(MULTI);
    files.extend(extra);
    write_tree(&data, &files);
    // Something beside the content that no URL may reach.
    std::fs::write(dir.path().join("secret"), b"not published").unwrap();
    let mut cfg = test_config();
    let mut names = vec!["one.iso", "Rel ü"];
    names.extend(extra.iter().map(|(n, _)| *n));
    for name in names {
        let torrent = dir
            .path()
            .join(format!("{}.torrent", name.replace(' ', "_")));
        make_torrent(
            dir.path(),
            &[
                data.join(name).to_str().unwrap(),
                "-l",
                "16K",
                "-a",
                "http://127.0.0.1:9/announce",
                "-o",
                torrent.to_str().unwrap(),
            ],
        )
        .ok();
        cfg.torrents.push(one_off(&torrent, &data));
    }
    let count = cfg.torrents.len();
    // No embedded tracker: the announce goes nowhere; only HTTP serves here.
    cfg.tracker = Some("http://127.0.0.1:9/announce".into());
    cfg.http_listen = Some("127.0.0.1:0".parse().unwrap());
    tune(&mut cfg);
    let seeder = Running::start(cfg).await;
    let http = seeder.http.expect("http listener");
    assert!(seeder.until_seeding(count).await);
    Origin {
        seeder,
        http,
        data,
        _dir: dir,
    }
}

impl Origin {
    pub fn file(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.data.join(rel)).unwrap()
    }
}

/// One keep-alive HTTP/1.1 connection through hyper's client.
pub async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let s = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

pub async fn request(
    send: &mut SendRequest<Empty<Bytes>>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "origin");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let fut = async {
        send.ready().await.unwrap();
        let r = send
            .send_request(b.body(Empty::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = r.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, body)
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("reply in time")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).map_or("", |v| v.to_str().unwrap())
}

const B_BIN: &str = "/Rel%20%C3%BC/sub%20dir/b.bin";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_ranges_and_conditionals_over_one_connection() {
    let o = origin(|_| {}, &[]).await;
    let mut c = connect(o.http).await;
    let one = o.file("one.iso");
    let b = o.file("Rel ü/sub dir/b.bin");

    let (s, h, body) = request(&mut c, Method::GET, "/one.iso", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body == one, "single file byte-exact");
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert_eq!(header(&h, "content-length"), "100003");
    let etag = header(&h, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with("-0\""), "{etag}");
    let modified = header(&h, "last-modified").to_owned();
    assert!(modified.ends_with(" GMT"), "{modified}");

    let (s, _, body) = request(&mut c, Method::GET, B_BIN, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body == b,
        "a file of a multi-file torrent, in a subdirectory"
    );
    let (s, h, body) = request(&mut c, Method::GET, "/Rel%20%C3%BC/empty", &[]).await;
    assert_eq!(
        (s, header(&h, "content-length"), body.len()),
        (StatusCode::OK, "0", 0)
    );

    // b.bin starts at byte 40 000 of the torrent, inside piece 2: these ranges cross
    // piece boundaries of the torrent.
    let len = b.len();
    for (asked, want) in [
        ("bytes=0-0", 0..1),
        ("bytes=0-16383", 0..16384),
        ("bytes=9000-30000", 9000..30001),
        ("bytes=65000-", 65000..len),
        (&format!("bytes={}-{}", len - 1, len - 1), len - 1..len),
        ("bytes=-10", len - 10..len),
        ("bytes=-999999", 0..len),
        ("bytes=60000-999999", 60000..len),
    ] {
        let (s, h, body) = request(&mut c, Method::GET, B_BIN, &[("range", asked)]).await;
        assert_eq!(s, StatusCode::PARTIAL_CONTENT, "{asked}");
        assert!(body == b[want.clone()], "{asked}: bytes differ");
        let cr = format!("bytes {}-{}/{len}", want.start, want.end - 1);
        assert_eq!(header(&h, "content-range"), cr, "{asked}");
        assert_eq!(header(&h, "content-length"), want.len().to_string());
    }
    for asked in [&format!("bytes={len}-"), "bytes=-0", "bytes=99999999-"] {
        let (s, h, body) = request(&mut c, Method::GET, B_BIN, &[("range", asked)]).await;
        assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE, "{asked}");
        assert_eq!(header(&h, "content-range"), format!("bytes */{len}"));
        assert!(body.is_empty());
    }
    // Several ranges, or a range we do not understand: the whole file.
    for asked in ["bytes=0-1,5-6", "bytes=5-1", "lines=1-2"] {
        let (s, _, body) = request(&mut c, Method::GET, B_BIN, &[("range", asked)]).await;
        assert_eq!(s, StatusCode::OK, "{asked}");
        assert!(body == b, "{asked}");
    }

    // HEAD: GET's headers, no body.
    let (s, h, body) = request(&mut c, Method::HEAD, B_BIN, &[]).await;
    assert_eq!((s, body.len()), (StatusCode::OK, 0));
    assert_eq!(header(&h, "content-length"), len.to_string());
    let b_etag = header(&h, "etag").to_owned();
    // Files in torrent order: a.bin, c.txt, empty, sub dir/b.bin.
    assert!(b_etag.ends_with("-3\"") && b_etag != etag, "{b_etag}");

    // Conditional requests.
    let (s, h, body) = request(&mut c, Method::GET, B_BIN, &[("if-none-match", &b_etag)]).await;
    assert_eq!((s, body.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!(header(&h, "etag"), b_etag);
    let (s, _, _) = request(
        &mut c,
        Method::GET,
        "/one.iso",
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    fn with(if_range: &str) -> [(&str, &str); 2] {
        [("range", "bytes=10-19"), ("if-range", if_range)]
    }
    let (s, _, body) = request(&mut c, Method::GET, B_BIN, &with(&b_etag)).await;
    assert_eq!((s, body), (StatusCode::PARTIAL_CONTENT, b[10..20].to_vec()));
    let (s, _, body) = request(&mut c, Method::GET, B_BIN, &with("\"stale\"")).await;
    assert!(
        s == StatusCode::OK && body == b,
        "a stale If-Range gets the whole file"
    );
    let (s, _, body) = request(&mut c, Method::GET, "/one.iso", &with(&modified)).await;
    assert_eq!(
        (s, body),
        (StatusCode::PARTIAL_CONTENT, one[10..20].to_vec())
    );
    let (s, _, _) = request(&mut c, Method::GET, B_BIN, &[("if-match", "\"other\"")]).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let (s, _, _) = request(&mut c, Method::GET, B_BIN, &[("if-match", &b_etag)]).await;
    assert_eq!(s, StatusCode::OK);

    let (s, h, _) = request(&mut c, Method::POST, B_BIN, &[]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&h, "allow"), "GET, HEAD");

    let m = o.seeder.metrics().await;
    let get = |k: &str| crate::daemon_util::metric(&m, k);
    assert_eq!(
        get("seedline_seeder_http_connections_total"),
        1.0,
        "one keep-alive connection"
    );
    assert!(get("seedline_seeder_http_requests_total{status=\"206\"}") >= 10.0);
    assert_eq!(
        get("seedline_seeder_http_requests_total{status=\"416\"}"),
        3.0
    );
    assert!(get("seedline_seeder_http_bytes_total") >= (one.len() + 4 * len) as f64);
    o.seeder.stop().await;
}

/// Sends `raw` as is (no client normalises it) and returns the status code.
pub async fn raw_status(addr: SocketAddr, raw: &str) -> (u16, Vec<u8>) {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A connection closed at accept may reset: whatever came is the answer.
        let _ = s.write_all(raw.as_bytes()).await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).into_owned();
        let code = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, out)
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("reply in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_never_leave_the_torrents() {
    let o = origin(|_| {}, &[]).await;
    for (path, want) in [
        ("/../secret", 404),
        ("/one.iso/../secret", 404),
        ("/%2e%2e/secret", 404),
        ("/Rel%20%C3%BC/..%2f..%2fsecret", 404),
        ("/Rel%20%C3%BC%2fc.txt", 404),
        ("/Rel%20%C3%BC/sub%20dir/../c.txt", 404),
        ("/Rel%20%C3%BC/./c.txt", 404),
        ("/Rel%20%C3%BC//c.txt", 404),
        ("/Rel%20%C3%BC/", 404),
        ("/Rel%20%C3%BC", 404),
        ("/data/one.iso", 404),
        ("/secret", 404),
        ("/", 404),
        ("/one.iso/", 404),
        ("/nothing.iso", 404),
        ("/%zz", 400),
        ("/one%2", 400),
        ("/%ff%fe", 400),
        ("/Rel%20%C3%BC/c.txt", 200),
    ] {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (code, out) = raw_status(o.http, &raw).await;
        assert_eq!(code, want, "{path}");
        assert!(
            !out.windows(13).any(|w| w == b"not published"),
            "{path} reached a file outside the torrents"
        );
    }
    // Not HTTP at all: a 400 from hyper, and the server goes on.
    let (code, _) = raw_status(o.http, "\x16\x03\x01 garbage\r\n\r\n").await;
    assert_eq!(code, 400);
    let (code, _) = raw_status(
        o.http,
        "GET /one.iso HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(code, 200);
    o.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_downloads_resumes_and_asks_for_heads() {
    let curl = tool("curl", "curl");
    let o = origin(|_| {}, &[]).await;
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(&curl)
            .args(["-sS", "--max-time", "30"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let url = |p: &str| format!("http://{}{p}", o.http);
    let whole = out.path().join("one.iso");
    run(&["-o", whole.to_str().unwrap(), &url("/one.iso")]);
    assert!(std::fs::read(&whole).unwrap() == o.file("one.iso"));

    // A download cut short, then resumed with a range from where it stopped.
    let b = o.file("Rel ü/sub dir/b.bin");
    let part = out.path().join("b.bin");
    std::fs::write(&part, &b[..12_345]).unwrap();
    run(&["-C", "-", "-o", part.to_str().unwrap(), &url(B_BIN)]);
    assert!(std::fs::read(&part).unwrap() == b, "resumed byte-exact");

    let got = run(&["-r", "16380-16390", &url(B_BIN)]);
    assert_eq!(got, b[16380..16391]);
    let head = String::from_utf8(run(&["-I", &url(B_BIN)])).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-length: 70001"),
        "{head}"
    );
    let code = run(&[
        "--path-as-is",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url("/one.iso/../../secret"),
    ]);
    assert_eq!(code, b"404");
    o.seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_range_requests_at_once() {
    let o = origin(|c| c.http_max_connections_per_address = 128, &[]).await;
    let one = std::sync::Arc::new(o.file("one.iso"));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (one, addr) = (one.clone(), o.http);
            tokio::spawn(async move {
                let mut c = connect(addr).await;
                let start = i * 970;
                let range = format!("bytes={start}-{}", start + 2999);
                let (s, _, body) =
                    request(&mut c, Method::GET, "/one.iso", &[("range", &range)]).await;
                assert_eq!(s, StatusCode::PARTIAL_CONTENT);
                assert!(body == one[start..start + 3000], "range {i}");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        o.seeder
            .metric("seedline_seeder_http_requests_total{status=\"206\"}")
            .await,
        100.0
    );
    o.seeder.stop().await;
}
