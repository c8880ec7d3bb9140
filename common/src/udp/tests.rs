use std::net::{Ipv4Addr, SocketAddr};

use super::*;
use crate::announce::Event;
use crate::id::{InfoHash, PeerId};
use crate::scrape::ScrapeStats;

fn announce(url_data: &[u8]) -> Announce<'_> {
    Announce {
        connection_id: 0x1122_3344_5566_7788,
        transaction_id: 0xdead_beef,
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId(*b"-qB4630-a1b2c3d4e5f6"),
        downloaded: 1,
        left: 2,
        uploaded: 3,
        event: Event::Started,
        ip: None,
        key: 42,
        num_want: None,
        port: 6881,
        url_data,
    }
}

fn bytes(r: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    r.write(&mut out);
    out
}

#[test]
fn connect_is_the_bep_s_sixteen_bytes() {
    let b = bytes(&Request::Connect {
        transaction_id: 0x0102_0304,
    });
    assert_eq!(
        b,
        [0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 1, 2, 3, 4]
    );
    assert_eq!(
        Request::parse(&b),
        Ok(Request::Connect {
            transaction_id: 0x0102_0304
        })
    );
    let mut wrong = b.clone();
    wrong[0] = 1;
    assert_eq!(Request::parse(&wrong), Err(RequestError::NotBep15));
}

#[test]
fn announce_round_trips_with_its_fields_at_their_offsets() {
    let a = announce(b"/announce?x=1");
    let b = bytes(&Request::Announce(a));
    assert_eq!(b.len(), ANNOUNCE_LEN + 2 + 13 + 1);
    assert_eq!(&b[96..98], &6881u16.to_be_bytes());
    assert_eq!(&b[92..96], &(-1i32).to_be_bytes(), "num_want default");
    assert_eq!(Request::parse(&b), Ok(Request::Announce(a)));
    // Without options, and with a claimed address and a numwant.
    let a = Announce {
        ip: Some(Ipv4Addr::new(192, 0, 2, 9)),
        num_want: Some(5),
        event: Event::Stopped,
        ..announce(b"")
    };
    let b = bytes(&Request::Announce(a));
    assert_eq!(b.len(), ANNOUNCE_LEN);
    assert_eq!(Request::parse(&b), Ok(Request::Announce(a)));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let hashes = [9u8; 40];
    for r in [
        Request::Connect { transaction_id: 1 },
        Request::Announce(announce(b"/a")),
        Request::Scrape(Scrape::of(5, 6, &hashes)),
    ] {
        let b = bytes(&r);
        for cut in 0..b.len() {
            let p = Request::parse(&b[..cut]);
            // An announce cut inside its options is still an announce (they are
            // optional); a scrape cut after a whole hash is a scrape of fewer hashes.
            let whole = match r {
                Request::Announce(_) => cut >= ANNOUNCE_LEN,
                Request::Scrape(_) => cut > 16 && (cut - 16) % 20 == 0,
                Request::Connect { .. } => false,
            };
            assert_eq!(p.is_ok(), whole, "cut {cut} of {r:?}: {p:?}");
        }
    }
}

#[test]
fn bad_fields_are_named() {
    let mut b = bytes(&Request::Announce(announce(b"")));
    b[83] = 4;
    assert_eq!(Request::parse(&b), Err(RequestError::BadEvent(4)));
    let mut b = bytes(&Request::Announce(announce(b"")));
    b[96] = 0;
    b[97] = 0;
    assert_eq!(Request::parse(&b), Err(RequestError::BadPort));
    let mut b = bytes(&Request::Connect { transaction_id: 1 });
    b[11] = 9;
    assert_eq!(Request::parse(&b), Err(RequestError::UnknownAction(9)));
    // A negative numwant other than -1 is the default too.
    let mut b = bytes(&Request::Announce(announce(b"")));
    b[92..96].copy_from_slice(&(-7i32).to_be_bytes());
    let Ok(Request::Announce(a)) = Request::parse(&b) else {
        panic!("parses")
    };
    assert_eq!(a.num_want, None);
}

#[test]
fn scrape_takes_one_to_seventy_four_whole_hashes() {
    let many = [3u8; 20 * (MAX_SCRAPE_HASHES + 1)];
    let ok = bytes(&Request::Scrape(Scrape::of(
        1,
        2,
        &many[..20 * MAX_SCRAPE_HASHES],
    )));
    assert_eq!(ok.len(), 1_496);
    let Ok(Request::Scrape(s)) = Request::parse(&ok) else {
        panic!("parses")
    };
    assert_eq!(s.len(), MAX_SCRAPE_HASHES);
    assert!(s.info_hashes().all(|h| h == InfoHash([3; 20])));
    let too_many = bytes(&Request::Scrape(Scrape::of(1, 2, &many)));
    assert_eq!(Request::parse(&too_many), Err(RequestError::TooManyHashes));
    assert_eq!(
        Request::parse(&ok[..16]),
        Err(RequestError::NoHashes),
        "no hashes"
    );
    assert_eq!(Request::parse(&ok[..30]), Err(RequestError::RaggedScrape));
}

#[test]
fn bep41_options_nop_unknown_and_truncated() {
    let mut b = bytes(&Request::Announce(announce(b"")));
    // NOP, an unknown option with 3 bytes, then URL data, then garbage after the end.
    b.extend_from_slice(&[
        1, 9, 3, 0xaa, 0xbb, 0xcc, 2, 4, b'/', b'a', b'n', b'n', 0, 2, 9,
    ]);
    let Ok(Request::Announce(a)) = Request::parse(&b) else {
        panic!("parses")
    };
    assert_eq!(a.url_data, b"/ann");
    // A length past the end ends the options: ignored, the announce stands.
    let mut b = bytes(&Request::Announce(announce(b"")));
    b.extend_from_slice(&[2, 200, b'/']);
    let Ok(Request::Announce(a)) = Request::parse(&b) else {
        panic!("parses")
    };
    assert_eq!(a.url_data, b"");
}

#[test]
fn replies_round_trip() {
    let mut out = Vec::new();
    write_connect(&mut out, 7, 99);
    assert_eq!(out.len(), 16);
    assert_eq!(
        Reply::parse(&out, false),
        Ok(Reply::Connect {
            transaction_id: 7,
            connection_id: 99
        })
    );

    out.clear();
    begin_announce(&mut out, 8, 1800, 3, 4);
    out.extend_from_slice(&[10, 0, 0, 1, 0x1a, 0xe1]);
    let Ok(Reply::Announce {
        transaction_id: 8,
        interval: 1800,
        leechers: 3,
        seeders: 4,
        peers: p,
    }) = Reply::parse(&out, false)
    else {
        panic!("parses")
    };
    assert_eq!(
        peers(p, false),
        ["10.0.0.1:6881".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(Reply::parse(&out, true), Err(ReplyError::RaggedPeers));

    out.clear();
    begin_scrape(&mut out, 9);
    let st = ScrapeStats {
        complete: 1,
        downloaded: 2,
        incomplete: 3,
    };
    write_scrape_entry(&mut out, &st);
    let Ok(Reply::Scrape { entries, .. }) = Reply::parse(&out, false) else {
        panic!("parses")
    };
    assert_eq!(scrape_entries(entries), [st]);

    out.clear();
    write_error(&mut out, 10, "unknown torrent");
    assert_eq!(
        Reply::parse(&out, false),
        Ok(Reply::Error {
            transaction_id: 10,
            message: b"unknown torrent"
        })
    );
    for cut in 0..8 {
        assert!(Reply::parse(&out[..cut], false).is_err());
    }
}

#[test]
fn every_error_kind_is_listed() {
    for e in [
        RequestError::TooShort(0),
        RequestError::NotBep15,
        RequestError::UnknownAction(9),
        RequestError::BadEvent(9),
        RequestError::NoHashes,
        RequestError::TooManyHashes,
        RequestError::RaggedScrape,
        RequestError::BadPort,
    ] {
        assert!(RequestError::KINDS.contains(&e.kind()), "{e:?}");
    }
}
