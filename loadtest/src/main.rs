//! `loadtest`: parse flags, run the chosen generator, print its report.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use seedline_loadtest::cli::{Cli, Command};
use seedline_loadtest::{hiccups, seeder, tracker};
use seedline_process::{shutdown, EXIT_CONFIG};
use tokio_util::sync::CancellationToken;

/// The run completed, but more requests failed than `--max-error-rate` allows.
const EXIT_ERRORS: u8 = 1;

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Tracker(args) => args,
        Command::Seeder(args) => return run_seeder(&args),
        Command::Hiccups(args) => return run_hiccups(&args),
    };
    let cfg = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadtest: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.print_info_hashes {
        for h in tracker::population::info_hashes(cfg.seed, cfg.torrents) {
            println!("{h}");
        }
        return ExitCode::SUCCESS;
    }
    match run(&cfg, args.json, args.max_error_rate) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_ERRORS),
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs and prints; `Ok(false)` if more than `max_error_rate` of the requests failed.
fn run(cfg: &tracker::Config, json: bool, max_error_rate: f64) -> anyhow::Result<bool> {
    let token = CancellationToken::new();
    watch_signals(&token).context("cannot watch for signals")?;
    let report = tracker::run(cfg, &token, &|line| eprintln!("loadtest: {line}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.human());
    }
    let (errors, sent) = report.errors_of_requests();
    let rate = report.error_rate();
    // `0` means no error at all; otherwise the share may reach the limit.
    let failed = if max_error_rate == 0.0 {
        errors > 0
    } else {
        rate > max_error_rate
    };
    if failed {
        eprintln!(
            "loadtest: {errors} of {sent} requests failed ({:.2}%), more than --max-error-rate {}",
            rate * 100.0,
            max_error_rate
        );
    }
    Ok(!failed)
}

/// `loadtest seeder`: exit 0 when every leecher completed with good pieces, 1 if some
/// failed, 64 for bad arguments.
fn run_seeder(args: &seeder::SeederArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadtest: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let token = CancellationToken::new();
    if let Err(e) = watch_signals(&token) {
        eprintln!("loadtest: cannot watch for signals: {e}");
        return ExitCode::FAILURE;
    }
    let result = rt.block_on(seeder::run(args, &token));
    match result {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(j) => println!("{j}"),
                    Err(e) => eprintln!("loadtest: {e}"),
                }
            } else {
                print!("{}", report.human());
            }
            if report.error_count() == 0 && report.completed == args.peers {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_ERRORS)
            }
        }
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// `loadtest hiccups`: exit 0 with the report, 64 for bad arguments.
fn run_hiccups(args: &hiccups::HiccupsArgs) -> ExitCode {
    let (duration, threshold) = match args.validate() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("loadtest: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let report = hiccups::measure(duration, threshold);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("loadtest: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report.human());
    }
    ExitCode::SUCCESS
}

/// The first Ctrl-C (or SIGTERM) stops the run cleanly, and the report still prints; a
/// second exits at once.
fn watch_signals(token: &CancellationToken) -> std::io::Result<()> {
    shutdown::cancel_on_signals_in_thread(token.clone(), |stage, _| {
        if stage == shutdown::Stage::Stopping {
            eprintln!("loadtest: interrupted; stopping (Ctrl-C again to exit now)");
        }
    })
}
