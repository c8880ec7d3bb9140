//! Per-client token buckets: the tracker's announces and scrapes, the seeder's
//! encrypted handshakes (each a Diffie-Hellman exchange).
//!
//! IPv6 clients are limited per /64, the smallest network a host is usually given, or
//! one host could take 2^64 fresh buckets. The table is capped. At the cap, buckets that
//! have refilled are dropped (they are the same as new ones), then the tenth that was
//! used longest ago; a flood of fresh sources thus costs other clients at most a fresh
//! burst, and the limiter keeps limiting. Only while another request is evicting is a
//! new client served untracked (and counted) rather than refused.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dashmap::DashMap;

/// A client over its rate: how long until one more request would be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded; retry in {retry_secs} seconds")]
pub struct Limited {
    pub retry_secs: u32,
}

/// What [`RateLimiter::check`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Allowed because the table is full; not tracked.
    Untracked,
    Limited(Limited),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f32,
    /// Milliseconds since the limiter's epoch.
    last: u64,
}

/// Shards of the bucket table. The sweep write-locks one shard at a time, and a request
/// from a client of that shard waits meanwhile. DashMap's default (4 per CPU, 8 on two
/// cores) is 125 000 buckets a shard at the default cap of 1 M clients. A sweep of 1 M
/// clients takes about 10 ms either way (`benches/rate_limit.rs`: 9.8-11.0 ms with 8
/// shards, 8.4-10.7 ms with 256), so a shard is held 1.2-1.4 ms with 8 and 33-42 us
/// with 256.
const SHARDS: usize = 256;

pub struct RateLimiter {
    per_ms: f64,
    burst: f32,
    max_clients: usize,
    buckets: DashMap<u128, Bucket, hashbrown::DefaultHashBuilder>,
    len: AtomicUsize,
    epoch: Instant,
    /// Held by the one request that evicts at the cap.
    evicting: Mutex<()>,
    evicted: AtomicUsize,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32, max_clients: usize) -> Self {
        Self {
            per_ms: f64::from(per_minute) / 60_000.0,
            burst: burst as f32,
            max_clients,
            buckets: DashMap::with_hasher_and_shard_amount(Default::default(), SHARDS),
            len: AtomicUsize::new(0),
            epoch: Instant::now(),
            evicting: Mutex::new(()),
            evicted: AtomicUsize::new(0),
        }
    }

    /// Buckets dropped at the cap so far (refilled ones included).
    pub fn evicted(&self) -> usize {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Milliseconds on the limiter's clock.
    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub fn clients(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Takes one token from `ip`'s bucket at time `now` (from [`Self::now`]).
    pub fn check(&self, ip: IpAddr, now: u64) -> Verdict {
        let key = key(ip);
        if let Some(mut b) = self.buckets.get_mut(&key) {
            return self.take(&mut b, now);
        }
        if self.len.load(Ordering::Relaxed) >= self.max_clients {
            // A poisoned lock only means an earlier eviction panicked; evicting is
            // still safe, and giving up would leave the limiter off for good.
            let one = match self.evicting.try_lock() {
                Ok(g) => Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            if let Some(_one) = one {
                self.evict(now);
            }
            if self.len.load(Ordering::Relaxed) >= self.max_clients {
                return Verdict::Untracked;
            }
        }
        let mut b = self.buckets.entry(key).or_insert_with(|| {
            self.len.fetch_add(1, Ordering::Relaxed);
            Bucket {
                tokens: self.burst,
                last: now,
            }
        });
        self.take(&mut b, now)
    }

    fn take(&self, b: &mut Bucket, now: u64) -> Verdict {
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Verdict::Allowed;
        }
        let wait_ms = f64::from(1.0 - b.tokens) / self.per_ms;
        Verdict::Limited(Limited {
            retry_secs: (wait_ms / 1000.0).ceil().max(1.0) as u32,
        })
    }

    fn refill(&self, b: &mut Bucket, now: u64) {
        let elapsed = now.saturating_sub(b.last) as f64;
        b.tokens = (f64::from(b.tokens) + elapsed * self.per_ms).min(f64::from(self.burst)) as f32;
        b.last = now.max(b.last);
    }

    /// Makes room at the cap: refilled buckets go first, then, if that freed less than a
    /// tenth of the table, the tenth used longest ago. O(table) once per tenth of the
    /// cap in new clients, so O(10) per new client.
    fn evict(&self, now: u64) {
        let mut dropped = self.sweep(now);
        let target = self.max_clients - (self.max_clients / 10).max(1);
        let len = self.len.load(Ordering::Relaxed);
        if len > target {
            let mut lasts: Vec<u64> = self.buckets.iter().map(|b| b.last).collect();
            if lasts.is_empty() {
                // A sweep emptied the table while `len` still counted it.
                self.evicted.fetch_add(dropped, Ordering::Relaxed);
                return;
            }
            let n = (len - target).min(lasts.len().saturating_sub(1));
            // Buckets used in the same millisecond as the cutoff go too: more room, never
            // less.
            let (_, cutoff, _) = lasts.select_nth_unstable(n);
            let cutoff = *cutoff;
            let mut removed = 0;
            self.buckets.retain(|_, b| {
                let keep = b.last > cutoff;
                removed += usize::from(!keep);
                keep
            });
            self.len.fetch_sub(removed, Ordering::Relaxed);
            dropped += removed;
        }
        self.evicted.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Forgets clients whose buckets have refilled: they are the same as new ones.
    /// Returns how many were dropped.
    pub fn sweep(&self, now: u64) -> usize {
        let mut dropped = 0;
        self.buckets.retain(|_, b| {
            self.refill(b, now);
            let keep = b.tokens < self.burst;
            dropped += usize::from(!keep);
            keep
        });
        self.len.fetch_sub(dropped, Ordering::Relaxed);
        dropped
    }
}

/// IPv4 addresses as themselves (IPv4-mapped), IPv6 by their /64.
fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(_) => u128::from(v6),
            None => u128::from(v6) & !((1u128 << 64) - 1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate_then_refill() {
        // 60 a minute = one a second, burst 3.
        let rl = RateLimiter::new(60, 3, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(rl.check(ip, 0), Verdict::Allowed);
        }
        assert_eq!(rl.check(ip, 0), Verdict::Limited(Limited { retry_secs: 1 }));
        assert_eq!(
            rl.check(ip, 999),
            Verdict::Limited(Limited { retry_secs: 1 })
        );
        assert_eq!(rl.check(ip, 1000), Verdict::Allowed);
        // Another client has its own bucket.
        assert_eq!(
            rl.check("192.0.2.2".parse().unwrap(), 1000),
            Verdict::Allowed
        );
        assert_eq!(rl.clients(), 2);
        // Full again after three seconds: swept.
        assert_eq!(rl.sweep(1500), 0);
        assert_eq!(rl.sweep(5000), 2);
        assert_eq!(rl.clients(), 0);
    }

    #[test]
    fn ipv6_shares_a_bucket_per_64_and_the_table_is_capped() {
        let rl = RateLimiter::new(1, 1, 2);
        assert_eq!(
            rl.check("2001:db8::1".parse().unwrap(), 0),
            Verdict::Allowed
        );
        assert!(matches!(
            rl.check("2001:db8::ffff:1".parse().unwrap(), 0),
            Verdict::Limited(Limited { retry_secs: 60 })
        ));
        assert_eq!(
            rl.check("2001:db8:0:1::1".parse().unwrap(), 0),
            Verdict::Allowed
        );
        // At the cap, the bucket used longest ago makes room: the new client is limited.
        assert_eq!(rl.check("10.0.0.1".parse().unwrap(), 1), Verdict::Allowed);
        // (Both went: they were last used in the same millisecond.)
        assert!(rl.clients() <= 2);
        assert!(rl.evicted() >= 1);
        assert!(matches!(
            rl.check("10.0.0.1".parse().unwrap(), 1),
            Verdict::Limited(_)
        ));
    }

    /// Issue 13: a flood of fresh sources filled the table and every later client went
    /// unlimited. Now the flood evicts itself and the limiter keeps limiting.
    #[test]
    fn a_flood_of_fresh_sources_cannot_switch_the_limiter_off() {
        let rl = RateLimiter::new(60, 2, 1_000);
        let victim: IpAddr = "198.51.100.7".parse().unwrap();
        let mut untracked = 0;
        for i in 0..50_000u64 {
            // A /32 worth of /64s, one request each, over 50 seconds.
            let src = IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8u128 << 96) | (u128::from(i) << 64),
            ));
            untracked += usize::from(rl.check(src, i) == Verdict::Untracked);
            assert!(rl.clients() <= 1_000);
        }
        assert_eq!(untracked, 0);
        // The victim is still limited after the flood.
        let now = 50_000;
        assert_eq!(rl.check(victim, now), Verdict::Allowed);
        assert_eq!(rl.check(victim, now), Verdict::Allowed);
        assert!(matches!(rl.check(victim, now), Verdict::Limited(_)));
    }

    #[test]
    fn a_clock_going_backwards_does_not_mint_tokens() {
        let rl = RateLimiter::new(60, 1, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(rl.check(ip, 10_000), Verdict::Allowed);
        assert!(matches!(rl.check(ip, 0), Verdict::Limited(_)));
    }
}
