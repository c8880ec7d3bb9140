//! aria2c as the tests run it: on loopback only, alone with the peers a tracker names.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::net::free_port;
use crate::tools::tool;

/// An `aria2c` command that saves into `dir`: no DHT, local peer discovery, peer
/// exchange or IPv6 (the only peers are those our tracker or seeder gives), its own free
/// listening port (tests run in parallel), quiet, and stopping after a minute without
/// progress rather than never. The caller adds what it downloads, and any other flags.
pub fn aria2c(dir: &Path) -> Command {
    let mut c = Command::new(tool("aria2c", "aria2"));
    c.arg(format!("--dir={}", dir.display()))
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--disable-ipv6=true",
            "--summary-interval=0",
            "--console-log-level=warn",
            "--bt-stop-timeout=60",
        ])
        .arg(format!("--listen-port={}", free_port()))
        .stdout(Stdio::null());
    c
}

/// [`aria2c`] able to use `udp://` trackers: aria2 sends BEP 15 through its DHT socket,
/// so DHT is on, on its own free port, with its routing table in `dir`; with no entry
/// point and an empty table it contacts no DHT node.
pub fn aria2c_udp(dir: &Path) -> Command {
    let mut c = aria2c(dir);
    c.arg("--enable-dht=true")
        .arg(format!("--dht-listen-port={}", free_port()))
        .arg(format!("--dht-file-path={}", dir.join("dht.dat").display()));
    c
}
