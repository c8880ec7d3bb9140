//! The `make-torrent` command line.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use seedline_common::metainfo::parse_piece_length;

const AFTER_HELP: &str = "\
Piece length: without -l, make-torrent picks the smallest power of two from 16K up to 16M
that gives at most 2000 pieces: 16K up to 32 MiB of data, then 1000 to 2000 pieces up to
32 GiB (for example 512K for 700 MiB, 4M for 4 GiB), and 16M beyond that.

Files: a directory is walked recursively; files are ordered by the bytes of their path, as
mktorrent does, so both give the same info hash. Empty files are included. Hidden files
(names starting with a dot) and symlinks are skipped unless --include-hidden or
--follow-symlinks is given. An --exclude pattern leaves out every file or directory whose
name, or whose path relative to INPUT, it matches; `*` also matches `/`. So -x '*.nfo'
and -x Sample work at any depth, and -x 'extras/*' only below INPUT/extras.

Output is reproducible: with --no-creation-date, the same input and options always give the
same bytes.

Exit status: 0 on success, 1 on any error, 2 for a usage error, 3 when verify finds data
that does not match the torrent.";

/// Create, inspect and verify BitTorrent v1 `.torrent` files.
#[derive(Debug, Parser)]
#[command(
    name = "make-torrent",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what a .torrent file holds.
    Show {
        /// The .torrent file.
        torrent: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash data and compare it with a .torrent file.
    Verify {
        /// The .torrent file.
        torrent: PathBuf,
        /// The file or directory the torrent describes [default: its name, next to the
        /// .torrent file].
        path: Option<PathBuf>,
        /// Hashing threads [default: all cores].
        #[arg(short = 'j', long, value_name = "N")]
        threads: Option<NonZeroUsize>,
    },
}

/// Options for creating a torrent (the default action).
#[derive(Debug, Args, Default)]
pub struct CreateArgs {
    /// The file or directory to publish.
    #[arg(required = true)]
    pub input: Option<PathBuf>,
    /// Tracker URL. Each -a is a tier (BEP 12); comma-separated URLs share a tier. The
    /// first URL also goes in `announce`.
    #[arg(short = 'a', long = "announce", value_name = "URL[,URL...]")]
    pub announce: Vec<String>,
    /// Web seed URL (BEP 19 url-list).
    #[arg(short = 'w', long = "webseed", value_name = "URL")]
    pub webseed: Vec<String>,
    /// The origin's webseed base URL (the seeder's `public_http_url`, ending in `/`),
    /// written into `url-list` beside any -w. With --publish and no flag, taken from
    /// SEEDER_PUBLIC_HTTP_URL, the variable the seeder reads it from.
    #[arg(long, value_name = "URL")]
    pub public_http_url: Option<String>,
    /// BitTorrent v2 only (BEP 52): SHA-256 Merkle trees per file. Clients without v2
    /// (Transmission, rTorrent, aria2, libtorrent 1.x) cannot use it.
    #[arg(long, conflicts_with = "hybrid")]
    pub v2: bool,
    /// v1 and v2 in one torrent (BEP 52, with BEP 47 pad files aligning every file to a
    /// piece), as libtorrent 2 creates by default: v2 clients use v2, the rest v1.
    #[arg(long)]
    pub hybrid: bool,
    /// Mark the torrent private (BEP 27): no DHT, no peer exchange.
    #[arg(short = 'p', long)]
    pub private: bool,
    /// The `source` field inside `info`; it changes the info hash.
    #[arg(short = 's', long, value_name = "TEXT")]
    pub source: Option<String>,
    /// A comment for people reading the torrent.
    #[arg(short = 'c', long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// The torrent's name [default: the input's file name].
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Piece length: a power of two from 16K to 256M, as bytes or with K or M
    /// [default: automatic, see below].
    #[arg(short = 'l', long, value_name = "SIZE", value_parser = parse_piece_length)]
    pub piece_length: Option<u64>,
    /// Leave out `creation date` (for byte-for-byte reproducible output).
    #[arg(long)]
    pub no_creation_date: bool,
    /// Leave out `created by`.
    #[arg(long)]
    pub no_created_by: bool,
    /// Leave out files and directories whose name or relative path matches GLOB.
    #[arg(short = 'x', long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Include files and directories whose names start with a dot.
    #[arg(long)]
    pub include_hidden: bool,
    /// Follow symlinks inside the input (they are skipped otherwise).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Hashing threads [default: all cores].
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Where to write the torrent [default: NAME.torrent, or only into the --publish
    /// directory when that is given].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file (and an existing copy in --publish DIR).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Hash and print the summary, but write no file.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the torrent into this seeder library directory (and to -o only if given).
    /// The content must be where the seeder will look for it: DATA_ROOT/NAME.
    #[arg(long, value_name = "DIR")]
    pub publish: Option<PathBuf>,
    /// The seeder's --data-root, where it looks for library content [default: the
    /// --publish directory]; checked, not written to.
    #[arg(long, value_name = "DIR", requires = "publish")]
    pub data_root: Option<PathBuf>,
}

/// The thread count to use: the one asked for, or one per core.
pub fn threads(asked: Option<NonZeroUsize>) -> usize {
    asked
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn create_and_subcommands_parse() {
        let cli = Cli::try_parse_from([
            "make-torrent",
            "-a",
            "http://a/,http://b/",
            "-a",
            "udp://c:1",
            "-l",
            "4M",
            "-x",
            "*.nfo",
            "dir",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.create.announce.len(), 2);
        assert_eq!(cli.create.piece_length, Some(4 << 20));
        assert_eq!(cli.create.input, Some(PathBuf::from("dir")));

        let cli = Cli::try_parse_from(["make-torrent", "show", "x.torrent", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Show { json: true, .. })
        ));

        let err = Cli::try_parse_from(["make-torrent", "-l", "100K", "dir"]).unwrap_err();
        assert!(err.to_string().contains("not a power of two"), "{err}");
        assert!(Cli::try_parse_from(["make-torrent"]).is_err());
    }
}
