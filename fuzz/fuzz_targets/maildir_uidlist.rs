//! Fuzz target: Dovecot's `dovecot-uidlist` parser, and write → parse giving the same list
//! (migrate's `maildir::fuzzing` entry point; corpus in crates/migrate/tests/corpus_uidlist/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    migrate::maildir::fuzzing::uidlist(data);
});
