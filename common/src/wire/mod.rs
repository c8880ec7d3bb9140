//! The BitTorrent peer wire protocol as pure codecs: the handshake and messages of BEP 3,
//! the Fast extension (BEP 6), the extension protocol (BEP 10), `ut_metadata` (BEP 9) and
//! v2's hash messages (BEP 52).
//!
//! Decoders read from a byte buffer the caller filled and answer `Ok(None)` when more
//! bytes are needed; a length prefix is checked against the caller's limit before the
//! caller allocates anything for the body. Encoders append to a caller-owned `Vec`.
//! The seeder owns the sockets; its test client and the load tester use the same code.

mod bitfield;
mod extension;
mod handshake;
mod hashes;
mod message;
mod metadata;

pub use bitfield::{Bitfield, BitfieldError};
pub use extension::{ExtendedHandshake, ExtensionError, EXTENDED_HANDSHAKE_ID, MAX_EXTENDED_LEN};
pub use handshake::{Handshake, HandshakeError, HANDSHAKE_LEN, PROTOCOL};
pub use hashes::{HashRequest, HASH_REQUEST_LEN};
pub use message::{frame_len, write_piece_header, BlockRequest, FrameLimits, Message, WireError};
pub use metadata::{MetadataError, MetadataMessage, METADATA_PIECE_LEN};

/// The largest block a peer may request (BEP 3 clients use 16 KiB; larger requests are
/// refused by every mainstream client, and by us).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024;
