//! BEP 52's hash messages: `hash request` (21), `hashes` (22) and `hash reject` (23), by
//! which a v2 peer fetches the Merkle hashes a `.torrent` file would have carried (a
//! magnet link gives only the info dictionary, whose files have roots but no layers).

/// What `hash request`, `hashes` and `hash reject` share: a range of one file's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashRequest {
    /// The file's `pieces root`.
    pub root: [u8; 32],
    /// The layer the hashes are taken from: 0 is the 16 KiB blocks, one up halves them.
    pub base: u32,
    /// The first node wanted in that layer.
    pub index: u32,
    /// How many nodes, from `index`.
    pub count: u32,
    /// How many layers above `base` the proof reaches: the uncles that link the range to
    /// the root (as far as those layers go) come after the range's own hashes.
    pub proof_layers: u32,
}

/// Bytes of the shared head: root and four integers.
pub const HASH_REQUEST_LEN: usize = 32 + 4 * 4;

impl HashRequest {
    pub(crate) fn decode(body: &[u8]) -> Self {
        let be = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("checked"));
        Self {
            root: body[..32].try_into().expect("checked"),
            base: be(32),
            index: be(36),
            count: be(40),
            proof_layers: be(44),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.root);
        for n in [self.base, self.index, self.count, self.proof_layers] {
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}
