//! Runs the imapd.conf fuzz target's body over its committed corpus and over deterministic
//! mutations of it, so stable `cargo test` exercises what `cargo fuzz run imapd_conf` does.

#[test]
fn corpus_and_mutations_never_panic_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seeds: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("utf-8 corpus file"))
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 4);
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b": \n#-_@/[]0123456789abcxyzKMG\t";
    for seed in &seeds {
        config::fuzz_round_trip(seed);
        for _ in 0..300 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % (bytes.len() + 1);
                match next() % 3 {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                config::fuzz_round_trip(text);
            }
        }
    }
}
