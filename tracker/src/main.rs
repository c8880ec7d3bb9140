//! `tracker`: parse flags and serve (see `seedline_process::daemon` and `daemon.rs`).

use std::process::ExitCode;

use clap::Parser;
use seedline_tracker::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let print = cli.print_config;
    seedline_process::daemon::main(cli.into_config(), print)
}
