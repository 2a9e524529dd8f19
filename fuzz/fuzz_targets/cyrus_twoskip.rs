//! Fuzz target: Cyrus's twoskip and skiplist database readers on arbitrary bytes — no panic, no loop, and
//! records in ascending key order (the migrate crate's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    migrate::fuzzing::twoskip(data);
});
