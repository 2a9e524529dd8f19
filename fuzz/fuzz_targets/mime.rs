//! Fuzz target for the MIME scanner (crates/message): `scan` must not panic on any input, the
//! cache must survive its binary encoding, and decoding a mangled cache must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use message::{decode_body, scan, MessageCache};

fuzz_target!(|data: &[u8]| {
    let cache = scan(data);
    let bytes = cache.to_bytes();
    let back = MessageCache::from_bytes(&bytes).expect("to_bytes output must decode");
    assert_eq!(back, cache);
    if let Some(part) = cache.part(&[1]) {
        let _ = decode_body(data, part);
    }
    let _ = MessageCache::from_bytes(data);
});
