use super::*;

/// Issue 13, finding 2: one address (IPv6: one /64) may not fill a swarm with its ports,
/// below and above the size where the list keeps an index.
#[test]
fn one_address_cannot_fill_a_swarm() {
    let caps = Caps {
        max_peers: usize::MAX,
        per_address: 4,
        tracker_full: false,
    };
    for others in [0u16, 400] {
        let mut s = Swarm::default();
        for p in 0..others {
            let a = ann(
                &format!("10.1.{}.{}:1", p / 250, p % 250),
                Event::Started,
                false,
                0,
            );
            assert!(s.announce(&a, caps, false, &()).0.not_stored.is_none());
        }
        for (host, net) in [("192.0.2.1", "v4"), ("2001:db8::", "v6")] {
            let addr = |port: u16| match net {
                "v4" => format!("{host}:{port}"),
                // Every address of one /64.
                _ => format!("[{host}{port:x}]:6881"),
            };
            for port in 1..=10u16 {
                let (c, _) = s.announce(
                    &ann(&addr(port), Event::Started, false, 0),
                    caps,
                    false,
                    &(),
                );
                let want = (port > 4).then_some(NotStored::AddressLimit);
                assert_eq!(c.not_stored, want, "{net} {port} with {others} others");
            }
            // A peer already stored still re-announces; a stopped one frees a place.
            let (c, _) = s.announce(&ann(&addr(1), Event::None, true, 0), caps, false, &());
            assert!(c.not_stored.is_none());
            s.announce(&ann(&addr(2), Event::Stopped, false, 0), caps, false, &());
            let (c, _) = s.announce(&ann(&addr(9), Event::Started, false, 0), caps, false, &());
            assert!(c.not_stored.is_none());
            // An origin by address passes, like the swarm cap.
            let (c, _) = s.announce(&origin(&addr(11), true), caps, false, &());
            assert!(c.not_stored.is_none());
        }
        assert_eq!(s.peer_count(), usize::from(others) + 2 * 5);
        s.v4.check_invariants();
        // The whole tracker at its cap stores no one new.
        let full = Caps {
            tracker_full: true,
            ..caps
        };
        let (c, _) = s.announce(
            &ann("198.51.100.1:1", Event::Started, false, 0),
            full,
            false,
            &(),
        );
        assert_eq!(c.not_stored, Some(NotStored::TrackerFull));
    }
}

/// One address spread over many swarms stops at the total cap; whatever removes its
/// peers (stop, expiry, a dropped swarm) gives the room back, and a restore from a state
/// file saved under looser settings obeys the current caps.
#[test]
fn one_address_cannot_spread_over_every_swarm() {
    use crate::holders::HolderTotals;
    let gauge = prometheus::IntGauge::new("a", "a").unwrap();
    let totals = HolderTotals::new(6, gauge.clone());
    let caps = Caps {
        max_peers: usize::MAX,
        per_address: 2,
        tracker_full: false,
    };
    let mut swarms: Vec<Swarm> = (0..5).map(|_| Swarm::default()).collect();
    // A plain leecher's announce, as the tracker makes it.
    let announce = |s: &mut Swarm, addr: &str, event| {
        let a = ann(addr, event, false, 0);
        s.announce(&a, caps, false, &totals).0
    };
    let mut stored = 0;
    for s in &mut swarms {
        for port in 1..=2u16 {
            let c = announce(s, &format!("192.0.2.1:{port}"), Event::Started);
            match c.not_stored {
                None => stored += 1,
                Some(r) => assert_eq!(r, NotStored::AddressTotal),
            }
        }
    }
    assert_eq!(stored, 6);
    let holder = [192, 0, 2, 1, 0, 0].holder();
    assert_eq!(totals.as_ref().unwrap().get(holder), 6);
    // A peer id that claims to be an origin does not pass: any client can send one
    // (review of session 23: one address with the seeder's prefix flooded every swarm).
    let claimed = PeerAnnounce {
        origin_by_address: false,
        ..origin("192.0.2.1:8", true)
    };
    let (c, _) = swarms[4].announce(&claimed, caps, false, &totals);
    assert_eq!(c.not_stored, Some(NotStored::AddressTotal));
    // Another address, and an origin of the capped one (by its configured address), are
    // not affected.
    let c = announce(&mut swarms[4], "192.0.2.2:1", Event::Started);
    assert!(c.not_stored.is_none());
    let (c, _) = swarms[4].announce(&origin("192.0.2.1:9", true), caps, false, &totals);
    assert!(c.not_stored.is_none());
    assert_eq!(gauge.get(), 2);
    // A stop frees one place, expiry the rest of a swarm.
    announce(&mut swarms[0], "192.0.2.1:1", Event::Stopped);
    swarms[1].expire(Expiry::All, &totals);
    assert_eq!(
        totals.as_ref().unwrap().get(holder),
        4,
        "6 + origin - 1 - 2"
    );
    let c = announce(&mut swarms[3], "192.0.2.1:1", Event::Started);
    assert!(c.not_stored.is_none());
    for s in &mut swarms {
        s.expire(Expiry::All, &totals);
    }
    assert!(totals.as_ref().unwrap().is_empty());
    assert_eq!(gauge.get(), 0);
    // A restore goes through the same caps.
    let mut s = Swarm::default();
    let mut restored = 0;
    for port in 1..=10u16 {
        let addr = format!("192.0.2.1:{port}").parse().unwrap();
        let c = s.restore(addr, Role::Leecher, 5, caps, false, &totals);
        restored += c.peers();
    }
    assert_eq!(restored, 2, "per-swarm cap kept on restore");
}
