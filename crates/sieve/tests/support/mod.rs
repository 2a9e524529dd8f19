//! What the shared-corpus tests share: the scripts of the shared Sieve corpus (real scripts
//! that Cyrus and Dovecot were given), committed under `tests/corpus/sieve`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The corpus's `.sieve` files in name order, or `None` (with a `SKIPPED` note naming `test`)
/// when the corpus is not there.
pub fn shared_corpus_scripts(test: &str) -> Option<Vec<PathBuf>> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(dir) = ["../../tests/corpus/sieve", "../../../shared/corpus/sieve"]
        .iter()
        .map(|d| here.join(d))
        .find(|d| d.is_dir())
    else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: tests/corpus/sieve not found"
        );
        return None;
    };
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sieve"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 77, "only {} scripts", scripts.len());
    Some(scripts)
}
