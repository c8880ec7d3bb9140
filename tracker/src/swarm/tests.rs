use std::collections::HashSet;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use seedline_common::announce_response::{AnnounceResponse, Peers, ReplyHead};

use super::*;
use crate::sink::{CompactReply, DictReply};

/// Which HTTP reply the tests ask for.
#[derive(Clone, Copy)]
enum Form {
    Compact,
    Dict { peer_id: bool },
}

fn write<S: PeerSink>(
    s: &Swarm,
    placed: &Placed,
    head: &ReplyHead,
    numwant: usize,
    r: &mut SmallRng,
    sink: &mut S,
) {
    sink.head(head);
    s.write_peers(placed, numwant, r, sink);
    sink.end();
}

/// The caps per address, per swarm and across swarms.
mod address_caps;
mod layout;

fn rng() -> SmallRng {
    SmallRng::seed_from_u64(7)
}

fn ann(addr: &str, event: Event, seeder: bool, now: u32) -> PeerAnnounce {
    PeerAnnounce {
        addr: addr.parse().unwrap(),
        peer_id: PeerId([addr.len() as u8; 20]),
        event,
        seeder,
        origin: false,
        origin_by_address: false,
        now,
    }
}

fn origin(addr: &str, seeder: bool) -> PeerAnnounce {
    PeerAnnounce {
        origin: true,
        origin_by_address: true,
        ..ann(addr, Event::None, seeder, 0)
    }
}

/// Announces and decodes the reply the way a client would.
fn reply(
    s: &mut Swarm,
    a: &PeerAnnounce,
    numwant: usize,
    form: Form,
) -> (Change, AnnounceResponse) {
    reply_with(s, a, numwant, form, &mut rng())
}

fn reply_with(
    s: &mut Swarm,
    a: &PeerAnnounce,
    numwant: usize,
    form: Form,
    r: &mut SmallRng,
) -> (Change, AnnounceResponse) {
    let (c, placed) = s.announce(a, usize::MAX, true, &());
    let st = s.stats();
    let mut out = Vec::new();
    let head = ReplyHead {
        interval: 60,
        complete: st.complete,
        incomplete: st.incomplete,
        downloaded: st.downloaded,
        ..Default::default()
    };
    match form {
        Form::Compact => write(s, &placed, &head, numwant, r, &mut CompactReply(&mut out)),
        Form::Dict { peer_id } => {
            let mut sink = DictReply {
                out: &mut out,
                peer_ids: peer_id,
            };
            write(s, &placed, &head, numwant, r, &mut sink)
        }
    }
    (
        c,
        AnnounceResponse::decode(&out).expect("swarm writes valid bencode"),
    )
}

/// A compact announce asking for 50 peers.
fn compact(
    s: &mut Swarm,
    addr: &str,
    event: Event,
    seeder: bool,
    now: u32,
) -> (Change, AnnounceResponse) {
    reply(s, &ann(addr, event, seeder, now), 50, Form::Compact)
}

/// A swarm of leechers started at `addrs`, in order.
fn leechers(addrs: &[&str]) -> Swarm {
    let mut s = Swarm::default();
    for a in addrs {
        compact(&mut s, a, Event::Started, false, 0);
    }
    s
}

fn v4(r: &AnnounceResponse) -> Vec<SocketAddr> {
    match &r.peers {
        Peers::Compact { v4, .. } => v4.clone(),
        Peers::Dict(d) => d.iter().map(|p| p.0).collect(),
    }
}

#[test]
fn counts_roles_and_never_returns_self() {
    let mut s = Swarm::default();
    for i in 1..=5 {
        compact(
            &mut s,
            &format!("10.0.0.{i}:6881"),
            Event::Started,
            false,
            0,
        );
    }
    compact(&mut s, "10.0.0.9:6881", Event::Started, true, 0);
    let st = s.stats();
    assert_eq!((st.complete, st.incomplete), (1, 5));
    let (_, r) = compact(&mut s, "10.0.0.1:6881", Event::None, false, 1);
    let got = v4(&r);
    assert_eq!(got.len(), 5);
    assert!(!got.contains(&"10.0.0.1:6881".parse().unwrap()));
    // Same IP, other port: a different peer.
    let (c, _) = compact(&mut s, "10.0.0.1:6882", Event::None, false, 1);
    assert_eq!(c.leechers, [1, 0]);
}

#[test]
fn seeders_get_leechers_first_then_origins_then_seeders() {
    let mut s = Swarm::default();
    for i in 1..=3 {
        compact(&mut s, &format!("10.0.1.{i}:1"), Event::Started, true, 0);
    }
    compact(&mut s, "10.0.2.1:1", Event::Started, false, 0);
    s.announce(&origin("192.0.2.1:6881", true), usize::MAX, false, &());
    let (_, r) = compact(&mut s, "10.0.1.1:1", Event::None, true, 0);
    let got = v4(&r);
    assert_eq!(got[0], "10.0.2.1:1".parse().unwrap(), "the leecher first");
    assert_eq!(got[1], "192.0.2.1:6881".parse().unwrap(), "then the origin");
    let rest: HashSet<SocketAddr> = got[2..].iter().copied().collect();
    let others: HashSet<SocketAddr> =
        ["10.0.1.2:1".parse().unwrap(), "10.0.1.3:1".parse().unwrap()].into();
    assert_eq!(rest, others, "then the other seeders, never itself");
    // With numwant 1, a seeder gets a leecher only.
    let a = ann("10.0.1.2:1", Event::None, true, 0);
    let (_, r) = reply(&mut s, &a, 1, Form::Compact);
    assert_eq!(v4(&r), vec!["10.0.2.1:1".parse().unwrap()]);
}

/// Issue 14: aria2 announces `left=0` for a magnet link before it has the metadata. In a
/// swarm of the origin alone, it must still get the origin.
#[test]
fn a_magnet_client_announcing_left_0_gets_the_origin() {
    let mut s = Swarm::default();
    s.announce(&origin("192.0.2.1:6881", true), usize::MAX, false, &());
    let (_, r) = compact(&mut s, "10.0.3.1:6881", Event::Started, true, 0);
    assert_eq!(v4(&r), vec!["192.0.2.1:6881".parse().unwrap()]);
}

#[test]
fn stopped_removes_and_returns_no_peers() {
    let mut s = leechers(&["10.0.0.1:1", "10.0.0.2:1"]);
    let (c, r) = compact(&mut s, "10.0.0.2:1", Event::Stopped, false, 0);
    assert_eq!(c.leechers, [-1, 0]);
    assert!(v4(&r).is_empty());
    assert_eq!(r.head.incomplete, 1);
    // Stopping an unknown peer changes nothing.
    let (c, _) = compact(&mut s, "10.0.0.3:1", Event::Stopped, false, 0);
    assert_eq!(c, Change::default());
}

#[test]
fn completed_counts_once() {
    let mut s = leechers(&["10.0.0.1:1"]);
    let (c, r) = compact(&mut s, "10.0.0.1:1", Event::Completed, true, 0);
    assert!(c.completed);
    assert_eq!(c.seeders, [1, 0]);
    assert_eq!(c.leechers, [-1, 0]);
    assert_eq!(
        (r.head.downloaded, r.head.complete, r.head.incomplete),
        (1, 1, 0)
    );
    let (c, r) = compact(&mut s, "10.0.0.1:1", Event::Completed, true, 0);
    assert!(!c.completed);
    assert_eq!(r.head.downloaded, 1);
}

#[test]
fn families_are_kept_apart() {
    let mut s = leechers(&["10.0.0.1:1", "[2001:db8::1]:1"]);
    let (_, r) = compact(&mut s, "[2001:db8::2]:1", Event::Started, false, 0);
    assert_eq!(
        r.peers,
        Peers::Compact {
            v4: vec![],
            v6: vec!["[2001:db8::1]:1".parse().unwrap()]
        }
    );
    assert_eq!((r.head.complete, r.head.incomplete), (0, 3));
    let (_, r) = compact(&mut s, "10.0.0.2:1", Event::Started, false, 0);
    assert_eq!(
        r.peers,
        Peers::Compact {
            v4: vec!["10.0.0.1:1".parse().unwrap()],
            v6: vec![]
        }
    );
}

#[test]
fn dict_form_with_and_without_peer_id() {
    let mut s = leechers(&["10.0.0.1:7"]);
    // The second peer's reply in the dictionary form, with or without ids.
    let mut dict = |event, peer_id| {
        let a = ann("10.0.0.2:8", event, false, 0);
        reply(&mut s, &a, 50, Form::Dict { peer_id }).1.peers
    };
    let first = "10.0.0.1:7".parse().unwrap();
    assert_eq!(
        dict(Event::Started, true),
        Peers::Dict(vec![(first, Some(PeerId([10; 20])))])
    );
    assert_eq!(dict(Event::None, false), Peers::Dict(vec![(first, None)]));
}

#[test]
fn sample_is_random_bounded_and_distinct() {
    // 1 000 peers go through rand's sampler, 2 000 through `sample.rs` (32 x 51 = 1 632).
    for size in [1000u32, 2000] {
        let mut s = Swarm::default();
        for i in 0..size {
            let a = format!("10.{}.{}.{}:1", i >> 16 & 255, i >> 8 & 255, i & 255);
            s.announce(&ann(&a, Event::Started, false, 0), usize::MAX, true, &());
        }
        let me = ann("10.0.0.5:1", Event::None, false, 0);
        let mut firsts = HashSet::new();
        let mut r = rng();
        for _ in 0..200 {
            let (_, resp) = reply_with(&mut s, &me, 50, Form::Compact, &mut r);
            let peers = v4(&resp);
            assert_eq!(peers.len(), 50);
            let set: HashSet<_> = peers.iter().collect();
            assert_eq!(set.len(), 50, "no duplicates");
            assert!(!set.contains(&me.addr), "never the announcer");
            firsts.insert(peers[0]);
            // Not address order.
            assert!(peers.windows(2).any(|w| w[0] > w[1]));
        }
        assert!(firsts.len() > 150, "different replies pick different peers");
    }
}

#[test]
fn expiry_removes_silent_peers_only() {
    let mut s = Swarm::default();
    // One peer per tick of the clock, seen at 0, 4, ..., 396 s.
    for i in 0..100u32 {
        let seeder = i % 3 == 0;
        s.announce(
            &ann(
                &format!("10.0.0.{i}:1"),
                Event::Started,
                seeder,
                i * SEEN_TICK,
            ),
            usize::MAX,
            true,
            &(),
        );
    }
    s.announce(
        &ann("[::1]:1", Event::Started, false, 240),
        usize::MAX,
        true,
        &(),
    );
    let at = |now, max_age| Expiry::OlderThan { now, max_age };
    let c = s.expire(at(400, 200), &());
    assert_eq!(
        -(c.seeders[0] + c.leechers[0]),
        50,
        "seen at 196 s or before"
    );
    assert_eq!(c.leechers[1], 0);
    assert_eq!(s.peer_count(), 51);
    s.v4.check_invariants();
    assert_eq!(s.v4.seeders(), (50..100).filter(|i| i % 3 == 0).count());
    let c = s.expire(Expiry::All, &());
    assert_eq!(c.leechers[1], -1);
    assert!(s.is_empty());
}

#[test]
fn peer_cap_answers_without_storing() {
    let mut s = Swarm::default();
    s.announce(&ann("10.0.0.1:1", Event::Started, false, 0), 1, true, &());
    let (c, placed) = s.announce(&ann("10.0.0.2:1", Event::Started, false, 0), 1, true, &());
    assert_eq!(c.not_stored, Some(NotStored::TorrentFull));
    assert_eq!(placed.pos, None);
    assert_eq!(s.peer_count(), 1);
    // A known peer still updates at the cap.
    let (c, _) = s.announce(&ann("10.0.0.1:1", Event::None, true, 0), 1, true, &());
    assert_eq!(c.seeders, [1, 0]);
}

/// A random walk of inserts, role changes and removals across the index threshold keeps
/// positions, index and counts consistent.
#[test]
fn random_walk_keeps_invariants() {
    use rand::Rng;
    let mut r = rng();
    let mut s = Swarm::default();
    let mut model: std::collections::HashMap<SocketAddr, bool> = Default::default();
    // Phases of growth and shrinkage take the list above the index threshold and back
    // below half of it, where the index is dropped, several times.
    let ports = 600u16;
    assert!(usize::from(ports) * 8 / 10 > super::peer_list::INDEX_ABOVE);
    let mut peak = 0;
    let mut low_after_peak = false;
    // Fewer origin ports than MAX_ORIGINS, so the cap never applies and the model stays
    // simple.
    let is_origin =
        |port: u16| port.is_multiple_of(19) && usize::from(port / 19) < super::MAX_ORIGINS;
    for step in 0..20_000u32 {
        let port = r.random_range(1..=ports);
        let addr = format!("10.0.0.1:{port}");
        let stop_tenths = if (step / 2000) % 2 == 0 { 1 } else { 9 };
        let event = match r.random_range(0..10) {
            n if n < stop_tenths => Event::Stopped,
            n if n == stop_tenths => Event::Completed,
            _ => Event::None,
        };
        let seeder = r.random_bool(0.4);
        let a = PeerAnnounce {
            origin: is_origin(port),
            origin_by_address: is_origin(port),
            ..ann(&addr, event, seeder, step)
        };
        s.announce(&a, usize::MAX, true, &());
        if event == Event::Stopped {
            model.remove(&addr.parse().unwrap());
        } else {
            model.insert(addr.parse().unwrap(), seeder);
        }
        peak = peak.max(s.v4.len());
        low_after_peak |=
            peak > super::peer_list::INDEX_ABOVE && s.v4.len() < super::peer_list::INDEX_ABOVE / 2;
        if step % 97 == 0 {
            s.v4.check_invariants();
            let origins = model
                .iter()
                .filter(|(a, &seeder)| seeder && is_origin(a.port()))
                .count();
            assert_eq!(s.v4.origins(), origins);
            for i in 0..s.v4.len() {
                let a = s.v4.get(i).addr.socket_addr();
                let want = match (model[&a], is_origin(a.port())) {
                    (false, _) => Role::Leecher,
                    (true, false) => Role::Seeder,
                    (true, true) => Role::Origin,
                };
                assert_eq!(s.v4.role_at(i), want);
            }
            let st = s.stats();
            assert_eq!(st.complete as usize, model.values().filter(|&&x| x).count());
            assert_eq!(
                st.incomplete as usize,
                model.values().filter(|&&x| !x).count()
            );
        }
    }
    assert!(
        low_after_peak,
        "the walk crossed the index threshold both ways"
    );
}

#[test]
fn leechers_get_every_origin_first_seeders_do_not() {
    let mut s = Swarm::default();
    for i in 1..=100 {
        s.announce(
            &ann(&format!("10.0.1.{i}:1"), Event::Started, i % 2 == 0, 0),
            usize::MAX,
            false,
            &(),
        );
    }
    s.announce(&origin("192.0.2.1:6881", true), usize::MAX, false, &());
    s.announce(&origin("192.0.2.2:6881", true), usize::MAX, false, &());
    // An origin that is still downloading is an ordinary leecher.
    s.announce(&origin("192.0.2.3:6881", false), usize::MAX, false, &());
    assert_eq!(s.v4.origins(), 2);
    let origins: HashSet<SocketAddr> = [
        "192.0.2.1:6881".parse().unwrap(),
        "192.0.2.2:6881".parse().unwrap(),
    ]
    .into();
    for seed in 0..50 {
        let mut r = SmallRng::seed_from_u64(seed);
        let (_, resp) = reply_with(
            &mut s,
            &ann("10.9.9.9:1", Event::None, false, 0),
            5,
            Form::Compact,
            &mut r,
        );
        let got = v4(&resp);
        assert_eq!(got.len(), 5);
        assert!(
            origins.iter().all(|o| got[..2].contains(o)),
            "origins lead: {got:?}"
        );
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 5, "no duplicates");
        // numwant below the origin count: still only origins, no more than asked.
        let (_, resp) = reply_with(
            &mut s,
            &ann("10.9.9.9:1", Event::None, false, 0),
            1,
            Form::Dict { peer_id: false },
            &mut r,
        );
        assert!(origins.contains(&v4(&resp)[0]));
    }
    // A seeder gets leechers first: here 50 of them fill its numwant of 50.
    let (_, resp) = compact(&mut s, "10.9.9.8:1", Event::None, true, 0);
    assert!(v4(&resp).iter().all(|a| !origins.contains(a)));
    // Stopping removes the origin and its hand-out.
    let mut stop = origin("192.0.2.1:6881", true);
    stop.event = Event::Stopped;
    s.announce(&stop, usize::MAX, false, &());
    assert_eq!(s.v4.origins(), 1);
    s.v4.check_invariants();
}

#[test]
fn origins_are_stored_past_the_peer_cap_and_restored_with_their_role() {
    let mut s = Swarm::default();
    s.announce(&ann("10.0.0.1:1", Event::Started, false, 0), 1, false, &());
    let (c, placed) = s.announce(&origin("[2001:db8::1]:1", true), 1, false, &());
    assert!(c.not_stored.is_none());
    assert!(placed.pos.is_some());
    let mut t = Swarm::default();
    for (addr, role) in s.addrs() {
        t.restore(addr, role, 5, usize::MAX, true, &());
    }
    let roles: Vec<_> = t.addrs().map(|(_, r)| r).collect();
    assert_eq!(roles, vec![Role::Leecher, Role::Origin]);
    assert_eq!(t.stats().complete, 1);
    // Restoring twice does not duplicate.
    assert_eq!(
        t.restore(
            "10.0.0.1:1".parse().unwrap(),
            Role::Leecher,
            5,
            usize::MAX,
            true,
            &()
        ),
        Change::default()
    );
    assert_eq!(t.peer_count(), 2);
    // Restored peers keep id storage on: a new peer's id is still sent, theirs is not.
    let dict = Form::Dict { peer_id: true };
    let (_, r) = reply(
        &mut t,
        &ann("10.0.0.9:1", Event::Started, false, 6),
        50,
        dict,
    );
    let Peers::Dict(d) = r.peers else {
        panic!("dict form")
    };
    assert_eq!(d.len(), 1, "v4 only");
    assert_eq!(d[0].1, None, "the restored peer's unknown id is left out");
    let (_, r) = reply(&mut t, &ann("10.0.0.1:1", Event::None, false, 7), 50, dict);
    let Peers::Dict(d) = r.peers else {
        panic!("dict form")
    };
    assert_eq!(
        d[0].1,
        Some(PeerId([10; 20])),
        "a peer that announced has its id"
    );
}

#[test]
fn origin_status_is_bounded() {
    let mut s = Swarm::default();
    s.announce(&ann("10.0.0.1:1", Event::Started, false, 0), 5, false, &());
    // An origin that is not seeding is an ordinary leecher, cap included.
    let (c, _) = s.announce(&origin("10.0.0.2:1", false), 1, false, &());
    assert_eq!(c.not_stored, Some(NotStored::TorrentFull));
    for p in 1..=20 {
        s.announce(&origin(&format!("192.0.2.1:{p}"), true), 5, false, &());
    }
    assert_eq!(s.v4.origins(), MAX_ORIGINS);
    assert_eq!(
        s.peer_count(),
        1 + MAX_ORIGINS,
        "past the cap only the first origins"
    );
    s.v4.check_invariants();
}
