//! What the kernel dropped of a UDP run, from Linux `/proc/net`: datagrams that found
//! the tracker's receive queues full (the `drops` of its sockets), and the host's
//! receive-side UDP errors (every socket, the generator's included). A UDP load test
//! that only counts its own timeouts cannot tell a slow tracker from a full queue.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

/// Counters at one moment; `since` gives the change over a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UdpDrops {
    /// Dropped at the tracker's sockets (all sockets bound to its port), queue full.
    pub tracker_sockets: u64,
    /// Host-wide datagrams dropped for a full receive buffer (IPv4 and IPv6).
    pub host_rcvbuf_errors: u64,
    /// Host-wide datagrams not delivered for any reason, the above included.
    pub host_in_errors: u64,
}

impl UdpDrops {
    /// Reads the counters for the tracker listening at `target`.
    pub fn read(target: SocketAddr) -> io::Result<Self> {
        let table = if target.is_ipv6() {
            "/proc/net/udp6"
        } else {
            "/proc/net/udp"
        };
        let sockets = socket_drops(&std::fs::read_to_string(table)?, target);
        let snmp = std::fs::read_to_string("/proc/net/snmp")?;
        // Absent when IPv6 is off: then nothing was dropped there.
        let snmp6 = std::fs::read_to_string("/proc/net/snmp6").unwrap_or_default();
        let v4 = |name| snmp_v4(&snmp, name).unwrap_or(0);
        let v6 = |name| snmp_v6(&snmp6, name).unwrap_or(0);
        Ok(Self {
            tracker_sockets: sockets,
            host_rcvbuf_errors: v4("RcvbufErrors") + v6("Udp6RcvbufErrors"),
            host_in_errors: v4("InErrors") + v6("Udp6InErrors"),
        })
    }

    /// The change from `earlier` to `self`. A socket that closed in between takes its
    /// count with it, so the tracker's figure never goes below zero.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            tracker_sockets: self.tracker_sockets.saturating_sub(earlier.tracker_sockets),
            host_rcvbuf_errors: self
                .host_rcvbuf_errors
                .saturating_sub(earlier.host_rcvbuf_errors),
            host_in_errors: self.host_in_errors.saturating_sub(earlier.host_in_errors),
        }
    }
}

/// Sum of the last column (`drops`) of the sockets in a `/proc/net/udp{,6}` table that
/// receive datagrams sent to `target`: bound to its port, on its address or on any.
fn socket_drops(table: &str, target: SocketAddr) -> u64 {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = parse_local(fields.nth(1)?)?;
            let drops = fields.last()?.parse::<u64>().ok()?;
            let listens = local.port() == target.port()
                && (local.ip() == target.ip() || local.ip().is_unspecified());
            listens.then_some(drops)
        })
        .sum()
}

/// `0100007F:5DA9` (IPv4) or 32 hex digits then `:PORT` (IPv6). The kernel prints each
/// 32-bit word of the address as a number in the host's byte order.
fn parse_local(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// A counter of the `Udp:` lines of `/proc/net/snmp` (a line of names, then of values).
fn snmp_v4(snmp: &str, name: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// A counter of `/proc/net/snmp6` (one `name value` per line).
fn snmp_v6(snmp6: &str, name: &str) -> Option<u64> {
    snmp6.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next()? == name).then(|| f.next()?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_drops_of_the_targets_sockets() {
        // Two SO_REUSEPORT sockets on 127.0.0.1:23969 (0x5DA1), one on another port, one
        // on 0.0.0.0 of the same port; written as this host's kernel would.
        let hex = |ip: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(ip));
        let lo = hex([127, 0, 0, 1]);
        let any = hex([0, 0, 0, 0]);
        let table = format!(
            "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             1: {lo}:5DA1 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0000000000000000 7\n\
             2: {lo}:5DA1 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 2 2 0000000000000000 5\n\
             3: {lo}:5DA2 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 3 2 0000000000000000 100\n\
             4: {any}:5DA1 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 4 2 0000000000000000 1\n\
             garbage line\n"
        );
        let target: SocketAddr = "127.0.0.1:23969".parse().unwrap();
        assert_eq!(socket_drops(&table, target), 13);
        assert_eq!(socket_drops("header only\n", target), 0);
    }

    #[test]
    fn parses_ipv6_local_addresses() {
        let mut field = String::new();
        for w in Ipv6Addr::LOCALHOST.octets().chunks(4) {
            let w: [u8; 4] = w.try_into().unwrap();
            field.push_str(&format!("{:08X}", u32::from_ne_bytes(w)));
        }
        field.push_str(":0050");
        assert_eq!(parse_local(&field), Some("[::1]:80".parse().unwrap()));
        assert_eq!(parse_local("0100007F"), None);
        assert_eq!(parse_local("0100:0050"), None);
    }

    #[test]
    fn reads_snmp_counters() {
        let snmp = "Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 10 0 4 9 3\nUdpLite: InDatagrams NoPorts InErrors\nUdpLite: 0 0 0\n";
        assert_eq!(snmp_v4(snmp, "RcvbufErrors"), Some(3));
        assert_eq!(snmp_v4(snmp, "InErrors"), Some(4));
        assert_eq!(snmp_v4(snmp, "Nope"), None);
        let snmp6 = "Udp6InDatagrams                 \t373878\nUdp6InErrors \t 2\n";
        assert_eq!(snmp_v6(snmp6, "Udp6InErrors"), Some(2));
        assert_eq!(snmp_v6(snmp6, "Udp6RcvbufErrors"), None);
    }

    #[test]
    fn reads_this_host() {
        let a = UdpDrops::read("127.0.0.1:9".parse().unwrap()).unwrap();
        let b = UdpDrops::read("127.0.0.1:9".parse().unwrap()).unwrap();
        assert!(b.host_in_errors >= a.host_in_errors);
        assert_eq!(a.since(&a), UdpDrops::default());
    }
}
