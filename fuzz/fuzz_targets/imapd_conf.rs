//! Fuzz target: the imapd.conf reader on arbitrary text never panics, and whatever it accepts
//! renders back to a file it accepts again with the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        config::fuzz_round_trip(text);
    }
});
