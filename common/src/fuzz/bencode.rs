//! `bencode` target: the strict decoder accepts only canonical bencode, so a value it
//! returns must re-encode to exactly the bytes it was read from.

use crate::bencode::value::{decode, decode_prefix, decode_reply, Value};

pub fn bencode(data: &[u8]) {
    let prefix = decode_prefix(data);
    if let Ok((v, used)) = &prefix {
        assert!(
            *used <= data.len(),
            "decode_prefix used {used} of {}",
            data.len()
        );
        assert_eq!(
            encode(v),
            &data[..*used],
            "re-encoding differs from the input"
        );
        assert_eq!(decode(&data[..*used]).as_ref(), Ok(v));
    }
    match (decode(data), &prefix) {
        (Ok(v), Ok((p, used))) => {
            assert_eq!(&v, p);
            assert_eq!(*used, data.len());
        }
        (Ok(_), Err(e)) => panic!("decode accepts what decode_prefix refuses: {e}"),
        (Err(_), Ok((_, used))) => assert!(*used < data.len(), "decode refuses a whole value"),
        (Err(_), Err(_)) => {}
    }
    if let Ok(v) = decode_reply(data) {
        let (p, used) = prefix
            .as_ref()
            .expect("decode_reply succeeded, so the prefix decodes");
        assert_eq!(&v, p);
        assert!(data[*used..].iter().all(u8::is_ascii_whitespace));
    }
}

/// Bencode of `v` with dictionary entries in their decoded order.
pub(super) fn encode(v: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, v);
    out
}

fn write(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::Int(n) => crate::bencode::int(out, *n),
        Value::Bytes(b) => crate::bencode::bytes(out, b),
        Value::List(items) => {
            out.push(b'l');
            items.iter().for_each(|i| write(out, i));
            out.push(b'e');
        }
        Value::Dict(d) => {
            out.push(b'd');
            for (k, v) in d.entries() {
                crate::bencode::bytes(out, k);
                write(out, v);
            }
            out.push(b'e');
        }
    }
}
