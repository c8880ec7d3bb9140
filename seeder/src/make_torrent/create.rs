//! Creating a torrent: check the options, walk, hash, assemble, write, report.
//!
//! Everything the user can get wrong (URLs, name, output already there, library missing)
//! is checked before hashing, so a mistake costs seconds rather than a full read of the
//! release.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use globset::{Glob, GlobSet, GlobSetBuilder};
use seedline_common::metainfo::{
    auto_piece_length, check_name, parse_tier, FileEntry, Info, Layout, Publication, Version,
};

use super::cli::{threads, CreateArgs};
use super::create_v2;
use super::error::Error;
use super::hash::hash_files;
use super::progress::Reporter;
use super::summary::Summary;
use super::walk::{walk, WalkOptions, Walked};
use super::write::{check_dir, check_writable, write_atomically};

/// What goes in `created by`.
pub const CREATED_BY: &str = concat!("seedline make-torrent ", env!("CARGO_PKG_VERSION"));

/// Runs the default action of `make-torrent`.
pub fn create(args: CreateArgs, out: &mut dyn Write) -> Result<(), Error> {
    let input = args.input.clone().expect("clap requires INPUT");
    let publication = Publication {
        tiers: args.announce.iter().map(|a| parse_tier(a)).collect(),
        webseeds: webseeds(&args)?,
        comment: args.comment.clone(),
        created_by: (!args.no_created_by).then(|| CREATED_BY.to_owned()),
        creation_date: (!args.no_creation_date).then(now),
    };
    publication.check_urls()?;
    for w in publication.warnings() {
        eprintln!("make-torrent: warning: {w}");
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&input)?,
    };
    check_name(&name).map_err(|source| Error::BadName {
        name: name.clone(),
        source,
    })?;
    let walked = walk(
        &input,
        &WalkOptions {
            include_hidden: args.include_hidden,
            follow_symlinks: args.follow_symlinks,
            exclude: globs(&args.exclude)?,
        },
    )?;
    let total = walked.total_length();
    if total == 0 {
        return Err(Error::NoData(input));
    }
    let piece_length = args
        .piece_length
        .unwrap_or_else(|| auto_piece_length(total));
    let file_name = PathBuf::from(format!("{name}.torrent"));
    let published = match &args.publish {
        Some(dir) => {
            check_dir(dir)?;
            let in_library = args.output.as_ref().map_or(file_name.as_path(), |o| {
                o.file_name().map_or(o.as_path(), Path::new)
            });
            Some(dir.join(in_library))
        }
        None => None,
    };
    // One file unless asked for two: with --publish and no -o (or -o naming the
    // library's copy itself), only the library's copy.
    let output = match (&args.output, &published) {
        (Some(o), Some(p)) if same_file(o, p) => None,
        (Some(o), _) => Some(o.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(file_name),
    };
    if !args.dry_run {
        for path in output.iter().chain(&published) {
            check_writable(path, args.force)?;
        }
    }
    if let Some(dir) = &args.publish {
        let root = args.data_root.as_deref().unwrap_or(dir);
        if let Some(w) = content_elsewhere(&input, &root.join(&name)) {
            eprintln!("make-torrent: warning: {w}");
        }
    }

    let version = match (args.v2, args.hybrid) {
        (true, _) => Some(Version::V2),
        (_, true) => Some(Version::Hybrid),
        _ => None,
    };
    if let Some(version) = version {
        for w in create_v2::warnings(version, walked.is_dir) {
            eprintln!("make-torrent: warning: {w}");
        }
        let mut reporter = Reporter::stderr(&name, total);
        let options = create_v2::Options {
            version,
            name,
            piece_length,
            private: args.private,
            source: args.source.clone(),
            threads: threads(args.threads),
        };
        let (v2, v1) = create_v2::build(walked, options, &mut reporter)?;
        reporter.finish();
        let metainfo = publication.around(v1)?;
        let bytes = v2.torrent_bytes(&metainfo);
        if args.dry_run {
            return Summary::v2(&metainfo, &v2, None, None).print(out, args.json);
        }
        for path in output.iter().chain(&published) {
            write_atomically(path, &bytes, args.force)?;
        }
        let written = output.or_else(|| published.clone());
        return Summary::v2(&metainfo, &v2, written, published).print(out, args.json);
    }

    let data = walked.data_files();
    let mut reporter = Reporter::stderr(&name, total);
    let pieces = hash_files(&data, piece_length, threads(args.threads), &mut reporter)?;
    reporter.finish();

    let info = Info {
        name,
        piece_length,
        pieces,
        layout: layout(walked),
        private: args.private,
        source: args.source.clone(),
    };
    let metainfo = publication.into_metainfo(info)?;
    let bytes = metainfo.to_bytes();
    if args.dry_run {
        return Summary::new(&metainfo, None, None).print(out, args.json);
    }
    for path in output.iter().chain(&published) {
        write_atomically(path, &bytes, args.force)?;
    }
    let written = output.or_else(|| published.clone());
    Summary::new(&metainfo, written, published).print(out, args.json)
}

/// Whether two output paths name the same file (compared through their directories,
/// which exist by now; the files may not).
fn same_file(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    };
    a == b || matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
}

/// The -w URLs, then the origin's own (`--public-http-url`, or with `--publish` the
/// seeder's `SEEDER_PUBLIC_HTTP_URL`) unless already among them.
fn webseeds(args: &CreateArgs) -> Result<Vec<String>, Error> {
    let mut urls = args.webseed.clone();
    let origin = args.public_http_url.clone().or_else(|| {
        args.publish.as_ref()?;
        std::env::var("SEEDER_PUBLIC_HTTP_URL")
            .ok()
            .filter(|u| !u.is_empty())
    });
    if let Some(url) = origin {
        crate::daemon::webseed::check_public_url(&url).map_err(Error::PublicUrl)?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    Ok(urls)
}

/// Why the seeder will not find `input` at `expected` (where it looks for a published
/// torrent's content), or `None` when something is there: `input` itself or a copy,
/// which the seeder verifies either way.
fn content_elsewhere(input: &Path, expected: &Path) -> Option<String> {
    if expected.exists() {
        return None;
    }
    Some(format!(
        "the seeder will look for this content at {}, and nothing is there: move or copy {} there, or give the seeder's --data-root with --data-root (until then it lists the torrent as missing)",
        expected.display(),
        input.display()
    ))
}

fn layout(walked: Walked) -> Layout {
    if walked.is_dir {
        Layout::Multi {
            files: walked
                .files
                .into_iter()
                .map(|f| FileEntry {
                    path: f.rel,
                    length: f.length,
                    pad: false,
                })
                .collect(),
        }
    } else {
        Layout::Single {
            length: walked.total_length(),
        }
    }
}

/// The input's own name; for `.` or `dir/..`, the name of the directory it resolves to.
fn default_name(input: &Path) -> Result<String, Error> {
    let resolved;
    let path = if input.file_name().is_some() && !input.ends_with("..") {
        input
    } else {
        resolved = input.canonicalize().map_err(|e| Error::io(input, e))?;
        &resolved
    };
    let name = path.file_name().ok_or_else(|| Error::BadName {
        name: input.display().to_string(),
        source: seedline_common::MetainfoError::Missing("info -> name".into()),
    })?;
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::NotUtf8(input.to_owned()))
}

fn globs(patterns: &[String]) -> Result<GlobSet, Error> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|source| Error::Glob {
            pattern: p.clone(),
            source,
        })?;
        set.add(glob);
    }
    set.build().map_err(|source| Error::Glob {
        pattern: patterns.join(" "),
        source,
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
