//! The load generator's own protocol clients. They know nothing of Darius's server crates, so
//! every server is driven the same way (POP3 lines are written and read with the I/O-free
//! `pop3-proto` codec).

pub mod imap;
pub mod lmtp;
pub mod net;
pub mod parse;
pub mod pop3;
