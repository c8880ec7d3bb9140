use super::*;

const ALL: fn(u32) -> bool = |_| true;

fn bits(pieces: u32, set: &[u32]) -> Bitfield {
    let mut b = Bitfield::new(pieces);
    for &i in set {
        b.set(i);
    }
    b
}

/// `spread` is exactly the peers that have each piece plus its open offers.
fn assert_consistent(ss: &SuperSeed) {
    let s = ss.lock();
    for (i, &n) in s.spread.iter().enumerate() {
        let i = i as u32;
        let want: u32 = s
            .peers
            .values()
            .map(|p| u32::from(p.has.has(i)) + p.open.iter().filter(|&&o| o == i).count() as u32)
            .sum();
        assert_eq!(n, want, "piece {i}");
    }
}

#[test]
fn peers_are_offered_different_pieces_until_every_piece_is_out() {
    let ss = SuperSeed::new(6);
    let a = ss.join(1, ALL);
    let b = ss.join(2, ALL);
    let c = ss.join(3, ALL);
    assert_eq!((a.len(), b.len(), c.len()), (2, 2, 2));
    let mut all: Vec<u32> = [a, b, c].concat();
    all.sort_unstable();
    assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    // A fourth peer gets pieces too, now shared with someone.
    assert_eq!(ss.join(4, ALL).len(), 2);
    assert_consistent(&ss);
}

#[test]
fn only_offered_pieces_may_be_requested_and_taking_one_up_brings_the_next() {
    let ss = SuperSeed::new(8);
    let first = ss.join(1, ALL);
    let other = (0..8).find(|i| !first.contains(i)).unwrap();
    assert!(ss.offered(1, first[0]));
    assert!(!ss.offered(1, other));
    assert!(
        !ss.offered(99, first[0]),
        "unknown peers may request nothing"
    );
    let next = ss.have(1, first[0], ALL);
    assert_eq!(next.len(), 1);
    assert!(!first.contains(&next[0]));
    // Still allowed: a taken-up offer stays requestable (requests may be in flight).
    assert!(ss.offered(1, first[0]));
    // A have for a piece never offered (got from another peer) brings nothing new.
    let unrelated = (0..8)
        .find(|i| !first.contains(i) && *i != next[0])
        .unwrap();
    assert!(ss.have(1, unrelated, ALL).is_empty());
    assert_consistent(&ss);
}

#[test]
fn a_bitfield_replaces_offers_the_peer_already_has() {
    let ss = SuperSeed::new(4);
    let first = ss.join(1, ALL);
    let new = ss.bitfield(1, &bits(4, &first), ALL);
    assert_eq!(new.len(), 2);
    for i in &new {
        assert!(!first.contains(i));
    }
    assert_consistent(&ss);
    // Nothing is left to offer once the peer has or was offered everything.
    assert!(ss.bitfield(1, &bits(4, &[0, 1, 2, 3]), ALL).is_empty());
    assert_consistent(&ss);
}

#[test]
fn pieces_the_swarm_has_are_offered_last() {
    let ss = SuperSeed::new(4);
    ss.join(1, |_| false);
    ss.bitfield(1, &bits(4, &[0, 1]), |_| false);
    let offers = ss.join(2, ALL);
    let mut sorted = offers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![2, 3]);
}

#[test]
fn only_servable_pieces_are_offered_and_refill_adds_them_later() {
    let ss = SuperSeed::new(4);
    assert!(ss.join(1, |_| false).is_empty());
    assert_eq!(ss.refill(1, |i| i == 3), vec![3]);
    assert_eq!(ss.refill(1, |i| i == 3), Vec::<u32>::new());
    assert_eq!(ss.refill(1, ALL).len(), 1);
    assert_consistent(&ss);
}

#[test]
fn leaving_returns_the_spread_to_zero_over_a_random_walk() {
    let ss = SuperSeed::new(37);
    let mut rng = 0x1234_5678_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..2000 {
        let id = next() % 6;
        match next() % 5 {
            0 => {
                ss.join(id, ALL);
            }
            1 => {
                let set: Vec<u32> = (0..37).filter(|_| next() % 3 == 0).collect();
                ss.bitfield(id, &bits(37, &set), ALL);
            }
            2 => ss.leave(id),
            _ => {
                ss.have(id, (next() % 37) as u32, ALL);
            }
        }
        assert_consistent(&ss);
    }
    for id in 0..6 {
        ss.leave(id);
    }
    assert!(ss.lock().spread.iter().all(|&n| n == 0));
}

#[test]
fn withdrawn_offers_are_replaced_and_stay_requestable() {
    let ss = SuperSeed::new(8);
    let first = ss.join(1, ALL);
    // Not interested in what it got: both offers go, two new ones come.
    let second = ss.withdraw(1, None, ALL);
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|i| !first.contains(i)));
    assert!(first.iter().all(|&i| ss.offered(1, i)));
    // One bad piece: only it is replaced.
    let third = ss.withdraw(1, Some(second[0]), ALL);
    assert_eq!(third.len(), 1);
    assert!(
        ss.withdraw(1, Some(first[0]), ALL).is_empty(),
        "not open any more"
    );
    assert_consistent(&ss);
}

#[test]
fn a_leaving_peer_frees_its_offers_for_the_next() {
    let ss = SuperSeed::new(4);
    let a = ss.join(1, ALL);
    let b = ss.join(2, ALL);
    ss.leave(1);
    let mut c = ss.join(3, ALL);
    c.sort_unstable();
    let mut a = a;
    a.sort_unstable();
    assert_eq!(c, a, "the pieces nobody holds now: {b:?} are still out");
}

#[test]
fn a_repeated_bitfield_changes_nothing() {
    let ss = SuperSeed::new(4);
    ss.join(1, ALL);
    let none = Bitfield::new(4);
    assert!(ss.bitfield(1, &none, ALL).is_empty());
    assert_consistent(&ss);
}
