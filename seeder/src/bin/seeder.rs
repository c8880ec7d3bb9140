//! `seeder`: its settings from flags, `SEEDER_*` variables and a TOML file, then serve
//! (see `seedline_process::daemon` and `daemon/process.rs`).

use std::process::ExitCode;

use seedline_seeder::daemon::cli::{OneOffFlags, PROGRAM};
use seedline_seeder::daemon::Config;

fn main() -> ExitCode {
    seedline_process::daemon::main_from_args::<Config, OneOffFlags>(&PROGRAM)
}
