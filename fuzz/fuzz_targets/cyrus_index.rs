//! Fuzz target: the `cyrus.index` (and `cyrus.header`) readers on arbitrary bytes — no panic,
//! UIDs ascending, records within the file (the migrate crate's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    migrate::fuzzing::cyrus_index(data);
});
