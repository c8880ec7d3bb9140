//! Settings declared once. A daemon's configuration is one struct that derives clap's
//! `Args` (each field's flag, `PREFIX_*` variable, default and help) and serde (each
//! field's TOML key); [`load`] layers them: the defaults, then the TOML file given with
//! `--config`, then environment variables, then flags.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::ConfigError;

/// The options every daemon has besides its settings, and `X`: flags of its own that
/// are no setting (the seeder's `--torrent`/`--data` pairs).
#[derive(Debug, Parser)]
struct Cli<C: Args, X: Args> {
    /// TOML configuration file; environment and flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    #[command(flatten)]
    settings: C,
    #[command(flatten)]
    extra: X,
}

/// A daemon's settings: the struct that declares them, and what only it knows of them.
pub trait Settings: Args + FromArgMatches + Serialize + DeserializeOwned + Clone {
    /// Whether the settings can work together (ranges, combinations), before anything
    /// is bound; the exit status is 64 when not.
    fn validate(&self) -> Result<(), ConfigError>;

    /// The settings that hold secrets, which [`Settings::to_toml`] redacts.
    fn secrets(&mut self) -> Vec<&mut Option<String>> {
        Vec::new()
    }

    /// The settings as TOML (`--print-config`): secrets redacted, so the output can be
    /// pasted into a ticket, and unset options named in comments.
    fn to_toml(&self) -> String {
        let mut shown = self.clone();
        for secret in shown.secrets() {
            crate::config::redact(secret);
        }
        to_toml(&shown)
    }

    /// Parses a TOML document; unknown keys are errors so typos do not pass silently.
    fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string()))
    }
}

/// Flags of a daemon that are no setting, and what they do to its settings.
pub trait ExtraFlags<C>: Args + FromArgMatches {
    fn apply(self, settings: C) -> Result<C, ConfigError>;
}

impl<C> ExtraFlags<C> for NoExtra {
    fn apply(self, settings: C) -> Result<C, ConfigError> {
        Ok(settings)
    }
}

/// No flags besides the settings.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct NoExtra {}

/// Who the daemon is, for `--help`, `--version` and its variables.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The binary's name: `tracker`.
    pub name: &'static str,
    /// Its variables' prefix: `TRACKER` (also `TRACKER_CONFIG` for `--config`).
    pub env_prefix: &'static str,
    pub version: &'static str,
    pub about: &'static str,
}

/// What the command line asked for.
#[derive(Debug)]
pub struct Loaded<C, X = NoExtra> {
    /// The merged settings, not yet validated.
    pub settings: C,
    /// The flags that are no setting.
    pub extra: X,
    /// `--print-config` was given.
    pub print: bool,
}

fn command<C: Args, X: Args>(p: &Program) -> clap::Command {
    let config_env = format!("{}_CONFIG", p.env_prefix);
    Cli::<C, X>::command()
        .name(p.name)
        .bin_name(p.name)
        .version(p.version)
        .about(p.about)
        .mut_arg("config", |a| a.env(config_env))
}

/// Parses `args` (the first is the program) and merges the TOML file. `--help`,
/// `--version` and a malformed command line come back as a clap error, to be shown with
/// [`clap::Error::exit`]; a file that cannot be read or holds an unknown key or a value
/// of the wrong type is a [`ConfigError`].
pub fn load<C, X>(
    p: &Program,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Loaded<C, X>, LoadError>
where
    C: Args + FromArgMatches + Serialize + DeserializeOwned,
    X: Args + FromArgMatches,
{
    let matches = command::<C, X>(p).try_get_matches_from(args)?;
    let cli = Cli::<C, X>::from_arg_matches(&matches)?;
    let settings = match &cli.config {
        None => cli.settings,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read config file {}: {e}", path.display()))
            })?;
            merge_toml(cli.settings, &matches, &text)
                .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?
        }
    };
    Ok(Loaded {
        settings,
        extra: cli.extra,
        print: cli.print_config,
    })
}

/// [`load`], then the extra flags applied and the result validated: the settings a
/// daemon runs with, and whether `--print-config` was given.
pub fn load_valid<C: Settings, X: ExtraFlags<C>>(
    p: &Program,
    args: impl IntoIterator<Item = OsString>,
) -> Result<(C, bool), LoadError> {
    let l = load::<C, X>(p, args)?;
    let settings = l.extra.apply(l.settings)?;
    settings.validate()?;
    Ok((settings, l.print))
}

/// [`load_valid`] of `args` after the program's name, without `--print-config`: for
/// tests.
pub fn from_args<C: Settings, X: ExtraFlags<C>>(
    p: &Program,
    args: &[&str],
) -> Result<C, LoadError> {
    let argv = std::iter::once(p.name).chain(args.iter().copied());
    load_valid::<C, X>(p, argv.map(OsString::from)).map(|(c, _)| c)
}

/// Why [`load`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `--help`, `--version`, or a command line clap refuses (exit 2).
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// Exit 64.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The settings as TOML, for `--print-config`: those without a value (unset options)
/// as comments, so that the output names every setting.
pub fn to_toml<C: Args + Serialize>(settings: &C) -> String {
    let mut out = toml::to_string_pretty(settings).expect("settings serialize");
    let present: std::collections::HashSet<String> = out
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
        .chain(out.lines().filter_map(|l| {
            l.trim_start_matches('[')
                .strip_suffix(']')
                .map(|k| k.trim_end_matches(']').to_owned())
        }))
        .collect();
    let cmd = C::augment_args(clap::Command::new("settings"));
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if !present.contains(id) {
            out.push_str(&format!("# {id} = (not set)\n"));
        }
    }
    out
}

/// Panics, naming the problem, if the command line of settings `C` and extra flags `X`
/// is malformed (two flags of one name, a default of the wrong type): for each daemon's
/// tests.
pub fn assert_well_formed<C: Args, X: Args>() {
    Cli::<C, X>::command().debug_assert();
}

/// `impl Default` for a daemon's settings: the defaults declared on their fields,
/// whatever the environment holds (see [`defaults`]). The settings' `#[serde(default)]`
/// fills keys a TOML file leaves out from it.
#[macro_export]
macro_rules! declared_defaults {
    ($settings:ty) => {
        impl Default for $settings {
            fn default() -> Self {
                $crate::settings::defaults()
            }
        }
    };
}

/// Every setting at its default, whatever the environment holds.
pub fn defaults<C: Args + FromArgMatches>() -> C {
    let cmd = Cli::<C, NoExtra>::command().mut_args(|a| a.env(None::<&str>));
    let matches = cmd
        .try_get_matches_from(["defaults"])
        .expect("every setting has a default or is optional");
    Cli::<C, NoExtra>::from_arg_matches(&matches)
        .expect("defaults parse")
        .settings
}

/// Takes each key of the TOML document `text` unless the setting came from the
/// environment or a flag. Keys that are no setting (as `C` deserializes: it must deny
/// unknown fields) are errors, so that a typo does not pass silently.
fn merge_toml<C>(from_args: C, matches: &ArgMatches, text: &str) -> Result<C, String>
where
    C: Serialize + DeserializeOwned,
{
    // The file on its own first: a wrong type or an unknown key is reported with its
    // line, and keys that are flags but no setting (`config`, `print_config`) are refused.
    toml::from_str::<C>(text).map_err(|e| e.to_string())?;
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut merged = serde_json::to_value(&from_args).map_err(|e| e.to_string())?;
    let fields = merged.as_object_mut().ok_or("settings are not a table")?;
    for (key, value) in table {
        let given = matches!(
            matches.try_get_raw(&key),
            Ok(Some(_)) if matches!(
                matches.value_source(&key),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        );
        if !given {
            fields.insert(key, serde_json::to_value(value).map_err(|e| e.to_string())?);
        }
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use seedline_testkit::TempFile;
    use serde::Deserialize;

    use super::*;

    /// A daemon's settings in miniature: a number, a list, an option and a flag.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
    #[serde(default, deny_unknown_fields)]
    struct Demo {
        #[arg(long, env = "SEEDLINE_SETTINGS_TEST_INTERVAL", default_value_t = 10)]
        interval: u32,
        #[arg(
            long,
            env = "SEEDLINE_SETTINGS_TEST_LISTEN",
            value_delimiter = ',',
            default_value = "127.0.0.1:1"
        )]
        listen: Vec<SocketAddr>,
        #[arg(long, env = "SEEDLINE_SETTINGS_TEST_TOKEN")]
        token: Option<String>,
        #[arg(long, env = "SEEDLINE_SETTINGS_TEST_FLAG", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
        flag: bool,
    }

    impl Default for Demo {
        fn default() -> Self {
            defaults()
        }
    }

    const DEMO: Program = Program {
        name: "demo",
        env_prefix: "SEEDLINE_SETTINGS_TEST",
        version: "0",
        about: "settings test",
    };

    fn load_demo(args: &[&str]) -> Result<Demo, String> {
        let args = std::iter::once("demo")
            .chain(args.iter().copied())
            .map(Into::into);
        load::<Demo, NoExtra>(&DEMO, args)
            .map(|l| l.settings)
            .map_err(|e| e.to_string())
    }

    /// Defaults, then the file, then variables, then flags; one test, since variables
    /// are the whole process's (and the names are this test's own).
    #[test]
    fn each_layer_overrides_the_one_before() {
        let file = TempFile::new(
            "demo.toml",
            "interval = 20\nlisten = [\"127.0.0.1:2\", \"[::1]:3\"]\ntoken = \"from-file\"\nflag = true\n",
        );
        let f = file.path();
        assert_eq!(Demo::default().interval, 10);
        let d = load_demo(&["--config", f]).unwrap();
        assert_eq!((d.interval, d.listen.len(), d.flag), (20, 2, true));
        assert_eq!(d.token.as_deref(), Some("from-file"));
        // These variables belong to this test alone.
        std::env::set_var("SEEDLINE_SETTINGS_TEST_INTERVAL", "30");
        std::env::set_var("SEEDLINE_SETTINGS_TEST_FLAG", "false");
        let d = load_demo(&["--config", f]).unwrap();
        assert_eq!((d.interval, d.flag), (30, false), "variables beat the file");
        assert_eq!(
            d.token.as_deref(),
            Some("from-file"),
            "the rest still from the file"
        );
        let d = load_demo(&["--config", f, "--interval", "40", "--flag"]).unwrap();
        assert_eq!((d.interval, d.flag), (40, true), "flags beat variables");
        // Defaults ignore the environment.
        assert_eq!(Demo::default().interval, 10);
        std::env::remove_var("SEEDLINE_SETTINGS_TEST_INTERVAL");
        std::env::remove_var("SEEDLINE_SETTINGS_TEST_FLAG");
        // The config file also comes from its variable.
        std::env::set_var("SEEDLINE_SETTINGS_TEST_CONFIG", f);
        assert_eq!(load_demo(&[]).unwrap().interval, 20);
        std::env::remove_var("SEEDLINE_SETTINGS_TEST_CONFIG");
    }

    #[test]
    fn bad_files_name_the_key_and_the_line() {
        let file = TempFile::new("demo.toml", "");
        for (text, says) in [
            ("interval = \"x\"\n", "line 1"),
            ("\nintervall = 1\n", "unknown field `intervall`"),
            ("config = \"/x\"\n", "unknown field `config`"),
            ("listen = \"nope\"\n", "line 1"),
        ] {
            file.write(text);
            let e = load_demo(&["--config", file.path()]).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
            assert!(e.contains("demo.toml"), "{e}");
        }
    }

    #[test]
    fn print_config_names_unset_settings() {
        let shown = to_toml(&Demo::default());
        assert!(shown.contains("interval = 10"), "{shown}");
        assert!(shown.contains("# token = (not set)"), "{shown}");
        assert!(!shown.contains("# interval"), "{shown}");
    }
}
