//! 20-byte identifiers: the info hash of a torrent and the peer id of a client.

use std::fmt;
use std::str::FromStr;

/// Why a hex string is not a 20-byte identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    #[error("expected 40 hex digits, got {0} characters")]
    BadLength(usize),
    #[error("invalid hex digit {0:?}")]
    BadDigit(char),
}

macro_rules! id20 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 20]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = 20;

            /// Takes exactly 20 bytes; `None` for any other length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(Self)
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 20] {
                &self.0
            }

            /// Lower-case hex, 40 characters.
            pub fn to_hex(&self) -> String {
                let mut s = String::with_capacity(40);
                for b in self.0 {
                    s.push(HEX[usize::from(b >> 4)] as char);
                    s.push(HEX[usize::from(b & 0xf)] as char);
                }
                s
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            /// Parses 40 hex digits, either case.
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                parse_hex20(s).map(Self)
            }
        }

        impl From<[u8; 20]> for $name {
            fn from(bytes: [u8; 20]) -> Self {
                Self(bytes)
            }
        }
    };
}

id20! {
    /// SHA-1 of the bencoded `info` dictionary of a torrent (BitTorrent v1).
    InfoHash
}

id20! {
    /// The 20-byte id a client picks for itself.
    PeerId
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn parse_hex20(s: &str) -> Result<[u8; 20], ParseIdError> {
    let bytes = s.as_bytes();
    if bytes.len() != 40 {
        return Err(ParseIdError::BadLength(s.chars().count()));
    }
    let mut out = [0u8; 20];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0]).ok_or(ParseIdError::BadDigit(char::from(pair[0])))?;
        let lo = hex_val(pair[1]).ok_or(ParseIdError::BadDigit(char::from(pair[1])))?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

/// Value of one ASCII hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_golden() {
        let h: InfoHash = "0123456789ABCDEFabcdef0123456789abcdef01".parse().unwrap();
        assert_eq!(h.0[0], 0x01);
        assert_eq!(h.0[19], 0x01);
        assert_eq!(h.to_string(), "0123456789abcdefabcdef0123456789abcdef01");
    }

    #[test]
    fn hex_errors() {
        assert_eq!("abc".parse::<InfoHash>(), Err(ParseIdError::BadLength(3)));
        let bad = "g".repeat(40);
        assert_eq!(bad.parse::<PeerId>(), Err(ParseIdError::BadDigit('g')));
        // A multi-byte character must not be mistaken for two hex digits.
        let s = format!("é{}", "0".repeat(38));
        assert!(s.parse::<InfoHash>().is_err());
    }

    proptest! {
        #[test]
        fn hex_round_trip(bytes in any::<[u8; 20]>()) {
            let h = InfoHash(bytes);
            prop_assert_eq!(h.to_hex().parse::<InfoHash>().unwrap(), h);
        }
    }
}
