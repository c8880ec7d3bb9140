//! The announce request (BEP 3, with BEP 23 `compact` and the usual extensions).

use std::net::IpAddr;

use crate::failure::RequestError;
use crate::id::{InfoHash, PeerId};
use crate::query::{self, pairs, parse_u64};

/// What the client says happened since its last announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Event {
    /// A regular re-announce (`event` absent or empty).
    #[default]
    None,
    Started,
    Stopped,
    Completed,
    /// BEP 21: a partial seed that paused; it stays in the swarm.
    Paused,
}

impl Event {
    /// The query value, empty for [`Event::None`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Started => "started",
            Self::Stopped => "stopped",
            Self::Completed => "completed",
            Self::Paused => "paused",
        }
    }

    fn parse(v: &[u8]) -> Result<Self, RequestError> {
        Ok(match v {
            b"" | b"empty" => Self::None,
            b"started" => Self::Started,
            b"stopped" => Self::Stopped,
            b"completed" => Self::Completed,
            b"paused" => Self::Paused,
            _ => return Err(RequestError::BadEvent),
        })
    }
}

/// Longest `key` accepted; clients send 4 to 8 bytes, so this is only a bound.
pub const MAX_KEY_LEN: usize = 32;

/// The client's `key`: an opaque token kept inline so parsing does not allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    len: u8,
    bytes: [u8; MAX_KEY_LEN],
}

impl Key {
    /// `None` if `b` is longer than [`MAX_KEY_LEN`].
    pub fn new(b: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; MAX_KEY_LEN];
        bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(Self {
            len: b.len() as u8,
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A parsed `/announce` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Event,
    /// BEP 23; absent means compact, as every current client asks for it.
    pub compact: bool,
    pub no_peer_id: bool,
    /// As sent; the tracker applies its default and cap.
    pub numwant: Option<u32>,
    pub key: Option<Key>,
    /// The `ip` parameter when it is a literal address; trackers ignore it unless told.
    pub ip: Option<IpAddr>,
}

impl AnnounceRequest {
    /// Parses the raw query string (without `?`). Unknown parameters are ignored; the first
    /// of a repeated parameter wins.
    pub fn parse_query(q: &[u8]) -> Result<Self, RequestError> {
        let mut info_hash = None;
        let mut peer_id = None;
        let mut port = None;
        let mut uploaded = None;
        let mut downloaded = None;
        let mut left = None;
        let mut event = None;
        let mut compact = None;
        let mut no_peer_id = None;
        let mut numwant = None;
        let mut key = None;
        let mut ip = None;
        for (k, v) in pairs(q) {
            match k {
                b"info_hash" if info_hash.is_none() => info_hash = Some(id20(v, "info_hash")?),
                b"peer_id" if peer_id.is_none() => peer_id = Some(id20(v, "peer_id")?),
                b"port" if port.is_none() => {
                    let p = parse_u64(v).ok_or(RequestError::BadPort)?;
                    port = Some(
                        u16::try_from(p)
                            .ok()
                            .filter(|&p| p != 0)
                            .ok_or(RequestError::BadPort)?,
                    );
                }
                b"uploaded" if uploaded.is_none() => uploaded = Some(number(v, "uploaded")?),
                b"downloaded" if downloaded.is_none() => {
                    downloaded = Some(number(v, "downloaded")?)
                }
                b"left" if left.is_none() => left = Some(number(v, "left")?),
                b"event" if event.is_none() => event = Some(Event::parse(v)?),
                b"compact" if compact.is_none() => compact = Some(v != b"0"),
                b"no_peer_id" if no_peer_id.is_none() => no_peer_id = Some(v != b"0"),
                b"numwant" if numwant.is_none() => numwant = Some(parse_numwant(v)?),
                b"key" if key.is_none() => {
                    let mut buf = [0u8; MAX_KEY_LEN];
                    let n = query::decode_into(v, &mut buf).map_err(|e| match e {
                        query::DecodeError::TooLong => {
                            RequestError::KeyTooLong { max: MAX_KEY_LEN }
                        }
                        query::DecodeError::BadEscape => RequestError::BadEncoding("key"),
                    })?;
                    key = Key::new(&buf[..n]);
                }
                b"ip" if ip.is_none() => ip = Some(parse_ip(v)),
                _ => {}
            }
        }
        Ok(Self {
            info_hash: InfoHash(info_hash.ok_or(RequestError::Missing("info_hash"))?),
            peer_id: PeerId(peer_id.ok_or(RequestError::Missing("peer_id"))?),
            port: port.ok_or(RequestError::Missing("port"))?,
            uploaded: uploaded.unwrap_or(0),
            downloaded: downloaded.unwrap_or(0),
            left: left.ok_or(RequestError::Missing("left"))?,
            event: event.unwrap_or_default(),
            compact: compact.unwrap_or(true),
            no_peer_id: no_peer_id.unwrap_or(false),
            numwant: numwant.flatten(),
            key,
            ip: ip.flatten(),
        })
    }

    /// Appends the query string (without `?`) that [`Self::parse_query`] reads back.
    pub fn write_query(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"info_hash=");
        query::encode_into(self.info_hash.as_bytes(), out);
        out.extend_from_slice(b"&peer_id=");
        query::encode_into(self.peer_id.as_bytes(), out);
        let nums = [
            ("&port=", u64::from(self.port)),
            ("&uploaded=", self.uploaded),
            ("&downloaded=", self.downloaded),
            ("&left=", self.left),
        ];
        for (k, v) in nums {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(v.to_string().as_bytes());
        }
        out.extend_from_slice(if self.compact {
            b"&compact=1"
        } else {
            b"&compact=0"
        });
        if self.no_peer_id {
            out.extend_from_slice(b"&no_peer_id=1");
        }
        if self.event != Event::None {
            out.extend_from_slice(b"&event=");
            out.extend_from_slice(self.event.as_str().as_bytes());
        }
        if let Some(n) = self.numwant {
            out.extend_from_slice(format!("&numwant={n}").as_bytes());
        }
        if let Some(k) = &self.key {
            out.extend_from_slice(b"&key=");
            query::encode_into(k.as_bytes(), out);
        }
        if let Some(ip) = self.ip {
            out.extend_from_slice(b"&ip=");
            query::encode_into(ip.to_string().as_bytes(), out);
        }
    }

    /// A seeder has nothing left to download.
    pub fn is_seeder(&self) -> bool {
        self.left == 0
    }
}

/// Decodes a percent-encoded 20-byte identifier.
pub(crate) fn id20(v: &[u8], name: &'static str) -> Result<[u8; 20], RequestError> {
    // Room for one byte more than needed tells "too long" apart from "exactly 20".
    let mut buf = [0u8; 21];
    match query::decode_into(v, &mut buf) {
        Ok(20) => Ok(buf[..20].try_into().expect("20 bytes")),
        Ok(got) => Err(RequestError::BadIdLength { name, got }),
        Err(query::DecodeError::TooLong) => {
            let got = query::decode(v).map(|d| d.len()).unwrap_or(v.len());
            Err(RequestError::BadIdLength { name, got })
        }
        Err(query::DecodeError::BadEscape) => Err(RequestError::BadEncoding(name)),
    }
}

fn number(v: &[u8], name: &'static str) -> Result<u64, RequestError> {
    parse_u64(v).ok_or(RequestError::BadNumber(name))
}

/// Negative `numwant` (some clients send -1 for "default") means "no preference".
fn parse_numwant(v: &[u8]) -> Result<Option<u32>, RequestError> {
    if let Some(rest) = v.strip_prefix(b"-") {
        return parse_u64(rest)
            .map(|_| None)
            .ok_or(RequestError::BadNumber("numwant"));
    }
    let n = parse_u64(v).ok_or(RequestError::BadNumber("numwant"))?;
    Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
}

/// BEP 3 allows a DNS name in `ip`; only literal addresses are of use to a tracker.
fn parse_ip(v: &[u8]) -> Option<IpAddr> {
    let d = query::decode(v).ok()?;
    std::str::from_utf8(&d).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
