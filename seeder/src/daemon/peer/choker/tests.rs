use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use bytes::BytesMut;

use crate::daemon::peer::memory::PeerMemory;
use crate::daemon::peer::session::{Event, Limits, Received, Session};
use crate::daemon::testing;

fn conns(n: u64) -> (testing::Fixture, Vec<Arc<Conn>>) {
    let f = testing::torrent(b"abc", 16384, true);
    let limits = Limits {
        max_requests_per_peer: 250,
        max_interest_changes: 100,
        max_bitfield_resets: 4,
    };
    let conns = (1..=n)
        .map(|id| {
            let session = Session::new(true, false, limits, f.torrent.bitfield(), Instant::now());
            Arc::new(Conn::new(
                id,
                "127.0.0.1:1".parse().unwrap(),
                f.torrent.clone(),
                session,
                PeerMemory::new(1, usize::MAX, prometheus::IntGauge::new("m", "m").unwrap()),
            ))
        })
        .collect();
    (f, conns)
}

/// The peer says `interested` (or `not_interested`): its session reports the change and
/// the choker is told, as the reader does it.
fn say(c: &Conn, ch: &Choker, interested: bool) {
    let mut msg = BytesMut::from(&[0, 0, 0, 1, if interested { 2 } else { 3 }][..]);
    let (received, events) = c.with(|s| (s.receive(c, &mut msg, Instant::now()), s.take_events()));
    assert_eq!(received, Ok(Received::Message));
    if interested {
        assert_eq!(events, vec![Event::Interested]);
        ch.interested(c);
    } else {
        assert_eq!(events, vec![Event::NotInterested]);
        ch.not_interested(c);
    }
}

fn unchoked(cs: &[Arc<Conn>]) -> Vec<u64> {
    cs.iter()
        .filter(|c| c.is_unchoked())
        .map(|c| c.id)
        .collect()
}

/// `n` connections, added in order to a choker of `slots` slots, each interested at once.
fn all_interested(n: u64, slots: usize) -> (testing::Fixture, Vec<Arc<Conn>>, Choker) {
    let (f, cs) = conns(n);
    let ch = Choker::new(slots, Metrics::new());
    for c in &cs {
        ch.add(c.clone());
        say(c, &ch, true);
    }
    (f, cs, ch)
}

#[test]
fn interested_peers_get_free_slots_at_once() {
    let (_f, cs, ch) = all_interested(3, 2);
    assert_eq!(unchoked(&cs), vec![1, 2]);
    // A peer that loses interest frees its slot for the one waiting.
    say(&cs[0], &ch, false);
    assert_eq!(unchoked(&cs), vec![2, 3]);
    // And one that leaves, likewise.
    say(&cs[0], &ch, true);
    ch.remove(&cs[1]);
    assert_eq!(unchoked(&cs), vec![1, 3]);
}

#[test]
fn rounds_rotate_by_bytes_served() {
    let (_f, cs, ch) = all_interested(3, 2);
    let now = Instant::now();
    let long = Duration::from_secs(60);
    cs[0].round_bytes.store(1000, Ordering::Release);
    cs[1].round_bytes.store(10, Ordering::Release);
    ch.round(now, long);
    assert_eq!(unchoked(&cs), vec![2, 3], "the peer served most waits");
    cs[1].round_bytes.store(500, Ordering::Release);
    cs[2].round_bytes.store(400, Ordering::Release);
    ch.round(now, long);
    assert_eq!(unchoked(&cs), vec![1, 3], "and gets its turn back");
}

#[test]
fn an_idle_unchoked_peer_gives_up_its_slot() {
    let (_f, cs, ch) = all_interested(2, 1);
    assert_eq!(unchoked(&cs), vec![1]);
    let later = Instant::now() + Duration::from_secs(120);
    ch.round(later, Duration::from_secs(60));
    assert_eq!(unchoked(&cs), vec![2]);
}

#[test]
fn a_new_peer_is_unchoked_while_a_slot_is_free_and_gives_it_up_to_an_interested_one() {
    let (_f, cs) = conns(3);
    let ch = Choker::new(2, Metrics::new());
    for c in &cs {
        ch.add(c.clone());
    }
    assert_eq!(
        unchoked(&cs),
        vec![1, 2],
        "unchoked on arrival, while slots last"
    );
    // A round keeps them: the slots are spare.
    ch.round(Instant::now(), Duration::from_secs(60));
    assert_eq!(unchoked(&cs), vec![1, 2]);
    // The third becomes interested: the slot of one that is not interested is its.
    say(&cs[2], &ch, true);
    assert_eq!(unchoked(&cs).len(), 2);
    assert!(cs[2].is_unchoked());
    // The other two as well: one takes the last uninterested peer's slot, the other
    // waits, as interested peers do when every slot serves one.
    say(&cs[0], &ch, true);
    say(&cs[1], &ch, true);
    assert_eq!(unchoked(&cs).len(), 2);
    assert!(cs[2].is_unchoked(), "an interested peer keeps its slot");
    // A round with every slot wanted leaves no uninterested peer unchoked.
    let (_f2, more) = conns(2);
    let ch2 = Choker::new(1, Metrics::new());
    ch2.add(more[0].clone());
    ch2.add(more[1].clone());
    assert!(more[0].is_unchoked() && !more[1].is_unchoked());
    say(&more[1], &ch2, true);
    ch2.round(Instant::now(), Duration::from_secs(60));
    assert!(!more[0].is_unchoked() && more[1].is_unchoked());
}
