//! Load generators for Seedline: `loadtest tracker` drives an HTTP tracker with a
//! simulated population and reports throughput, latency, errors by kind and, given its
//! pid, the tracker's CPU time per request and memory; `loadtest seeder` downloads a
//! torrent from a seeder with many leechers and reports throughput, fairness and the
//! seeder's CPU per GiB; `loadtest hiccups` measures the time the machine itself takes
//! from a busy thread.
//!
//! Everything here speaks through `seedline_common`'s codecs, so a reply the tracker
//! encodes is checked by the same code that defines the protocol.

pub mod cli;
pub mod hiccups;
pub mod seeder;
pub mod tracker;
