//! The state file's format: pure encoding and decoding, no I/O.
//!
//! ```text
//! magic "seedline-tracker-state\n", version u32
//! section*: tag u8, length u64, payload, SHA-1 of tag, length and payload (20 bytes)
//! end:      tag 0xff, length 0, SHA-1 of its tag and length
//! ```
//! All integers are big-endian. Each section is checked on its own, so a damaged
//! section is skipped and the others still load; a file cut short is noticed because
//! its end marker is missing. Unknown tags are skipped, so older trackers can read
//! newer files.
//!
//! Payloads: registrations and denials are `[hash 20][added u64][name length u16][name]`
//! repeated; links (registrations linked to another swarm of the same release, written
//! after the registrations so older trackers skip them) `[hash 20][linked hash 20]`
//! repeated; torrents are `[hash 20][downloaded u32][v4 count u32][v4 peers: addr 6,
//! role u8][v6 count u32][v6 peers: addr 18, role u8]` repeated.

use std::net::SocketAddr;

use seedline_common::peer::{compact_v4, compact_v6, from_compact_v4, from_compact_v6};
use seedline_common::InfoHash;
use sha1::{Digest, Sha1};

use crate::access::Entry;
use crate::store::SavedSwarm;
use crate::swarm::Role;

const MAGIC: &[u8] = b"seedline-tracker-state\n";
const VERSION: u32 = 1;
const REGISTERED: u8 = 1;
const DENIED: u8 = 2;
const TORRENTS: u8 = 3;
const LINKS: u8 = 4;
const END: u8 = 0xff;

/// Everything the state file holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct State {
    pub registered: Vec<(InfoHash, Entry)>,
    pub denied: Vec<(InfoHash, Entry)>,
    pub torrents: Vec<(InfoHash, SavedSwarm)>,
}

/// Writes a state file into memory, section by section.
pub struct Writer {
    out: Vec<u8>,
    section: Option<usize>,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Self {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_be_bytes());
        Self { out, section: None }
    }

    fn begin(&mut self, tag: u8) {
        self.end_section();
        self.out.push(tag);
        self.out.extend_from_slice(&[0; 8]);
        self.section = Some(self.out.len());
    }

    fn end_section(&mut self) {
        if let Some(start) = self.section.take() {
            let len = (self.out.len() - start) as u64;
            self.out[start - 8..start].copy_from_slice(&len.to_be_bytes());
            let sum = Sha1::digest(&self.out[start - 9..]);
            self.out.extend_from_slice(&sum);
        }
    }

    fn entries(&mut self, tag: u8, list: &[(InfoHash, Entry)]) {
        self.begin(tag);
        for (ih, e) in list {
            self.out.extend_from_slice(ih.as_bytes());
            self.out.extend_from_slice(&e.added.to_be_bytes());
            let name = e.name.as_deref().unwrap_or("").as_bytes();
            let name = &name[..name.len().min(usize::from(u16::MAX))];
            self.out
                .extend_from_slice(&(name.len() as u16).to_be_bytes());
            self.out.extend_from_slice(name);
        }
    }

    pub fn registered(&mut self, list: &[(InfoHash, Entry)]) {
        self.entries(REGISTERED, list);
        self.begin(LINKS);
        for (ih, e) in list {
            if let Some(l) = e.linked {
                self.out.extend_from_slice(ih.as_bytes());
                self.out.extend_from_slice(l.as_bytes());
            }
        }
    }

    pub fn denied(&mut self, list: &[(InfoHash, Entry)]) {
        self.entries(DENIED, list);
    }

    /// Starts the torrents section; follow with [`Self::torrent`] calls.
    pub fn begin_torrents(&mut self) {
        self.begin(TORRENTS);
    }

    pub fn torrent(&mut self, ih: &InfoHash, s: &SavedSwarm) {
        self.out.extend_from_slice(ih.as_bytes());
        self.out.extend_from_slice(&s.downloaded.to_be_bytes());
        for v6 in [false, true] {
            let peers = s.peers.iter().filter(|(a, _)| a.is_ipv6() == v6);
            self.out
                .extend_from_slice(&(peers.clone().count() as u32).to_be_bytes());
            for (addr, role) in peers {
                match addr {
                    SocketAddr::V4(a) => self.out.extend_from_slice(&compact_v4(a)),
                    SocketAddr::V6(a) => self.out.extend_from_slice(&compact_v6(a)),
                }
                self.out.push(*role as u8);
            }
        }
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.begin(END);
        self.end_section();
        self.out
    }
}

/// Encodes a whole state (tests and small tools; the tracker streams with [`Writer`]).
pub fn encode(s: &State) -> Vec<u8> {
    let mut w = Writer::new();
    w.registered(&s.registered);
    w.denied(&s.denied);
    w.begin_torrents();
    for (ih, t) in &s.torrents {
        w.torrent(ih, t);
    }
    w.finish()
}

/// What could be read, and what could not.
#[derive(Debug, Default)]
pub struct Decoded {
    pub state: State,
    /// One line per damaged or missing part; empty for a sound file.
    pub problems: Vec<String>,
}

/// Decodes as much of a state file as is sound.
pub fn decode(buf: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let Some(rest) = buf.strip_prefix(MAGIC) else {
        d.problems
            .push("not a seedline tracker state file (bad magic)".into());
        return d;
    };
    let mut r = Reader(rest);
    match r.u32() {
        Some(VERSION) => {}
        Some(v) => {
            d.problems
                .push(format!("unsupported state file version {v}"));
            return d;
        }
        None => {
            d.problems.push("state file ends in its header".into());
            return d;
        }
    }
    let mut links = Vec::new();
    loop {
        let head = r.0;
        let (Some(tag), Some(len)) = (r.u8(), r.u64()) else {
            d.problems
                .push("state file is truncated: no end marker".into());
            return d;
        };
        let Some(payload) = usize::try_from(len).ok().and_then(|n| r.take(n)) else {
            d.problems.push(format!(
                "section {} is truncated ({len} bytes announced); it and the rest are skipped",
                name(tag)
            ));
            return d;
        };
        let Some(sum) = r.take(20) else {
            d.problems
                .push(format!("section {} is truncated (no checksum)", name(tag)));
            return d;
        };
        if Sha1::digest(&head[..9 + payload.len()]).as_slice() != sum {
            d.problems.push(format!(
                "section {} is corrupt (checksum mismatch); skipped",
                name(tag)
            ));
            continue;
        }
        let ok = match tag {
            END => {
                for (ih, l) in links {
                    if let Some(e) = d.state.registered.iter_mut().find(|e| e.0 == ih) {
                        e.1.linked = Some(l);
                    }
                }
                return d;
            }
            REGISTERED => entries(payload).map(|v| d.state.registered = v),
            LINKS => pairs(payload).map(|v| links = v),
            DENIED => entries(payload).map(|v| d.state.denied = v),
            TORRENTS => torrents(payload).map(|v| d.state.torrents = v),
            _ => Some(()),
        };
        if ok.is_none() {
            d.problems
                .push(format!("section {} is malformed; skipped", name(tag)));
        }
    }
}

fn name(tag: u8) -> &'static str {
    match tag {
        REGISTERED => "registrations",
        DENIED => "denials",
        TORRENTS => "torrents",
        LINKS => "links",
        END => "end",
        _ => "unknown",
    }
}

fn entries(payload: &[u8]) -> Option<Vec<(InfoHash, Entry)>> {
    let mut r = Reader(payload);
    let mut v = Vec::new();
    while !r.0.is_empty() {
        let ih = r.hash()?;
        let added = r.u64()?;
        let n = usize::from(r.u16()?);
        let name = std::str::from_utf8(r.take(n)?).ok()?;
        let name = (!name.is_empty()).then(|| name.to_string());
        v.push((
            ih,
            Entry {
                name,
                added,
                linked: None,
            },
        ));
    }
    Some(v)
}

fn pairs(payload: &[u8]) -> Option<Vec<(InfoHash, InfoHash)>> {
    let mut r = Reader(payload);
    let mut v = Vec::new();
    while !r.0.is_empty() {
        v.push((r.hash()?, r.hash()?));
    }
    Some(v)
}

fn torrents(payload: &[u8]) -> Option<Vec<(InfoHash, SavedSwarm)>> {
    let mut r = Reader(payload);
    let mut v = Vec::new();
    while !r.0.is_empty() {
        let ih = r.hash()?;
        let downloaded = r.u32()?;
        let mut peers = Vec::new();
        for width in [6, 18] {
            let n = r.u32()? as usize;
            // Each peer takes width + 1 bytes; a count beyond the payload is damage.
            if n.checked_mul(width + 1)? > r.0.len() {
                return None;
            }
            peers.reserve(n);
            for _ in 0..n {
                let a = r.take(width)?;
                let addr = match width {
                    6 => from_compact_v4(a.try_into().ok()?),
                    _ => from_compact_v6(a.try_into().ok()?),
                };
                let role = match r.u8()? {
                    0 => Role::Leecher,
                    1 => Role::Seeder,
                    2 => Role::Origin,
                    _ => return None,
                };
                peers.push((addr, role));
            }
        }
        v.push((ih, SavedSwarm { downloaded, peers }));
    }
    Some(v)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .map(|b| u16::from_be_bytes(b.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }
    fn hash(&mut self) -> Option<InfoHash> {
        self.take(20).and_then(InfoHash::from_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        State {
            registered: vec![(
                InfoHash([1; 20]),
                Entry {
                    name: Some("ubuntu-24.04.iso".into()),
                    added: 1_700_000_000,
                    linked: Some(InfoHash([9; 20])),
                },
            )],
            denied: vec![(
                InfoHash([2; 20]),
                Entry {
                    name: None,
                    added: 5,
                    linked: None,
                },
            )],
            torrents: vec![
                (
                    InfoHash([3; 20]),
                    SavedSwarm {
                        downloaded: 42,
                        peers: vec![
                            ("192.0.2.1:6881".parse().unwrap(), Role::Origin),
                            ("192.0.2.2:1".parse().unwrap(), Role::Leecher),
                            ("[2001:db8::1]:51413".parse().unwrap(), Role::Seeder),
                        ],
                    },
                ),
                (
                    InfoHash([4; 20]),
                    SavedSwarm {
                        downloaded: 7,
                        peers: vec![],
                    },
                ),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let d = decode(&encode(&s));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.state, s);
        let empty = decode(&encode(&State::default()));
        assert!(empty.problems.is_empty());
        assert_eq!(empty.state, State::default());
    }

    #[test]
    fn every_truncation_is_reported_and_never_panics() {
        let buf = encode(&sample());
        for cut in 0..buf.len() {
            let d = decode(&buf[..cut]);
            assert!(!d.problems.is_empty(), "cut at {cut} went unnoticed");
        }
    }

    #[test]
    fn a_damaged_section_is_skipped_and_the_rest_loads() {
        let s = sample();
        let mut buf = encode(&s);
        // The last byte of the torrents payload sits just before its checksum and the
        // 29-byte end marker.
        let at = buf.len() - 29 - 20 - 1;
        assert_eq!(buf[buf.len() - 29], 0xff, "end marker where expected");
        buf[at] ^= 0xff;
        let d = decode(&buf);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(d.problems[0].contains("torrents"), "{:?}", d.problems);
        assert_eq!(d.state.registered, s.registered);
        assert!(d.state.torrents.is_empty());
    }

    #[test]
    fn every_single_byte_flip_is_survived() {
        let buf = encode(&sample());
        for i in 0..buf.len() {
            let mut b = buf.clone();
            b[i] ^= 0x55;
            let d = decode(&b);
            assert!(!d.problems.is_empty(), "flip at {i} went unnoticed");
        }
        assert!(!decode(b"garbage").problems.is_empty());
    }
}
