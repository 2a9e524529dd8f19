//! The `darius` binary: command-line parsing and wiring of the layers below.
fn main() {}
