//! The BEP 10 extended handshake: which extensions a peer speaks, under which ids.
//!
//! Read with the strict borrowing decoder ([`crate::bencode::value`]): its depth limit is
//! what keeps a hostile handshake nested thousands of lists deep from overflowing the
//! stack, and the caller caps the payload's length before it is buffered
//! ([`MAX_EXTENDED_LEN`]).

use std::collections::BTreeMap;

use crate::bencode;
use crate::bencode::value::{self, BencodeError, Value};

/// The extended-message id of the handshake itself.
pub const EXTENDED_HANDSHAKE_ID: u8 = 0;

/// The largest extended message (id byte, extension id and payload) the protocols we
/// speak need: a BEP 9 data message is a 16 KiB metadata piece plus a small dictionary,
/// and real extended handshakes are a few hundred bytes. libtorrent refuses anything
/// over its 16 KiB receive buffer for the handshake; this leaves room for both.
pub const MAX_EXTENDED_LEN: u32 = 2 + 16 * 1024 + 1024;

/// Most extensions an `m` dictionary may name; real clients name about ten.
const MAX_EXTENSIONS: usize = 128;

/// The handshake dictionary. Unknown keys are ignored, as BEP 10 asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedHandshake {
    /// Extension name -> the id the sender wants to receive it under (0 = disabled).
    pub m: BTreeMap<String, i64>,
    /// The sender's listen port.
    pub p: Option<i64>,
    /// Client name and version.
    pub v: Option<Vec<u8>>,
    /// The receiver's address as the sender sees it (4 or 16 bytes).
    pub yourip: Option<Vec<u8>>,
    /// How many outstanding requests the sender accepts.
    pub reqq: Option<i64>,
    /// BEP 9: size of the info dictionary in bytes.
    pub metadata_size: Option<i64>,
}

/// Why a payload is not an extended handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("extended handshake: {0}")]
    Bencode(#[from] BencodeError),
    #[error("extended handshake: {0} is missing or of the wrong type")]
    Field(&'static str),
    #[error("extended handshake: more than {MAX_EXTENSIONS} extensions in `m`")]
    TooManyExtensions,
}

impl ExtendedHandshake {
    /// Reads a handshake. Known keys of the wrong type are errors; entries of `m` that
    /// are not a UTF-8 name with an integer id are skipped, as a client would.
    pub fn decode(payload: &[u8]) -> Result<Self, ExtensionError> {
        let Value::Dict(d) = value::decode(payload)? else {
            return Err(ExtensionError::Field("the top-level dictionary"));
        };
        let int = |key: &'static str| match d.get(key.as_bytes()) {
            None => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(_) => Err(ExtensionError::Field(key)),
        };
        let bytes = |key: &'static str| match d.get(key.as_bytes()) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b.to_vec())),
            Some(_) => Err(ExtensionError::Field(key)),
        };
        let mut m = BTreeMap::new();
        match d.get(b"m") {
            None => {}
            Some(Value::Dict(ext)) => {
                if ext.entries().len() > MAX_EXTENSIONS {
                    return Err(ExtensionError::TooManyExtensions);
                }
                for (name, id) in ext.entries() {
                    if let (Ok(name), Value::Int(id)) = (std::str::from_utf8(name), id) {
                        m.insert(name.to_owned(), *id);
                    }
                }
            }
            Some(_) => return Err(ExtensionError::Field("m")),
        }
        Ok(Self {
            m,
            p: int("p")?,
            v: bytes("v")?,
            yourip: bytes("yourip")?,
            reqq: int("reqq")?,
            metadata_size: int("metadata_size")?,
        })
    }

    /// Appends the handshake as a bencoded dictionary, keys in sorted order.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'd');
        bencode::bytes(out, b"m");
        out.push(b'd');
        for (name, id) in &self.m {
            bencode::key_int(out, name.as_bytes(), *id);
        }
        out.push(b'e');
        if let Some(n) = self.metadata_size {
            bencode::key_int(out, b"metadata_size", n);
        }
        if let Some(n) = self.p {
            bencode::key_int(out, b"p", n);
        }
        if let Some(n) = self.reqq {
            bencode::key_int(out, b"reqq", n);
        }
        if let Some(v) = &self.v {
            bencode::bytes(out, b"v");
            bencode::bytes(out, v);
        }
        if let Some(ip) = &self.yourip {
            bencode::bytes(out, b"yourip");
            bencode::bytes(out, ip);
        }
        out.push(b'e');
    }

    /// The id the sender wants `name` messages under, if it enabled the extension.
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.m
            .get(name)
            .and_then(|&id| u8::try_from(id).ok())
            .filter(|&id| id != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sorted_keys() {
        let h = ExtendedHandshake {
            m: BTreeMap::from([("ut_metadata".to_owned(), 3)]),
            p: Some(6881),
            v: Some(b"Seedline 0.1".to_vec()),
            yourip: Some(vec![127, 0, 0, 1]),
            reqq: Some(250),
            metadata_size: Some(31_337),
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(
            out,
            b"d1:md11:ut_metadatai3ee13:metadata_sizei31337e1:pi6881e4:reqqi250e\
              1:v12:Seedline 0.16:yourip4:\x7f\0\0\x01e"
        );
        assert_eq!(ExtendedHandshake::decode(&out).unwrap(), h);
        assert_eq!(h.id_of("ut_metadata"), Some(3));
        assert_eq!(h.id_of("ut_pex"), None);
    }

    #[test]
    fn real_client_handshake_with_unknown_keys() {
        // As libtorrent 2.0 sends it (abridged): extra keys and a disabled extension.
        let raw = b"d12:complete_agoi-1e1:md11:lt_donthavei7e11:ut_metadatai2e6:ut_pexi0ee\
                    13:metadata_sizei1234e1:pi6881e4:reqqi500e11:upload_onlyi1e\
                    1:v16:libtorrent 2.0.8e";
        let h = ExtendedHandshake::decode(raw).unwrap();
        assert_eq!(h.id_of("ut_metadata"), Some(2));
        assert_eq!(h.id_of("ut_pex"), None);
        assert_eq!(h.reqq, Some(500));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &b""[..],
            b"d1:mi5ee",
            b"le",
            b"d1:md3:fooi99999999999999999999eee",
            b"d1:mlee",
            b"d4:reqq3:abce",
        ] {
            assert!(ExtendedHandshake::decode(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        let mut raw = b"d1:x".to_vec();
        raw.resize(4 + 20_000, b'l');
        assert!(matches!(
            ExtendedHandshake::decode(&raw),
            Err(ExtensionError::Bencode(BencodeError::TooDeep(_)))
        ));
    }

    #[test]
    fn odd_extension_entries_are_skipped() {
        let raw = b"d1:md2:\xff\xfei1e1:ali1ee1:bi2eee";
        let h = ExtendedHandshake::decode(raw).unwrap();
        assert_eq!(h.m, BTreeMap::from([("b".to_owned(), 2)]));
    }
}
