//! Protocol layer: the Sieve language (RFC 5228 and extensions): parser and interpreter.
//!
//! Owns: scripts in, actions out. Must not: deliver mail or touch storage; the delivery code acts
//! on the actions it returns. (Filled in by the Sieve issue.)
