//! Fuzz target: the IMAP command framer and parser on arbitrary bytes, with the encode → parse
//! round trip checked for every command found (imap-proto's `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imap_proto::fuzzing::framer_and_parser(data);
});
