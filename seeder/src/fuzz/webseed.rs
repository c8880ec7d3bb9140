//! `webseed_request`: one HTTP request from the internet, its path and headers as
//! arbitrary bytes, through the webseed's real handler (path resolution, conditional
//! and range headers) and, when it answers with content, its real body reader against
//! files on disk. Every byte of a 200 or 206 must be the file's own at the place its
//! headers claim.

use std::sync::{Arc, OnceLock};

use http_body_util::BodyExt;
use hyper::header::{HeaderName, HeaderValue, CONTENT_RANGE};
use hyper::{Method, Request, StatusCode};
use seedline_common::metainfo::{hash_pieces, FileEntry, Info, Layout, Metainfo};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::daemon::metrics::Metrics;
use crate::daemon::shared::Shared;
use crate::daemon::torrent::{State, Torrent};
use crate::daemon::webseed::{handler, resolve};
use crate::daemon::Config;

/// The first byte picks GET (even) or HEAD (odd); the rest is the path, then one header
/// per line as `name:value`.
pub fn webseed_request(data: &[u8]) {
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    let mut lines = rest.split(|&b| b == b'\n');
    let path = lines.next().unwrap_or_default();
    let mut req = Request::builder().method(if method & 1 == 0 {
        Method::GET
    } else {
        Method::HEAD
    });
    req = req.uri(path);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) else {
            continue;
        };
        req = req.header(name, value);
    }
    let Ok(req) = req.body(()) else {
        return;
    };
    let f = fixture();
    f.rt.block_on(async {
        let reply = handler::handle(&f.shared, &req);
        let status = reply.status();
        let headers = reply.headers().clone();
        let body = reply
            .into_body()
            .collect()
            .await
            .expect("the fixture's content reads")
            .to_bytes();
        if !matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
            return;
        }
        let parts = resolve::components(req.uri().path()).expect("a path that was served");
        let resolve::Found::File(_, span) = resolve::find(&f.shared, &parts) else {
            panic!("{status} for a path that names no file");
        };
        let start = match headers.get(CONTENT_RANGE) {
            Some(v) => {
                let v = v.to_str().expect("ASCII");
                let (a, rest) = v["bytes ".len()..].split_once('-').expect("a range");
                let (b, total) = rest.split_once('/').expect("a length");
                let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
                assert_eq!(total.parse::<u64>().unwrap(), span.length);
                assert!(a <= b && b < span.length, "{v}");
                assert_eq!(
                    body.len() as u64,
                    if method & 1 == 0 { b - a + 1 } else { 0 }
                );
                a
            }
            None => {
                let want = if method & 1 == 0 { span.length } else { 0 };
                assert_eq!(body.len() as u64, want);
                0
            }
        };
        for (i, byte) in body.iter().enumerate() {
            assert_eq!(
                *byte,
                content_at(span.offset + start + i as u64),
                "byte {i}"
            );
        }
    });
}

/// The fixture's content: byte `i` of the concatenated files.
fn content_at(i: u64) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 8)) as u8
}

struct Fixture {
    rt: Runtime,
    shared: Arc<Shared>,
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
                    });
                }
                Layout::Multi { files: entries }
            };
            let m = Metainfo {
                announce: None,
                announce_list: Vec::new(),
                url_list: Vec::new(),
                comment: None,
                created_by: Some("seedline make-torrent 0.1.0".into()),
                creation_date: Some(1_700_000_000),
                info: Info {
                    name: name.into(),
                    piece_length,
                    pieces: hash_pieces(&data, piece_length),
                    layout,
                    private: false,
                    source: None,
                },
            };
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
        Fixture { rt, shared }
    })
}
