//! `announce_reply` target: tracker replies as the seeder and the load tester read them.
//! The borrowing view and the owned decoder must agree, and every reply that decodes must
//! survive an encode/decode round trip.

use crate::announce_response::{AnnounceResponse, Peers, ReplyView, ResponseError};
use crate::failure::FailureResponse;
use crate::scrape::ScrapeResponse;

pub fn announce_reply(data: &[u8]) {
    let view = ReplyView::parse(data);
    let owned = AnnounceResponse::decode(data);
    match (&view, &owned) {
        (Ok(v), Ok(r)) => {
            let n = match &r.peers {
                Peers::Compact { v4, v6 } => v4.len() + v6.len(),
                Peers::Dict(list) => list.len(),
            };
            assert_eq!(v.peer_count(), n);
            assert_eq!(v.addrs().count(), n);
            let mut out = Vec::new();
            r.encode(&mut out);
            assert_eq!(AnnounceResponse::decode(&out).as_ref(), Ok(r), "{out:?}");
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("view {view:?} and decoder {owned:?} disagree"),
    }
    let failure = FailureResponse::decode(data);
    if let Some(f) = &failure {
        assert_eq!(
            view.as_ref().err(),
            Some(&ResponseError::Failure(f.reason.clone()))
        );
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(FailureResponse::decode(&out).as_ref(), Some(f));
    }
    if let Ok(s) = ScrapeResponse::decode(data) {
        assert!(failure.is_none());
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(ScrapeResponse::decode(&out), Ok(s));
    }
}
