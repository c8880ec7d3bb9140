use seedline_common::{
    Event, FailureResponse, InfoHash, ScrapeRequest, ScrapeResponse, ScrapeStats,
};

use crate::client::*;
use crate::util::*;

fn scrape_target(hashes: &[InfoHash]) -> String {
    let mut q = Vec::new();
    ScrapeRequest {
        info_hashes: hashes.to_vec(),
    }
    .write_query(&mut q);
    format!("/scrape?{}", String::from_utf8(q).unwrap())
}

#[tokio::test]
async fn scrape_many_and_unknown_omitted() {
    let s = start_with(|c| c.scrape_max_hashes = 2).await;
    send_announce(&s, &announce(1, 1, 1, 0, Event::Started)).await;
    send_announce(&s, &announce(1, 2, 2, 9, Event::Started)).await;
    send_announce(&s, &announce(2, 1, 1, 9, Event::Started)).await;
    let r = get(
        s.addr(),
        &scrape_target(&[InfoHash([1; 20]), InfoHash([7; 20])]),
    )
    .await;
    assert_eq!(r.status, 200);
    let sr = ScrapeResponse::decode(&r.body).unwrap();
    assert_eq!(sr.files.len(), 1, "unknown hashes are omitted");
    assert_eq!(
        sr.files[&InfoHash([1; 20])],
        ScrapeStats {
            complete: 1,
            incomplete: 1,
            downloaded: 0
        }
    );
    // Past the cap, extra hashes are ignored.
    let r = get(
        s.addr(),
        &scrape_target(&[InfoHash([7; 20]), InfoHash([8; 20]), InfoHash([2; 20])]),
    )
    .await;
    assert!(ScrapeResponse::decode(&r.body).unwrap().files.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn full_scrape_off_by_default_and_bounded_when_on() {
    let s = TestServer::start(test_config()).await;
    let r = get(s.addr(), "/scrape").await;
    let f = FailureResponse::decode(&r.body).expect("failure");
    assert!(f.reason.contains("full scrape is disabled"));
    s.stop().await;

    let s = start_with(|c| (c.full_scrape, c.full_scrape_max) = (true, 3)).await;
    for ih in 1..=5 {
        send_announce(&s, &announce(ih, 1, 1, 1, Event::Started)).await;
    }
    let r = get(s.addr(), "/scrape").await;
    assert_eq!(ScrapeResponse::decode(&r.body).unwrap().files.len(), 3);
    s.stop().await;
}
