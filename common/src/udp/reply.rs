//! Replies: written by the tracker field by field (the peers straight from the swarm),
//! read by clients.

use std::net::SocketAddr;

use super::{u32_at, u64_at, Action, ANNOUNCE_REPLY_HEAD};
use crate::peer::{from_compact_v4, from_compact_v6};
use crate::scrape::ScrapeStats;

/// A connect reply: the connection id to use for the next two minutes.
pub fn write_connect(out: &mut Vec<u8>, transaction_id: u32, connection_id: u64) {
    head(out, Action::Connect, transaction_id);
    out.extend_from_slice(&connection_id.to_be_bytes());
}

/// The head of an announce reply; the caller appends the peers, 6 bytes each (IPv4)
/// or 18 (IPv6), the family of the address the request came from.
pub fn begin_announce(
    out: &mut Vec<u8>,
    transaction_id: u32,
    interval: u32,
    leechers: u32,
    seeders: u32,
) {
    head(out, Action::Announce, transaction_id);
    for n in [interval, leechers, seeders] {
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The head of a scrape reply; [`write_scrape_entry`] follows once per hash, in order.
pub fn begin_scrape(out: &mut Vec<u8>, transaction_id: u32) {
    head(out, Action::Scrape, transaction_id);
}

/// One torrent of a scrape reply.
pub fn write_scrape_entry(out: &mut Vec<u8>, s: &ScrapeStats) {
    for n in [s.complete, s.downloaded, s.incomplete] {
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// An error reply with a message for the client's user.
pub fn write_error(out: &mut Vec<u8>, transaction_id: u32, message: &str) {
    head(out, Action::Error, transaction_id);
    out.extend_from_slice(message.as_bytes());
}

fn head(out: &mut Vec<u8>, action: Action, transaction_id: u32) {
    out.extend_from_slice(&(action as u32).to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
}

/// A reply that is not one a tracker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply too short ({0} bytes)")]
    TooShort(usize),
    #[error("unknown action {0}")]
    UnknownAction(u32),
    #[error("peers are not a whole number of addresses")]
    RaggedPeers,
    #[error("scrape reply is not a whole number of entries")]
    RaggedScrape,
    #[error("connect reply of the wrong length")]
    BadConnect,
}

/// One decoded reply, borrowing the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    Connect {
        transaction_id: u32,
        connection_id: u64,
    },
    Announce {
        transaction_id: u32,
        interval: u32,
        leechers: u32,
        seeders: u32,
        /// Compact peers: 6 bytes each when `v6` was false, 18 when true.
        peers: &'a [u8],
    },
    Scrape {
        transaction_id: u32,
        entries: &'a [u8],
    },
    Error {
        transaction_id: u32,
        message: &'a [u8],
    },
}

impl<'a> Reply<'a> {
    /// Decodes a reply to a request sent over IPv6 (`v6`, 18-byte peers) or IPv4.
    pub fn parse(b: &'a [u8], v6: bool) -> Result<Self, ReplyError> {
        if b.len() < 8 {
            return Err(ReplyError::TooShort(b.len()));
        }
        let action = u32_at(b, 0);
        let transaction_id = u32_at(b, 4);
        match Action::from_u32(action) {
            Some(Action::Connect) if b.len() == 16 => Ok(Self::Connect {
                transaction_id,
                connection_id: u64_at(b, 8),
            }),
            Some(Action::Connect) => Err(ReplyError::BadConnect),
            Some(Action::Announce) => {
                if b.len() < ANNOUNCE_REPLY_HEAD {
                    return Err(ReplyError::TooShort(b.len()));
                }
                let peers = &b[ANNOUNCE_REPLY_HEAD..];
                if !peers.len().is_multiple_of(if v6 { 18 } else { 6 }) {
                    return Err(ReplyError::RaggedPeers);
                }
                Ok(Self::Announce {
                    transaction_id,
                    interval: u32_at(b, 8),
                    leechers: u32_at(b, 12),
                    seeders: u32_at(b, 16),
                    peers,
                })
            }
            Some(Action::Scrape) if (b.len() - 8).is_multiple_of(12) => Ok(Self::Scrape {
                transaction_id,
                entries: &b[8..],
            }),
            Some(Action::Scrape) => Err(ReplyError::RaggedScrape),
            Some(Action::Error) => Ok(Self::Error {
                transaction_id,
                message: &b[8..],
            }),
            None => Err(ReplyError::UnknownAction(action)),
        }
    }

    pub fn transaction_id(&self) -> u32 {
        match self {
            Self::Connect { transaction_id, .. }
            | Self::Announce { transaction_id, .. }
            | Self::Scrape { transaction_id, .. }
            | Self::Error { transaction_id, .. } => *transaction_id,
        }
    }
}

/// The peers of an announce reply as addresses (`v6`: 18-byte entries).
pub fn peers(compact: &[u8], v6: bool) -> Vec<SocketAddr> {
    if v6 {
        compact
            .chunks_exact(18)
            .map(|c| from_compact_v6(c.try_into().expect("18 bytes")))
            .collect()
    } else {
        compact
            .chunks_exact(6)
            .map(|c| from_compact_v4(c.try_into().expect("6 bytes")))
            .collect()
    }
}

/// The entries of a scrape reply, in the order of the request's hashes.
pub fn scrape_entries(entries: &[u8]) -> Vec<ScrapeStats> {
    entries
        .chunks_exact(12)
        .map(|c| ScrapeStats {
            complete: u32_at(c, 0),
            downloaded: u32_at(c, 4),
            incomplete: u32_at(c, 8),
        })
        .collect()
}
