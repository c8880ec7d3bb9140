//! Peer addresses in their compact forms: BEP 23 (6 bytes, IPv4) and BEP 7 (18 bytes,
//! IPv6), both network byte order, port last.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A peer's address as the tracker hands it out.
pub type PeerAddr = SocketAddr;

/// The 6-byte compact form of an IPv4 peer.
pub fn compact_v4(addr: &SocketAddrV4) -> [u8; 6] {
    let mut out = [0u8; 6];
    out[..4].copy_from_slice(&addr.ip().octets());
    out[4..].copy_from_slice(&addr.port().to_be_bytes());
    out
}

/// The 18-byte compact form of an IPv6 peer.
pub fn compact_v6(addr: &SocketAddrV6) -> [u8; 18] {
    let mut out = [0u8; 18];
    out[..16].copy_from_slice(&addr.ip().octets());
    out[16..].copy_from_slice(&addr.port().to_be_bytes());
    out
}

/// Parses a string of 6-byte entries; `None` if its length is not a multiple of 6.
pub fn parse_compact_v4(buf: &[u8]) -> Option<Vec<SocketAddr>> {
    if !buf.len().is_multiple_of(6) {
        return None;
    }
    Some(
        buf.chunks_exact(6)
            .map(|c| from_compact_v4(c.try_into().expect("6 bytes")))
            .collect(),
    )
}

/// Parses a string of 18-byte entries; `None` if its length is not a multiple of 18.
pub fn parse_compact_v6(buf: &[u8]) -> Option<Vec<SocketAddr>> {
    if !buf.len().is_multiple_of(18) {
        return None;
    }
    Some(
        buf.chunks_exact(18)
            .map(|c| from_compact_v6(c.try_into().expect("18 bytes")))
            .collect(),
    )
}

/// The address a 6-byte compact entry names.
pub fn from_compact_v4(c: &[u8; 6]) -> SocketAddr {
    let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
    SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([c[4], c[5]]))
}

/// The address an 18-byte compact entry names.
pub fn from_compact_v6(c: &[u8; 18]) -> SocketAddr {
    let mut ip = [0u8; 16];
    ip.copy_from_slice(&c[..16]);
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::from(ip)),
        u16::from_be_bytes([c[16], c[17]]),
    )
}

/// Folds an IPv4-mapped IPv6 address (what a dual-stack socket reports for an IPv4
/// client) back to IPv4, so each peer lands in its own family.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let a: SocketAddrV4 = "1.2.3.4:6881".parse().unwrap();
        assert_eq!(compact_v4(&a), [1, 2, 3, 4, 0x1a, 0xe1]);
        let b: SocketAddrV6 = "[::1]:80".parse().unwrap();
        let c = compact_v6(&b);
        assert_eq!(&c[15..], &[1, 0, 80]);
        assert_eq!(from_compact_v6(&c), SocketAddr::V6(b));
        assert_eq!(parse_compact_v4(&[0; 7]), None);
        assert_eq!(parse_compact_v6(&[0; 17]), None);
        assert_eq!(
            canonical_ip("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
