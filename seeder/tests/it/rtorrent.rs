//! rTorrent (libtorrent-rakshasa, a BitTorrent implementation of its own) downloads from
//! our seeder (see `netns.rs`).

use crate::netns::{single_and_multi_file, Over};
use crate::util::tool;

#[test]
fn rtorrent_downloads_single_and_multi_file_torrents() {
    tool("rtorrent", "rtorrent");
    single_and_multi_file("rtorrent", Over::Http, Over::Udp);
}
