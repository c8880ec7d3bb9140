//! Command line and environment: every setting of [`Config`] is a flag and a `SEEDER_*`
//! variable, declared on its field; values given here override the TOML file given with
//! `--config`, which overrides the defaults. `--torrent`/`--data` pairs are the one
//! exception: flags of their own that fill `torrents`.

use std::path::PathBuf;

use seedline_process::settings::{ExtraFlags, Program};

use super::config::{Config, ConfigError, OneOff};

/// The seeder binary, for `--help`, `--version` and its variables.
pub const PROGRAM: Program = Program {
    name: "seeder",
    env_prefix: "SEEDER",
    version: env!("CARGO_PKG_VERSION"),
    about: "Seedline origin seeder: serves every torrent of a library directory (and any \
        given with --torrent/--data) over the BitTorrent peer wire protocol. Without \
        --tracker it also runs the tracker in this process and announces there.",
};

/// Torrents served without a library, given on the command line.
#[derive(Debug, Default, clap::Args)]
pub struct OneOffFlags {
    /// A .torrent to seed without a library, repeatable; pairs with --data in order.
    #[arg(long, env = "SEEDER_TORRENT", value_delimiter = ',')]
    pub torrent: Vec<PathBuf>,
    /// Directory holding the content of the matching --torrent (DIR/NAME, NAME from the
    /// torrent).
    #[arg(long, env = "SEEDER_DATA", value_delimiter = ',')]
    pub data: Vec<PathBuf>,
}

impl ExtraFlags<Config> for OneOffFlags {
    /// Given, the pairs replace the file's `torrents`.
    fn apply(self, mut c: Config) -> Result<Config, ConfigError> {
        if self.torrent.len() != self.data.len() {
            return Err(ConfigError(format!(
                "{} --torrent but {} --data: give one data directory per torrent",
                self.torrent.len(),
                self.data.len()
            )));
        }
        if !self.torrent.is_empty() {
            c.torrents = (self.torrent.into_iter().zip(self.data))
                .map(|(torrent, data)| OneOff { torrent, data })
                .collect();
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use seedline_process::settings::from_args;
    use seedline_testkit::TempFile;

    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        from_args::<Config, OneOffFlags>(&PROGRAM, args).map_err(|e| e.to_string())
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let file = TempFile::new(
            "s.toml",
            "upload_slots = 8\nidle_timeout = 99\nlibrary = \"/lib\"\n",
        );
        let c = config(&[
            "--config",
            file.path(),
            "--upload-slots",
            "4",
            "--torrent",
            "a.torrent",
            "--data",
            "/srv/a",
            "--torrent",
            "b.torrent",
            "--data",
            "/srv/b",
        ])
        .unwrap();
        assert_eq!(c.upload_slots, 4);
        assert_eq!(c.idle_timeout, 99);
        assert_eq!(c.library, Some(PathBuf::from("/lib")));
        assert_eq!(c.torrents.len(), 2);
        assert_eq!(c.torrents[1].data, PathBuf::from("/srv/b"));
    }

    #[test]
    fn unpaired_torrent_and_missing_file_are_errors() {
        assert!(config(&["--torrent", "a.torrent"])
            .unwrap_err()
            .contains("--data"));
        assert!(config(&["--config", "/nonexistent/s.toml"])
            .unwrap_err()
            .contains("/nonexistent/s.toml"));
    }

    #[test]
    fn torrents_come_from_the_file_too() {
        let file = TempFile::new(
            "s.toml",
            "[[torrents]]\ntorrent = \"a.torrent\"\ndata = \"/srv/a\"\n",
        );
        let c = config(&["--config", file.path()]).unwrap();
        assert_eq!(c.torrents.len(), 1);
        assert_eq!(c.torrents[0].data, PathBuf::from("/srv/a"));
    }

    #[test]
    fn the_command_line_is_well_formed() {
        seedline_process::settings::assert_well_formed::<Config, OneOffFlags>();
    }
}
