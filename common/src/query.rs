//! Binary-safe query strings.
//!
//! `info_hash` and `peer_id` are 20 arbitrary bytes, percent-encoded by some clients,
//! sent raw where a byte happens to be unreserved by others, so a UTF-8 form parser would
//! reject or mangle them. Everything here works on raw bytes.

/// Why a percent-encoded value could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid percent-encoding")]
    BadEscape,
    #[error("value too long")]
    TooLong,
}

/// The `key=value` pairs of a raw query string (the part after `?`), still encoded.
///
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` has an empty value.
pub fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.iter().position(|&b| b == b'=') {
            Some(i) => (&seg[..i], &seg[i + 1..]),
            None => (seg, &b""[..]),
        })
}

/// Percent-decodes `src` into `out`, returning the decoded length.
///
/// `+` is a space (form encoding, as browsers and some clients send it); any other byte
/// that is not part of an escape is taken as is.
pub fn decode_into(src: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    let mut i = 0;
    let mut n = 0;
    while i < src.len() {
        let b = match src[i] {
            b'%' => {
                let hi = src.get(i + 1).and_then(|&c| crate::id::hex_val(c));
                let lo = src.get(i + 2).and_then(|&c| crate::id::hex_val(c));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        i += 3;
                        (hi << 4) | lo
                    }
                    _ => return Err(DecodeError::BadEscape),
                }
            }
            b'+' => {
                i += 1;
                b' '
            }
            c => {
                i += 1;
                c
            }
        };
        *out.get_mut(n).ok_or(DecodeError::TooLong)? = b;
        n += 1;
    }
    Ok(n)
}

/// Percent-decodes into a new vector.
pub fn decode(src: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = vec![0; src.len()];
    let n = decode_into(src, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Percent-encodes every byte outside RFC 3986's unreserved set, as libtorrent does.
pub fn encode_into(src: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in src {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        }
    }
}

/// Parses an unsigned decimal without sign, spaces or escapes; `None` on anything else,
/// including overflow.
pub fn parse_u64(src: &[u8]) -> Option<u64> {
    if src.is_empty() || src.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in src {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pairs_split() {
        let got: Vec<_> = pairs(b"a=1&&b=&c&d=x=y").collect();
        assert_eq!(
            got,
            vec![
                (&b"a"[..], &b"1"[..]),
                (b"b", b""),
                (b"c", b""),
                (b"d", b"x=y"),
            ]
        );
    }

    #[test]
    fn decode_mixed() {
        assert_eq!(decode(b"%41b+c%2b%7E").unwrap(), b"Ab c+~");
        assert_eq!(decode(b"\xff%00").unwrap(), b"\xff\x00");
        assert_eq!(decode(b"%4"), Err(DecodeError::BadEscape));
        assert_eq!(decode(b"%zz"), Err(DecodeError::BadEscape));
        assert_eq!(decode(b"%"), Err(DecodeError::BadEscape));
        let mut small = [0u8; 2];
        assert_eq!(decode_into(b"abc", &mut small), Err(DecodeError::TooLong));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1 "), None);
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut enc = Vec::new();
            encode_into(&bytes, &mut enc);
            prop_assert!(enc.iter().all(|b| b.is_ascii_graphic() && *b != b'&' && *b != b'=' && *b != b'+'));
            prop_assert_eq!(decode(&enc).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
