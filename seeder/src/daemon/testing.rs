//! Fixtures for unit tests: a one-file torrent written to a temporary directory.

use std::sync::Arc;

use seedline_common::metainfo::{hash_pieces, Info, Layout, Metainfo};
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;
use super::torrent::Torrent;

pub struct Fixture {
    /// Kept so the files outlive the test.
    pub _dir: tempfile::TempDir,
    pub torrent: Arc<Torrent>,
}

/// `data` as the single file `rel`, in pieces of `piece_length`; `ours` says whether
/// the torrent claims to come from our `make-torrent`.
pub fn torrent(data: &[u8], piece_length: u64, ours: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rel"), data).unwrap();
    let m = Metainfo {
        announce: None,
        announce_list: Vec::new(),
        url_list: Vec::new(),
        comment: None,
        created_by: ours.then(|| "seedline make-torrent 0.1.0".to_owned()),
        creation_date: None,
        info: Info {
            name: "rel".into(),
            piece_length,
            pieces: hash_pieces(data, piece_length),
            layout: Layout::Single {
                length: data.len() as u64,
            },
            private: false,
            source: None,
        },
    };
    let path = dir.path().join("rel.torrent");
    std::fs::write(&path, m.to_bytes()).unwrap();
    let torrent = Torrent::load(
        &path,
        dir.path(),
        super::file_cache::FileCache::for_tests(),
        0,
        false,
        CancellationToken::new(),
        Metrics::new(),
    )
    .unwrap();
    Fixture { _dir: dir, torrent }
}
