//! The `make-torrent` command line: outputs, refusals, and the options that change what
//! goes into the torrent.

use std::fs;
use std::os::unix::fs::symlink;

use serde_json::Value;

use crate::util::{list_files, make_torrent, parse, write_tree};

fn release(root: &std::path::Path) {
    write_tree(
        &root.join("rel"),
        &[("a.bin", 50_000), ("sub/b.bin", 20_000), ("sub/c.nfo", 10)],
    );
}

#[test]
fn default_output_refusal_and_force() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let out = make_torrent(dir.path(), &["rel"]).ok();
    assert!(out.contains("info hash"), "{out}");
    let torrent = dir.path().join("rel.torrent");
    let first = parse(&torrent);
    assert!(first.metainfo.creation_date.is_some());
    assert!(first
        .metainfo
        .created_by
        .unwrap()
        .starts_with("seedline make-torrent"));

    let err = make_torrent(dir.path(), &["rel"]).fails_with(1);
    assert!(
        err.contains("rel.torrent already exists; pass --force"),
        "{err}"
    );
    make_torrent(dir.path(), &["-f", "-c", "new", "rel"]).ok();
    assert_eq!(parse(&torrent).metainfo.comment.as_deref(), Some("new"));
    // Nothing but the input and the torrent: no temporary files left.
    assert_eq!(list_files(dir.path()).len(), 4);
}

#[test]
fn name_of_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let out = make_torrent(
        &dir.path().join("rel"),
        &["--json", "-o", "../x.torrent", "."],
    )
    .ok();
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["name"], "rel");
    assert_eq!(
        parse(&dir.path().join("x.torrent")).metainfo.info.name,
        "rel"
    );
}

#[test]
fn output_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let args = ["--no-creation-date", "-a", "http://t/announce", "-o"];
    make_torrent(dir.path(), &[&args[..], &["one.torrent", "rel"]].concat()).ok();
    make_torrent(
        dir.path(),
        &[&args[..], &["two.torrent", "-j", "1", "rel"]].concat(),
    )
    .ok();
    let one = fs::read(dir.path().join("one.torrent")).unwrap();
    assert_eq!(one, fs::read(dir.path().join("two.torrent")).unwrap());
    assert!(parse(&dir.path().join("one.torrent"))
        .metainfo
        .creation_date
        .is_none());
}

#[test]
fn options_reach_the_torrent() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    fs::write(dir.path().join("rel/.hidden"), b"h").unwrap();
    symlink(dir.path().join("rel/a.bin"), dir.path().join("rel/link")).unwrap();
    let out = make_torrent(
        dir.path(),
        &[
            "-a",
            "http://a/announce,http://b/announce",
            "-a",
            "udp://c:6969",
            "-w",
            "https://w1/",
            "-w",
            "https://w2/",
            "-p",
            "-s",
            "SRC",
            "-c",
            "hi",
            "-n",
            "Renamed",
            "-l",
            "32K",
            "-x",
            "*.nfo",
            "--no-created-by",
            "--json",
            "rel",
        ],
    )
    .ok();
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["name"], "Renamed");
    assert_eq!(summary["torrent"], "Renamed.torrent");
    assert_eq!(summary["piece_length"], 32768);
    assert_eq!(summary["file_count"], 2);
    let m = parse(&dir.path().join("Renamed.torrent")).metainfo;
    assert_eq!(m.announce.as_deref(), Some("http://a/announce"));
    assert_eq!(
        m.announce_list,
        vec![
            vec!["http://a/announce", "http://b/announce"],
            vec!["udp://c:6969"]
        ]
    );
    assert_eq!(m.url_list, ["https://w1/", "https://w2/"]);
    assert!(m.info.private);
    assert_eq!(m.info.source.as_deref(), Some("SRC"));
    assert_eq!(m.comment.as_deref(), Some("hi"));
    assert_eq!(m.created_by, None);
    // Hidden files, symlinks and excluded files stayed out.
    let paths: Vec<String> = m.info.files().iter().map(|f| f.path.join("/")).collect();
    assert_eq!(paths, ["a.bin", "sub/b.bin"]);

    make_torrent(
        dir.path(),
        &[
            "--include-hidden",
            "--follow-symlinks",
            "-o",
            "all.torrent",
            "rel",
        ],
    )
    .ok();
    let all = parse(&dir.path().join("all.torrent")).metainfo.info;
    let paths: Vec<String> = all.files().iter().map(|f| f.path.join("/")).collect();
    assert_eq!(
        paths,
        [".hidden", "a.bin", "link", "sub/b.bin", "sub/c.nfo"]
    );
}

#[test]
fn automatic_piece_length() {
    let dir = tempfile::tempdir().unwrap();
    // 40 MiB of zeros (sparse, so cheap to make): 40 MiB / 2000 > 16K, so 32K pieces.
    let f = fs::File::create(dir.path().join("zeros")).unwrap();
    f.set_len(40 << 20).unwrap();
    let out = make_torrent(dir.path(), &["--json", "--dry-run", "zeros"]).ok();
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["piece_length"], 32768);
    assert_eq!(summary["piece_count"], 1280);
    assert_eq!(summary["torrent"], Value::Null);
    // A dry run writes nothing.
    assert_eq!(list_files(dir.path()), ["zeros"]);
}

#[test]
fn publish_copies_into_the_library() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let err = make_torrent(dir.path(), &["--publish", "library", "rel"]).fails_with(1);
    assert!(err.contains("library"), "{err}");
    assert!(!dir.path().join("rel.torrent").exists());

    fs::create_dir(dir.path().join("library")).unwrap();
    let out = make_torrent(
        dir.path(),
        &["--publish", "library", "-o", "out/x.torrent", "rel"],
    );
    let err = out.fails_with(1);
    assert!(err.contains("out/x.torrent"), "{err}");
    fs::create_dir(dir.path().join("out")).unwrap();
    let out = make_torrent(
        dir.path(),
        &["--publish", "library", "-o", "out/x.torrent", "rel"],
    )
    .ok();
    assert!(out.contains("library/x.torrent"), "{out}");
    assert_eq!(
        fs::read(dir.path().join("out/x.torrent")).unwrap(),
        fs::read(dir.path().join("library/x.torrent")).unwrap()
    );
}

/// Issue 14, item 6: `--publish` wrote a second `.torrent` into the working directory,
/// and said nothing when the content was not where the seeder looks for it.
#[test]
fn publish_writes_one_file_and_warns_when_the_seeder_will_not_find_the_content() {
    const A: &str = "http://t.example/announce";
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    fs::create_dir(dir.path().join("library")).unwrap();
    let run = make_torrent(dir.path(), &["--publish", "library", "-a", A, "rel"]);
    let err = run.stderr.clone();
    let out = run.ok();
    assert!(out.contains("library/rel.torrent"), "{out}");
    assert!(!dir.path().join("rel.torrent").exists(), "one file only");
    assert!(
        err.contains("warning: the seeder will look for this content at library/rel"),
        "{err}"
    );
    // With the seeder's data root given, the content is where it will look: no warning.
    let run = make_torrent(
        dir.path(),
        &[
            "--publish",
            "library",
            "--data-root",
            ".",
            "-a",
            A,
            "-f",
            "rel",
        ],
    );
    assert!(
        !run.stderr.contains("warning: the seeder"),
        "{}",
        run.stderr
    );
    run.ok();
    // Content inside the library: no warning either.
    fs::rename(dir.path().join("rel"), dir.path().join("library/rel")).unwrap();
    let run = make_torrent(
        dir.path(),
        &["--publish", "library", "-a", A, "-f", "library/rel"],
    );
    assert!(
        !run.stderr.contains("warning: the seeder"),
        "{}",
        run.stderr
    );
    run.ok();
    assert_eq!(
        list_files(&dir.path().join("library")),
        ["rel.torrent", "rel/a.bin", "rel/sub/b.bin", "rel/sub/c.nfo"]
    );
    // -o naming the library's copy itself writes it once, without --force.
    let run = make_torrent(
        dir.path(),
        &[
            "--publish",
            "library",
            "-a",
            A,
            "-o",
            "library/x.torrent",
            "library/rel",
        ],
    );
    run.ok();
    assert!(dir.path().join("library/x.torrent").exists());
    // --data-root means nothing without --publish.
    let err = make_torrent(dir.path(), &["--data-root", ".", "library/rel"]).fails_with(2);
    assert!(err.contains("--publish"), "{err}");
}

#[test]
fn bad_inputs_are_clear_errors_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("empty-dir/sub")).unwrap();
    let err = make_torrent(d, &["empty-dir"]).fails_with(1);
    assert!(err.contains("empty-dir holds no files"), "{err}");

    write_tree(&d.join("zero"), &[("a", 0), ("b/c", 0)]);
    let err = make_torrent(d, &["zero"]).fails_with(1);
    assert!(err.contains("holds only empty files"), "{err}");

    let err = make_torrent(d, &["missing"]).fails_with(1);
    assert!(err.contains("cannot read missing"), "{err}");

    // Root can read any file, so an unreadable file is made with a dangling symlink.
    write_tree(&d.join("dangling"), &[("ok", 10)]);
    symlink(d.join("nowhere"), d.join("dangling/bad")).unwrap();
    let err = make_torrent(d, &["--follow-symlinks", "dangling"]).fails_with(1);
    assert!(err.contains("dangling/bad"), "{err}");

    write_tree(d, &[("f", 10)]);
    // Usage errors exit 2, as the help says (issue 14).
    let err = make_torrent(d, &["-a", "ftp://x/", "f"]).fails_with(2);
    assert!(err.contains("\"ftp://x/\" is not a tracker URL"), "{err}");
    let err = make_torrent(d, &["-a", "http://h:99999/announce", "f"]).fails_with(2);
    assert!(
        err.contains("port is not a number from 1 to 65535"),
        "{err}"
    );
    let err = make_torrent(d, &["-n", "../up", "f"]).fails_with(2);
    assert!(err.contains("cannot use the name \"../up\""), "{err}");
    let err = make_torrent(d, &["-x", "[", "f"]).fails_with(2);
    assert!(err.contains("--exclude pattern \"[\""), "{err}");
    let err = make_torrent(d, &["-l", "100K", "f"]).fails_with(2);
    assert!(err.contains("not a power of two"), "{err}");
    let err = make_torrent(d, &["-l", "512M", "f"]).fails_with(2);
    assert!(err.contains("16 KiB to 256 MiB"), "{err}");

    // No torrent and no temporary file was left by any of these.
    let left: Vec<String> = list_files(d)
        .into_iter()
        .filter(|f| f.ends_with(".torrent") || f.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn progress_is_line_oriented_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    let run = make_torrent(dir.path(), &["rel"]);
    let stderr = run.stderr.clone();
    run.ok();
    // Without -a, a warning first (issue 14: it used to say nothing).
    assert!(
        stderr.starts_with("make-torrent: warning: no tracker"),
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("hashing rel: "), "{stderr}");
    assert!(lines[1].starts_with("hashed rel: "), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
}
