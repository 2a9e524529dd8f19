//! Fuzz target: the Sieve lexer, parser and semantic checks on arbitrary bytes — a script that
//! parses must print back to text that parses to the same tree, the checks must not panic and
//! their errors must point inside the script, and tight limits must hold (the sieve crate's
//! `fuzzing` entry point).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sieve::fuzzing::script(data);
});
