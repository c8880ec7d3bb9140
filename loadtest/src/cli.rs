//! The `loadtest` command line: one subcommand per system under test.

use clap::{Parser, Subcommand};

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
}
