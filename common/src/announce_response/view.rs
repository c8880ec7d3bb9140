//! Reading an announce reply without copying its peers: the compact strings stay slices
//! of the input. The load generator checks every reply it gets this way, at over 100 000
//! a second; [`super::AnnounceResponse::decode`] builds the owned form on top.

use std::net::{IpAddr, SocketAddr};

use super::{ReplyHead, ResponseError};
use crate::bencode::value::{self, Value};
use crate::id::PeerId;
use crate::peer;

/// A peer of the dictionary form: its address and, unless `no_peer_id`, its id.
pub type DictPeer = (SocketAddr, Option<PeerId>);

/// The peers of a reply as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeersView<'a> {
    /// `peers` (6-byte entries) and `peers6` (18-byte entries), lengths checked.
    Compact { v4: &'a [u8], v6: &'a [u8] },
    /// The dictionary form (rare, so decoded into owned values).
    Dict(Vec<DictPeer>),
}

/// A checked announce reply borrowing from its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyView<'a> {
    pub head: ReplyHead,
    pub peers: PeersView<'a>,
    pub warning: Option<&'a [u8]>,
}

impl<'a> ReplyView<'a> {
    /// Checks and reads a reply; a `failure reason` comes back as
    /// [`ResponseError::Failure`]. Trailing whitespace is allowed (trackers written as
    /// scripts often end their output with a newline); any other trailing byte is not.
    pub fn parse(buf: &'a [u8]) -> Result<Self, ResponseError> {
        let root = value::decode_reply(buf).map_err(|e| ResponseError::Malformed(e.to_string()))?;
        let Value::Dict(dict) = root else {
            return Err(ResponseError::Malformed("not a dictionary".into()));
        };
        if let Some(Value::Bytes(reason)) = dict.get(b"failure reason") {
            return Err(ResponseError::Failure(
                String::from_utf8_lossy(reason).into_owned(),
            ));
        }
        let int = |key: &'static str| match dict.get(key.as_bytes()) {
            None => Ok(None),
            Some(Value::Int(n)) => u32::try_from(*n)
                .map(Some)
                .map_err(|_| ResponseError::Invalid(out_of_range(key))),
            Some(_) => Err(ResponseError::Malformed(format!("{key} is not an integer"))),
        };
        let bytes = |key: &'static str| match dict.get(key.as_bytes()) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(*b)),
            Some(_) => Err(ResponseError::Malformed(format!("{key} is not a string"))),
        };
        let external_ip = match bytes("external ip")? {
            None => None,
            Some(b) => Some(match b.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(b).expect("4 bytes")),
                16 => IpAddr::from(<[u8; 16]>::try_from(b).expect("16 bytes")),
                _ => return Err(ResponseError::Invalid("external ip must be 4 or 16 bytes")),
            }),
        };
        let head = ReplyHead {
            interval: int("interval")?
                .ok_or_else(|| ResponseError::Malformed("missing interval".into()))?,
            min_interval: int("min interval")?,
            complete: int("complete")?.unwrap_or(0),
            incomplete: int("incomplete")?.unwrap_or(0),
            downloaded: int("downloaded")?.unwrap_or(0),
            external_ip,
        };
        let v6 = bytes("peers6")?.unwrap_or_default();
        if v6.len() % 18 != 0 {
            return Err(ResponseError::Invalid(
                "peers6 length is not a multiple of 18",
            ));
        }
        let peers = match dict.get(b"peers") {
            None => PeersView::Compact { v4: &[], v6 },
            Some(Value::Bytes(v4)) if v4.len() % 6 == 0 => PeersView::Compact { v4, v6 },
            Some(Value::Bytes(_)) => {
                return Err(ResponseError::Invalid(
                    "peers length is not a multiple of 6",
                ))
            }
            Some(Value::List(list)) => PeersView::Dict(
                list.iter()
                    .map(dict_peer)
                    .collect::<Result<_, ResponseError>>()?,
            ),
            Some(_) => return Err(ResponseError::Invalid("peers must be a string or a list")),
        };
        Ok(Self {
            head,
            peers,
            warning: bytes("warning message")?,
        })
    }

    pub fn peer_count(&self) -> usize {
        match &self.peers {
            PeersView::Compact { v4, v6 } => v4.len() / 6 + v6.len() / 18,
            PeersView::Dict(list) => list.len(),
        }
    }

    /// Every peer address, in reply order (IPv4 before IPv6 for the compact form).
    pub fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        let (v4, v6, dict): (&[u8], &[u8], &[DictPeer]) = match &self.peers {
            PeersView::Compact { v4, v6 } => (v4, v6, &[]),
            PeersView::Dict(list) => (&[], &[], list),
        };
        let v4 = v4
            .chunks_exact(6)
            .map(|c| peer::from_compact_v4(c.try_into().expect("6 bytes")));
        let v6 = v6
            .chunks_exact(18)
            .map(|c| peer::from_compact_v6(c.try_into().expect("18 bytes")));
        v4.chain(v6).chain(dict.iter().map(|(a, _)| *a))
    }
}

fn out_of_range(key: &str) -> &'static str {
    match key {
        "interval" => "interval out of range",
        "min interval" => "min interval out of range",
        _ => "count out of range",
    }
}

/// One peer of the dictionary form: `ip` (text), `port`, optional `peer id`.
fn dict_peer(v: &Value<'_>) -> Result<DictPeer, ResponseError> {
    let Value::Dict(d) = v else {
        return Err(ResponseError::Invalid("a peer is not a dictionary"));
    };
    let ip: IpAddr = match d.get(b"ip") {
        Some(Value::Bytes(b)) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ResponseError::Invalid("peer ip is not an address"))?,
        _ => return Err(ResponseError::Invalid("peer without an ip")),
    };
    let port = match d.get(b"port") {
        Some(Value::Int(p)) => {
            u16::try_from(*p).map_err(|_| ResponseError::Invalid("peer port out of range"))?
        }
        _ => return Err(ResponseError::Invalid("peer without a port")),
    };
    let id = match d.get(b"peer id") {
        None => None,
        Some(Value::Bytes(b)) => {
            Some(PeerId::from_slice(b).ok_or(ResponseError::Invalid("peer id must be 20 bytes"))?)
        }
        Some(_) => return Err(ResponseError::Invalid("peer id is not a string")),
    };
    Ok((SocketAddr::new(ip, port), id))
}
