//! `metainfo` target: `.torrent` parsing and validation, v1, v2 and hybrid (BEP 52). A
//! torrent that parses must re-encode to one that parses to the same model, and its info
//! hashes must be SHA-1 (v1) and SHA-256 (v2) of the raw `info` bytes; when the `info`
//! dictionary was already canonical the re-encoding keeps the hashes.

use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::metainfo::{Metainfo, Version};

pub fn metainfo(data: &[u8]) {
    let Ok(parsed) = Metainfo::from_bytes(data) else {
        return;
    };
    let raw_hash: [u8; 20] = Sha1::digest(&parsed.info_bytes).into();
    if let Some(v2) = &parsed.v2 {
        let raw_v2: [u8; 32] = Sha256::digest(&parsed.info_bytes).into();
        assert_eq!(v2.info_hash, raw_v2);
        let again = Metainfo::from_bytes(&v2.info.torrent_bytes(&parsed.metainfo))
            .expect("a parsed v2 torrent re-encodes to a valid one");
        let again_v2 = again.v2.expect("still v2");
        assert_eq!(again_v2.info, v2.info, "v2 model changed in a round trip");
        if v2.info.to_bytes() == parsed.info_bytes {
            assert_eq!(
                again_v2.info_hash, v2.info_hash,
                "canonical info, other hash"
            );
        }
        if v2.info.version == Version::V2 {
            assert_eq!(parsed.info_hash.as_bytes()[..], raw_v2[..20]);
            return;
        }
    }
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
