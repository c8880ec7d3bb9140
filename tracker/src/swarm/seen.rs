//! When a stored peer last announced, in 2 bytes, and which peers an expiry removes.

/// When a peer last announced, in 2 bytes: the tracker's clock in ticks of
/// [`SEEN_TICK`] seconds, wrapping every 65 536 ticks (72.8 hours). An age is read
/// modulo that, which is right while every peer is expired well before it is that old:
/// the configuration keeps `peer_timeout + sweep_interval` under [`MAX_PEER_AGE`].
/// Two bytes instead of four make an IPv4 peer 8 bytes instead of 10.
pub const SEEN_TICK: u32 = 4;

/// The oldest a stored peer may get before a sweep removes it, in seconds: half the
/// clock's wrap, so a sweep that runs late still reads every age right.
pub const MAX_PEER_AGE: u32 = (1 << 15) * SEEN_TICK;

pub(super) fn tick(now: u32) -> [u8; 2] {
    ((now / SEEN_TICK) as u16).to_ne_bytes()
}

/// Which peers an expiry removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Those silent for more than `max_age` seconds at `now` (at most [`MAX_PEER_AGE`]).
    /// A peer's age is known to within a tick: it goes up to `SEEN_TICK - 1` seconds
    /// late, never early.
    OlderThan { now: u32, max_age: u32 },
    /// Every peer (the torrent is forgotten).
    All,
}

impl Expiry {
    pub(super) fn removes(&self, seen: [u8; 2]) -> bool {
        match *self {
            Expiry::All => true,
            Expiry::OlderThan { now, max_age } => {
                let ticks = u16::from_ne_bytes(tick(now)).wrapping_sub(u16::from_ne_bytes(seen));
                // A sweep reads the clock once and then walks the shards while announces
                // go on: a peer may carry a tick later than the sweep's `now`, which reads
                // as nearly a whole wrap old. Every real age is under half the wrap
                // (`MAX_PEER_AGE`), so the upper half is the future: kept.
                if ticks >= 1 << 15 {
                    return false;
                }
                // It announced at `seen * SEEN_TICK + SEEN_TICK - 1` at the latest.
                let at_least = i64::from(ticks) * i64::from(SEEN_TICK) + i64::from(now % SEEN_TICK)
                    - i64::from(SEEN_TICK - 1);
                at_least > i64::from(max_age)
            }
        }
    }
}
