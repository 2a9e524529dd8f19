//! The load generator's own protocol clients. They know nothing of Darius's crates, so every
//! server is driven the same way.

pub mod imap;
pub mod lmtp;
pub mod net;
pub mod parse;
