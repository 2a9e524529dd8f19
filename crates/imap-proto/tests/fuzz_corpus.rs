//! Runs the fuzz target's entry point over the committed corpus (`tests/corpus/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run imap_command` does.

#[test]
fn corpus_runs_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        imap_proto::fuzzing::framer_and_parser(&data);
        count += 1;
    }
    assert!(count >= 20, "corpus has only {count} files");
}
