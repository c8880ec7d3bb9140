//! Replaying the committed fuzz corpora (`fuzz/corpus/<target>/`) through the entry
//! points the fuzzer calls, so a regression on any input the fuzzer once found
//! interesting fails the ordinary stable test suite; no nightly, no cargo-fuzz.

use std::path::Path;

/// Runs `f` on every file of `fuzz/corpus/<target>/` (the workspace's `fuzz/`, beside
/// this crate), reporting each file that panics. A missing or empty directory fails, so
/// a renamed target cannot pass vacuously.
pub fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut files = 0;
    let mut failed = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        files += 1;
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(files > 0, "corpus {} is empty", dir.display());
    assert!(
        failed.is_empty(),
        "{} of {files} inputs panic: {failed:#?}",
        failed.len()
    );
}

/// One `#[test]` per fuzz target, named after it, replaying its corpus through the
/// function of the same name in the crate's `fuzz` module:
/// `replay_corpora!(fuzz: bencode, metainfo);` with `fuzz` in scope.
#[macro_export]
macro_rules! replay_corpora {
    ($fuzz:ident: $($target:ident),+ $(,)?) => {
        $(
            #[test]
            fn $target() {
                $crate::corpus::replay(stringify!($target), $fuzz::$target);
            }
        )+
    };
}
