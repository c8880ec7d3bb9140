//! The swarm's memory layout: its size, peers in place, the rare box, and the 2-byte
//! timestamps.

use super::*;

/// Every torrent pays for its swarm in the map's slot, beside its 20-byte key: 64 bytes
/// a slot instead of 88 saved 2.4 bytes a peer at 1 M peers over 100 000 torrents.
#[test]
fn swarm_is_forty_bytes() {
    assert_eq!(std::mem::size_of::<Swarm>(), 40);
    assert_eq!(
        std::mem::size_of::<(seedline_common::InfoHash, Swarm)>(),
        64
    );
}

/// Up to two IPv4 peers sit in the list itself; a third moves them all into a box, and
/// they move back once two are left. IPv6 peers are always boxed.
#[test]
fn small_lists_keep_their_peers_in_place() {
    let mut s = Swarm::default();
    let v4 = |i| format!("10.0.0.{i}:6881");
    let mut caps = Vec::new();
    for i in 1..=4 {
        s.announce(&ann(&v4(i), Event::Started, i == 2, 1), 10, true, &());
        s.check_invariants();
        caps.push(s.v4.capacity());
    }
    assert_eq!(caps, [2, 2, 3, 4]);
    for i in [1, 3, 2, 4] {
        s.announce(&ann(&v4(i), Event::Stopped, false, 2), 10, true, &());
        s.check_invariants();
        caps.push(s.v4.capacity());
    }
    assert_eq!(caps[4..], [4, 2, 2, 2]);
    assert!(s.is_empty());

    let v6 = "[2001:db8::1]:6881";
    s.announce(&ann(v6, Event::Started, false, 3), 10, false, &());
    assert_eq!(s.v6().map(PeerList::capacity), Some(1));
    s.check_invariants();
    // Dropped with peers in place and in a box: nothing to free twice (the fuzz target
    // `swarm_ops` runs this under AddressSanitizer).
    s.announce(&ann(&v4(9), Event::Started, false, 3), 10, false, &());
    drop(s);
}

/// IPv6 peers live in the IPv4 list's rare box, which goes once nothing in it is used.
#[test]
fn the_rare_box_comes_and_goes_with_ipv6_peers() {
    let mut s = Swarm::default();
    let (v4, v6) = ("192.0.2.1:6881", "[2001:db8::1]:6881");
    for addr in [v4, v6] {
        s.announce(&ann(addr, Event::Completed, true, 5), 10, false, &());
    }
    assert_eq!(s.peer_count(), 2);
    assert_eq!(s.stats().complete, 2);
    s.v4.check_invariants();
    assert!(s.v4.more().is_some());
    s.announce(&ann(v6, Event::Stopped, true, 6), 10, false, &());
    assert_eq!(s.peer_count(), 1);
    assert!(
        s.v4.more().is_none(),
        "the box went with the last IPv6 peer"
    );
    assert_eq!(s.stats().downloaded, 2);
    s.v4.check_invariants();
}

/// Two-byte timestamps: never early, at most 3 s late, right across the wrap, and
/// a peer stamped after the sweep read the clock is kept.
#[test]
fn peer_ages_survive_the_clock_wrapping() {
    let wrap = 65_536 * SEEN_TICK;
    for base in [0, 1, 3, wrap - 2 * SEEN_TICK, 5 * wrap + 123] {
        for max_age in [60, 61, 63] {
            let mut s = one_peer(base);
            let at = |late: u32| Expiry::OlderThan {
                now: base + late,
                max_age,
            };
            // Not older than max_age yet, whatever the ticks say.
            for late in 0..=max_age {
                assert_eq!(
                    s.expire(at(late), &()).peers(),
                    0,
                    "{base} {max_age} {late}"
                );
            }
            // Gone at most SEEN_TICK - 1 seconds after its age passed max_age.
            let gone = (max_age + 1..=max_age + SEEN_TICK)
                .find(|&late| s.expire(at(late), &()).peers() == -1);
            assert!(gone.is_some(), "{base} {max_age}");
        }
        let mut s = one_peer(base);
        let at = |now, max_age| Expiry::OlderThan { now, max_age };
        // The oldest age a configuration allows is read right.
        assert_eq!(
            s.expire(at(base + MAX_PEER_AGE - 8, MAX_PEER_AGE - 12), &())
                .peers(),
            -1
        );
        // Stamped a tick after the sweep's clock: kept.
        s.announce(
            &ann("10.0.0.1:1", Event::Started, false, base + SEEN_TICK),
            10,
            false,
            &(),
        );
        assert_eq!(s.expire(at(base, 0), &()).peers(), 0);
    }
}

/// A swarm of one leecher that announced at `now`.
fn one_peer(now: u32) -> Swarm {
    let mut s = Swarm::default();
    s.announce(
        &ann("10.0.0.1:1", Event::Started, false, now),
        10,
        false,
        &(),
    );
    s
}
