//! The life of a daemon process, the same for every Seedline daemon: configuration (exit
//! 64 when refused, `--print-config`), checks that need this host, logging, a runtime,
//! listeners, signals, and serving until the first SIGINT or SIGTERM.

use std::future::Future;
use std::io;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, EXIT_CONFIG};
use crate::logging::{self, LogFormat};
use crate::settings::{self, ExtraFlags, LoadError, Program, Settings};
use crate::shutdown;

/// A daemon's validated configuration, and what the process does with it.
pub trait Daemon: Settings {
    /// `tracker`, `seeder`: the prefix of messages on stderr and the `service` of the
    /// shutdown log lines.
    const NAME: &'static str;
    type Listeners: Send + 'static;

    /// What must be right on this host (files, directories) before anything starts; not
    /// part of validation, so `--print-config` works anywhere.
    fn check_host(&self) -> Result<(), ConfigError> {
        Ok(())
    }
    /// How to log: the format and the `tracing` filter.
    fn logging(&self) -> (LogFormat, &str);
    fn bind(&self) -> io::Result<Self::Listeners>;
    /// Serves until `shutdown` fires; an error is printed and the process exits 1.
    fn serve(
        self,
        listeners: Self::Listeners,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static;
}

/// Runs a daemon from the process's command line: its settings (declared once, see
/// [`crate::settings`]) from flags, variables and the TOML file, validated, then
/// [`main`]. `--help` and `--version` print and exit 0; a command line clap refuses
/// exits 2.
pub fn main_from_args<D: Daemon, X: ExtraFlags<D>>(program: &Program) -> ExitCode {
    match settings::load_valid::<D, X>(program, std::env::args_os()) {
        Ok((cfg, print)) => main(Ok(cfg), print),
        Err(LoadError::Args(e)) => e.exit(),
        Err(LoadError::Config(e)) => main::<D>(Err(e), false),
    }
}

/// Runs a daemon from its parsed configuration (`print`: `--print-config` was given) to
/// its exit status: 0 after a clean shutdown, 64 for a configuration it refuses, 1 when
/// it cannot bind or fails while serving.
pub fn main<D: Daemon>(config: Result<D, ConfigError>, print: bool) -> ExitCode {
    let name = D::NAME;
    let cfg = match config.and_then(|c| {
        if print {
            Ok(c)
        } else {
            c.check_host().map(|()| c)
        }
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if print {
        print!("{}", cfg.to_toml());
        return ExitCode::SUCCESS;
    }
    let (format, level) = cfg.logging();
    logging::init(format, level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let listeners = match cfg.bind() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let token = CancellationToken::new();
        shutdown::cancel_on_signals(token.clone(), name);
        match cfg.serve(listeners, token).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
