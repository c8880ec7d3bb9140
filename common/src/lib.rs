//! The I/O-free protocol core of Seedline.
//!
//! Everything here parses from `&[u8]` and encodes into caller-owned buffers; sockets,
//! timeouts and runtimes live in the daemons. The tracker, the seeder's announcer and the
//! load tester all speak through these types, so a reply the tracker encodes is decoded
//! by the same crate that produced the request.

pub mod announce;
pub mod announce_response;
pub mod bencode;
pub mod failure;
#[doc(hidden)]
pub mod fuzz;
pub mod id;
pub mod ledbat;
pub mod metainfo;
pub mod mse;
pub mod peer;
pub mod per_address;
pub mod query;
#[doc(hidden)]
pub mod sample;
pub mod scrape;
pub mod udp;
pub mod wire;

pub use announce::{AnnounceRequest, Event};
pub use announce_response::AnnounceResponse;
pub use failure::{FailureResponse, RequestError};
pub use id::{InfoHash, ParseIdError, PeerId};
pub use metainfo::{Metainfo, MetainfoError};
pub use peer::PeerAddr;
pub use scrape::{ScrapeRequest, ScrapeResponse, ScrapeStats};
