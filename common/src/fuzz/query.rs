//! `announce_query` and `scrape_query` targets: the tracker's query parsers. Whatever
//! they accept, `write_query` must write back as a query that parses to the same request.

use crate::announce::AnnounceRequest;
use crate::scrape::ScrapeRequest;

pub fn announce_query(data: &[u8]) {
    let Ok(req) = AnnounceRequest::parse_query(data) else {
        return;
    };
    let mut q = Vec::new();
    req.write_query(&mut q);
    assert_eq!(
        AnnounceRequest::parse_query(&q).as_ref(),
        Ok(&req),
        "query {q:?}"
    );
}

pub fn scrape_query(data: &[u8]) {
    // The first byte picks the cap on hashes, so small caps are reached too.
    let (max, q) = match data.split_first() {
        Some((&m, rest)) => (usize::from(m % 8), rest),
        None => (0, data),
    };
    for max in [max, 100] {
        let Ok(req) = ScrapeRequest::parse_query(q, max) else {
            continue;
        };
        assert!(req.info_hashes.len() <= max);
        for (i, h) in req.info_hashes.iter().enumerate() {
            assert!(!req.info_hashes[..i].contains(h), "repeated hash kept");
        }
        let mut out = Vec::new();
        req.write_query(&mut out);
        assert_eq!(ScrapeRequest::parse_query(&out, max).as_ref(), Ok(&req));
    }
}
