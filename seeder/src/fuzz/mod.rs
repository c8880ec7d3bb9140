//! Fuzz entry points for the seeder:
//!
//! - `peer_session`: a peer's byte stream after a valid handshake, through the
//!   connection's real reader and its session (message framing, requests, bitfields,
//!   BEP 10 and BEP 9), the session's events applied to the real choker and super-seed;
//! - `utp_datagrams`: datagrams from the internet into a real uTP socket (librqbit-utp's
//!   dispatcher and every connection's state machine) over an in-memory transport;
//! - `webseed_request`: an HTTP request's path and headers through the webseed's
//!   handler and body reader, every byte served checked against the file.
//!
//! They are ordinary functions so that `fuzz/` (cargo-fuzz, nightly) and the stable test
//! suite, which replays every committed corpus file through them, run the same code.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::BytesMut;
use seedline_common::metainfo::merkle::{self, BLOCK};
use seedline_common::metainfo::{hash_pieces, Info, Layout, Metainfo, V2File, V2Info, Version};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::daemon::metrics::Metrics;
use crate::daemon::peer::conn::Conn;
use crate::daemon::peer::reader;
use crate::daemon::peer::session::{Limits, Session};
use crate::daemon::reason::Disconnect;
use crate::daemon::shared::Shared;
use crate::daemon::torrent::Torrent;
use crate::daemon::Config;

mod utp;
mod webseed;

pub use utp::utp_datagrams;
pub use webseed::webseed_request;

/// `peer_session` target. The first byte picks the session: bit 0 the peer speaks the
/// Fast extension, bit 1 the torrent is super-seeded, bit 2 it is private (no BEP 9);
/// with neither, it is a hybrid (BEP 52 hash requests are answered).
/// The rest is what the peer sends after its handshake; the reader reads it as a byte
/// slice, so each input ends at its own EOF.
pub fn peer_session(data: &[u8]) {
    let Some((&flags, stream)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let torrent = &f.torrents[usize::from(flags >> 1) & 3];
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let conn = Arc::new(Conn::new(
        NEXT_ID.fetch_add(1, Ordering::Relaxed),
        SocketAddr::from(([192, 0, 2, 1], 51413)),
        torrent.clone(),
        Session::new(
            flags & 1 != 0,
            torrent.super_seed.is_some(),
            Limits::from(&f.shared.cfg),
            torrent.bitfield(),
            Instant::now(),
        ),
        f.shared.peer_memory(torrent),
    ));
    // As `accept` does: join the super-seed, then let the choker see the peer.
    if let Some(ss) = &torrent.super_seed {
        ss.join(conn.id, |i| torrent.advertised(i));
    }
    f.shared.choker.add(conn.clone());
    let mut rd = stream;
    let why =
        f.rt.block_on(reader::run(&conn, &f.shared, &mut rd, BytesMut::new()));
    f.shared.choker.remove(&conn);
    if let Some(ss) = &torrent.super_seed {
        ss.leave(conn.id);
    }
    // A slice never fails to read and never makes the reader wait.
    assert!(
        why != Disconnect::Io && why != Disconnect::Idle,
        "reader ended with {why}"
    );
}

/// The single-file hybrid of `info` (v1) and `data`: its file's Merkle tree and piece
/// layer (BEP 52). Inputs in `peer_session`'s corpus ask for that layer by its root.
fn hybrid_of(info: &Info, data: &[u8]) -> V2Info {
    let leaves: Vec<_> = data.chunks(BLOCK as usize).map(merkle::leaf).collect();
    let tree = merkle::file_tree(&leaves, info.piece_length);
    V2Info {
        version: Version::Hybrid,
        name: info.name.clone(),
        piece_length: info.piece_length,
        files: vec![V2File {
            path: Vec::new(),
            length: data.len() as u64,
            tree: Some(tree),
        }],
        v1_pieces: info.pieces.clone(),
        private: false,
        source: None,
    }
}

/// A torrent of `data` as our own `make-torrent` writes it (trusted: advertised whole,
/// each piece hashed before it is first served).
fn trusted_metainfo(
    name: &str,
    data: &[u8],
    piece_length: u64,
    layout: Layout,
    creation_date: Option<i64>,
) -> Metainfo {
    Metainfo {
        announce: None,
        announce_list: Vec::new(),
        url_list: Vec::new(),
        comment: None,
        created_by: Some("seedline make-torrent 0.1.0".into()),
        creation_date,
        info: Info {
            name: name.into(),
            piece_length,
            pieces: hash_pieces(data, piece_length),
            layout,
            private: false,
            source: None,
        },
    }
}

struct Fixture {
    rt: Runtime,
    shared: Arc<Shared>,
    /// Plain, super-seeded, private, private and super-seeded.
    torrents: [Arc<Torrent>; 4],
}

/// Built once per process: the reader never touches the content, so only the
/// `.torrent` files are written, and removed again once loaded.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let metrics = Metrics::new();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let load = |private: bool, super_seed: bool| {
            // 21 pieces: the bitfield has spare bits, the last piece is short.
            let piece_length = 16 * 1024;
            let data = vec![0u8; 20 * 16 * 1024 + 1000];
            let layout = Layout::Single {
                length: data.len() as u64,
            };
            let mut m = trusted_metainfo("rel", &data, piece_length, layout, None);
            m.info.private = private;
            let path = dir.path().join(format!("{private}-{super_seed}.torrent"));
            // The plain one is a hybrid, so BEP 52 hash requests are answered.
            let bytes = if private || super_seed {
                m.to_bytes()
            } else {
                hybrid_of(&m.info, &data).torrent_bytes(&m)
            };
            std::fs::write(&path, bytes).expect("torrent written");
            Torrent::load(
                &path,
                dir.path(),
                crate::daemon::file_cache::FileCache::for_tests(),
                0,
                super_seed,
                CancellationToken::new(),
                metrics.clone(),
            )
            .expect("fixture torrent loads")
        };
        let torrents = [
            load(false, false),
            load(false, true),
            load(true, false),
            load(true, true),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        Fixture {
            rt,
            shared: Shared::new(Config::default(), metrics, 6881),
            torrents,
        }
    })
}
