//! The seeder as a daemon process: what `seedline_process::daemon::main` needs.

use std::io;

use seedline_process::config::ConfigError;
use seedline_process::daemon::Daemon;
use seedline_process::LogFormat;
use tokio_util::sync::CancellationToken;

use super::{run, Config, Listeners};

impl Daemon for Config {
    const NAME: &'static str = "seeder";
    type Listeners = Listeners;

    /// The library directory must exist here.
    fn check_host(&self) -> Result<(), ConfigError> {
        match &self.library {
            Some(lib) if !lib.is_dir() => Err(ConfigError(format!(
                "library {} is not a directory (create it, or fix --library)",
                lib.display()
            ))),
            _ => Ok(()),
        }
    }

    fn logging(&self) -> (LogFormat, &str) {
        (self.log_format, &self.log_level)
    }

    fn bind(&self) -> io::Result<Listeners> {
        Listeners::bind(self)
    }

    async fn serve(self, listeners: Listeners, shutdown: CancellationToken) -> Result<(), String> {
        run(self, listeners, shutdown)
            .await
            .map_err(|e| e.to_string())
    }
}
