use proptest::prelude::*;
use serde_bencode::value::Value as Reference;

use super::*;

#[test]
fn golden() {
    let v = decode(b"d3:bar4:spam3:fooi-42e4:listli0e0:ee").unwrap();
    let Value::Dict(d) = &v else {
        panic!("not a dict: {v:?}")
    };
    assert_eq!(d.get(b"bar"), Some(&Value::Bytes(b"spam")));
    assert_eq!(d.get(b"foo"), Some(&Value::Int(-42)));
    assert_eq!(
        d.get(b"list"),
        Some(&Value::List(vec![Value::Int(0), Value::Bytes(b"")]))
    );
    assert_eq!(d.get(b"nope"), None);
}

#[test]
fn dict_keeps_raw_bytes_and_input_order() {
    // Unsorted keys are accepted, and the raw span is exactly the inner dictionary.
    let buf = b"d4:infod1:zi1e1:ai2ee1:xi0ee";
    let Value::Dict(root) = decode(buf).unwrap() else {
        panic!()
    };
    let Some(Value::Dict(info)) = root.get(b"info") else {
        panic!()
    };
    assert_eq!(info.raw(), b"d1:zi1e1:ai2ee");
    let keys: Vec<&[u8]> = info.entries().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [b"z".as_slice(), b"a".as_slice()]);
}

#[test]
fn rejects_malformed() {
    use BencodeError::*;
    let cases: &[(&[u8], BencodeError)] = &[
        (b"", Truncated(0)),
        (b"i01e", BadInt(0)),
        (b"i-0e", BadInt(0)),
        (b"i-e", BadInt(0)),
        (b"ie", BadInt(0)),
        (b"i1.5e", BadInt(0)),
        (b"i9223372036854775808e", BadInt(0)),
        (b"i12", Truncated(3)),
        (b"01:a", BadLength(0)),
        (b"5:ab", Truncated(4)),
        (b"18446744073709551616:a", BadLength(0)),
        (b"x", Unexpected { at: 0, byte: b'x' }),
        (b"di1ei2ee", KeyNotString(1)),
        (
            b"d1:ai1e1:ai2ee",
            DuplicateKey {
                key: "a".into(),
                at: 7,
            },
        ),
        // Offsets name the second key's length prefix, also for longer prefixes, empty
        // keys, and duplicates apart from each other or inside a nested dictionary.
        (
            b"d10:abcdefghiji1e10:abcdefghiji2ee",
            DuplicateKey {
                key: "abcdefghij".into(),
                at: 17,
            },
        ),
        (
            b"d0:i1e0:i2ee",
            DuplicateKey {
                key: "".into(),
                at: 6,
            },
        ),
        (
            b"d1:bi1e1:ai2e1:bi3ee",
            DuplicateKey {
                key: "b".into(),
                at: 13,
            },
        ),
        (
            b"d1:xd1:ai1e1:ai2eee",
            DuplicateKey {
                key: "a".into(),
                at: 11,
            },
        ),
        (b"i1ei2e", TrailingData(3)),
        (b"le0:", TrailingData(2)),
    ];
    for (input, want) in cases {
        assert_eq!(
            decode(input).as_ref(),
            Err(want),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn depth_is_capped() {
    let ok = format!("{}{}", "l".repeat(MAX_DEPTH), "e".repeat(MAX_DEPTH));
    assert!(decode(ok.as_bytes()).is_ok());
    let deep = format!("{}{}", "l".repeat(MAX_DEPTH + 1), "e".repeat(MAX_DEPTH + 1));
    assert_eq!(
        decode(deep.as_bytes()),
        Err(BencodeError::TooDeep(MAX_DEPTH))
    );
    // A hostile file of a million opening brackets fails fast instead of overflowing the stack.
    assert!(matches!(
        decode(&vec![b'd'; 1 << 20]),
        Err(BencodeError::KeyNotString(1))
    ));
    assert!(matches!(
        decode(&vec![b'l'; 1 << 20]),
        Err(BencodeError::TooDeep(_))
    ));
}

#[test]
fn every_truncation_of_a_torrent_is_an_error() {
    let torrent: &[u8] = include_bytes!("../../metainfo/testdata/mktorrent-dir.torrent");
    assert!(decode(torrent).is_ok());
    for cut in 0..torrent.len() {
        assert!(
            decode(&torrent[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
}

fn reference_value() -> impl Strategy<Value = Reference> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Reference::Int),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Reference::Bytes),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Reference::List),
            proptest::collection::hash_map(
                proptest::collection::vec(any::<u8>(), 0..6),
                inner,
                0..6
            )
            .prop_map(Reference::Dict),
        ]
    })
}

fn same(ours: &Value<'_>, reference: &Reference) -> bool {
    match (ours, reference) {
        (Value::Int(a), Reference::Int(b)) => a == b,
        (Value::Bytes(a), Reference::Bytes(b)) => a == b,
        (Value::List(a), Reference::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Dict(a), Reference::Dict(b)) => {
            a.entries().len() == b.len()
                && a.entries()
                    .iter()
                    .all(|(k, v)| b.get(*k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

proptest! {
    #[test]
    fn agrees_with_serde_bencode(reference in reference_value()) {
        let bytes = serde_bencode::to_bytes(&reference).unwrap();
        let ours = decode(&bytes).unwrap();
        prop_assert!(same(&ours, &reference), "{ours:?} vs {reference:?}");
        if let Value::Dict(d) = &ours {
            prop_assert_eq!(d.raw(), &bytes[..]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }
}
