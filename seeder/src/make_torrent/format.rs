//! Formatting shared by the human-readable outputs: labelled rows, sizes, dates.

use std::io::Write;

use indicatif::HumanBytes;
use seedline_common::metainfo::format_size;

use super::error::Error;

/// Width of the label column.
const LABEL_WIDTH: usize = 12;

/// Writes `label  value`, with continuation lines of `value` indented under it.
pub fn row(out: &mut dyn Write, label: &str, value: &str) -> Result<(), Error> {
    let mut lines = value.lines();
    let first = lines.next().unwrap_or("");
    writeln!(out, "{label:<LABEL_WIDTH$}{first}").map_err(Error::Output)?;
    for line in lines {
        writeln!(out, "{:LABEL_WIDTH$}{line}", "").map_err(Error::Output)?;
    }
    Ok(())
}

/// `139.41 KiB (142770 bytes)`.
pub fn size(bytes: u64) -> String {
    format!("{} ({bytes} bytes)", HumanBytes(bytes))
}

/// `5 of 32K`.
pub fn pieces(count: u64, length: u64) -> String {
    format!("{count} of {}", format_size(length))
}

/// `2026-11-22 01:55:00 UTC` for seconds since the Unix epoch.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        // Absurd values from a hostile file format without panicking.
        let _ = utc(i64::MAX / 2);
        let _ = utc(i64::MIN / 2);
    }

    #[test]
    fn rows() {
        let mut out = Vec::new();
        row(&mut out, "trackers", "a\nb").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "trackers    a\n            b\n"
        );
        assert_eq!(pieces(5, 32768), "5 of 32K");
        assert_eq!(size(1536), "1.50 KiB (1536 bytes)");
    }
}
