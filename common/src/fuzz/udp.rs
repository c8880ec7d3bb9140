//! `udp_packet` target: the UDP tracker's request decoder (and the reply decoder
//! clients use). Whatever request parses must write back as bytes that parse to the
//! same request.

use crate::udp::{Reply, Request};

pub fn udp_packet(data: &[u8]) {
    if let Ok(req) = Request::parse(data) {
        let mut out = Vec::new();
        req.write(&mut out);
        assert_eq!(Request::parse(&out).as_ref(), Ok(&req), "bytes {out:?}");
    }
    for v6 in [false, true] {
        if let Ok(Reply::Announce { peers, .. }) = Reply::parse(data, v6) {
            let stride = if v6 { 18 } else { 6 };
            assert_eq!(crate::udp::peers(peers, v6).len(), peers.len() / stride);
        }
    }
}
