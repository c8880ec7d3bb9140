//! The BEP 10 extended handshake: which extensions a peer speaks, under which ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The extended-message id of the handshake itself.
pub const EXTENDED_HANDSHAKE_ID: u8 = 0;

/// The handshake dictionary. Unknown keys are ignored, as BEP 10 asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedHandshake {
    /// Extension name -> the id the sender wants to receive it under (0 = disabled).
    #[serde(default)]
    pub m: BTreeMap<String, i64>,
    /// The sender's listen port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<i64>,
    /// Client name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<ByteBuf>,
    /// The receiver's address as the sender sees it (4 or 16 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yourip: Option<ByteBuf>,
    /// How many outstanding requests the sender accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reqq: Option<i64>,
    /// BEP 9: size of the info dictionary in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_size: Option<i64>,
}

impl ExtendedHandshake {
    pub fn decode(payload: &[u8]) -> Result<Self, serde_bencode::Error> {
        serde_bencode::from_bytes(payload)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend(serde_bencode::to_bytes(self).expect("plain data always encodes"));
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
            v: Some(ByteBuf::from(b"Seedline 0.1".to_vec())),
            yourip: Some(ByteBuf::from(vec![127, 0, 0, 1])),
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
        ] {
            assert!(ExtendedHandshake::decode(raw).is_err(), "{raw:?}");
        }
    }
}
