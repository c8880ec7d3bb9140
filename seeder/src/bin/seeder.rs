//! `seeder`: parse flags and serve (see `seedline_process::daemon` and `daemon/process.rs`).

use std::process::ExitCode;

use clap::Parser;
use seedline_seeder::daemon::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let print = cli.print_config;
    seedline_process::daemon::main(cli.into_config(), print)
}
