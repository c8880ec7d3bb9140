//! The origin seeder daemon: serves the torrents of a library (and one-off torrents)
//! over the peer wire protocol and announces them. [`run`] is the whole daemon; the
//! `seeder` binary parses flags and calls it.

pub mod announce;
pub mod cli;
pub mod config;
pub mod file_cache;
pub mod http;
pub mod library;
pub mod metrics;
pub mod peer;
mod process;
pub mod rate;
pub mod reason;
pub mod register;
pub mod server;
pub mod shared;
pub mod storage;
pub mod super_seed;
pub mod torrent;
mod udp_tracker;
pub mod webseed;

pub use config::Config;
pub use server::{run, Listeners, StartError};

#[cfg(test)]
mod testing;
