use super::*;
use proptest::prelude::*;

/// 0x12 0x34 0x56 0x78 0x9a ... written the way real clients mix escapes and raw bytes.
const IH_MIXED: &str = "%124Vx%9a%bc%de%f0%12%34%56%78%9a%bc%de%f0%124Vx";
const IH_BYTES: [u8; 20] = [
    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
    0x12, 0x34, 0x56, 0x78,
];

fn q(s: &str) -> Result<AnnounceRequest, RequestError> {
    AnnounceRequest::parse_query(s.as_bytes())
}

/// Client; the port, left, event, numwant and no_peer_id it must yield; and its query
/// after `info_hash`, which every client sends first.
type ClientCase<'a> = (&'a str, u16, u64, Event, Option<u32>, bool, &'a str);

/// Query strings in the shape each client really sends (parameter order, extensions).
#[test]
fn real_client_queries() {
    let table: Vec<ClientCase<'static>> = vec![
        ("libtorrent 2.0 / qBittorrent", 6881, 1048576, Event::Started, Some(200), true,
         "peer_id=-qB4630-a1b2c3d4e5f6&port=6881&uploaded=0&downloaded=0&left=1048576&corrupt=0&key=5B2C1A8E&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0"),
        ("Transmission 3", 51413, 0, Event::Started, Some(80), false,
         "peer_id=-TR3000-xyzxyzxyzxyz&port=51413&uploaded=0&downloaded=0&left=0&numwant=80&key=12345678&compact=1&supportcrypto=1&event=started"),
        ("aria2 1.36", 6881, 5, Event::Started, Some(50), true,
         "peer_id=A2-1-36-0-%01%02%03%04%05%06%07%08%09%0A&uploaded=0&downloaded=0&left=5&compact=1&key=Ab%2BCdE&numwant=50&no_peer_id=1&port=6881&event=started&supportcrypto=1"),
        ("uTorrent 3.5 re-announce", 12345, 789, Event::None, Some(200), true,
         "peer_id=-UT3550-%bb%cc%dd%ee%ff%00%11%22%33%44%55%66&port=12345&uploaded=123&downloaded=456&left=789&corrupt=0&key=DEADBEEF&numwant=200&compact=1&no_peer_id=1"),
        ("rTorrent 0.9 completed", 6890, 0, Event::Completed, None, false,
         "peer_id=-lt0D80-%8a%8b%8c%8d%8e%8f%90%91%92%93%94%95&key=1a2b3c4d&compact=1&port=6890&uploaded=0&downloaded=100&left=0&event=completed"),
        ("Deluge stopped with empty numwant", 6881, 1, Event::Stopped, Some(0), false,
         "peer_id=-DE211s-abcdefghijkl&port=6881&uploaded=1&downloaded=1&left=1&event=stopped&numwant=0&compact=1"),
        ("BiglyBT paused, numwant -1", 1, 10, Event::Paused, None, false,
         "peer_id=-BL2500-abcdefghijkl&port=1&uploaded=0&downloaded=0&left=10&event=paused&numwant=-1"),
        ("event=empty and unknown params", 65535, 0, Event::None, None, false,
         "peer_id=-XX0000-abcdefghijkl&port=65535&left=0&event=empty&foo=bar&ipv6=%3A%3A1&ipv4=1.2.3.4"),
    ];
    for (client, port, left, event, numwant, no_peer_id, rest) in table {
        let r =
            q(&format!("info_hash={IH_MIXED}&{rest}")).unwrap_or_else(|e| panic!("{client}: {e}"));
        assert_eq!(r.info_hash.0, IH_BYTES, "{client}");
        assert_eq!(r.port, port, "{client}");
        assert_eq!(r.left, left, "{client}");
        assert_eq!(r.event, event, "{client}");
        assert_eq!(r.numwant, numwant, "{client}");
        assert_eq!(r.no_peer_id, no_peer_id, "{client}");
        assert!(r.compact, "{client}");
    }
}

#[test]
fn plus_is_a_space_in_ids() {
    let r = q(&format!(
        "info_hash={IH_MIXED}&peer_id=+++++++++++++++++++%2B&port=1&left=0"
    ))
    .unwrap();
    assert_eq!(&r.peer_id.0[..19], &[b' '; 19]);
    assert_eq!(r.peer_id.0[19], b'+');
}

#[test]
fn errors_name_the_problem() {
    let pid = "peer_id=-TR3000-xyzxyzxyzxyz";
    let cases: Vec<(String, RequestError)> = vec![
        (
            format!("{pid}&port=1&left=0"),
            RequestError::Missing("info_hash"),
        ),
        (
            format!("info_hash={IH_MIXED}&port=1&left=0"),
            RequestError::Missing("peer_id"),
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&left=0"),
            RequestError::Missing("port"),
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=1"),
            RequestError::Missing("left"),
        ),
        (
            format!("info_hash=abc&{pid}&port=1&left=0"),
            RequestError::BadIdLength {
                name: "info_hash",
                got: 3,
            },
        ),
        (
            format!("info_hash={IH_MIXED}%00&{pid}&port=1&left=0"),
            RequestError::BadIdLength {
                name: "info_hash",
                got: 21,
            },
        ),
        (
            format!("info_hash=%zz&{pid}&port=1&left=0"),
            RequestError::BadEncoding("info_hash"),
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=0&left=0"),
            RequestError::BadPort,
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=65536&left=0"),
            RequestError::BadPort,
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=x&left=0"),
            RequestError::BadPort,
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=1&left=-1"),
            RequestError::BadNumber("left"),
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=1&left=0&uploaded=1e5"),
            RequestError::BadNumber("uploaded"),
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=1&left=0&event=begun"),
            RequestError::BadEvent,
        ),
        (
            format!("info_hash={IH_MIXED}&{pid}&port=1&left=0&numwant=lots"),
            RequestError::BadNumber("numwant"),
        ),
        (
            format!(
                "info_hash={IH_MIXED}&{pid}&port=1&left=0&key={}",
                "k".repeat(33)
            ),
            RequestError::KeyTooLong { max: 32 },
        ),
    ];
    for (query, want) in cases {
        assert_eq!(q(&query), Err(want), "{query}");
    }
}

/// The query string `r` writes.
fn written(r: &AnnounceRequest) -> Vec<u8> {
    let mut out = Vec::new();
    r.write_query(&mut out);
    out
}

#[test]
fn golden_write_query() {
    let r = AnnounceRequest {
        info_hash: InfoHash(IH_BYTES),
        peer_id: PeerId(*b"-SL0100-abcdefghijkl"),
        port: 6881,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event: Event::Started,
        compact: true,
        no_peer_id: false,
        numwant: Some(50),
        key: Key::new(b"k1"),
        ip: None,
    };
    assert_eq!(
        String::from_utf8(written(&r)).unwrap(),
        "info_hash=%124Vx%9A%BC%DE%F0%124Vx%9A%BC%DE%F0%124Vx&peer_id=-SL0100-abcdefghijkl\
         &port=6881&uploaded=1&downloaded=2&left=3&compact=1&event=started&numwant=50&key=k1"
    );
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::None),
        Just(Event::Started),
        Just(Event::Stopped),
        Just(Event::Completed),
        Just(Event::Paused),
    ]
}

prop_compose! {
    fn any_request()(
        ih in any::<[u8; 20]>(), pid in any::<[u8; 20]>(), port in 1u16.., up in any::<u64>(),
        down in any::<u64>(), left in any::<u64>(), event in any_event(), compact in any::<bool>(),
        no_peer_id in any::<bool>(), numwant in proptest::option::of(any::<u32>()),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=MAX_KEY_LEN)),
        ip in proptest::option::of(any::<std::net::IpAddr>()),
    ) -> AnnounceRequest {
        AnnounceRequest {
            info_hash: InfoHash(ih), peer_id: PeerId(pid), port, uploaded: up, downloaded: down,
            left, event, compact, no_peer_id, numwant,
            key: key.map(|k| Key::new(&k).unwrap()), ip,
        }
    }
}

proptest! {
    #[test]
    fn round_trip(r in any_request()) {
        prop_assert_eq!(AnnounceRequest::parse_query(&written(&r)).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = AnnounceRequest::parse_query(&bytes);
    }
}
