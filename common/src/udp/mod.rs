//! The UDP tracker protocol (BEP 15, with BEP 41's options): requests as the tracker
//! reads them and writes them (for clients and tests), replies as the tracker writes
//! them and clients read them. Big-endian throughout; nothing here allocates to decode.
//!
//! A request is at most one datagram: connect (16 bytes), announce (98 bytes and BEP 41
//! options), scrape (16 bytes and 1 to [`MAX_SCRAPE_HASHES`] info hashes).

mod reply;
mod request;
#[cfg(test)]
mod tests;

pub use reply::{
    begin_announce, begin_scrape, peers, scrape_entries, write_connect, write_error,
    write_scrape_entry, Reply, ReplyError,
};
pub use request::{Announce, Request, RequestError, Scrape};

/// The magic connection id of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;

/// Most info hashes in one scrape: 16 + 74 × 20 = 1 496 bytes fits an Ethernet MTU.
pub const MAX_SCRAPE_HASHES: usize = 74;

/// Length of an announce request before BEP 41 options.
pub const ANNOUNCE_LEN: usize = 98;

/// Length of an announce reply before its peers.
pub const ANNOUNCE_REPLY_HEAD: usize = 20;

/// The action field of requests and replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Connect = 0,
    Announce = 1,
    Scrape = 2,
    Error = 3,
}

impl Action {
    fn from_u32(n: u32) -> Option<Self> {
        Some(match n {
            0 => Self::Connect,
            1 => Self::Announce,
            2 => Self::Scrape,
            3 => Self::Error,
            _ => return None,
        })
    }
}

/// Big-endian fields at fixed offsets of a buffer whose length the caller checked.
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn id20_at(b: &[u8], at: usize) -> [u8; 20] {
    b[at..at + 20].try_into().expect("20 bytes")
}
