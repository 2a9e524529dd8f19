//! Fuzz target: a POP3 session's codec path on arbitrary bytes — line framer, command parser
//! (with the encode → parse round trip checked for every command found), SASL response lines,
//! and the multi-line encoders (pop3-proto's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pop3_proto::fuzzing::session(data);
});
