//! Server layer: POP3 sessions. (Filled in by the POP3 issue.)
//!
//! Owns: the POP3 session state machine and its maildrop claim. Must not: parse bytes itself.
