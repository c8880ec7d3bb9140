// Seedline: LEDBAT (RFC 6817, BEP 29) for this crate's controller interface. The
// controller itself is seedline_common::ledbat (sans-io, tested there); this only
// adapts the calls.

use std::time::Instant;

use seedline_common::ledbat;

use crate::rtte::RttEstimator;

use super::CongestionController;

#[derive(Debug)]
pub struct Ledbat {
    inner: ledbat::Ledbat,
    /// In flight after the ack being handled (`on_flight_size`).
    flight_after: usize,
}

impl Ledbat {
    pub fn new(now: Instant, mss: usize) -> Self {
        let mut l = ledbat::Ledbat::new(now, mss);
        // As Cubic: no window until the remote advertises one.
        l.set_remote_window(0);
        Self {
            inner: l,
            flight_after: 0,
        }
    }
}

impl CongestionController for Ledbat {
    fn window(&self) -> usize {
        self.inner.window()
    }

    fn sshthresh(&self) -> usize {
        self.inner.ssthresh()
    }

    fn set_mss(&mut self, mss: usize) {
        self.inner.set_mss(mss)
    }

    fn smss(&self) -> usize {
        self.inner.mss()
    }

    fn on_recovered(&mut self, new_cwnd_bytes: usize, new_sshthresh: usize) {
        self.inner.on_recovered(new_cwnd_bytes, new_sshthresh)
    }

    fn on_ack(&mut self, _now: Instant, len: usize, _rtt: &RttEstimator) {
        // In flight before this ack: what is left plus what it acknowledged.
        self.inner.on_ack(len, self.flight_after + len)
    }

    fn on_retransmission_timeout(&mut self, _now: Instant) {
        self.inner.on_timeout()
    }

    fn on_enter_recovery(&mut self, _now: Instant) {
        self.inner.on_loss()
    }

    fn set_remote_window(&mut self, win: usize) {
        self.inner.set_remote_window(win)
    }

    fn on_delay_sample(&mut self, now: Instant, sample_us: u32) {
        self.inner.on_delay_sample(now, sample_us)
    }

    fn on_flight_size(&mut self, bytes: usize) {
        self.flight_after = bytes;
    }
}
