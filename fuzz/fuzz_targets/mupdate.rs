//! Fuzz target: the MUPDATE codec on arbitrary bytes — the framer (literals and bounds), the
//! command and response parsers, and the encode → frame → parse round trip of every command
//! and response found (mupdate-proto's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mupdate_proto::fuzzing::session(data);
});
