use super::*;

const MSS: usize = 1400;
const MS: u32 = 1000;

/// A controller out of slow start at `cwnd` bytes, with an empty queue measured.
fn steady(now: Instant, cwnd: usize) -> Ledbat {
    let mut l = Ledbat::new(now, MSS);
    l.on_recovered(cwnd, cwnd);
    l.on_delay_sample(now, 5 * MS);
    l
}

/// One round trip of a sender that keeps its window full: the window's worth of bytes
/// acknowledged a segment at a time, each with the whole window in flight.
fn round_trip(l: &mut Ledbat) {
    let mut left = l.window();
    while left > 0 {
        let n = left.min(MSS);
        l.on_ack(n, l.window());
        left -= n;
    }
}

/// Fills the current-delay filter with `sample`.
fn delay(l: &mut Ledbat, now: Instant, sample: u32) {
    for _ in 0..CURRENT_FILTER {
        l.on_delay_sample(now, sample);
    }
}

#[test]
fn slow_start_doubles_the_window_each_round_trip_while_the_queue_is_short() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    assert_eq!(l.window(), 2 * MSS);
    for round in 1..=5 {
        round_trip(&mut l);
        assert_eq!(l.window(), (2 * MSS) << round);
    }
    assert_eq!(l.ssthresh(), usize::MAX, "still in slow start");
}

#[test]
fn slow_start_ends_when_the_queue_reaches_the_target() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    for _ in 0..5 {
        round_trip(&mut l);
    }
    let before = l.window();
    l.on_delay_sample(now, 10 * MS);
    delay(&mut l, now, 10 * MS + 150 * MS);
    assert_eq!(l.queuing_delay(), Duration::from_millis(150));
    l.on_ack(MSS, before);
    assert!(l.window() < before, "{} < {before}", l.window());
    assert_eq!(l.ssthresh(), before);
    // Below the target again, it grows by the gain, not by every byte acknowledged.
    delay(&mut l, now, 10 * MS);
    let w = l.window();
    round_trip(&mut l);
    assert!(
        l.window() <= w + GAIN_BYTES as usize,
        "{} <= {w} + gain",
        l.window()
    );
}

/// Whether `got` is within 2% of `want` (a round trip's growth is summed ack by ack,
/// each over the window of that moment).
fn near(got: usize, want: f64) -> bool {
    (got as f64 - want).abs() <= want.abs() * 0.02 + 1.0
}

#[test]
fn the_window_grows_below_the_target_and_shrinks_above_it_by_at_most_the_gain() {
    let now = Instant::now();
    let w = 100 * MSS;
    let gain = |l: &Ledbat| l.window() as f64 - w as f64;
    let mut l = steady(now, w);
    round_trip(&mut l);
    assert!(
        near(gain(&l) as usize, GAIN_BYTES),
        "empty queue: the full gain, {}",
        gain(&l)
    );

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 50 * MS);
    round_trip(&mut l);
    assert!(
        near(gain(&l) as usize, GAIN_BYTES / 2.0),
        "half the target: half, {}",
        gain(&l)
    );

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 100 * MS);
    round_trip(&mut l);
    assert_eq!(l.window(), w, "at the target: steady");

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 2000 * MS);
    round_trip(&mut l);
    assert!(
        near(w - l.window(), GAIN_BYTES),
        "far above: the full gain down, {}",
        gain(&l)
    );
}

#[test]
fn the_window_grows_only_while_it_is_used() {
    let now = Instant::now();
    let w = 100 * MSS;
    let mut l = steady(now, w);
    // Our own sending keeps only 10 segments in flight: no growth, and no shrinking.
    for _ in 0..1000 {
        l.on_ack(MSS, 10 * MSS);
    }
    assert_eq!(l.window(), w);
    // In slow start too, growth stops two segments past what is in flight.
    let mut l = Ledbat::new(now, MSS);
    for _ in 0..1000 {
        l.on_ack(MSS, 10 * MSS);
    }
    assert_eq!(l.window(), 12 * MSS);
}

#[test]
fn a_small_receive_window_stops_growth_but_does_not_cost_the_window() {
    let now = Instant::now();
    let w = 100 * MSS;
    let mut l = steady(now, w);
    // The receiver is briefly behind (its advertised window dips to one segment)...
    l.set_remote_window(MSS);
    l.on_ack(MSS, w);
    assert_eq!(l.window(), MSS, "what may be sent follows the receiver");
    // ...and once it catches up, the window is what it was, not two segments.
    l.set_remote_window(usize::MAX);
    l.on_ack(MSS, w);
    assert!(l.window() >= w, "{}", l.window());
}

#[test]
fn a_long_queue_takes_the_window_down_to_two_segments_and_no_lower() {
    let now = Instant::now();
    let mut l = steady(now, 10 * MSS);
    delay(&mut l, now, 5 * MS + 1000 * MS);
    for _ in 0..1000 {
        l.on_ack(MSS, l.window());
    }
    assert_eq!(l.window(), 2 * MSS);
}

#[test]
fn one_late_acknowledgement_is_not_a_queue() {
    let now = Instant::now();
    let mut l = steady(now, 10 * MSS);
    delay(&mut l, now, 5 * MS);
    l.on_delay_sample(now, 5 * MS + 500 * MS);
    assert_eq!(l.queuing_delay(), Duration::ZERO);
}

#[test]
fn zero_samples_are_no_measurement() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    l.on_delay_sample(now, 0);
    assert!(l.base.is_empty());
    l.on_delay_sample(now, 7 * MS);
    l.on_delay_sample(now, 0);
    assert_eq!(l.queuing_delay(), Duration::ZERO);
}

#[test]
fn the_base_delay_forgets_minutes_older_than_its_history() {
    let start = Instant::now();
    let mut l = steady(start, 10 * MSS);
    // The route got 40 ms longer: for ten minutes that reads as a queue...
    for minute in 1..=BASE_HISTORY as u32 {
        let now = start + MINUTE * minute;
        delay(&mut l, now, 45 * MS);
        if minute < BASE_HISTORY as u32 {
            assert_eq!(
                l.queuing_delay(),
                Duration::from_millis(40),
                "minute {minute}"
            );
        }
    }
    // ...and then as the new empty queue.
    assert_eq!(l.queuing_delay(), Duration::ZERO);
}

#[test]
fn samples_wrap_around_the_32_bit_clock() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    let base = u32::MAX - 10 * MS;
    l.on_delay_sample(now, base);
    delay(&mut l, now, base.wrapping_add(60 * MS));
    assert_eq!(l.queuing_delay(), Duration::from_millis(60));
    // A sample just below the base, across the wrap, is the new base.
    l.on_delay_sample(now, base - MS);
    delay(&mut l, now, base - MS);
    assert_eq!(l.queuing_delay(), Duration::ZERO);
    assert_eq!(wrapping_min(u32::MAX, 5), u32::MAX);
    assert_eq!(wrapping_min(5, u32::MAX), u32::MAX);
    assert_eq!(wrapping_min(5, 7), 5);
}

#[test]
fn losses_halve_the_window_and_a_timeout_restarts_from_one_segment() {
    let now = Instant::now();
    let mut l = steady(now, 100 * MSS);
    l.on_loss();
    assert_eq!(l.window(), 50 * MSS);
    assert_eq!(l.ssthresh(), 50 * MSS);
    l.on_timeout();
    assert_eq!(l.ssthresh(), 25 * MSS);
    // One segment of window, but never less than two may be in flight.
    assert_eq!(l.cwnd as usize, MSS);
    assert_eq!(l.window(), 2 * MSS);
    // Slow start climbs back to the threshold, then the delay rules.
    for _ in 0..10 {
        round_trip(&mut l);
    }
    assert!(
        l.window() <= 25 * MSS + 10 * GAIN_BYTES as usize,
        "{}",
        l.window()
    );
    assert!(l.window() > 25 * MSS);
}

#[test]
fn the_receivers_window_caps_ours() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    l.set_remote_window(64 * 1024);
    for _ in 0..20 {
        round_trip(&mut l);
    }
    assert_eq!(l.window(), 64 * 1024);
}
