//! Everything `make-torrent` can fail on, each message a sentence that names the file.

use std::io;
use std::path::{Path, PathBuf};

use seedline_common::metainfo::{MetainfoError, PieceLengthError};

/// A failed `make-torrent` run. The binary prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{} is not a regular file or directory", .0.display())]
    NotRegular(PathBuf),
    #[error("the name of {} is not valid UTF-8, which torrent paths must be", .0.display())]
    NotUtf8(PathBuf),
    #[error("{} links back to one of its own parent directories", .0.display())]
    SymlinkLoop(PathBuf),
    #[error("{} holds no files to publish (hidden files and symlinks are skipped unless asked for)", .0.display())]
    EmptyInput(PathBuf),
    #[error("{} holds only empty files; a torrent needs at least one byte of data", .0.display())]
    NoData(PathBuf),
    #[error("{} changed size while it was being hashed (from {expected} to {now} bytes); hash it again once it is complete", path.display())]
    ChangedSize {
        path: PathBuf,
        expected: u64,
        now: u64,
    },
    /// `--public-http-url` (or `SEEDER_PUBLIC_HTTP_URL`) is not a usable base URL.
    #[error("{0}")]
    PublicUrl(String),
    #[error("{} holds only a file of its own name ({name}/{name}), which a v2-only torrent cannot tell from the single file {name:?}: v2 clients would save a file where the seeder serves a directory. Rename one of them, or make it --hybrid (its v1 part says it is a directory)", path.display())]
    AmbiguousV2 { path: PathBuf, name: String },
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("the --exclude pattern {pattern:?} is not a valid glob: {source}")]
    Glob {
        pattern: String,
        source: globset::Error,
    },
    #[error("cannot use the name {name:?}: {source}")]
    BadName { name: String, source: MetainfoError },
    #[error("{} is larger than the {max} bytes a .torrent file may have", path.display())]
    TorrentTooLarge { path: PathBuf, max: u64 },
    #[error("{} is not a valid torrent: {source}", path.display())]
    BadTorrent {
        path: PathBuf,
        source: MetainfoError,
    },
    #[error(transparent)]
    Metainfo(#[from] MetainfoError),
    #[error("--piece-length: {0}")]
    PieceLength(#[from] PieceLengthError),
    #[error("cannot write the summary to standard output: {0}")]
    Output(io::Error),
    #[error("{} holds none of the torrent's files; PATH is the content itself (the file or directory {name:?}){hint}", path.display())]
    WrongDataPath {
        path: PathBuf,
        name: String,
        hint: String,
    },
}

impl Error {
    /// Whether the command line itself was wrong (exit 2, as for clap's own usage
    /// errors): a bad URL, name, glob or piece length, as opposed to the data or disk.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Glob { .. }
                | Self::WrongDataPath { .. }
                | Self::AmbiguousV2 { .. }
                | Self::BadName { .. }
                | Self::PieceLength(_)
                | Self::Metainfo(MetainfoError::BadUrl { .. } | MetainfoError::UnusableUrl { .. })
        )
    }

    /// A failed read of `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
