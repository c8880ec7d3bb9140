//! Process plumbing shared by Seedline's binaries (`tracker`, `seeder`, `loadtest`):
//! configuration errors and secrets ([`config`]), logging ([`logging`]), signals and
//! graceful shutdown ([`shutdown`]), listening sockets ([`net`]), connection deadlines
//! for HTTP servers ([`idle_io`]), the admin listener ([`admin`]), and a daemon's whole
//! life from its configuration to its exit status ([`daemon`]). Nothing here knows
//! BitTorrent; the daemons depend on it, never on each other for it.

pub mod admin;
pub mod background;
pub mod config;
pub mod cork;
pub mod daemon;
pub mod defer_accept;
pub mod idle_io;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod rate_limit;
pub mod settings;
pub mod shutdown;

pub use config::{ConfigError, EXIT_CONFIG, REDACTED};
pub use logging::LogFormat;
