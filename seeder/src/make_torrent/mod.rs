//! `make-torrent`: publish a file or directory as a `.torrent`, and inspect or verify one.
//!
//! The metainfo model, parser and encoder live in `seedline_common::metainfo`; this module
//! owns the file system side: walking the input, hashing on all cores, atomic writes, and
//! the command line's output.

mod cli;
mod create;
mod create_v2;
mod error;
mod format;
mod hash;
mod hash_v2;
mod load;
mod progress;
mod show;
mod summary;
mod verify;
mod verify_v2;
mod walk;
mod write;

pub use cli::{Cli, Command, CreateArgs};
pub use create::CREATED_BY;
pub use error::Error;
pub use hash::{hash_files, DataFile};
pub use load::{load_torrent, MAX_TORRENT_FILE};
pub use progress::{Progress, Silent};
pub use walk::{walk, SourceFile, WalkOptions, Walked};

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `verify` found data that does not match the torrent.
    Mismatch,
}

/// Runs the command line, writing results to standard output and progress to standard
/// error.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        None => create::create(cli.create, &mut out).map(|()| Outcome::Done),
        Some(Command::Show { torrent, json }) => {
            show::show(&torrent, json, &mut out).map(|()| Outcome::Done)
        }
        Some(Command::Verify {
            torrent,
            path,
            threads,
        }) => verify::verify(&torrent, path.as_deref(), cli::threads(threads), &mut out),
    }
}
