//! Fuzz target: netnews feed lines, `Xref` fields and `tradspool.map` (news's `fuzzing`
//! entry point; corpus in crates/news/tests/corpus_feed/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    news::fuzzing::feed_line(data);
});
