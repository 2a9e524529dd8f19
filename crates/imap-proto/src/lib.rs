//! Protocol layer: the IMAP4rev1/IMAP4rev2 codec — command parser and response encoder.
//!
//! Owns: bytes in, typed commands out; typed responses in, bytes out; modified UTF-7.
//! Must not: perform I/O, touch tokio, the file system or the network, or know about storage.
