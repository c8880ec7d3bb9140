//! Reading a `.torrent` file from disk, with a size cap before anything is parsed.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use seedline_common::metainfo::{Metainfo, Parsed};

use super::error::Error;

/// The largest `.torrent` accepted. Real ones are kilobytes to a few megabytes (a 1 TiB
/// release in 16 MiB pieces needs 1.3 MB of hashes); the cap bounds what a hostile file
/// can make the strict parser allocate.
pub const MAX_TORRENT_FILE: u64 = 64 << 20;

/// Reads and parses `path`.
pub fn load_torrent(path: &Path) -> Result<Parsed, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    // Read one byte past the cap so a file that grows after a size check is still caught.
    file.take(MAX_TORRENT_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > MAX_TORRENT_FILE {
        return Err(Error::TorrentTooLarge {
            path: path.to_owned(),
            max: MAX_TORRENT_FILE,
        });
    }
    Metainfo::from_bytes(&buf).map_err(|source| Error::BadTorrent {
        path: path.to_owned(),
        source,
    })
}
