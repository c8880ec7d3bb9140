//! Load generators for Seedline: `loadtest tracker` drives an HTTP tracker with a
//! simulated population and reports throughput, latency, errors by kind and, given its
//! pid, the tracker's CPU time per request and memory.
//!
//! Everything here speaks through `seedline_common`'s codecs, so a reply the tracker
//! encodes is checked by the same code that defines the protocol.

pub mod cli;
pub mod signal;
pub mod tracker;
