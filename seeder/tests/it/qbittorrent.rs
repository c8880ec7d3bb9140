//! qBittorrent (qbittorrent-nox, libtorrent-rasterbar under a program of its own)
//! downloads from our seeder (see `netns.rs`).

use crate::netns::{single_and_multi_file, Over};
use crate::util::tool;

#[test]
fn qbittorrent_downloads_single_and_multi_file_torrents() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file("qbittorrent", Over::Udp, Over::Udp);
}
