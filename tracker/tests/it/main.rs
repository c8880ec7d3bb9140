//! Integration tests against the real tracker on loopback.

mod announce;
mod deploy;
mod lifecycle;
mod limits;
mod malformed;
mod proxy;
mod real_client;
mod scrape;
mod util;
