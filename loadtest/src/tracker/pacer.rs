//! Sub-millisecond waits for the open-loop rate.
//!
//! tokio's timer wheel has millisecond slots: every send scheduled within one millisecond
//! fires at the same tick. At 20 000 requests/s over 64 connections that turns an even
//! rate into a burst of 20 requests each millisecond, and the last of a burst waits for
//! the other 19 in the tracker's queue: the p99 then measures the generator's timer, not
//! the tracker.
//!
//! So a paced worker sleeps on that timer until 2 ms before its send (the timer rounds
//! up to its next slot, so it wakes 1-2 ms early), then yields to the runtime until the
//! time comes. Each round of yields polls the reactor, so replies are still read on
//! time. The generator's core is busy while anyone waits (so a paced run reports no
//! generator CPU figure), and no timer interrupt is needed: one per request was tried (a
//! timerfd per worker) and brought the generator to 45 us of CPU per request on a KVM
//! guest, 90% of its core, so the generator became the queue (BENCHMARKS.md, "the p99
//! at a fixed rate").

use std::time::Duration;

use tokio::time::Instant;

/// How early the coarse timer hands over to yielding: its slots are 1 ms, and it may
/// fire a slot late.
const SPIN: Duration = Duration::from_millis(2);

/// Returns at `at` (within one round of the runtime's ready tasks), or at once if that has
/// passed.
pub async fn sleep_until(at: Instant) {
    if let Some(coarse) = at.checked_sub(SPIN) {
        if Instant::now() < coarse {
            tokio::time::sleep_until(coarse).await;
        }
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn never_returns_before_the_time() {
        for wait in [0, 100, 1_500, 2_500, 4_000] {
            let at = Instant::now() + Duration::from_micros(wait);
            sleep_until(at).await;
            assert!(Instant::now() >= at, "woke before a {wait} us wait ended");
        }
    }
}
