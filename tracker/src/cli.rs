//! Command line and environment: every setting of [`Config`](crate::Config) is a flag
//! and a `TRACKER_*` variable, declared on its field; values given here override the TOML
//! file given with `--config`, which overrides the defaults.

use seedline_process::settings::Program;

/// The tracker binary, for `--help`, `--version` and its variables.
pub const PROGRAM: Program = Program {
    name: "tracker",
    env_prefix: "TRACKER",
    version: env!("CARGO_PKG_VERSION"),
    about: "Seedline HTTP BitTorrent tracker (BEP 3, 7, 23, 48)",
};

#[cfg(test)]
mod tests {
    use ipnet::IpNet;
    use seedline_process::settings::{from_args, LoadError, NoExtra};
    use seedline_testkit::TempFile;

    use super::*;
    use crate::config::Config;

    fn config(args: &[&str]) -> Result<Config, LoadError> {
        from_args::<Config, NoExtra>(&PROGRAM, args)
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let file = TempFile::new(
            "t.toml",
            "interval = 600\nmin_interval = 300\nnumwant_max = 100\n",
        );
        let c = config(&[
            "--config",
            file.path(),
            "--interval",
            "700",
            "--listen",
            "127.0.0.1:1,[::1]:2",
            "--trusted-proxy",
            "10.0.0.0/8",
        ])
        .unwrap();
        assert_eq!(c.interval, 700);
        assert_eq!(c.min_interval, 300);
        assert_eq!(c.numwant_max, 100);
        assert_eq!(c.listen.len(), 2);
        assert_eq!(
            c.trusted_proxies,
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
        assert_eq!(c.numwant_default, Config::default().numwant_default);
    }

    #[test]
    fn errors_name_the_file() {
        let e = config(&["--config", "/nonexistent/t.toml"]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/t.toml"), "{e}");
        assert!(config(&["--interval", "0"]).is_err());
        let file = TempFile::new("t.toml", "intervall = 600\n");
        let e = config(&["--config", file.path()]).unwrap_err();
        assert!(
            e.to_string().contains("intervall"),
            "a typo is an error: {e}"
        );
    }

    #[test]
    fn the_command_line_is_well_formed() {
        seedline_process::settings::assert_well_formed::<Config, NoExtra>();
    }
}
