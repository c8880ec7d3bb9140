//! `tracker`: parse flags, build the config, bind, serve until a signal.

use std::process::ExitCode;

use clap::Parser;
use seedline_process::{logging, shutdown, EXIT_CONFIG};
use seedline_tracker::{cli::Cli, reload, server, Listeners};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let print = cli.print_config;
    let cfg = match cli.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tracker: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if print {
        print!("{}", cfg.to_toml());
        return ExitCode::SUCCESS;
    }
    // At start a broken list is a configuration error; later it only keeps the old one.
    if let Some(path) = &cfg.access_list {
        if let Err(e) = reload::read_list(path) {
            eprintln!("tracker: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    logging::init(cfg.log_format, &cfg.log_level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let listeners = match Listeners::bind(&cfg) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tracker: {e}");
                return ExitCode::FAILURE;
            }
        };
        let token = CancellationToken::new();
        shutdown::cancel_on_signals(token.clone(), "tracker");
        server::run(cfg, listeners, token).await;
        ExitCode::SUCCESS
    })
}
