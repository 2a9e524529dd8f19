//! Fuzz target: news article files in wire format or bare LF decoded into messages (news's
//! `fuzzing` entry point; corpus in crates/news/tests/corpus_article/).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    news::fuzzing::article(data);
});
