//! Requests: what a client sends, decoded strictly by length and action.

use std::net::Ipv4Addr;

use super::{id20_at, u32_at, u64_at, Action, ANNOUNCE_LEN, MAX_SCRAPE_HASHES, PROTOCOL_ID};
use crate::announce::Event;
use crate::id::{InfoHash, PeerId};

/// Why a datagram is no request the tracker can serve. Each has a stable kind for
/// metrics; the tracker answers some with an error packet and drops the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("packet too short ({0} bytes)")]
    TooShort(usize),
    #[error("connect request without the protocol id")]
    NotBep15,
    #[error("unknown action {0}")]
    UnknownAction(u32),
    #[error("unknown event {0}")]
    BadEvent(u32),
    #[error("scrape without info hashes")]
    NoHashes,
    #[error("scrape of more than {MAX_SCRAPE_HASHES} info hashes")]
    TooManyHashes,
    #[error("scrape length is not a whole number of info hashes")]
    RaggedScrape,
    #[error("port must be between 1 and 65535")]
    BadPort,
}

impl RequestError {
    /// Every [`RequestError::kind`], for metrics that show each from the start.
    pub const KINDS: [&'static str; 8] = [
        "too_short",
        "not_bep15",
        "unknown_action",
        "bad_event",
        "no_hashes",
        "too_many_hashes",
        "ragged_scrape",
        "bad_port",
    ];

    /// A stable, low-cardinality name for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooShort(_) => "too_short",
            Self::NotBep15 => "not_bep15",
            Self::UnknownAction(_) => "unknown_action",
            Self::BadEvent(_) => "bad_event",
            Self::NoHashes => "no_hashes",
            Self::TooManyHashes => "too_many_hashes",
            Self::RaggedScrape => "ragged_scrape",
            Self::BadPort => "bad_port",
        }
    }
}

/// One decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    Connect { transaction_id: u32 },
    Announce(Announce<'a>),
    Scrape(Scrape<'a>),
}

/// An announce (action 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announce<'a> {
    pub connection_id: u64,
    pub transaction_id: u32,
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub downloaded: u64,
    pub left: u64,
    pub uploaded: u64,
    pub event: Event,
    /// The IPv4 address the client claims; 0 (none) is `None`.
    pub ip: Option<Ipv4Addr>,
    pub key: u32,
    /// `None` for the default (-1, or any negative number).
    pub num_want: Option<u32>,
    pub port: u16,
    /// BEP 41 URL data (the path and query of the tracker URL), concatenated; empty
    /// when absent. Options past a malformed one are ignored.
    pub url_data: &'a [u8],
}

/// A scrape (action 2): the info hashes, 20 bytes each, as they stand in the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scrape<'a> {
    pub connection_id: u64,
    pub transaction_id: u32,
    hashes: &'a [u8],
}

impl<'a> Scrape<'a> {
    pub fn info_hashes(&self) -> impl ExactSizeIterator<Item = InfoHash> + 'a {
        self.hashes
            .chunks_exact(20)
            .map(|c| InfoHash(c.try_into().expect("20 bytes")))
    }

    pub fn len(&self) -> usize {
        self.hashes.len() / 20
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

impl<'a> Request<'a> {
    /// The connection id a request carries (the protocol id for a connect).
    pub fn connection_id(&self) -> u64 {
        match self {
            Self::Connect { .. } => PROTOCOL_ID,
            Self::Announce(a) => a.connection_id,
            Self::Scrape(s) => s.connection_id,
        }
    }

    pub fn transaction_id(&self) -> u32 {
        match self {
            Self::Connect { transaction_id } => *transaction_id,
            Self::Announce(a) => a.transaction_id,
            Self::Scrape(s) => s.transaction_id,
        }
    }

    /// Decodes one datagram.
    pub fn parse(b: &'a [u8]) -> Result<Self, RequestError> {
        if b.len() < 16 {
            return Err(RequestError::TooShort(b.len()));
        }
        let connection_id = u64_at(b, 0);
        let action = u32_at(b, 8);
        let transaction_id = u32_at(b, 12);
        match Action::from_u32(action) {
            Some(Action::Connect) if connection_id == PROTOCOL_ID => {
                Ok(Self::Connect { transaction_id })
            }
            Some(Action::Connect) => Err(RequestError::NotBep15),
            Some(Action::Announce) => parse_announce(b, connection_id, transaction_id),
            Some(Action::Scrape) => {
                let hashes = &b[16..];
                if hashes.is_empty() {
                    return Err(RequestError::NoHashes);
                }
                if !hashes.len().is_multiple_of(20) {
                    return Err(RequestError::RaggedScrape);
                }
                if hashes.len() / 20 > MAX_SCRAPE_HASHES {
                    return Err(RequestError::TooManyHashes);
                }
                Ok(Self::Scrape(Scrape {
                    connection_id,
                    transaction_id,
                    hashes,
                }))
            }
            _ => Err(RequestError::UnknownAction(action)),
        }
    }

    /// Appends the request as a client sends it (for clients, tools and tests).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.connection_id().to_be_bytes());
        let action = match self {
            Self::Connect { .. } => Action::Connect,
            Self::Announce(_) => Action::Announce,
            Self::Scrape(_) => Action::Scrape,
        };
        out.extend_from_slice(&(action as u32).to_be_bytes());
        out.extend_from_slice(&self.transaction_id().to_be_bytes());
        match self {
            Self::Connect { .. } => {}
            Self::Announce(a) => write_announce(a, out),
            Self::Scrape(s) => out.extend_from_slice(s.hashes),
        }
    }
}

impl<'a> Scrape<'a> {
    /// A scrape of `hashes`, laid out as 20-byte ids back to back (for clients).
    pub fn of(connection_id: u64, transaction_id: u32, hashes: &'a [u8]) -> Self {
        Self {
            connection_id,
            transaction_id,
            hashes,
        }
    }
}

fn event_code(e: Event) -> u32 {
    match e {
        // BEP 21's paused has no UDP code: a paused partial seed re-announces as usual.
        Event::None | Event::Paused => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    }
}

fn parse_announce(
    b: &[u8],
    connection_id: u64,
    transaction_id: u32,
) -> Result<Request<'_>, RequestError> {
    if b.len() < ANNOUNCE_LEN {
        return Err(RequestError::TooShort(b.len()));
    }
    let event = match u32_at(b, 80) {
        0 => Event::None,
        1 => Event::Completed,
        2 => Event::Started,
        3 => Event::Stopped,
        n => return Err(RequestError::BadEvent(n)),
    };
    let ip = match u32_at(b, 84) {
        0 => None,
        n => Some(Ipv4Addr::from(n)),
    };
    let num_want = i32::from_be_bytes(b[92..96].try_into().expect("4 bytes"));
    let port = u16::from_be_bytes([b[96], b[97]]);
    if port == 0 {
        return Err(RequestError::BadPort);
    }
    Ok(Request::Announce(Announce {
        connection_id,
        transaction_id,
        info_hash: InfoHash(id20_at(b, 16)),
        peer_id: PeerId(id20_at(b, 36)),
        downloaded: u64_at(b, 56),
        left: u64_at(b, 64),
        uploaded: u64_at(b, 72),
        event,
        ip,
        key: u32_at(b, 88),
        num_want: u32::try_from(num_want).ok(),
        port,
        url_data: url_data(&b[ANNOUNCE_LEN..]),
    }))
}

/// BEP 41 options: 0 ends them, 1 is a no-op, 2 carries URL data; every other type has
/// a length byte and is skipped. Only the first URL-data option is kept (clients send
/// one); a truncated option ends the list.
fn url_data(mut opts: &[u8]) -> &[u8] {
    while let Some((&kind, rest)) = opts.split_first() {
        match kind {
            0 => break,
            1 => opts = rest,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    break;
                };
                let len = usize::from(len);
                if rest.len() < len {
                    break;
                }
                if kind == 2 {
                    return &rest[..len];
                }
                opts = &rest[len..];
            }
        }
    }
    &[]
}

fn write_announce(a: &Announce<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(a.info_hash.as_bytes());
    out.extend_from_slice(a.peer_id.as_bytes());
    out.extend_from_slice(&a.downloaded.to_be_bytes());
    out.extend_from_slice(&a.left.to_be_bytes());
    out.extend_from_slice(&a.uploaded.to_be_bytes());
    out.extend_from_slice(&event_code(a.event).to_be_bytes());
    out.extend_from_slice(&a.ip.map_or(0, u32::from).to_be_bytes());
    out.extend_from_slice(&a.key.to_be_bytes());
    let num_want = a
        .num_want
        .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
    out.extend_from_slice(&num_want.to_be_bytes());
    out.extend_from_slice(&a.port.to_be_bytes());
    // BEP 41: one URL-data option (at most 255 bytes: the rest is cut), then the end.
    if !a.url_data.is_empty() {
        let data = &a.url_data[..a.url_data.len().min(255)];
        out.push(2);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
        out.push(0);
    }
}
