//! Fuzz target: one server SASL exchange of any mechanism (but GSSAPI) on arbitrary client
//! responses (the sasl crate's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sasl::fuzzing::exchange(data);
});
