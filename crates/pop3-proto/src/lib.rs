//! Protocol layer: the POP3 codec (RFC 1939, RFC 2449 CAPA and response codes, RFC 5034 AUTH,
//! RFC 2595 STLS), I/O-free: bytes in, typed values out, and responses back to bytes.
//!
//! Owns: POP3 command parsing ([`parse_command`]), the line framer that bounds a command line
//! ([`LineFramer`]), status responses with RFC 2449/3206 codes ([`Response`]; a client reads
//! one back with [`Response::parse`]), the multi-line body encoders that RETR and TOP stream
//! through ([`DotStuffer`], [`TopFilter`]) and the UIDL form ([`uidl`]). Must not: perform I/O
//! or know about storage.

mod command;
pub mod fuzzing;
mod line;
mod multiline;
mod response;

pub use command::{
    parse_auth_response, parse_command, AuthResponse, Command, ParseError, SaslData,
};
pub use line::{LineFramer, LineResult};
pub use multiline::{DotStuffer, TopFilter};
pub use response::{encode_challenge, RespCode, Response};

/// The longest command line, CRLF included (RFC 2449 §4: 255 octets).
pub const MAX_COMMAND_LINE: usize = 255;

/// The longest SASL response line (RFC 5034 §4 lifts the 255-octet limit for them; this bounds
/// what one line may hold in memory).
pub const MAX_AUTH_LINE: usize = 16 * 1024;

/// A message's unique-id listing (RFC 1939 §7 UIDL): `UIDVALIDITY.UID`, as Cyrus writes it, so
/// it never changes for a message and is never reused while UIDVALIDITY stands (RFC 1939 asks
/// for 1 to 70 characters in 0x21..=0x7E: this is at most 21).
pub fn uidl(uidvalidity: u32, uid: u32) -> String {
    format!("{uidvalidity}.{uid}")
}
