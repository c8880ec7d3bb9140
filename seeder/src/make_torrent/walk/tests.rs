use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use globset::{Glob, GlobSetBuilder};

use super::*;

fn touch(root: &Path, rel: &str, len: usize) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, vec![b'x'; len]).unwrap();
}

fn rels(w: &Walked) -> Vec<String> {
    w.files.iter().map(|f| f.rel.join("/")).collect()
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for (rel, len) in [
        ("a/b", 3),
        ("a-b/c", 1),
        ("a.txt", 2),
        ("empty", 0),
        (".hidden", 1),
        ("sub/.git/config", 1),
        ("sub/notes.nfo", 1),
        ("sub/deep/er/x.nfo", 1),
        ("sub/deep/er/y.bin", 1),
        ("sample/s.mkv", 1),
    ] {
        touch(r, rel, len);
    }
    symlink(r.join("a.txt"), r.join("link")).unwrap();
    dir
}

#[test]
fn defaults_skip_hidden_and_symlinks_and_sort_by_path_bytes() {
    let dir = tree();
    let w = walk(dir.path(), &WalkOptions::default()).unwrap();
    assert!(w.is_dir);
    assert_eq!(
        rels(&w),
        [
            "a-b/c",
            "a.txt",
            "a/b",
            "empty",
            "sample/s.mkv",
            "sub/deep/er/x.nfo",
            "sub/deep/er/y.bin",
            "sub/notes.nfo"
        ]
    );
    assert_eq!(w.total_length(), 10);
    assert_eq!(w.files[2].path, dir.path().join("a/b"));
}

#[test]
fn hidden_symlinks_and_excludes_on_request() {
    let dir = tree();
    let mut exclude = GlobSetBuilder::new();
    exclude.add(Glob::new("*.nfo").unwrap());
    exclude.add(Glob::new("sample").unwrap());
    exclude.add(Glob::new("er").unwrap());
    let opts = WalkOptions {
        include_hidden: true,
        follow_symlinks: true,
        exclude: exclude.build().unwrap(),
    };
    let w = walk(dir.path(), &opts).unwrap();
    assert_eq!(
        rels(&w),
        [
            ".hidden",
            "a-b/c",
            "a.txt",
            "a/b",
            "empty",
            "link",
            "sub/.git/config"
        ]
    );
}

#[test]
fn single_file_input() {
    let dir = tree();
    let w = walk(&dir.path().join("a/b"), &WalkOptions::default()).unwrap();
    assert!(!w.is_dir);
    assert_eq!(w.files.len(), 1);
    assert!(w.files[0].rel.is_empty());
    assert_eq!(w.files[0].length, 3);
    // A symlink named on the command line is followed.
    let w = walk(&dir.path().join("link"), &WalkOptions::default()).unwrap();
    assert_eq!(w.files[0].length, 2);
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir(r.join("empty-dir")).unwrap();
    touch(r, "empty-dir/.only-hidden", 1);
    let err = walk(&r.join("empty-dir"), &WalkOptions::default()).unwrap_err();
    assert!(matches!(err, Error::EmptyInput(_)), "{err}");

    let err = walk(&r.join("nope"), &WalkOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");

    fs::create_dir(r.join("loop")).unwrap();
    symlink(r.join("loop"), r.join("loop/again")).unwrap();
    let follow = WalkOptions {
        follow_symlinks: true,
        ..WalkOptions::default()
    };
    let err = walk(&r.join("loop"), &follow).unwrap_err();
    assert!(matches!(err, Error::SymlinkLoop(_)), "{err}");

    fs::create_dir(r.join("dangling")).unwrap();
    symlink(r.join("gone"), r.join("dangling/link")).unwrap();
    let err = walk(&r.join("dangling"), &follow).unwrap_err();
    assert!(err.to_string().contains("dangling/link"), "{err}");

    fs::create_dir(r.join("sock")).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(r.join("sock/s")).unwrap();
    let err = walk(&r.join("sock"), &WalkOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotRegular(_)), "{err}");
}
