//! Open connections per client address, so one host cannot hold every connection slot
//! of a daemon by opening connections and sending nothing, or nothing useful. Used by
//! the tracker's and the seeder's accept loops; no I/O, only a lock and a table bounded
//! by the daemon's own connection cap.
//!
//! An IPv6 client is counted by its /64: a subscriber gets a whole /64 and can rotate
//! through it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use crate::peer::canonical_ip;

/// Counts shared by the accept loops of all public listeners.
pub struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; its address's count drops when this does.
pub struct Slot {
    owner: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `ip`, or `None` when its address holds `max`.
    pub fn try_open(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let key = holder(ip);
        let mut open = self.open.lock().expect("per-address lock");
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            owner: self.clone(),
            key,
        })
    }

    /// Addresses with at least one open connection.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open.lock().expect("per-address lock").len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().expect("per-address lock");
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The address a client controls: itself for IPv4, its /64 for IPv6.
pub fn holder(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_address_and_by_64() {
        let l = PerAddress::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let s1 = l.try_open(a).unwrap();
        let _s2 = l.try_open(a).unwrap();
        assert!(l.try_open(a).is_none());
        assert!(l.try_open("192.0.2.2".parse().unwrap()).is_some());
        drop(s1);
        let _s3 = l.try_open(a).unwrap();
        // Two addresses of one /64 share a count; another /64 does not.
        let _x = l.try_open("2001:db8::1".parse().unwrap()).unwrap();
        let _y = l.try_open("2001:db8::ffff:1".parse().unwrap()).unwrap();
        assert!(l.try_open("2001:db8::2".parse().unwrap()).is_none());
        assert!(l.try_open("2001:db8:0:1::1".parse().unwrap()).is_some());
        // An IPv4-mapped address counts as its IPv4 address.
        assert!(l.try_open("::ffff:192.0.2.1".parse().unwrap()).is_none());
    }

    #[test]
    fn empty_entries_are_removed() {
        let l = PerAddress::new(1);
        drop(l.try_open("192.0.2.1".parse().unwrap()));
        assert_eq!(l.addresses(), 0);
    }
}
