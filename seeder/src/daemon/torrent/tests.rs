use super::*;
use crate::daemon::testing;

fn content() -> Vec<u8> {
    (0..3 * 16_384u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// Issue 14, item 2 and its review: a bad piece in a served torrent makes it damaged (its
/// serving token fires), coming back from `Missing` does not hide a piece proven bad, and
/// the right data back makes a full pass serve it again under a fresh token.
#[test]
fn a_bad_piece_damages_the_torrent_until_the_data_is_right() {
    let data = content();
    let f = testing::torrent(&data, 16_384, true);
    let t = &f.torrent;
    t.check_content().unwrap();
    assert_eq!(t.state(), State::Seeding);
    let token = t.serving_token();
    let file = f._dir.path().join("rel");
    let mut bad = data.clone();
    bad[20_000] ^= 0xff;
    std::thread::sleep(std::time::Duration::from_millis(10));
    std::fs::write(&file, &bad).unwrap();
    // The first read sees the file changed and fails; the next hashes the new bytes.
    let verdict = (0..3).find_map(|_| t.ensure_verified(1).ok());
    assert_eq!(verdict, Some(false));
    assert_eq!(t.state(), State::Damaged);
    assert!(token.is_cancelled(), "its connections end");
    assert!(!t.is_serving());

    // Gone and back unchanged: still damaged, not served.
    t.set_state(State::Missing);
    t.check_content().unwrap();
    assert_eq!(t.state(), State::Damaged);

    // The right data again: the change is seen, a full pass proves every piece.
    std::thread::sleep(std::time::Duration::from_millis(10));
    std::fs::write(&file, &data).unwrap();
    t.recheck_content().unwrap();
    assert!(t.take_needs_verify());
    t.verify_all();
    assert_eq!(t.state(), State::Seeding);
    assert!(!t.serving_token().is_cancelled(), "a fresh token");
    assert!((0..3).all(|i| t.is_verified(i)));
}
