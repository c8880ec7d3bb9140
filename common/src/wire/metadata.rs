//! BEP 9 `ut_metadata`: the info dictionary in 16 KiB pieces, so a magnet link resolves
//! against any peer that has the torrent.

use crate::bencode;
use crate::bencode::value::{self, Value};

/// Metadata is exchanged in pieces of this size (the last one may be shorter).
pub const METADATA_PIECE_LEN: usize = 16 * 1024;

const REQUEST: i64 = 0;
const DATA: i64 = 1;
const REJECT: i64 = 2;

/// One `ut_metadata` message; `Data` borrows the bytes that follow its dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataMessage<'a> {
    Request {
        piece: u32,
    },
    Data {
        piece: u32,
        total_size: u32,
        data: &'a [u8],
    },
    Reject {
        piece: u32,
    },
}

/// Why a payload is not a `ut_metadata` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("ut_metadata: {0}")]
    Bencode(#[from] value::BencodeError),
    #[error("ut_metadata: missing or invalid {0}")]
    Field(&'static str),
    #[error("ut_metadata: unknown msg_type {0}")]
    UnknownType(i64),
    #[error("ut_metadata: {0} bytes after a message that carries no data")]
    TrailingData(usize),
}

impl<'a> MetadataMessage<'a> {
    pub fn decode(payload: &'a [u8]) -> Result<Self, MetadataError> {
        let (v, used) = value::decode_prefix(payload)?;
        let Value::Dict(d) = v else {
            return Err(MetadataError::Field("dictionary"));
        };
        let int = |key: &'static str| match d.get(key.as_bytes()) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(MetadataError::Field(key)),
        };
        let u32_of = |key: &'static str| {
            int(key).and_then(|n| u32::try_from(n).map_err(|_| MetadataError::Field(key)))
        };
        let piece = u32_of("piece")?;
        let rest = &payload[used..];
        let no_data = |m| match rest.len() {
            0 => Ok(m),
            n => Err(MetadataError::TrailingData(n)),
        };
        match int("msg_type")? {
            REQUEST => no_data(MetadataMessage::Request { piece }),
            REJECT => no_data(MetadataMessage::Reject { piece }),
            DATA => Ok(MetadataMessage::Data {
                piece,
                total_size: u32_of("total_size")?,
                data: rest,
            }),
            other => Err(MetadataError::UnknownType(other)),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'd');
        match *self {
            MetadataMessage::Request { piece } | MetadataMessage::Reject { piece } => {
                let kind = if matches!(self, MetadataMessage::Request { .. }) {
                    REQUEST
                } else {
                    REJECT
                };
                bencode::key_int(out, b"msg_type", kind);
                bencode::key_int(out, b"piece", i64::from(piece));
                out.push(b'e');
            }
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => {
                bencode::key_int(out, b"msg_type", DATA);
                bencode::key_int(out, b"piece", i64::from(piece));
                bencode::key_int(out, b"total_size", i64::from(total_size));
                out.push(b'e');
                out.extend_from_slice(data);
            }
        }
    }

    /// The bytes of metadata piece `piece` of `info`, or `None` past the end.
    pub fn piece_of(info: &[u8], piece: u32) -> Option<&[u8]> {
        let start = (piece as usize).checked_mul(METADATA_PIECE_LEN)?;
        if start >= info.len() {
            return None;
        }
        Some(&info[start..info.len().min(start + METADATA_PIECE_LEN)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: MetadataMessage<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(MetadataMessage::decode(&out).unwrap(), m);
        out
    }

    #[test]
    fn golden_bytes_round_trip() {
        assert_eq!(
            round_trip(MetadataMessage::Request { piece: 0 }),
            b"d8:msg_typei0e5:piecei0ee"
        );
        assert_eq!(
            round_trip(MetadataMessage::Reject { piece: 2 }),
            b"d8:msg_typei2e5:piecei2ee"
        );
        assert_eq!(
            round_trip(MetadataMessage::Data {
                piece: 1,
                total_size: 16_390,
                data: b"abcdef"
            }),
            b"d8:msg_typei1e5:piecei1e10:total_sizei16390eeabcdef"
        );
    }

    #[test]
    fn bad_messages_are_errors() {
        for raw in [
            &b""[..],
            b"le",
            b"d5:piecei0ee",
            b"d8:msg_typei0ee",
            b"d8:msg_typei7e5:piecei0ee",
            b"d8:msg_typei0e5:piecei-1ee",
            b"d8:msg_typei0e5:piecei0eextra",
            b"d8:msg_typei1e5:piecei0ee",
        ] {
            assert!(MetadataMessage::decode(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn pieces_of_the_info_dictionary() {
        let info = vec![7u8; METADATA_PIECE_LEN + 10];
        assert_eq!(
            MetadataMessage::piece_of(&info, 0).unwrap().len(),
            METADATA_PIECE_LEN
        );
        assert_eq!(MetadataMessage::piece_of(&info, 1).unwrap().len(), 10);
        assert_eq!(MetadataMessage::piece_of(&info, 2), None);
        assert_eq!(MetadataMessage::piece_of(&info, u32::MAX), None);
    }
}
