use std::time::{Duration, SystemTime};

use super::*;

fn v() -> Validators {
    Validators {
        etag: "\"abc-0\"".into(),
        last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
    }
}

const LAST_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

fn range(h: &str) -> Outcome {
    parse_range(h.as_bytes(), 1000)
}

#[test]
fn single_ranges_start_middle_end_open_and_suffix() {
    assert_eq!(range("bytes=0-0"), Outcome::Part(0..1));
    assert_eq!(range("bytes=100-199"), Outcome::Part(100..200));
    assert_eq!(
        range("bytes=999-999"),
        Outcome::Part(999..1000),
        "the last byte"
    );
    assert_eq!(range("bytes=500-"), Outcome::Part(500..1000));
    assert_eq!(range("bytes=-1"), Outcome::Part(999..1000));
    assert_eq!(range("bytes=-1000"), Outcome::Part(0..1000));
    assert_eq!(
        range("bytes=-5000"),
        Outcome::Part(0..1000),
        "a suffix longer than the file"
    );
    assert_eq!(
        range("bytes=900-5000"),
        Outcome::Part(900..1000),
        "an end past the file"
    );
    assert_eq!(
        range("Bytes = 1 - 2"),
        Outcome::Part(1..3),
        "case and spaces"
    );
    assert_eq!(
        range("bytes=0-99999999999999999999999"),
        Outcome::Part(0..1000),
        "an end past u64 saturates"
    );
}

#[test]
fn unsatisfiable_ranges() {
    assert_eq!(range("bytes=1000-"), Outcome::Unsatisfiable);
    assert_eq!(range("bytes=1000-2000"), Outcome::Unsatisfiable);
    assert_eq!(range("bytes=-0"), Outcome::Unsatisfiable);
    assert_eq!(
        range("bytes=99999999999999999999999-"),
        Outcome::Unsatisfiable
    );
    assert_eq!(
        parse_range(b"bytes=0-", 0),
        Outcome::Unsatisfiable,
        "an empty file"
    );
    assert_eq!(parse_range(b"bytes=-5", 0), Outcome::Unsatisfiable);
}

#[test]
fn what_is_not_understood_is_the_whole_file() {
    for h in [
        "bytes=5-1",
        "bytes=0-1,5-6",
        "items=0-1",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=+1-2",
        "bytes=1-2-3",
        "bytes=0x10-",
    ] {
        assert_eq!(range(h), Outcome::Whole, "{h}");
    }
    assert_eq!(parse_range(&[0xff, b'='], 10), Outcome::Whole);
    // Ten thousand tiny ranges in one header: the whole file, in time linear in the header.
    let many = format!("bytes={}", vec!["0-0"; 10_000].join(","));
    assert_eq!(range(&many), Outcome::Whole);
}

fn cond<'a>(f: impl FnOnce(&mut Conditions<'a>)) -> Conditions<'a> {
    let mut c = Conditions {
        range: Some(b"bytes=0-9"),
        ..Conditions::default()
    };
    f(&mut c);
    c
}

#[test]
fn range_applies_to_get_only() {
    let c = cond(|_| {});
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
    assert_eq!(evaluate(&c, false, 1000, &v()), Outcome::Whole, "HEAD");
}

#[test]
fn if_range_with_a_tag_or_the_exact_date() {
    let ok = [b"\"abc-0\"".as_slice(), LAST_MODIFIED.as_bytes()];
    for h in ok {
        let c = cond(|c| c.if_range = Some(h));
        assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
    }
    let stale = [
        b"\"abc-1\"".as_slice(),
        b"W/\"abc-0\"",
        EARLIER.as_bytes(),
        b"garbage",
    ];
    for h in stale {
        let c = cond(|c| c.if_range = Some(h));
        assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Whole);
    }
}

#[test]
fn if_none_match_and_if_modified_since_give_304() {
    for h in [
        b"\"abc-0\"".as_slice(),
        b"W/\"abc-0\"",
        b"\"x\", \"abc-0\"",
        b"*",
    ] {
        let c = cond(|c| c.if_none_match = Some(h));
        assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::NotModified);
    }
    let c = cond(|c| c.if_none_match = Some(b"\"other\", W/\"x,y\""));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
    let c = cond(|c| c.if_modified_since = Some(LAST_MODIFIED.as_bytes()));
    assert_eq!(evaluate(&c, false, 1000, &v()), Outcome::NotModified);
    let c = cond(|c| c.if_modified_since = Some(EARLIER.as_bytes()));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
    // If-None-Match present: If-Modified-Since is not looked at.
    let c = cond(|c| {
        c.if_none_match = Some(b"\"other\"");
        c.if_modified_since = Some(LAST_MODIFIED.as_bytes());
    });
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let c = cond(|c| c.if_match = Some(b"\"other\""));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::PreconditionFailed);
    let c = cond(|c| c.if_match = Some(b"W/\"abc-0\""));
    assert_eq!(
        evaluate(&c, true, 1000, &v()),
        Outcome::PreconditionFailed,
        "a weak tag never matches strongly"
    );
    let c = cond(|c| c.if_match = Some(b"\"abc-0\""));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
    let c = cond(|c| c.if_unmodified_since = Some(EARLIER.as_bytes()));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::PreconditionFailed);
    let c = cond(|c| c.if_unmodified_since = Some(LAST_MODIFIED.as_bytes()));
    assert_eq!(evaluate(&c, true, 1000, &v()), Outcome::Part(0..10));
}

#[test]
fn malformed_tag_lists_match_nothing() {
    for h in [
        b"\"abc-0".as_slice(),
        b"abc-0",
        b"\"x\" \"abc-0\"",
        b"",
        b",",
    ] {
        assert!(
            !tags_match(h, "\"abc-0\"", false),
            "{:?}",
            String::from_utf8_lossy(h)
        );
    }
}
