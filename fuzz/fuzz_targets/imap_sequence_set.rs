//! Fuzz target: sequence-set normalisation (sorted, merged ranges) against the set's items one
//! by one (imap-proto's `fuzzing` entry point; corpus in
//! crates/imap-proto/tests/corpus_sequence_set/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imap_proto::fuzzing::sequence_set(data);
});
