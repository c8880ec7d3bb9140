//! The `loadtest` command line: one subcommand per system under test.

use clap::{Parser, Subcommand};

use crate::hiccups::HiccupsArgs;
use crate::seeder::SeederArgs;
use crate::tracker::TrackerArgs;

#[derive(Debug, Parser)]
#[command(name = "loadtest", version, about = "Load generators for Seedline")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load an HTTP or UDP (`--target udp://...`) tracker with announces and scrapes
    /// (loopback targets only by default).
    Tracker(TrackerArgs),
    /// Download one torrent from a seeder with many leechers (loopback targets only by
    /// default).
    Seeder(SeederArgs),
    /// Measure the time the machine takes from a thread that never sleeps (run it pinned
    /// to the core a server would use), to read a server's tail latency against.
    Hiccups(HiccupsArgs),
}
