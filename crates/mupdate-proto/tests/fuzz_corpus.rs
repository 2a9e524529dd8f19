//! Runs the fuzz target's entry point over the committed corpus (`tests/corpus/`), so stable
//! `cargo test` exercises what `cargo +nightly fuzz run mupdate` does, plus random bytes and
//! random mutations of the corpus through the same entry point: no input panics the framer or
//! the parsers, and whatever parses writes back to the same value.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{corpus, mutated, run_corpus};

#[test]
fn corpus_runs_clean() {
    run_corpus("corpus", 6, |data| {
        mupdate_proto::fuzzing::session(data);
    });
}

/// The corpus reaches both parsers, so the round trips above are exercised.
#[test]
fn corpus_reaches_the_parsers() {
    let mut total = mupdate_proto::fuzzing::Reached::default();
    for data in corpus("corpus") {
        let r = mupdate_proto::fuzzing::session(&data);
        total.messages += r.messages;
        total.commands += r.commands;
        total.responses += r.responses;
    }
    assert!(total.commands >= 8, "{total:?}");
    assert!(total.responses >= 15, "{total:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes_run_clean(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        mupdate_proto::fuzzing::session(&data);
    }

    #[test]
    fn mutated_corpus_runs_clean(data in mutated("corpus")) {
        mupdate_proto::fuzzing::session(&data);
    }

    /// Lines made of the protocol's own pieces reach the parsers far more often than random
    /// bytes do.
    #[test]
    fn protocol_shaped_lines_run_clean(
        chunk in any::<u8>(),
        pieces in proptest::collection::vec(
            prop::sample::select(vec![
                &b"A1"[..], b"*", b"+", b" ", b"\r\n", b"\n", b"OK", b"NO", b"BAD", b"BYE",
                b"MAILBOX", b"RESERVE", b"DELETE", b"ACTIVATE", b"FIND", b"LIST", b"UPDATE",
                b"AUTHENTICATE", b"NOOP", b"LOGOUT", b"MUPDATE", b"AUTH", b"PARTIAL-UPDATE",
                b"\"user.ann\"", b"\"a\\\"b\"", b"\"", b"{3+}\r\nabc", b"{3}\r\nabc", b"{0+}\r\n",
                b"{99999999999+}\r\n", b"\"s!p\"", b"\"ann\tlr\t\"", b"\"AGEAYg==\"", b"\xff",
            ]),
            0..40,
        ),
    ) {
        let mut data = vec![chunk];
        for p in pieces {
            data.extend_from_slice(p);
        }
        mupdate_proto::fuzzing::session(&data);
    }
}
