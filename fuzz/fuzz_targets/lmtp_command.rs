//! Fuzz target: an LMTP session's codec path on arbitrary bytes — line framer, command parser
//! (with the encode → parse round trip checked for every command found) and DATA decoder
//! (lmtp-proto's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lmtp_proto::fuzzing::session(data);
});
