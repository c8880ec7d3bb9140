//! `metainfo` target: `.torrent` parsing and validation. A torrent that parses must
//! re-encode to one that parses to the same model, and its info hash must be SHA-1 of
//! the raw `info` bytes; when the `info` dictionary was already canonical the
//! re-encoding keeps the hash.

use sha1::{Digest, Sha1};

use crate::metainfo::Metainfo;

pub fn metainfo(data: &[u8]) {
    let Ok(parsed) = Metainfo::from_bytes(data) else {
        return;
    };
    let raw_hash: [u8; 20] = Sha1::digest(&parsed.info_bytes).into();
    assert_eq!(parsed.info_hash.as_bytes(), &raw_hash);
    let again = Metainfo::from_bytes(&parsed.metainfo.to_bytes())
        .expect("a parsed torrent re-encodes to a valid one");
    assert_eq!(
        again.metainfo, parsed.metainfo,
        "model changed in a round trip"
    );
    let info = parsed.metainfo.info.to_bytes();
    assert_eq!(again.info_bytes, info);
    if info == parsed.info_bytes {
        assert_eq!(
            again.info_hash, parsed.info_hash,
            "canonical info, other hash"
        );
    }
}
