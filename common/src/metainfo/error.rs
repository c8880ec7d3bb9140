//! Why a `.torrent` (or the parts a creator supplied) is not acceptable.
//!
//! Each message names the offending key as a path (`info -> files -> 3 -> path`), because
//! the person reading it has a file in front of them and needs to know where to look.

use crate::bencode::value::BencodeError;

/// A rejected torrent. Paths in messages are bencode key paths joined with ` -> `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    #[error("not valid bencode: {0}")]
    Bencode(#[from] BencodeError),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{path}` should be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("`{0}` is not valid UTF-8")]
    NotUtf8(String),
    #[error("`{path}` is {value}, but it {rule}")]
    OutOfRange {
        path: String,
        value: i64,
        rule: &'static str,
    },
    #[error("`info -> pieces` is {0} bytes long, which is not a multiple of 20")]
    PiecesLength(usize),
    #[error(
        "`info -> pieces` holds {got} hashes, but {total} bytes in pieces of {piece_length} \
         bytes need {expected}"
    )]
    PieceCount {
        got: usize,
        expected: u64,
        total: u64,
        piece_length: u64,
    },
    #[error("`{path}` is {component:?}, which {problem}")]
    UnsafePath {
        path: String,
        component: String,
        problem: &'static str,
    },
    #[error("`info` has both `length` and `files`; a torrent is either one file or a list")]
    BothLengthAndFiles,
    #[error("`info` has neither `length` nor `files`")]
    NoLength,
    #[error("`info -> files` is empty")]
    NoFiles,
    /// A v2 (BEP 52) part that is malformed or disagrees with itself or the v1 part.
    #[error("`{path}` {problem}")]
    V2 { path: String, problem: String },
    #[error("the path {0:?} appears twice in `info -> files`")]
    DuplicatePath(String),
    #[error("the path {0:?} in `info -> files` is both a file and a directory")]
    FileIsDirectory(String),
    #[error("`{path}` joins to {len} bytes, more than the {max} a file system path may have")]
    PathTooLong {
        path: String,
        len: usize,
        max: usize,
    },
    #[error("the files add up to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{url:?} is not a {what} URL (it must start with {schemes})")]
    BadUrl {
        url: String,
        what: &'static str,
        schemes: &'static str,
    },
    #[error("{url:?} is not a usable {what} URL: {problem}")]
    UnusableUrl {
        url: String,
        what: &'static str,
        problem: &'static str,
    },
}

/// Joins a parent key path and a child key for error messages.
pub(crate) fn child(parent: &str, key: impl std::fmt::Display) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent} -> {key}")
    }
}
