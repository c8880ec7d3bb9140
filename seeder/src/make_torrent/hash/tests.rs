use std::fs;

use proptest::prelude::*;
use seedline_common::metainfo::hash_pieces;

use super::*;
use crate::make_torrent::progress::Silent;

fn files_with(dir: &std::path::Path, lengths: &[usize]) -> (Vec<DataFile>, Vec<u8>) {
    let mut all = Vec::new();
    let mut files = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        let data: Vec<u8> = (0..len).map(|j| (j * 7 + i * 13 + j / 251) as u8).collect();
        let path = dir.join(format!("f{i}"));
        fs::write(&path, &data).unwrap();
        all.extend_from_slice(&data);
        files.push(DataFile {
            path,
            length: len as u64,
            pad: false,
        });
    }
    (files, all)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn parallel_hashes_equal_the_stream_hashes(
        lengths in proptest::collection::vec(
            prop_oneof![Just(0usize), 1usize..70_000, Just(16_384), Just(32_768)],
            1..6,
        ),
        log2 in 14u32..17,
        threads in 1usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (files, all) = files_with(dir.path(), &lengths);
        let got = hash_files(&files, 1 << log2, threads, &mut Silent).unwrap();
        prop_assert_eq!(got, hash_pieces(&all, 1 << log2));
    }
}

#[test]
fn many_jobs_across_many_files() {
    // More data than one job, with small pieces, so several threads share the work.
    let dir = tempfile::tempdir().unwrap();
    let lengths: Vec<usize> = (0..40).map(|i| 150_000 + i * 4099).collect();
    let (files, all) = files_with(dir.path(), &lengths);
    let got = hash_files(&files, 16 << 10, 4, &mut Silent).unwrap();
    assert_eq!(got, hash_pieces(&all, 16 << 10));
}

#[test]
fn a_file_that_changed_size_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut files, _) = files_with(dir.path(), &[1000, 2000]);
    // Listed longer than it is: the read runs out early.
    files[1].length = 2500;
    let err = hash_files(&files, 16 << 10, 2, &mut Silent).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ChangedSize {
                expected: 2500,
                now: 2000,
                ..
            }
        ),
        "{err}"
    );
    // Listed shorter than it is: caught by the check after hashing.
    files[1].length = 1500;
    let err = hash_files(&files, 16 << 10, 2, &mut Silent).unwrap_err();
    assert!(
        err.to_string()
            .contains("changed size while it was being hashed"),
        "{err}"
    );
}

#[test]
fn unreadable_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for length in [0, 10] {
        let files = vec![DataFile {
            path: dir.path().join("gone"),
            length,
            pad: false,
        }];
        let err = hash_files(&files, 16 << 10, 1, &mut Silent).unwrap_err();
        assert!(err.to_string().contains("gone"), "{err}");
    }
}

#[test]
fn pad_files_are_zeros_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let (mut files, mut all) = files_with(dir.path(), &[20_000, 5]);
    // A pad after the first file to the 32 KiB piece boundary; its path does not exist.
    files.insert(
        1,
        DataFile {
            path: dir.path().join(".pad/12768"),
            length: 12_768,
            pad: true,
        },
    );
    all.splice(20_000..20_000, std::iter::repeat_n(0, 12_768));
    let got = hash_files(&files, 32 << 10, 2, &mut Silent).unwrap();
    assert_eq!(got, hash_pieces(&all, 32 << 10));
}
