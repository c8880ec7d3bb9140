//! rTorrent (libtorrent-rakshasa, a BitTorrent implementation of its own) downloads from
//! our seeder (see `netns.rs`).

use crate::netns::{
    single_and_multi_file, single_and_multi_file_encrypted, single_and_multi_file_hybrid, Over,
};
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

/// A single-file hybrid through its v1 swarm: rTorrent 0.9.8 knows nothing of v2, so this
/// proves the seeder serves a hybrid's v1 swarm as it serves its v2 one.
#[test]
fn rtorrent_downloads_a_single_file_hybrid_through_the_v1_swarm() {
    tool("rtorrent", "rtorrent");
    single_and_multi_file_hybrid("rtorrent", Over::Http, Over::Udp, false);
}
