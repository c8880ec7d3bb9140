//! BitTorrent v1 metainfo (`.torrent` files, BEP 3, 12, 19, 27): the model, a strict
//! parser for untrusted files, the canonical encoder and builder for the torrents we
//! create, piece hashing over a byte stream, the piece-length rule, and magnet links.
//!
//! Nothing here touches the file system: the seeder's `make-torrent` walks directories
//! and reads files, then hands lengths and bytes to these types.

mod builder;
mod encode;
mod error;
pub mod hash_tree;
mod hasher;
mod magnet;
pub mod merkle;
mod model;
mod parse;
mod parse_v2;
mod piece_length;
mod v2;
mod validate;

pub use builder::{check_name, parse_tier, sort_by_torrent_path, sort_files, Publication};
pub use error::MetainfoError;
pub use hasher::{hash_pieces, PieceHasher};
pub use magnet::magnet_link;
pub use model::{FileEntry, FileRef, Info, Layout, Metainfo};
pub use parse::Parsed;
pub use parse_v2::V2Part;
pub use piece_length::{
    auto_piece_length, format_size, parse_piece_length, PieceLengthError, AUTO_MAX_PIECE_LENGTH,
    AUTO_TARGET_PIECES, MAX_PIECE_LENGTH, MIN_PIECE_LENGTH,
};
pub use v2::{pad_after, sort_tree_order, V2File, V2Info, Version};
pub use validate::{MAX_PARSE_PIECE_LENGTH, MAX_TOTAL_LENGTH};
