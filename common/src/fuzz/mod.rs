//! Fuzz entry points: each feeds arbitrary bytes to one decoder of untrusted input and
//! checks cheap invariants (round trips, lengths within the buffer).
//!
//! They live here, as ordinary functions, so that `fuzz/` (cargo-fuzz, nightly) and the
//! stable test suite, which replays every committed corpus file through them, run the
//! same code. None of them may panic on any input unless the decoder has a bug.

mod bencode;
mod metainfo;
pub(crate) mod mse;
mod query;
mod reply;
mod udp;
mod wire;

pub use bencode::bencode;
pub use metainfo::metainfo;
pub use mse::mse_handshake;
pub use query::{announce_query, scrape_query};
pub use reply::announce_reply;
pub use udp::udp_packet;
pub use wire::{peer_wire, ut_metadata};
