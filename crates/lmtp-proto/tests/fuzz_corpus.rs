//! Runs the fuzz target's entry point over the committed corpus (`tests/corpus/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run lmtp_command` does, plus a poor man's
//! fuzzer: random bytes, and random mutations of the corpus, through the same entry point.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 20, lmtp_proto::fuzzing::session);
}

/// Random sessions stitched from command-like fragments, so the parser sees near-misses more
/// often than pure random bytes would give it.
fn stitched() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(&b"MAIL FROM:"[..]),
        Just(&b"RCPT TO:"[..]),
        Just(&b"LHLO "[..]),
        Just(&b"DATA\r\n"[..]),
        Just(&b"BDAT 3"[..]),
        Just(&b" LAST"[..]),
        Just(&b"<"[..]),
        Just(&b">"[..]),
        Just(&b"@"[..]),
        Just(&b"\""[..]),
        Just(&b"\\"[..]),
        Just(&b"."[..]),
        Just(&b":"[..]),
        Just(&b","[..]),
        Just(&b"["[..]),
        Just(&b"]"[..]),
        Just(&b" "[..]),
        Just(&b"="[..]),
        Just(&b"+2B"[..]),
        Just(&b"SIZE=12"[..]),
        Just(&b"NOTIFY=NEVER"[..]),
        Just(&b"ORCPT=rfc822;"[..]),
        Just(&b"AUTH="[..]),
        Just(&b"AUTH PLAIN"[..]),
        Just(&b"AUTH LOGIN "[..]),
        Just(&b"AGJvYgBwdw=="[..]),
        Just(&b"*"[..]),
        Just(&b"BODY=BINARYMIME"[..]),
        Just(&b"BDAT 0 LAST"[..]),
        Just(&b"user"[..]),
        Just(&b"example.org"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\r\n.\r\n"[..]),
        Just("ü".as_bytes()),
        Just(&b"\0"[..]),
    ];
    (any::<u8>(), prop::collection::vec(fragment, 0..40)).prop_map(|(first, parts)| {
        let mut data = vec![first];
        for part in parts {
            data.extend_from_slice(part);
        }
        data
    })
}

proptest! {
    #[test]
    fn mutated_corpus_never_panics(data in mutated("corpus")) {
        lmtp_proto::fuzzing::session(&data);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        lmtp_proto::fuzzing::session(&data);
    }

    #[test]
    fn stitched_sessions_never_panic(data in stitched()) {
        lmtp_proto::fuzzing::session(&data);
    }
}
