//! LEDBAT (RFC 6817) as uTP (BEP 29) uses it: the sender's window grows while the
//! one-way queuing delay it causes stays under a target and shrinks as the delay passes
//! it, so a transfer fills an idle link without filling the modem's buffer in front of
//! it (the seconds of lag that make a household's web browsing stall).
//!
//! Input is what uTP carries: every acknowledgement holds the receiver's
//! `timestamp_difference_microseconds`, its clock minus our send timestamp. Both clocks
//! are arbitrary, so a sample is the path's one-way delay plus an unknown constant; the
//! smallest sample of the last minutes (the base delay) stands for the empty queue, and
//! a sample minus the base is the queue we built. All arithmetic on samples wraps, as the
//! 32-bit microsecond values do (every 71 minutes).
//!
//! Sans-io like the rest of the crate: time comes in as arguments.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Queuing delay the sender aims for: BEP 29's 100 ms (libtorrent's `utp_target_delay`).
pub const TARGET: Duration = Duration::from_millis(100);
/// The most the window grows per round trip at zero delay, in bytes (libtorrent's
/// `utp_gain_factor`); RFC 6817's `GAIN` is this over the segment size, about 2 for
/// 1 400-byte segments where the RFC asks for at most 1: libtorrent's choice, kept so
/// that our uploads compete with libtorrent's on equal terms.
const GAIN_BYTES: f64 = 3000.0;
/// Segments the window may exceed the data in flight by (RFC 6817's `ALLOWED_INCREASE`):
/// a sender with little to send does not build up a window it would later burst.
const ALLOWED_INCREASE: f64 = 2.0;
/// Minutes of base-delay history (RFC 6817's `BASE_HISTORY`): long enough that the
/// minimum has seen an empty queue, short enough to follow a route change.
const BASE_HISTORY: usize = 10;
const MINUTE: Duration = Duration::from_secs(60);
/// Recent samples whose minimum is the current delay (RFC 6817's `CURRENT_FILTER`):
/// one delayed acknowledgement does not shrink the window.
const CURRENT_FILTER: usize = 4;
/// The smallest window, in segments (RFC 6817's `MIN_CWND`).
const MIN_SEGMENTS: f64 = 2.0;

/// One connection's congestion window, in bytes.
#[derive(Debug, Clone)]
pub struct Ledbat {
    cwnd: f64,
    /// In slow start the window grows by every byte acknowledged, up to `ssthresh`,
    /// while the queue is under the target: at a connection's start (to `usize::MAX`)
    /// and after a timeout or a loss recovery (back to half the window lost). The queue
    /// reaching the target ends it until the next of those.
    slow_start: bool,
    ssthresh: f64,
    mss: usize,
    /// The receiver's advertised window; the window never exceeds it.
    rwnd: usize,
    /// The smallest sample of each of the last [`BASE_HISTORY`] minutes, newest last.
    base: VecDeque<u32>,
    minute_started: Instant,
    current: [u32; CURRENT_FILTER],
    /// Samples seen so far, up to [`CURRENT_FILTER`].
    samples: usize,
    next: usize,
}

impl Ledbat {
    /// A window of two segments of `mss` bytes (RFC 6817's `INIT_CWND`), in slow start.
    pub fn new(now: Instant, mss: usize) -> Self {
        let mss = mss.max(1);
        Self {
            cwnd: MIN_SEGMENTS * mss as f64,
            slow_start: true,
            ssthresh: f64::INFINITY,
            mss,
            rwnd: usize::MAX,
            base: VecDeque::with_capacity(BASE_HISTORY),
            minute_started: now,
            current: [0; CURRENT_FILTER],
            samples: 0,
            next: 0,
        }
    }

    /// Bytes that may be in flight: the window, at least two segments, at most what the
    /// receiver advertises.
    pub fn window(&self) -> usize {
        let floor = MIN_SEGMENTS * self.mss as f64;
        (self.cwnd.max(floor) as usize).min(self.rwnd)
    }

    /// The slow-start threshold; during loss recovery, the window allowed.
    pub fn ssthresh(&self) -> usize {
        if self.ssthresh.is_finite() {
            self.ssthresh as usize
        } else {
            usize::MAX
        }
    }

    pub fn mss(&self) -> usize {
        self.mss
    }

    /// The segment size changed (path MTU discovery). The window is in bytes, so it
    /// stands; only the floor and the gain follow.
    pub fn set_mss(&mut self, mss: usize) {
        self.mss = mss.max(1);
    }

    pub fn set_remote_window(&mut self, bytes: usize) {
        self.rwnd = bytes;
    }

    /// One delay sample from an acknowledgement's `timestamp_difference_microseconds`.
    /// Zero means the receiver had nothing to measure yet (BEP 29), and is skipped.
    pub fn on_delay_sample(&mut self, now: Instant, sample: u32) {
        if sample == 0 {
            return;
        }
        self.current[self.next] = sample;
        self.next = (self.next + 1) % CURRENT_FILTER;
        self.samples = (self.samples + 1).min(CURRENT_FILTER);
        let new_minute = now.saturating_duration_since(self.minute_started) >= MINUTE;
        match self.base.back_mut() {
            Some(min) if !new_minute => *min = wrapping_min(*min, sample),
            _ => {
                if self.base.len() == BASE_HISTORY {
                    self.base.pop_front();
                }
                self.base.push_back(sample);
                self.minute_started = now;
            }
        }
    }

    /// The queue this connection's data waits in: the current delay over the base.
    /// Zero until the first sample.
    pub fn queuing_delay(&self) -> Duration {
        let Some(base) = self.base.iter().copied().reduce(wrapping_min) else {
            return Duration::ZERO;
        };
        let current = self.current[..self.samples]
            .iter()
            .copied()
            .reduce(wrapping_min)
            .unwrap_or(base);
        // Never negative: the base is the minimum of every sample, these included.
        let above = current.wrapping_sub(base);
        Duration::from_micros(if above > i32::MAX as u32 {
            0
        } else {
            u64::from(above)
        })
    }

    /// `bytes` were acknowledged, of `flight` bytes in flight before the acknowledgement.
    ///
    /// The window grows only while it is used (at most `flight` plus
    /// `ALLOWED_INCREASE` segments) and while the receiver could take more than it
    /// (its advertised window). Unlike RFC 6817's cap, neither shrinks it: a lull in our
    /// own sending, or a receiver briefly behind on its disk, would otherwise cost the
    /// window, and it regrows by only `GAIN_BYTES` a round trip.
    pub fn on_ack(&mut self, bytes: usize, flight: usize) {
        if bytes == 0 {
            return;
        }
        let before = self.cwnd;
        let queue = self.queuing_delay();
        let off_target = (TARGET.as_secs_f64() - queue.as_secs_f64()) / TARGET.as_secs_f64();
        if off_target <= 0.0 && self.slow_start {
            self.slow_start = false;
            self.ssthresh = self.ssthresh.min(self.cwnd);
        }
        if self.slow_start && self.cwnd < self.ssthresh {
            self.cwnd = (self.cwnd + bytes as f64).min(self.ssthresh);
        } else {
            // RFC 6817: GAIN * off_target * bytes_acked * MSS / cwnd, which grows the
            // window by at most GAIN_BYTES per round trip and shrinks it as fast.
            self.cwnd += off_target.clamp(-1.0, 1.0) * GAIN_BYTES * bytes as f64 / self.cwnd;
        }
        if self.cwnd > before {
            let used = flight as f64 + ALLOWED_INCREASE * self.mss as f64;
            self.cwnd = self.cwnd.min(used.min(self.rwnd as f64).max(before));
        }
        self.cwnd = self.cwnd.max(self.floor());
    }

    /// A loss seen by duplicate acknowledgements: the window halves (RFC 6817, as TCP).
    pub fn on_loss(&mut self) {
        self.cwnd = (self.cwnd / 2.0).max(self.floor());
        self.ssthresh = self.cwnd;
        self.slow_start = false;
    }

    /// Loss recovery ended with `cwnd` bytes allowed, climbing back to `ssthresh`.
    pub fn on_recovered(&mut self, cwnd: usize, ssthresh: usize) {
        self.cwnd = (cwnd as f64).max(self.floor());
        self.ssthresh = ssthresh as f64;
        self.slow_start = true;
    }

    /// A retransmission timeout: a window of one segment (RFC 6817; [`Self::window`]
    /// still lets two out, the floor the uTP crate's CUBIC keeps too), then slow start
    /// back to half the window lost.
    pub fn on_timeout(&mut self) {
        self.ssthresh = (self.cwnd / 2.0).max(self.floor());
        self.cwnd = self.mss as f64;
        self.slow_start = true;
    }

    fn floor(&self) -> f64 {
        MIN_SEGMENTS * self.mss as f64
    }
}

/// The smaller of two wrapping 32-bit samples: `a` is smaller when `b` is less than
/// half the range ahead of it.
fn wrapping_min(a: u32, b: u32) -> u32 {
    if b.wrapping_sub(a) <= i32::MAX as u32 {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests;
