//! Protocol layer: the ManageSieve codec (RFC 5804), I/O-free: bytes in, typed values out, and
//! responses back to bytes.
//!
//! Owns: the command framer that cuts a command, literals included, out of the input within
//! bounds ([`CommandFramer`], [`Limits`]), command parsing ([`parse_command`]) and the
//! AUTHENTICATE exchange's client lines ([`parse_auth_response`]), script names
//! ([`ScriptName`], §1.6), strings in their quoted and literal forms, and the responses:
//! `OK`/`NO`/`BYE` with §1.3's codes ([`Response`]), the capability listing
//! ([`Capabilities`]), LISTSCRIPTS lines ([`list_line`]), GETSCRIPT's literal
//! ([`script_data`]) and SASL challenges ([`encode_challenge`]); and the client's side, reading
//! those lines back ([`read_server_line`]). Must not: perform I/O, know
//! about storage, or interpret Sieve scripts (the `sieve` crate does).

mod command;
mod framer;
pub mod fuzzing;
mod reply;
mod response;
mod string;

pub use command::{
    parse_auth_response, parse_command, AuthResponse, Command, ParseError, SaslData, MAX_NUMBER,
};
pub use framer::{CommandFramer, Frame, FrameError, Limits};
pub use reply::{read_server_line, Item, ReplyError, ReplyLimits, ServerLine};
pub use response::{
    encode_challenge, list_line, script_data, Activity, Capabilities, RespCode, Response, Status,
};
pub use string::{
    write_client_string, write_literal, write_string, LiteralForm, ScriptName, ScriptNameError,
    MAX_QUOTED_CHARS, MAX_SCRIPT_NAME_CHARS,
};
