//! `webseed_request`: bytes from the internet as what a client sends on a webseed
//! connection. First each request head (pipelined) goes through the real parser and
//! handler (path resolution, conditional and range headers), and every byte range a 200
//! or 206 would send is read and checked against the file at the place its headers
//! claim. Then the same bytes go to a real connection (`conn.rs`, `send.rs`: deadlines,
//! proofs, `sendfile`) over loopback, and its answer must be exactly those responses
//! with those bodies, in order.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::header::{CONTENT_LENGTH, CONTENT_RANGE};
use hyper::{Method, StatusCode};
use seedline_common::metainfo::{FileEntry, Layout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::daemon::metrics::Metrics;
use crate::daemon::shared::Shared;
use crate::daemon::torrent::{State, Torrent};
use crate::daemon::webseed::handler::{self, Body};
use crate::daemon::webseed::head::{self, Parsed};
use crate::daemon::webseed::{conn, resolve};
use crate::daemon::Config;

pub fn webseed_request(data: &[u8]) {
    let f = fixture();
    let mut buf = data;
    let mut expected = Vec::new();
    // Pipelined heads, as a connection reads them, until one is incomplete or refused.
    let mut refused = false;
    loop {
        match head::parse(buf) {
            Parsed::Complete(h) => {
                assert!(h.len > 0 && h.len <= buf.len());
                buf = &buf[h.len..];
                expected.push(check(&f.shared, &h.request));
                if !h.keep_alive {
                    break;
                }
            }
            Parsed::Invalid(_) => {
                refused = true;
                break;
            }
            Parsed::Partial => break,
        }
    }
    let out = f.rt.block_on(converse(f, data));
    let mut rest = &out[..];
    for (status, body) in expected {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head")
            + 4;
        let line = String::from_utf8_lossy(&rest[..end]);
        assert!(
            line.starts_with(&format!("HTTP/1.1 {} ", status.as_str())),
            "{line}"
        );
        rest = &rest[end..];
        assert!(
            rest.len() >= body.len(),
            "a short body: {} of {}",
            rest.len(),
            body.len()
        );
        assert!(
            rest[..body.len()] == body[..],
            "the body differs from the file"
        );
        rest = &rest[body.len()..];
    }
    if refused {
        assert!(
            rest.starts_with(b"HTTP/1.1 4"),
            "{:?}",
            String::from_utf8_lossy(rest)
        );
    } else {
        assert!(
            rest.is_empty(),
            "more than was asked: {:?}",
            String::from_utf8_lossy(rest)
        );
    }
}

/// Sends `data` on a new connection to the real webseed connection code, closes our
/// side, and returns everything it answered.
async fn converse(f: &Fixture, data: &[u8]) -> Vec<u8> {
    let client = TcpStream::connect(f.addr).await.expect("loopback connects");
    let (server, _) = f.listener.accept().await.expect("accepts");
    let shared = f.shared.clone();
    let serving = tokio::spawn(async move {
        conn::serve(server, &shared, &CancellationToken::new()).await;
    });
    let (mut rd, mut wr) = client.into_split();
    let data = data.to_vec();
    let writing = tokio::spawn(async move {
        // The server may close first (a refused head): the rest is not its problem.
        let _ = wr.write_all(&data).await;
        let _ = wr.shutdown().await;
    });
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection did not end");
    let _ = writing.await;
    serving.await.expect("the connection task does not panic");
    out
}

/// The status and body bytes `req` must be answered with.
fn check(shared: &Shared, req: &hyper::Request<()>) -> (StatusCode, Vec<u8>) {
    let reply = handler::handle(shared, req);
    let status = reply.status;
    let length = reply
        .headers
        .get(CONTENT_LENGTH)
        .map(|v| v.to_str().expect("ASCII").parse::<u64>().expect("a length"));
    let range = match reply.body {
        Body::File { torrent, range } => {
            assert_eq!(req.method(), Method::GET);
            assert_eq!(length, Some(range.end - range.start));
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            torrent
                .read_at(range.start, &mut bytes)
                .expect("fixture content reads");
            for (i, b) in bytes.iter().enumerate() {
                assert_eq!(*b, content_at(range.start + i as u64), "byte {i}");
            }
            range
        }
        Body::Text(t) => {
            assert_eq!(length, Some(t.len() as u64));
            let sent = if req.method() == Method::HEAD {
                &[][..]
            } else {
                t.as_bytes()
            };
            return (status, sent.to_vec());
        }
        Body::Empty => return (status, Vec::new()),
    };
    assert!(matches!(
        status,
        StatusCode::OK | StatusCode::PARTIAL_CONTENT
    ));
    let parts = resolve::components(req.uri().path()).expect("a path that was served");
    let resolve::Found::File(_, span) = resolve::find(shared, &parts) else {
        panic!("content for a path that names no file");
    };
    let start = match reply.headers.get(CONTENT_RANGE) {
        Some(v) => {
            let v = v.to_str().expect("ASCII");
            let (a, rest) = v["bytes ".len()..].split_once('-').expect("a range");
            let (b, total) = rest.split_once('/').expect("a length");
            let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
            assert_eq!(total.parse::<u64>().unwrap(), span.length);
            assert!(a <= b && b < span.length, "{v}");
            assert_eq!(range.end - range.start, b - a + 1);
            a
        }
        None => {
            assert_eq!(range.end - range.start, span.length);
            0
        }
    };
    assert_eq!(
        range.start,
        span.offset + start,
        "the file's bytes, at the claimed place"
    );
    let body = (range.start..range.end).map(content_at).collect();
    (status, body)
}

/// The fixture's content: byte `i` of the concatenated files.
fn content_at(i: u64) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 8)) as u8
}

struct Fixture {
    rt: Runtime,
    shared: Arc<Shared>,
    listener: TcpListener,
    addr: SocketAddr,
}

/// A single-file torrent `one` and a multi-file `multi` (`a`, `d/b`, an empty `e`),
/// 16 KiB pieces, content on disk, both seeding; built once per process.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let metrics = Metrics::new();
        // Kept for the whole process: the content is read by every input.
        let dir = tempfile::tempdir().expect("a temporary directory").keep();
        let shared = Shared::new(Config::default(), metrics.clone(), 6881);
        let piece_length = 16 * 1024;
        for (name, files) in [
            ("one", vec![]),
            (
                "multi",
                vec![
                    (vec!["a"], 20_000u64),
                    (vec!["d", "b"], 30_001),
                    (vec!["e"], 0),
                ],
            ),
        ] {
            let total = if files.is_empty() {
                40_000
            } else {
                files.iter().map(|f| f.1).sum()
            };
            let data: Vec<u8> = (0..total).map(content_at).collect();
            let layout = if files.is_empty() {
                std::fs::write(dir.join(name), &data).expect("content written");
                Layout::Single { length: total }
            } else {
                let mut at = 0;
                let mut entries = Vec::new();
                for (path, len) in files {
                    let p = path.iter().fold(dir.join(name), |p, c| p.join(c));
                    std::fs::create_dir_all(p.parent().expect("a parent")).expect("dirs");
                    std::fs::write(&p, &data[at..at + len as usize]).expect("content written");
                    at += len as usize;
                    entries.push(FileEntry {
                        path: path.iter().map(|c| (*c).to_owned()).collect(),
                        length: len,
                        pad: false,
                    });
                }
                Layout::Multi { files: entries }
            };
            let m = super::trusted_metainfo(name, &data, piece_length, layout, Some(1_700_000_000));
            let path = dir.join(format!("{name}.torrent"));
            std::fs::write(&path, m.to_bytes()).expect("torrent written");
            let t: Arc<Torrent> = Torrent::load(
                &path,
                &dir,
                shared.files.clone(),
                0,
                false,
                CancellationToken::new(),
                metrics.clone(),
            )
            .expect("fixture torrent loads");
            t.set_state(State::Seeding);
            let _ = shared.add_torrent(&t);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        Fixture {
            rt,
            shared,
            listener,
            addr,
        }
    })
}
