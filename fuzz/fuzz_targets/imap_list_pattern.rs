//! Fuzz target: LIST/LSUB pattern matching (RFC 9051 §6.3.9) against a dynamic-programming
//! model; long patterns must be refused, never matched by recursion (imap-proto's `fuzzing`
//! entry point; corpus in crates/imap-proto/tests/corpus_list_pattern/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imap_proto::fuzzing::list_pattern(data);
});
