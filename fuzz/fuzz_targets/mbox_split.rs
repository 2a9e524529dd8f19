//! Fuzz target: the streaming mbox splitter with every quoting (migrate's `mbox::fuzzing`
//! entry point; corpus in crates/migrate/tests/corpus_mbox/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    migrate::mbox::fuzzing::split(data);
});
