pub mod cubic;
// Seedline: LEDBAT (BEP 29), on seedline_common::ledbat.
pub mod ledbat;
pub mod tracing;

use std::time::Instant;

use crate::rtte::RttEstimator;

#[allow(unused_variables)]
pub trait CongestionController: Send + Sync + core::fmt::Debug {
    /// Returns the number of bytes that can be sent.
    fn window(&self) -> usize;

    fn sshthresh(&self) -> usize;

    fn set_mss(&mut self, mss: usize);

    fn smss(&self) -> usize;

    fn on_recovered(&mut self, new_cwnd_bytes: usize, new_sshthresh: usize);

    /// Increase the window on ACK
    fn on_ack(&mut self, now: Instant, len: usize, rtt: &RttEstimator);

    // NOT fast retransmit
    // flight_size per rfc5681
    fn on_retransmission_timeout(&mut self, now: Instant);

    fn on_enter_recovery(&mut self, now: Instant);

    fn set_remote_window(&mut self, win: usize);

    // Seedline: the remote's timestamp_difference_microseconds from each incoming
    // packet, for delay-based controllers (LEDBAT). Cubic ignores it.
    fn on_delay_sample(&mut self, now: Instant, sample_us: u32) {}

    // Seedline: bytes still in flight once an incoming ack's segments are removed,
    // called just before on_ack (LEDBAT grows its window only while it is used).
    fn on_flight_size(&mut self, bytes: usize) {}
}
