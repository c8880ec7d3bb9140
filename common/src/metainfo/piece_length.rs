//! Piece lengths for torrents we create: the accepted range, the `256K`/`4M` syntax, and
//! the automatic choice.
//!
//! The automatic rule picks the smallest power of two from 16 KiB up to 16 MiB that gives
//! at most 2000 pieces. Between 32 MiB and 32 GiB of data that lands between 1000 and 2000
//! pieces (halving the length would exceed 2000); smaller inputs get 16 KiB pieces and
//! fewer of them, larger ones 16 MiB pieces and more of them. Around 1000-2000 pieces keeps
//! the `.torrent` small while leaving enough pieces for a swarm to trade from the start.

/// Smallest piece length we create (the BitTorrent block size).
pub const MIN_PIECE_LENGTH: u64 = 16 << 10;
/// Largest piece length we create.
pub const MAX_PIECE_LENGTH: u64 = 256 << 20;
/// Largest piece length the automatic rule picks; bigger pieces need `-l`.
pub const AUTO_MAX_PIECE_LENGTH: u64 = 16 << 20;
/// The automatic rule keeps the piece count at or below this when it can.
pub const AUTO_TARGET_PIECES: u64 = 2000;

/// The automatic piece length for `total` bytes of data.
pub fn auto_piece_length(total: u64) -> u64 {
    let mut len = MIN_PIECE_LENGTH;
    while len < AUTO_MAX_PIECE_LENGTH && total.div_ceil(len) > AUTO_TARGET_PIECES {
        len *= 2;
    }
    len
}

/// Why a piece length was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PieceLengthError {
    #[error(
        "{0:?} is not a size (expected a byte count, or a number with K or M, like 256K or 4M)"
    )]
    Syntax(String),
    #[error("{0} bytes is not a power of two{hint}", hint = log2_hint(*.0))]
    NotPowerOfTwo(u64),
    #[error("{0} bytes is outside the accepted range of 16 KiB to 256 MiB{hint}", hint = log2_hint(*.0))]
    OutOfRange(u64),
}

/// mktorrent takes `-l` as a power of two; say so when someone types its style.
fn log2_hint(n: u64) -> String {
    if (14..=28).contains(&n) {
        format!(" (for 2^{n} bytes, write {})", format_size(1 << n))
    } else {
        String::new()
    }
}

/// Parses `262144`, `256K`, `256KiB`, `4M` or `4MiB` (binary units, any case) and checks
/// the result is a power of two from 16 KiB to 256 MiB.
pub fn parse_piece_length(s: &str) -> Result<u64, PieceLengthError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        _ => return Err(PieceLengthError::Syntax(s.to_owned())),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| PieceLengthError::Syntax(s.to_owned()))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| PieceLengthError::Syntax(s.to_owned()))?;
    if !bytes.is_power_of_two() {
        return Err(PieceLengthError::NotPowerOfTwo(bytes));
    }
    if !(MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&bytes) {
        return Err(PieceLengthError::OutOfRange(bytes));
    }
    Ok(bytes)
}

/// `16K`, `4M`: the shortest exact form of a power-of-two size, as `-l` accepts it.
pub fn format_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{}M", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{}K", bytes >> 10)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn auto_rule() {
        assert_eq!(auto_piece_length(0), MIN_PIECE_LENGTH);
        assert_eq!(auto_piece_length(1), MIN_PIECE_LENGTH);
        assert_eq!(auto_piece_length(2000 * MIN_PIECE_LENGTH), MIN_PIECE_LENGTH);
        assert_eq!(
            auto_piece_length(2000 * MIN_PIECE_LENGTH + 1),
            2 * MIN_PIECE_LENGTH
        );
        assert_eq!(auto_piece_length(700 * MIB), 512 << 10);
        assert_eq!(auto_piece_length(4 << 30), 4 * MIB);
        assert_eq!(auto_piece_length(1 << 40), AUTO_MAX_PIECE_LENGTH);
        // Between 32 MiB and 32 GiB the count stays within 1000..=2000.
        let mut total = 32 * MIB + 1;
        while total <= 32 << 30 {
            let pieces = total.div_ceil(auto_piece_length(total));
            assert!(
                (1000..=2000).contains(&pieces),
                "{total} -> {pieces} pieces"
            );
            total = total * 3 / 2;
        }
    }

    #[test]
    fn parse() {
        assert_eq!(parse_piece_length("16384"), Ok(16384));
        assert_eq!(parse_piece_length("256K"), Ok(256 << 10));
        assert_eq!(parse_piece_length("256kib"), Ok(256 << 10));
        assert_eq!(parse_piece_length("4M"), Ok(4 * MIB));
        assert_eq!(parse_piece_length("256MiB"), Ok(256 * MIB));
        assert_eq!(
            parse_piece_length("512M"),
            Err(PieceLengthError::OutOfRange(512 * MIB))
        );
        assert_eq!(
            parse_piece_length("8K"),
            Err(PieceLengthError::OutOfRange(8192))
        );
        assert_eq!(
            parse_piece_length("100K"),
            Err(PieceLengthError::NotPowerOfTwo(102400))
        );
        for bad in ["", "K", "4G", "-4M", "4.5M", "99999999999999999999"] {
            assert!(
                matches!(parse_piece_length(bad), Err(PieceLengthError::Syntax(_))),
                "{bad}"
            );
        }
        let hint = parse_piece_length("18").unwrap_err().to_string();
        assert!(hint.contains("write 256K"), "{hint}");
    }

    #[test]
    fn sizes_format_as_accepted() {
        for s in ["16K", "256K", "1M", "4M", "256M"] {
            assert_eq!(format_size(parse_piece_length(s).unwrap()), s);
        }
        assert_eq!(format_size(1000), "1000");
    }
}
