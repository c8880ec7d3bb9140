//! Token-bucket upload limits, shared by every connection they govern.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes per second with one second of burst; a rate of 0 means no limit.
pub struct RateLimiter {
    rate: u64,
    state: Mutex<Bucket>,
}

struct Bucket {
    /// May go negative: a sender that took more than was there waits it off.
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(rate: u64) -> Self {
        Self {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate as f64,
                last: Instant::now(),
            }),
        }
    }

    /// Takes `n` bytes now and says how long the caller must wait before sending them.
    pub fn reserve(&self, n: u64, now: Instant) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        let rate = self.rate as f64;
        let mut b = self.state.lock().expect("rate limiter lock");
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.last = now;
        b.tokens -= n as f64;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / rate)
        }
    }

    /// Whether a rate is set at all.
    pub fn is_limited(&self) -> bool {
        self.rate != 0
    }

    /// Gives back `n` bytes taken and not sent (up to one second of burst).
    pub fn refund(&self, n: u64) {
        if self.rate == 0 {
            return;
        }
        let mut b = self.state.lock().expect("rate limiter lock");
        b.tokens = (b.tokens + n as f64).min(self.rate as f64);
    }

    pub async fn acquire(&self, n: u64) {
        let wait = self.reserve(n, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let r = RateLimiter::new(0);
        assert_eq!(r.reserve(u64::MAX, Instant::now()), Duration::ZERO);
    }

    #[test]
    fn waits_in_proportion_to_the_debt() {
        let r = RateLimiter::new(1000);
        let t0 = Instant::now();
        assert_eq!(r.reserve(1000, t0), Duration::ZERO, "one second of burst");
        assert_eq!(r.reserve(500, t0), Duration::from_millis(500));
        // Half a second later the debt is paid; another 250 bytes cost a quarter second.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(r.reserve(250, t1), Duration::from_millis(250));
    }

    #[test]
    fn refunds_pay_back_debt_up_to_the_burst() {
        let r = RateLimiter::new(1000);
        let t0 = Instant::now();
        assert_eq!(r.reserve(1500, t0), Duration::from_millis(500));
        r.refund(1500);
        assert_eq!(
            r.reserve(1000, t0),
            Duration::ZERO,
            "the debt was given back"
        );
        r.refund(5000);
        assert_eq!(r.reserve(1000, t0), Duration::ZERO);
        assert_eq!(
            r.reserve(1, t0),
            Duration::from_millis(1),
            "never more than the burst"
        );
    }
}
