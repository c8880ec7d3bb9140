//! BEP 52 hash requests through the session.

use super::*;

#[test]
fn hash_requests_get_hashes_or_a_hash_reject() {
    let c = Fake::seed();
    let mut s = session(true, &c);
    let ask = |root| HashRequest {
        root,
        base: 1,
        index: 0,
        count: 2,
        proof_layers: 0,
    };
    let (r, events) = feed(&mut s, &c, Message::HashRequest(ask([7; 32])));
    assert_eq!(
        (r, events),
        (Ok(Received::Message), vec![Event::HashesServed])
    );
    let mut batch = Vec::new();
    let Work::Control(bytes) = s.next_work(&c, &mut batch, 0) else {
        panic!("the hashes are queued");
    };
    let (msg, _) = Message::decode(&bytes, u32::MAX).unwrap().unwrap();
    let expected = [[1u8; 32], [2; 32]].concat();
    assert_eq!(
        msg,
        Message::Hashes {
            request: ask([7; 32]),
            hashes: &expected
        }
    );
    s.recycle(bytes);
    let (r, events) = feed(&mut s, &c, Message::HashRequest(ask([8; 32])));
    assert_eq!(
        (r, events),
        (
            Ok(Received::Message),
            vec![Event::Rejected(Rejection::Hashes)]
        )
    );
    assert_eq!(sent(&mut s, &c).len(), 1);
    // Answers to requests we never made change nothing.
    ok(&mut s, &c, Message::HashReject(ask([7; 32])));
    ok(
        &mut s,
        &c,
        Message::Hashes {
            request: ask([7; 32]),
            hashes: &expected,
        },
    );
    assert!(sent(&mut s, &c).is_empty());
}
