//! Bencode: hand-written output for the hot paths, and [`value`], the strict borrowing
//! decoder for untrusted input.
//!
//! The tracker writes replies straight into its response buffer while it holds a swarm;
//! going through `serde_bencode` would mean building an owned value first.

pub mod value;

/// Appends `i<n>e`.
pub fn int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    decimal(out, n);
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    len_prefix(out, b.len());
    out.extend_from_slice(b);
}

/// Appends the `<len>:` prefix of a byte string whose body the caller writes next.
pub fn len_prefix(out: &mut Vec<u8>, len: usize) {
    decimal(out, len as i64);
    out.push(b':');
}

/// Appends a dictionary key and an integer value.
pub fn key_int(out: &mut Vec<u8>, key: &[u8], n: i64) {
    bytes(out, key);
    int(out, n);
}

fn decimal(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let mut out = Vec::new();
        int(&mut out, 0);
        int(&mut out, -42);
        int(&mut out, i64::MIN);
        bytes(&mut out, b"spam");
        bytes(&mut out, b"");
        assert_eq!(out, b"i0ei-42ei-9223372036854775808e4:spam0:".to_vec());
    }
}
