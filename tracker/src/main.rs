//! `tracker`: its settings from flags, `TRACKER_*` variables and a TOML file, then serve
//! (see `seedline_process::daemon` and `daemon.rs`).

use std::process::ExitCode;

use seedline_process::settings::NoExtra;
use seedline_tracker::{cli::PROGRAM, Config};

fn main() -> ExitCode {
    seedline_process::daemon::main_from_args::<Config, NoExtra>(&PROGRAM)
}
