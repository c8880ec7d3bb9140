//! BEP 16 super-seeding in-process: peers are offered different pieces, may request only
//! what they were offered, get the next piece once they announce one, and a lone leecher
//! still gets the whole release with each piece leaving the origin once.

use std::collections::HashSet;

use seedline_common::wire::{BlockRequest, Handshake, Message};
use seedline_common::{InfoHash, Metainfo, PeerId};

use crate::daemon_util::{eventually, Running};
use crate::peer_client::{Client, Got};
use crate::seed::serve_release;

/// Reads until `n` offers (`have`) arrived; the seeder must claim nothing before them.
async fn offers(c: &mut Client, n: usize) -> Vec<u32> {
    offers_and_unchoke(c, n).await.0
}

/// [`offers`], and whether an `unchoke` came among them: a peer is unchoked as it
/// connects when a slot is free, before or after its first offers.
async fn offers_and_unchoke(c: &mut Client, n: usize) -> (Vec<u32>, bool) {
    let mut got = Vec::new();
    let mut unchoked = false;
    while got.len() < n {
        c.until(|m| {
            match m {
                Message::Have(i) => got.push(*i),
                Message::HaveAll | Message::Bitfield(_) => {
                    panic!("a super-seed must not claim pieces in bulk: {m:?}")
                }
                Message::Unchoke => unchoked = true,
                Message::Choke => unchoked = false,
                _ => return false,
            }
            true
        })
        .await;
    }
    (got, unchoked)
}

/// A super-seeding seeder of the test release; `ours`: made by our `make-torrent`
/// (trusted), or foreign (verified in the background).
async fn start(ours: bool) -> (Running, InfoHash, Metainfo, Vec<u8>, tempfile::TempDir) {
    let r = serve_release(ours, |c| c.super_seed = true).await;
    (r.s, r.ih, r.m, r.bytes, r._dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_get_different_pieces_and_only_those() {
    let (s, ih, m, expected, _dir) = start(true).await;
    let pieces = m.info.pieces.len() as u32;
    assert!(pieces >= 6, "the release needs pieces for three peers");
    let mut a = Client::handshake(s.peer, ih).await;
    let mut b = Client::handshake(s.peer, ih).await;
    let mut c = Client::handshake(s.peer, ih).await;
    let (oa, ob, oc) = (
        offers(&mut a, 2).await,
        offers(&mut b, 2).await,
        offers(&mut c, 2).await,
    );
    let all: HashSet<u32> = oa.iter().chain(&ob).chain(&oc).copied().collect();
    assert_eq!(
        all.len(),
        6,
        "six offers, six different pieces: {oa:?} {ob:?} {oc:?}"
    );

    a.send(Message::Interested).await;
    a.until(|m| matches!(m, Message::Unchoke)).await;
    // A piece offered to someone else is refused (BEP 6 reject), not served.
    let elsewhere = BlockRequest {
        index: ob[0],
        begin: 0,
        length: 16 * 1024,
    };
    a.send(Message::Request(elsewhere)).await;
    a.until(|m| *m == Message::Reject(elsewhere)).await;
    assert!(
        s.metric("seedline_seeder_requests_rejected_total{reason=\"not_available\"}")
            .await
            >= 1.0
    );
    // An offered piece is served, byte-exact.
    let mut data = vec![0u8; expected.len()];
    a.download_piece(oa[0], m.info.piece_length, &mut data)
        .await;
    let range = m.info.piece_range(u64::from(oa[0]));
    assert!(
        data[range.start as usize..range.end as usize]
            == expected[range.start as usize..range.end as usize]
    );
    // Announcing it brings one new offer, a piece nobody was offered yet.
    a.send(Message::Have(oa[0])).await;
    let next = offers(&mut a, 1).await;
    assert!(!all.contains(&next[0]), "{next:?} was already out");
    assert!(s.metric("seedline_seeder_super_seed_offers_total").await >= 7.0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_leecher_gets_everything_with_each_piece_sent_once() {
    let (s, ih, m, expected, _dir) = start(true).await;
    let pieces = m.info.pieces.len();
    let mut c = Client::handshake(s.peer, ih).await;
    c.send(Message::Interested).await;
    let mut data = vec![0u8; expected.len()];
    let mut done = HashSet::new();
    let mut pending = offers(&mut c, 2).await;
    c.until(|m| matches!(m, Message::Unchoke)).await;
    while let Some(i) = pending.pop() {
        c.download_piece(i, m.info.piece_length, &mut data).await;
        assert!(done.insert(i), "piece {i} offered twice");
        c.send(Message::Have(i)).await;
        if done.len() + pending.len() < pieces {
            pending.extend(offers(&mut c, 1).await);
        }
    }
    assert_eq!(done.len(), pieces);
    assert!(data == expected, "downloaded bytes differ");
    assert!(
        eventually(|| async {
            s.metric("seedline_seeder_uploaded_bytes_total").await == expected.len() as f64
        })
        .await,
        "every byte left the origin exactly once"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_bep3_peer_gets_offers_and_new_ones_when_not_interested() {
    let (s, ih, m, _, _dir) = start(true).await;
    // No Fast, no extensions: no `have_none`, no bitfield (BEP 3 lets one with nothing
    // skip it); the first messages are the offers.
    let mut hs = Handshake::new(ih, PeerId(*b"-TC0001-plainbep3pee"));
    hs.reserved = [0; 8];
    let mut c = Client::handshake_as(s.peer, hs).await;
    let mut first = Vec::new();
    for _ in 0..2 {
        let Got::Msg(frame) = c.next().await else {
            panic!("closed")
        };
        match Message::decode(&frame, u32::MAX).unwrap().unwrap().0 {
            Message::Have(i) => first.push(i),
            other => panic!("expected an offer first, got {other:?}"),
        }
    }
    // A peer that does not want its offers (it downloads other files, say) is not left
    // waiting: it is offered other pieces.
    c.send(Message::Interested).await;
    c.send(Message::NotInterested).await;
    let second = offers(&mut c, 2).await;
    assert!(
        second.iter().all(|i| !first.contains(i)),
        "{first:?} then {second:?}"
    );
    assert!(m.info.pieces.len() >= 4);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_torrent_is_offered_once_its_pieces_are_proven() {
    let (s, ih, m, expected, _dir) = start(false).await;
    let mut c = Client::handshake(s.peer, ih).await;
    // The peer may connect before any piece is proven: it is unchoked first, and its
    // offers come as pieces pass (seen one run in four with both cores busy).
    let (got, unchoked) = offers_and_unchoke(&mut c, 2).await;
    c.send(Message::Interested).await;
    if !unchoked {
        c.until(|m| matches!(m, Message::Unchoke)).await;
    }
    let mut data = vec![0u8; expected.len()];
    for &i in &got {
        c.download_piece(i, m.info.piece_length, &mut data).await;
        let r = m.info.piece_range(u64::from(i));
        let r = r.start as usize..r.end as usize;
        assert!(data[r.clone()] == expected[r], "piece {i} differs");
    }
    s.stop().await;
}
