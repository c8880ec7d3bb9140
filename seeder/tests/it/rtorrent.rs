//! rTorrent (libtorrent-rakshasa, a BitTorrent implementation of its own) downloads from
//! our seeder (see `netns.rs`).

use crate::netns::{single_and_multi_file, single_and_multi_file_encrypted, Over};
use crate::util::tool;

#[test]
fn rtorrent_downloads_single_and_multi_file_torrents() {
    tool("rtorrent", "rtorrent");
    single_and_multi_file("rtorrent", Over::Http, Over::Udp);
}

#[test]
fn rtorrent_requiring_encryption_downloads_over_rc4() {
    tool("rtorrent", "rtorrent");
    single_and_multi_file_encrypted("rtorrent", Over::Udp, Over::Http);
}
