//! Transmission downloads from our seeder (see `netns.rs`).

use crate::netns::{
    single_and_multi_file, single_and_multi_file_defaults, single_and_multi_file_encrypted,
    single_and_multi_file_from_webseed, Over,
};
use crate::util::tool;

#[test]
fn transmission_downloads_single_and_multi_file_torrents() {
    tool("transmission-cli", "transmission-cli");
    single_and_multi_file("transmission", Over::Udp, Over::Http);
}

#[test]
fn transmission_requiring_encryption_downloads_over_rc4() {
    tool("transmission-cli", "transmission-cli");
    single_and_multi_file_encrypted("transmission", Over::Http, Over::Udp);
}

#[test]
fn transmission_on_its_defaults_downloads_over_utp() {
    tool("transmission-cli", "transmission-cli");
    single_and_multi_file_defaults("transmission", Over::Http, Over::Udp);
}

#[test]
fn transmission_downloads_from_the_webseed_alone() {
    tool("transmission-cli", "transmission-cli");
    single_and_multi_file_from_webseed("transmission", Over::Udp, Over::Http);
}
