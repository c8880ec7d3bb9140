//! `make-torrent`: create, show and verify `.torrent` files. See `make-torrent --help`.

use std::process::ExitCode;

use clap::Parser;
use seedline_seeder::make_torrent::{run, Cli, Outcome};

/// Exit status when `verify` finds data that does not match (1 is any other error).
const EXIT_MISMATCH: u8 = 3;
/// A usage error, as clap exits for its own.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Mismatch) => ExitCode::from(EXIT_MISMATCH),
        Err(e) => {
            eprintln!("make-torrent: {e}");
            if e.is_usage() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
