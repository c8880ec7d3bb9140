//! Seedline's HTTP BitTorrent tracker (BEP 3, 7, 23, 48) on hyper and tokio.
//!
//! What an embedding process needs: [`run`] serves a [`Config`] on bound [`Listeners`]
//! until a cancellation token fires (the `tracker` binary), or [`serve`] a [`Tracker`]
//! it keeps, to register torrents with (`Tracker::register_torrent`, the seeder's
//! embedded tracker). The other public modules are for the tests, benchmarks and fuzz
//! targets: the swarm store, the access modes, metrics and the state file.

pub mod access;
mod api;
mod api_shared;
pub mod cli;
mod client_ip;
mod config;
mod core;
mod daemon;
mod full_scrape;
#[doc(hidden)]
pub mod fuzz;
mod holders;
mod http;
mod http_workers;
pub mod metrics;
mod ops_metrics;
mod persist;
pub mod redis_store;
mod registry;
mod reload;
mod server;
mod shard_map;
pub mod sink;
pub mod state_file;
pub mod store;
pub mod swarm;
pub mod swarm_store;
mod tracker;
pub mod udp;

pub use config::{Config, ConfigError};
pub use server::{run, serve, serve_floor, Listeners};
pub use tracker::Tracker;
