//! Integration tests against the real tracker on loopback.

mod access;
mod announce;
mod api;
mod client;
mod crash;
mod deploy;
mod flood;
mod fuzz_corpus;
mod lifecycle;
mod limits;
mod malformed;
mod origin;
mod persist;
mod process;
mod proxy;
mod real_client;
mod scrape;
mod shared_engines;
mod shared_faults;
mod shared_store;
mod udp;
mod util;
