//! Length-prefixed peer messages (BEP 3, the Fast extension of BEP 6, BEP 52's hash
//! messages).

use super::hashes::{HashRequest, HASH_REQUEST_LEN};

/// A block: `length` bytes at `begin` inside piece `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRequest {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// One message, borrowing variable-length payloads from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have(u32),
    Bitfield(&'a [u8]),
    Request(BlockRequest),
    Piece {
        index: u32,
        begin: u32,
        data: &'a [u8],
    },
    Cancel(BlockRequest),
    /// BEP 5: the sender's DHT port.
    Port(u16),
    Suggest(u32),
    HaveAll,
    HaveNone,
    Reject(BlockRequest),
    AllowedFast(u32),
    /// BEP 52: asks for a range of a file's Merkle tree.
    HashRequest(HashRequest),
    /// BEP 52: the hashes asked for (32 bytes each), then the proof's uncles.
    Hashes {
        request: HashRequest,
        hashes: &'a [u8],
    },
    /// BEP 52: the sender will not give the hashes asked for.
    HashReject(HashRequest),
    /// BEP 10: `id` 0 is the extended handshake, others are the ids the receiver chose.
    Extended {
        id: u8,
        payload: &'a [u8],
    },
    /// An id this crate does not know. BEP 3 says to ignore such messages.
    Unknown {
        id: u8,
        payload: &'a [u8],
    },
}

/// Why bytes are not a well-formed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLong { len: u32, max: u32 },
    #[error("message id {id} must be {expected} bytes long, got {got}")]
    BadLength { id: u8, expected: u32, got: u32 },
}

const CHOKE: u8 = 0;
const UNCHOKE: u8 = 1;
const INTERESTED: u8 = 2;
const NOT_INTERESTED: u8 = 3;
const HAVE: u8 = 4;
const BITFIELD: u8 = 5;
const REQUEST: u8 = 6;
const PIECE: u8 = 7;
const CANCEL: u8 = 8;
const PORT: u8 = 9;
const SUGGEST: u8 = 0x0d;
const HAVE_ALL: u8 = 0x0e;
const HAVE_NONE: u8 = 0x0f;
const REJECT: u8 = 0x10;
const ALLOWED_FAST: u8 = 0x11;
const EXTENDED: u8 = 20;
const HASH_REQUEST: u8 = 21;
const HASHES: u8 = 22;
const HASH_REJECT: u8 = 23;

/// Caps on a frame's length prefix (payload plus id byte) by kind, so that the one
/// message whose size grows with the torrent (the bitfield) does not raise the cap of
/// every other: a hostile extended message stays as small as the protocol needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    pub bitfield: u32,
    pub extended: u32,
    pub other: u32,
}

impl FrameLimits {
    /// One cap for every kind.
    pub const fn uniform(max_len: u32) -> Self {
        Self {
            bitfield: max_len,
            extended: max_len,
            other: max_len,
        }
    }

    fn for_id(&self, id: u8) -> u32 {
        match id {
            BITFIELD => self.bitfield,
            EXTENDED => self.extended,
            _ => self.other,
        }
    }

    fn largest(&self) -> u32 {
        self.bitfield.max(self.extended).max(self.other)
    }
}

impl From<u32> for FrameLimits {
    fn from(max_len: u32) -> Self {
        Self::uniform(max_len)
    }
}

/// The total size (prefix included) of the frame at the start of `buf`, once its 4-byte
/// prefix (and, where the caps differ by kind, its id byte) has arrived, checked against
/// `limits` so nothing is allocated for a hostile length.
pub fn frame_len(buf: &[u8], limits: impl Into<FrameLimits>) -> Result<Option<usize>, WireError> {
    let limits = limits.into();
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes"));
    let max = match buf.get(4) {
        _ if len == 0 => 0,
        Some(&id) => limits.for_id(id),
        None if len > limits.largest() => limits.largest(),
        // The id decides the cap; it is the next byte.
        None => return Ok(None),
    };
    if len > max {
        return Err(WireError::TooLong { len, max });
    }
    Ok(Some(4 + len as usize))
}

/// Appends the 13-byte head of a `piece` message whose `len` data bytes the caller sends
/// next, so block data goes from the disk buffer to the socket without another copy.
pub fn write_piece_header(out: &mut Vec<u8>, index: u32, begin: u32, len: u32) {
    out.extend_from_slice(&(9 + len).to_be_bytes());
    out.push(PIECE);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&begin.to_be_bytes());
}

impl<'a> Message<'a> {
    /// The message at the start of `buf` and the bytes it spans, or `None` until the whole
    /// frame has arrived. `limits` bound the length prefix (payload plus id byte); a
    /// plain `u32` is one bound for every kind.
    pub fn decode(
        buf: &'a [u8],
        limits: impl Into<FrameLimits>,
    ) -> Result<Option<(Self, usize)>, WireError> {
        let Some(total) = frame_len(buf, limits)? else {
            return Ok(None);
        };
        if buf.len() < total {
            return Ok(None);
        }
        if total == 4 {
            return Ok(Some((Message::KeepAlive, 4)));
        }
        let id = buf[4];
        let body = &buf[5..total];
        let fixed = |expected: u32| {
            let got = body.len() as u32 + 1;
            if got == expected {
                Ok(())
            } else {
                Err(WireError::BadLength { id, expected, got })
            }
        };
        let msg = match id {
            CHOKE => fixed(1).map(|()| Message::Choke)?,
            UNCHOKE => fixed(1).map(|()| Message::Unchoke)?,
            INTERESTED => fixed(1).map(|()| Message::Interested)?,
            NOT_INTERESTED => fixed(1).map(|()| Message::NotInterested)?,
            HAVE_ALL => fixed(1).map(|()| Message::HaveAll)?,
            HAVE_NONE => fixed(1).map(|()| Message::HaveNone)?,
            HAVE => fixed(5).map(|()| Message::Have(be32(body, 0)))?,
            SUGGEST => fixed(5).map(|()| Message::Suggest(be32(body, 0)))?,
            ALLOWED_FAST => fixed(5).map(|()| Message::AllowedFast(be32(body, 0)))?,
            PORT => fixed(3).map(|()| Message::Port(u16::from_be_bytes([body[0], body[1]])))?,
            REQUEST => fixed(13).map(|()| Message::Request(block(body)))?,
            CANCEL => fixed(13).map(|()| Message::Cancel(block(body)))?,
            REJECT => fixed(13).map(|()| Message::Reject(block(body)))?,
            BITFIELD => Message::Bitfield(body),
            HASH_REQUEST => fixed(1 + HASH_REQUEST_LEN as u32)
                .map(|()| Message::HashRequest(HashRequest::decode(body)))?,
            HASH_REJECT => fixed(1 + HASH_REQUEST_LEN as u32)
                .map(|()| Message::HashReject(HashRequest::decode(body)))?,
            HASHES => {
                if body.len() < HASH_REQUEST_LEN
                    || !(body.len() - HASH_REQUEST_LEN).is_multiple_of(32)
                {
                    return Err(WireError::BadLength {
                        id,
                        expected: 1 + HASH_REQUEST_LEN as u32,
                        got: body.len() as u32 + 1,
                    });
                }
                Message::Hashes {
                    request: HashRequest::decode(body),
                    hashes: &body[HASH_REQUEST_LEN..],
                }
            }
            PIECE => {
                if body.len() < 8 {
                    return Err(WireError::BadLength {
                        id,
                        expected: 9,
                        got: body.len() as u32 + 1,
                    });
                }
                Message::Piece {
                    index: be32(body, 0),
                    begin: be32(body, 4),
                    data: &body[8..],
                }
            }
            EXTENDED => match body.split_first() {
                Some((&ext, payload)) => Message::Extended { id: ext, payload },
                None => {
                    return Err(WireError::BadLength {
                        id,
                        expected: 2,
                        got: 1,
                    })
                }
            },
            _ => Message::Unknown { id, payload: body },
        };
        Ok(Some((msg, total)))
    }

    /// Appends the whole frame, length prefix included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let simple = |out: &mut Vec<u8>, id: u8| {
            out.extend_from_slice(&1u32.to_be_bytes());
            out.push(id);
        };
        let with_u32 = |out: &mut Vec<u8>, id: u8, n: u32| {
            out.extend_from_slice(&5u32.to_be_bytes());
            out.push(id);
            out.extend_from_slice(&n.to_be_bytes());
        };
        let with_block = |out: &mut Vec<u8>, id: u8, b: &BlockRequest| {
            out.extend_from_slice(&13u32.to_be_bytes());
            out.push(id);
            for n in [b.index, b.begin, b.length] {
                out.extend_from_slice(&n.to_be_bytes());
            }
        };
        let with_bytes = |out: &mut Vec<u8>, head: &[u8], data: &[u8]| {
            out.extend_from_slice(&((head.len() + data.len()) as u32).to_be_bytes());
            out.extend_from_slice(head);
            out.extend_from_slice(data);
        };
        match *self {
            Message::KeepAlive => out.extend_from_slice(&[0; 4]),
            Message::Choke => simple(out, CHOKE),
            Message::Unchoke => simple(out, UNCHOKE),
            Message::Interested => simple(out, INTERESTED),
            Message::NotInterested => simple(out, NOT_INTERESTED),
            Message::HaveAll => simple(out, HAVE_ALL),
            Message::HaveNone => simple(out, HAVE_NONE),
            Message::Have(i) => with_u32(out, HAVE, i),
            Message::Suggest(i) => with_u32(out, SUGGEST, i),
            Message::AllowedFast(i) => with_u32(out, ALLOWED_FAST, i),
            Message::Port(p) => {
                out.extend_from_slice(&3u32.to_be_bytes());
                out.push(PORT);
                out.extend_from_slice(&p.to_be_bytes());
            }
            Message::Request(b) => with_block(out, REQUEST, &b),
            Message::Cancel(b) => with_block(out, CANCEL, &b),
            Message::Reject(b) => with_block(out, REJECT, &b),
            Message::Bitfield(bits) => with_bytes(out, &[BITFIELD], bits),
            Message::Piece { index, begin, data } => {
                write_piece_header(out, index, begin, data.len() as u32);
                out.extend_from_slice(data);
            }
            Message::HashRequest(r) | Message::HashReject(r) => {
                let id = if matches!(self, Message::HashRequest(_)) {
                    HASH_REQUEST
                } else {
                    HASH_REJECT
                };
                out.extend_from_slice(&(1 + HASH_REQUEST_LEN as u32).to_be_bytes());
                out.push(id);
                r.encode(out);
            }
            Message::Hashes { request, hashes } => {
                out.extend_from_slice(
                    &((1 + HASH_REQUEST_LEN + hashes.len()) as u32).to_be_bytes(),
                );
                out.push(HASHES);
                request.encode(out);
                out.extend_from_slice(hashes);
            }
            Message::Extended { id, payload } => with_bytes(out, &[EXTENDED, id], payload),
            Message::Unknown { id, payload } => with_bytes(out, &[id], payload),
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("length checked"))
}

fn block(body: &[u8]) -> BlockRequest {
    BlockRequest {
        index: be32(body, 0),
        begin: be32(body, 4),
        length: be32(body, 8),
    }
}

#[cfg(test)]
mod tests;
