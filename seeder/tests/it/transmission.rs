//! Transmission downloads from our seeder (see `netns.rs`).

use crate::netns::{single_and_multi_file, Over};
use crate::util::tool;

#[test]
fn transmission_downloads_single_and_multi_file_torrents() {
    tool("transmission-cli", "transmission-cli");
    single_and_multi_file("transmission", Over::Udp, Over::Http);
}
