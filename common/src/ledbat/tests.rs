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
        let w = l.window();
        l.on_ack(w);
        assert_eq!(l.window(), (2 * MSS) << round);
    }
    assert_eq!(l.ssthresh(), usize::MAX, "still in slow start");
}

#[test]
fn slow_start_ends_when_the_queue_reaches_the_target() {
    let now = Instant::now();
    let mut l = Ledbat::new(now, MSS);
    l.on_ack(100 * MSS);
    let before = l.window();
    l.on_delay_sample(now, 10 * MS);
    delay(&mut l, now, 10 * MS + 150 * MS);
    assert_eq!(l.queuing_delay(), Duration::from_millis(150));
    l.on_ack(MSS);
    assert!(l.window() < before, "{} < {before}", l.window());
    assert_eq!(l.ssthresh(), before);
    // Below the target again, it grows by the gain, not by every byte acknowledged.
    delay(&mut l, now, 10 * MS);
    let w = l.window();
    l.on_ack(w);
    assert!(
        l.window() <= w + GAIN_BYTES as usize,
        "{} <= {w} + gain",
        l.window()
    );
}

#[test]
fn the_window_grows_below_the_target_and_shrinks_above_it_by_at_most_the_gain() {
    let now = Instant::now();
    let w = 100 * MSS;
    let mut l = steady(now, w);
    l.on_ack(w);
    assert_eq!(
        l.window(),
        w + GAIN_BYTES as usize,
        "empty queue: the full gain"
    );

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 50 * MS);
    l.on_ack(w);
    assert_eq!(
        l.window(),
        w + GAIN_BYTES as usize / 2,
        "half the target: half the gain"
    );

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 100 * MS);
    l.on_ack(w);
    assert_eq!(l.window(), w, "at the target: steady");

    let mut l = steady(now, w);
    delay(&mut l, now, 5 * MS + 2000 * MS);
    l.on_ack(w);
    assert_eq!(
        l.window(),
        w - GAIN_BYTES as usize,
        "far above: the full gain down"
    );
}

#[test]
fn a_long_queue_takes_the_window_down_to_two_segments_and_no_lower() {
    let now = Instant::now();
    let mut l = steady(now, 10 * MSS);
    delay(&mut l, now, 5 * MS + 1000 * MS);
    for _ in 0..1000 {
        l.on_ack(MSS);
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
        let w = l.window();
        l.on_ack(w);
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
        let w = l.window();
        l.on_ack(w);
    }
    assert_eq!(l.window(), 64 * 1024);
}
