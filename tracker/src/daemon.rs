//! The tracker as a daemon process: what `seedline_process::daemon::main` needs.

use std::io;

use seedline_process::config::ConfigError;
use seedline_process::daemon::Daemon;
use seedline_process::LogFormat;
use tokio_util::sync::CancellationToken;

use crate::{reload, server, Config, Listeners};

impl Daemon for Config {
    const NAME: &'static str = "tracker";
    type Listeners = Listeners;

    /// At start a broken access list is a configuration error; later it only keeps the
    /// previous one.
    fn check_host(&self) -> Result<(), ConfigError> {
        match &self.access_list {
            Some(path) => reload::read_list(path)
                .map(|_| ())
                .map_err(|e| ConfigError(e.to_string())),
            None => Ok(()),
        }
    }

    fn logging(&self) -> (LogFormat, &str) {
        (self.log_format, &self.log_level)
    }

    fn bind(&self) -> io::Result<Listeners> {
        Listeners::bind(self)
    }

    async fn serve(self, listeners: Listeners, shutdown: CancellationToken) -> Result<(), String> {
        server::run(self, listeners, shutdown).await;
        Ok(())
    }
}
