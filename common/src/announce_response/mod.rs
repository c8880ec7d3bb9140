//! The announce reply: counts, intervals and peers (BEP 3, 7, 23, 24).
//!
//! The writer functions are what the tracker's hot path calls while it walks a swarm;
//! [`AnnounceResponse::encode`] is built from the same functions, and
//! [`AnnounceResponse::decode`] reads with the strict decoder of [`crate::bencode::value`]
//! (through [`ReplyView`], which leaves the peers in the buffer);
//! the tests prove the hand-written bytes decode to the value they were written from, and
//! that what `serde_bencode` writes decodes too.

use std::net::{IpAddr, SocketAddr};

use crate::bencode;
use crate::id::PeerId;
use crate::peer;

mod view;
pub use view::{PeersView, ReplyView};

/// The scalar part of an announce reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplyHead {
    pub interval: u32,
    pub min_interval: Option<u32>,
    pub complete: u32,
    pub incomplete: u32,
    pub downloaded: u32,
    /// BEP 24: the address the tracker saw the request come from.
    pub external_ip: Option<IpAddr>,
}

/// Writes `d` and every key that sorts before `peers`.
pub fn write_head(out: &mut Vec<u8>, h: &ReplyHead) {
    out.push(b'd');
    bencode::key_int(out, b"complete", i64::from(h.complete));
    bencode::key_int(out, b"downloaded", i64::from(h.downloaded));
    match h.external_ip {
        Some(IpAddr::V4(ip)) => {
            bencode::bytes(out, b"external ip");
            bencode::bytes(out, &ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            bencode::bytes(out, b"external ip");
            bencode::bytes(out, &ip.octets());
        }
        None => {}
    }
    bencode::key_int(out, b"incomplete", i64::from(h.incomplete));
    bencode::key_int(out, b"interval", i64::from(h.interval));
    if let Some(m) = h.min_interval {
        bencode::key_int(out, b"min interval", i64::from(m));
    }
}

/// Writes the `peers` key and the header of a compact string of `count` IPv4 entries;
/// the caller appends exactly `count` 6-byte entries.
pub fn begin_compact_v4(out: &mut Vec<u8>, count: usize) {
    bencode::bytes(out, b"peers");
    bencode::len_prefix(out, count * 6);
}

/// Like [`begin_compact_v4`] for `peers6` and 18-byte entries.
pub fn begin_compact_v6(out: &mut Vec<u8>, count: usize) {
    bencode::bytes(out, b"peers6");
    bencode::len_prefix(out, count * 18);
}

/// Writes the `peers` key and opens the list of the dictionary form.
pub fn begin_dict_peers(out: &mut Vec<u8>) {
    bencode::bytes(out, b"peers");
    out.push(b'l');
}

/// One entry of the dictionary form; `peer_id` is left out for `no_peer_id`.
pub fn write_dict_peer(out: &mut Vec<u8>, addr: SocketAddr, peer_id: Option<&PeerId>) {
    out.push(b'd');
    bencode::bytes(out, b"ip");
    let ip = addr.ip().to_string();
    bencode::bytes(out, ip.as_bytes());
    if let Some(id) = peer_id {
        bencode::bytes(out, b"peer id");
        bencode::bytes(out, id.as_bytes());
    }
    bencode::key_int(out, b"port", i64::from(addr.port()));
    out.push(b'e');
}

/// Closes the list opened by [`begin_dict_peers`].
pub fn end_dict_peers(out: &mut Vec<u8>) {
    out.push(b'e');
}

/// Writes the optional `warning message` and closes the reply.
pub fn write_tail(out: &mut Vec<u8>, warning: Option<&str>) {
    if let Some(w) = warning {
        bencode::bytes(out, b"warning message");
        bencode::bytes(out, w.as_bytes());
    }
    out.push(b'e');
}

/// How the peers of a reply were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peers {
    /// BEP 23 / BEP 7: `peers` (IPv4) and `peers6` (IPv6) strings.
    Compact {
        v4: Vec<SocketAddr>,
        v6: Vec<SocketAddr>,
    },
    /// BEP 3: a list of dictionaries, every family in `peers`.
    Dict(Vec<(SocketAddr, Option<PeerId>)>),
}

/// An owned announce reply, for clients and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceResponse {
    pub head: ReplyHead,
    pub peers: Peers,
    pub warning: Option<String>,
}

/// Why bytes are not a usable announce reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("tracker failure: {0}")]
    Failure(String),
    #[error("invalid bencode or missing field: {0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(&'static str),
}

impl AnnounceResponse {
    /// Decodes a reply; a `failure reason` comes back as [`ResponseError::Failure`].
    pub fn decode(buf: &[u8]) -> Result<Self, ResponseError> {
        let v = ReplyView::parse(buf)?;
        let peers = match v.peers {
            PeersView::Compact { v4, v6 } => Peers::Compact {
                v4: peer::parse_compact_v4(v4).expect("length checked by parse"),
                v6: peer::parse_compact_v6(v6).expect("length checked by parse"),
            },
            PeersView::Dict(list) => Peers::Dict(list),
        };
        Ok(Self {
            head: v.head,
            peers,
            warning: v.warning.map(|w| String::from_utf8_lossy(w).into_owned()),
        })
    }

    /// Appends the bencoded reply.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_head(out, &self.head);
        match &self.peers {
            Peers::Compact { v4, v6 } => {
                begin_compact_v4(out, v4.len());
                for a in v4 {
                    if let SocketAddr::V4(a) = a {
                        out.extend_from_slice(&peer::compact_v4(a));
                    }
                }
                if !v6.is_empty() {
                    begin_compact_v6(out, v6.len());
                    for a in v6 {
                        if let SocketAddr::V6(a) = a {
                            out.extend_from_slice(&peer::compact_v6(a));
                        }
                    }
                }
            }
            Peers::Dict(list) => {
                begin_dict_peers(out);
                for (addr, id) in list {
                    write_dict_peer(out, *addr, id.as_ref());
                }
                end_dict_peers(out);
            }
        }
        write_tail(out, self.warning.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_compact() {
        let r = AnnounceResponse {
            head: ReplyHead {
                interval: 1800,
                min_interval: Some(900),
                complete: 2,
                incomplete: 1,
                downloaded: 7,
                external_ip: Some("10.0.0.1".parse().unwrap()),
            },
            peers: Peers::Compact {
                v4: vec!["1.2.3.4:6881".parse().unwrap()],
                v6: vec!["[::1]:80".parse().unwrap()],
            },
            warning: None,
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        let mut want = b"d8:completei2e10:downloadedi7e11:external ip4:\x0a\x00\x00\x0110:incompletei1e8:intervali1800e12:min intervali900e5:peers6:\x01\x02\x03\x04\x1a\xe16:peers618:".to_vec();
        want.extend_from_slice(&[0; 15]);
        want.extend_from_slice(&[1, 0, 80, b'e']);
        assert_eq!(out, want);
        assert_eq!(AnnounceResponse::decode(&out).unwrap(), r);
    }

    #[test]
    fn golden_dict() {
        let r = AnnounceResponse {
            head: ReplyHead {
                interval: 60,
                ..Default::default()
            },
            peers: Peers::Dict(vec![
                (
                    "1.2.3.4:1".parse().unwrap(),
                    Some(PeerId(*b"-TR3000-xyzxyzxyzxyz")),
                ),
                ("[::2]:2".parse().unwrap(), None),
            ]),
            warning: Some("hi".into()),
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(
            out,
            b"d8:completei0e10:downloadedi0e10:incompletei0e8:intervali60e5:peersld2:ip7:1.2.3.47:peer id20:-TR3000-xyzxyzxyzxyz4:porti1eed2:ip3:::24:porti2eee15:warning message2:hie".to_vec()
        );
        assert_eq!(AnnounceResponse::decode(&out).unwrap(), r);
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(
            matches!(AnnounceResponse::decode(b"d14:failure reason2:noe"), Err(ResponseError::Failure(r)) if r == "no")
        );
        assert!(AnnounceResponse::decode(b"").is_err());
        assert!(AnnounceResponse::decode(b"d8:intervali1e5:peers5:abcdee").is_err());
        assert!(AnnounceResponse::decode(b"d8:intervali-1ee").is_err());
    }

    #[test]
    fn the_view_leaves_peers_in_the_buffer_and_lists_them_in_order() {
        let r = AnnounceResponse {
            head: ReplyHead {
                interval: 60,
                complete: 3,
                ..Default::default()
            },
            peers: Peers::Compact {
                v4: vec!["1.2.3.4:1".parse().unwrap(), "5.6.7.8:2".parse().unwrap()],
                v6: vec!["[::9]:3".parse().unwrap()],
            },
            warning: Some("w".into()),
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        let v = ReplyView::parse(&out).unwrap();
        assert_eq!(v.peer_count(), 3);
        let PeersView::Compact { v4, .. } = &v.peers else {
            panic!("compact")
        };
        assert!(
            out.as_ptr_range().contains(&v4.as_ptr()),
            "borrowed, not copied"
        );
        let addrs: Vec<SocketAddr> = v.addrs().collect();
        let Peers::Compact { v4, v6 } = &r.peers else {
            unreachable!()
        };
        assert_eq!(addrs, [v4.clone(), v6.clone()].concat());
        assert_eq!(v.warning, Some(&b"w"[..]));
        assert_eq!(v.head, r.head);
    }

    #[test]
    fn decodes_what_serde_bencode_writes_with_keys_we_ignore() {
        use serde_bencode::value::Value as V;
        let mut d = std::collections::HashMap::new();
        d.insert(b"interval".to_vec(), V::Int(1800));
        d.insert(b"tracker id".to_vec(), V::Bytes(b"abc".to_vec()));
        d.insert(b"crypto_flags".to_vec(), V::Bytes(vec![0, 1]));
        d.insert(b"complete".to_vec(), V::Int(3));
        d.insert(b"peers".to_vec(), V::Bytes(vec![127, 0, 0, 1, 0x1a, 0xe1]));
        let buf = serde_bencode::to_bytes(&V::Dict(d)).unwrap();
        let r = AnnounceResponse::decode(&buf).unwrap();
        assert_eq!(r.head.interval, 1800);
        assert_eq!(r.head.complete, 3);
        assert_eq!(
            r.peers,
            Peers::Compact {
                v4: vec!["127.0.0.1:6881".parse().unwrap()],
                v6: vec![]
            }
        );
        let mut failure = Vec::new();
        crate::failure::encode_failure(&mut failure, "unregistered torrent", Some(30));
        assert_eq!(
            AnnounceResponse::decode(&failure),
            Err(ResponseError::Failure("unregistered torrent".into()))
        );
        assert!(matches!(
            AnnounceResponse::decode(b"d8:intervali1e8:intervali2ee"),
            Err(ResponseError::Malformed(m)) if m.contains("twice")
        ));
        assert!(matches!(
            AnnounceResponse::decode(b"d8:interval1:xe"),
            Err(ResponseError::Malformed(m)) if m.contains("interval")
        ));
        assert!(matches!(
            AnnounceResponse::decode(b"d5:peers0:e"),
            Err(ResponseError::Malformed(m)) if m.contains("missing interval")
        ));
        assert_eq!(
            AnnounceResponse::decode(b"d8:intervali-5ee"),
            Err(ResponseError::Invalid("interval out of range"))
        );
        assert_eq!(
            AnnounceResponse::decode(b"d8:completei-1e8:intervali5ee"),
            Err(ResponseError::Invalid("count out of range"))
        );
        // A failure whose reason is not UTF-8 is still a failure.
        assert!(matches!(
            AnnounceResponse::decode(b"d14:failure reason2:\xff\xfee"),
            Err(ResponseError::Failure(_))
        ));
    }

    #[test]
    fn trailing_whitespace_is_tolerated_and_other_trailing_bytes_are_not() {
        let r = AnnounceResponse::decode(b"d8:intervali60e5:peers0:e\r\n").unwrap();
        assert_eq!(r.head.interval, 60);
        assert_eq!(
            r.peers,
            Peers::Compact {
                v4: vec![],
                v6: vec![]
            }
        );
        assert!(matches!(
            AnnounceResponse::decode(b"d8:intervali60e5:peers0:ex"),
            Err(ResponseError::Malformed(m)) if m.contains("trailing")
        ));
        let empty_list = AnnounceResponse::decode(b"d8:intervali60e5:peerslee").unwrap();
        assert_eq!(empty_list.peers, Peers::Dict(vec![]));
    }

    prop_compose! {
        fn any_head()(interval in any::<u32>(), min in proptest::option::of(any::<u32>()),
            c in any::<u32>(), i in any::<u32>(), d in any::<u32>(),
            ip in proptest::option::of(any::<IpAddr>())) -> ReplyHead {
            ReplyHead { interval, min_interval: min, complete: c, incomplete: i, downloaded: d, external_ip: ip }
        }
    }

    fn any_peers() -> impl Strategy<Value = Peers> {
        prop_oneof![
            (
                proptest::collection::vec(
                    any::<std::net::SocketAddrV4>().prop_map(SocketAddr::V4),
                    0..20
                ),
                proptest::collection::vec(
                    any::<std::net::SocketAddrV6>()
                        .prop_map(|a| SocketAddr::new(IpAddr::V6(*a.ip()), a.port())),
                    0..20
                ),
            )
                .prop_map(|(v4, v6)| Peers::Compact { v4, v6 }),
            proptest::collection::vec(
                (
                    any::<SocketAddr>().prop_map(|a| SocketAddr::new(a.ip(), a.port())),
                    proptest::option::of(any::<[u8; 20]>().prop_map(PeerId))
                ),
                0..10,
            )
            .prop_map(Peers::Dict),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(head in any_head(), peers in any_peers(), warning in proptest::option::of("[ -~]{0,30}")) {
            let r = AnnounceResponse { head, peers, warning };
            let mut out = Vec::new();
            r.encode(&mut out);
            prop_assert_eq!(AnnounceResponse::decode(&out).unwrap(), r);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = AnnounceResponse::decode(&bytes);
        }
    }
}
