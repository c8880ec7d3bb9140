//! Seedline's HTTP BitTorrent tracker (BEP 3, 7, 23, 48) on hyper and tokio.
//!
//! [`run`] serves a [`Config`] on bound [`Listeners`] until a cancellation token fires;
//! the `tracker` binary and the seeder's embedded mode both call it.

pub mod access;
mod announce;
pub mod api;
pub mod cli;
pub mod client_ip;
pub mod config;
mod daemon;
pub mod full_scrape;
#[doc(hidden)]
pub mod fuzz;
pub mod holders;
pub mod http;
mod idle_io;
pub mod metrics;
pub mod ops_metrics;
pub mod persist;
pub mod rate_limit;
pub mod registry;
pub mod reload;
pub mod server;
pub mod state_file;
pub mod store;
pub mod swarm;
pub mod tracker;

pub use config::Config;
pub use server::{run, serve, Listeners};
pub use tracker::Tracker;
