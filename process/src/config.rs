//! What configuration code of every binary shares: the error, the exit status for it,
//! secrets given inline or in a file, and how `--print-config` hides them.

use std::path::PathBuf;

/// The exit status of a configuration the process refuses (sysexits' `EX_USAGE`), before
/// anything is bound.
pub const EXIT_CONFIG: u8 = 64;

/// What `--print-config` shows instead of a secret.
pub const REDACTED: &str = "REDACTED";

/// A setting that cannot work, found before anything is bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// A secret given directly or in a file (`{name}_file`, trimmed, e.g. a systemd
/// credential); the direct value wins. Empty or with whitespace inside, it is refused.
pub fn read_secret(
    value: &Option<String>,
    file: &Option<PathBuf>,
    name: &str,
) -> Result<Option<String>, ConfigError> {
    let secret = match (value, file) {
        (Some(v), _) => v.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {name}_file {}: {e}", path.display())))?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    if secret.is_empty() || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError(format!(
            "{name} must be non-empty, without spaces or control characters"
        )));
    }
    Ok(Some(secret))
}

/// Replaces a set secret by [`REDACTED`], for output that may be pasted into a ticket.
pub fn redact(secret: &mut Option<String>) {
    if secret.is_some() {
        *secret = Some(REDACTED.into());
    }
}

#[cfg(test)]
mod tests {
    use seedline_testkit::TempFile;

    use super::*;

    #[test]
    fn secrets_come_inline_or_from_a_trimmed_file_and_are_checked() {
        let file = TempFile::new("token", "  s3cret-token\n");
        let f = Some(PathBuf::from(file.path()));
        assert_eq!(
            read_secret(&None, &f, "t").unwrap().as_deref(),
            Some("s3cret-token")
        );
        assert_eq!(
            read_secret(&Some("inline".into()), &f, "t")
                .unwrap()
                .as_deref(),
            Some("inline"),
            "the inline value wins"
        );
        assert_eq!(read_secret(&None, &None, "t").unwrap(), None);
        assert!(read_secret(&Some("a b".into()), &None, "t").is_err());
        let missing = Some(PathBuf::from(format!("{}.nope", file.path())));
        let e = read_secret(&None, &missing, "admin_token").unwrap_err();
        assert!(e.0.contains("cannot read admin_token_file"), "{e}");
        let mut s = Some("x".to_string());
        redact(&mut s);
        assert_eq!(s.as_deref(), Some(REDACTED));
        let mut none: Option<String> = None;
        redact(&mut none);
        assert_eq!(none, None);
    }
}
