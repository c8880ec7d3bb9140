//! qBittorrent (qbittorrent-nox, libtorrent-rasterbar under a program of its own)
//! downloads from our seeder (see `netns.rs`).

use crate::netns::{
    single_and_multi_file, single_and_multi_file_defaults, single_and_multi_file_encrypted,
    single_and_multi_file_from_webseed, single_and_multi_file_hybrid, Over,
};
use crate::util::tool;

#[test]
fn qbittorrent_downloads_single_and_multi_file_torrents() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file("qbittorrent", Over::Udp, Over::Udp);
}

#[test]
fn qbittorrent_requiring_encryption_downloads_over_rc4() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file_encrypted("qbittorrent", Over::Http, Over::Udp);
}

#[test]
fn qbittorrent_on_its_defaults_downloads_over_utp() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file_defaults("qbittorrent", Over::Http, Over::Udp);
}

#[test]
fn qbittorrent_downloads_from_the_webseed_alone() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file_from_webseed("qbittorrent", Over::Http, Over::Udp);
}

/// qBittorrent 4.5 (libtorrent 2.0) joins a hybrid's v2 swarm.
#[test]
fn qbittorrent_downloads_hybrids_through_the_v2_swarm() {
    tool("qbittorrent-nox", "qbittorrent-nox");
    single_and_multi_file_hybrid("qbittorrent", Over::Udp, Over::Http, true);
}
