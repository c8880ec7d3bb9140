// Seedline: LEDBAT (RFC 6817, BEP 29) for this crate's controller interface. The
// controller itself is seedline_common::ledbat (sans-io, tested there); this only
// adapts the calls.

use std::time::Instant;

use seedline_common::ledbat;

use crate::rtte::RttEstimator;

use super::CongestionController;

#[derive(Debug)]
pub struct Ledbat(ledbat::Ledbat);

impl Ledbat {
    pub fn new(now: Instant, mss: usize) -> Self {
        let mut l = ledbat::Ledbat::new(now, mss);
        // As Cubic: no window until the remote advertises one.
        l.set_remote_window(0);
        Self(l)
    }
}

impl CongestionController for Ledbat {
    fn window(&self) -> usize {
        self.0.window()
    }

    fn sshthresh(&self) -> usize {
        self.0.ssthresh()
    }

    fn set_mss(&mut self, mss: usize) {
        self.0.set_mss(mss)
    }

    fn smss(&self) -> usize {
        self.0.mss()
    }

    fn on_recovered(&mut self, new_cwnd_bytes: usize, new_sshthresh: usize) {
        self.0.on_recovered(new_cwnd_bytes, new_sshthresh)
    }

    fn on_ack(&mut self, _now: Instant, len: usize, _rtt: &RttEstimator) {
        self.0.on_ack(len)
    }

    fn on_retransmission_timeout(&mut self, _now: Instant) {
        self.0.on_timeout()
    }

    fn on_enter_recovery(&mut self, _now: Instant) {
        self.0.on_loss()
    }

    fn set_remote_window(&mut self, win: usize) {
        self.0.set_remote_window(win)
    }

    fn on_delay_sample(&mut self, now: Instant, sample_us: u32) {
        self.0.on_delay_sample(now, sample_us)
    }
}
