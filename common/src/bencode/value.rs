//! Strict bencode decoding for untrusted input: `.torrent` files, BEP 9 metadata messages,
//! tracker replies.
//!
//! Values borrow from the input and every dictionary keeps the exact bytes it was decoded
//! from: the info hash is SHA-1 of those bytes, never of a re-encoding (a re-encoding
//! drops keys we do not model and would give another hash). Integers must be canonical,
//! keys unique, nesting shallow, and nothing may follow the top-level value. Keys are not
//! required to be sorted: some creators wrote them unsorted, clients accept that, and the
//! hash is taken over the raw bytes anyway.

/// Deepest nesting accepted. A torrent needs five levels (root, `info`, `files`, a file,
/// its `path`); the cap keeps the recursive decoder's stack small on hostile input.
pub const MAX_DEPTH: usize = 32;

/// A decoded bencode value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    Dict(Dict<'a>),
}

/// A dictionary in the order it was written, with the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dict<'a> {
    entries: Vec<(&'a [u8], Value<'a>)>,
    raw: &'a [u8],
}

impl<'a> Dict<'a> {
    /// The value under `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The entries in input order.
    pub fn entries(&self) -> &[(&'a [u8], Value<'a>)] {
        &self.entries
    }

    /// The exact input bytes of this dictionary, `d` to `e` inclusive.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// Why bytes are not one well-formed bencode value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    #[error("the data ends in the middle of a value (at byte {0})")]
    Truncated(usize),
    #[error("unexpected byte 0x{byte:02x} at byte {at}")]
    Unexpected { at: usize, byte: u8 },
    #[error("malformed integer at byte {0} (not canonical, or out of range)")]
    BadInt(usize),
    #[error("malformed string length at byte {0}")]
    BadLength(usize),
    #[error("dictionary key at byte {0} is not a byte string")]
    KeyNotString(usize),
    #[error("dictionary key {key:?} appears twice (second time at byte {at})")]
    DuplicateKey { key: String, at: usize },
    #[error("values nest deeper than {MAX_DEPTH} levels (at byte {0})")]
    TooDeep(usize),
    #[error("{0} bytes of trailing data after the end of the value")]
    TrailingData(usize),
}

/// Decodes exactly one value spanning all of `buf`.
pub fn decode(buf: &[u8]) -> Result<Value<'_>, BencodeError> {
    let mut d = Decoder { buf, pos: 0 };
    let value = d.value(0)?;
    match buf.len() - d.pos {
        0 => Ok(value),
        n => Err(BencodeError::TrailingData(n)),
    }
}

/// Decodes one value followed by nothing but ASCII whitespace: tracker replies, which
/// trackers written as scripts often end with a newline.
pub fn decode_reply(buf: &[u8]) -> Result<Value<'_>, BencodeError> {
    let (value, used) = decode_prefix(buf)?;
    let rest = &buf[used..];
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err(BencodeError::TrailingData(rest.len()));
    }
    Ok(value)
}

/// Decodes one value at the start of `buf` and returns it with the number of bytes it
/// spans; whatever follows is the caller's (BEP 9 `ut_metadata` puts raw data after a
/// dictionary).
pub fn decode_prefix(buf: &[u8]) -> Result<(Value<'_>, usize), BencodeError> {
    let mut d = Decoder { buf, pos: 0 };
    let value = d.value(0)?;
    Ok((value, d.pos))
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated(self.pos))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' | b'd' if depth >= MAX_DEPTH => Err(BencodeError::TooDeep(self.pos)),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => self.dict(depth).map(Value::Dict),
            byte => Err(BencodeError::Unexpected { at: self.pos, byte }),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Dict<'a>, BencodeError> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        while self.peek()? != b'e' {
            if !self.peek()?.is_ascii_digit() {
                return Err(BencodeError::KeyNotString(self.pos));
            }
            let key = self.bytes()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        self.pos += 1;
        check_unique_keys(self.buf, &entries)?;
        Ok(Dict {
            entries,
            raw: &self.buf[start..self.pos],
        })
    }

    /// `i<digits>e`, canonical: no leading zeros, no `-0`, no empty digits.
    fn int(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        let body_start = start + 1;
        let len = self.buf[body_start..]
            .iter()
            .position(|&b| b == b'e')
            .ok_or(BencodeError::Truncated(self.buf.len()))?;
        let body = &self.buf[body_start..body_start + len];
        let digits = body.strip_prefix(b"-").unwrap_or(body);
        let canonical = !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
            && (digits == b"0" || digits[0] != b'0')
            && body != b"-0";
        if !canonical {
            return Err(BencodeError::BadInt(start));
        }
        let n = std::str::from_utf8(body)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BencodeError::BadInt(start))?;
        self.pos = body_start + len + 1;
        Ok(n)
    }

    /// `<len>:<bytes>`, where `len` is canonical decimal.
    fn bytes(&mut self) -> Result<&'a [u8], BencodeError> {
        let start = self.pos;
        let colon = self.buf[start..]
            .iter()
            .position(|&b| b == b':')
            .ok_or(BencodeError::Truncated(self.buf.len()))?;
        let digits = &self.buf[start..start + colon];
        if !digits.iter().all(u8::is_ascii_digit) || (digits.len() > 1 && digits[0] == b'0') {
            return Err(BencodeError::BadLength(start));
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BencodeError::BadLength(start))?;
        let body = start + colon + 1;
        let end = body
            .checked_add(len)
            .filter(|&end| end <= self.buf.len())
            .ok_or(BencodeError::Truncated(self.buf.len()))?;
        self.pos = end;
        Ok(&self.buf[body..end])
    }
}

/// Keys in order (as bencode asks) are unique at the cost of one pass; otherwise sorting
/// indices keeps this O(n log n) for a hostile dictionary with many keys.
fn check_unique_keys(buf: &[u8], entries: &[(&[u8], Value<'_>)]) -> Result<(), BencodeError> {
    if entries.windows(2).all(|w| w[0].0 < w[1].0) {
        return Ok(());
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    // Equal keys sort by where they are in `buf`, so the second one is named.
    order.sort_by_key(|&i| (entries[i].0, entries[i].0.as_ptr()));
    for pair in order.windows(2) {
        let (first, second) = (entries[pair[0]].0, entries[pair[1]].0);
        if first == second {
            return Err(BencodeError::DuplicateKey {
                key: String::from_utf8_lossy(second).into_owned(),
                at: key_offset(buf, second),
            });
        }
    }
    Ok(())
}

/// Where the string holding `key` (a slice of `buf`) starts: its length prefix.
fn key_offset(buf: &[u8], key: &[u8]) -> usize {
    let body = key.as_ptr() as usize - buf.as_ptr() as usize;
    let digits = key.len().checked_ilog10().map_or(1, |d| d as usize + 1);
    body - digits - 1
}

#[cfg(test)]
mod tests;
