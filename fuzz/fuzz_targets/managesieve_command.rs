//! Fuzz target: a ManageSieve session's codec path on arbitrary bytes — the command framer
//! (literals and bounds), the command parser (with the encode → frame → parse round trip
//! checked for every command found) and SASL response frames (managesieve-proto's `fuzzing`
//! entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    managesieve_proto::fuzzing::session(data);
});
