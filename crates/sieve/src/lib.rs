//! Protocol layer: the Sieve language (RFC 5228 and extensions): the lexer and parser that
//! turn a script into a syntax tree, the semantic checks that decide whether the tree is a
//! valid program, the interpreter that runs it against a message ([`interp`]), and the
//! messages its actions send ([`outgoing`]); all I/O-free.
//!
//! Owns: script text in, [`Script`] out ([`parse`], [`parse_with`]), or the first [`Error`] of
//! the script with its line and column; printing a tree back as script text (`Display` on
//! [`Script`]); checking a tree against the server's [`Capabilities`] ([`check`], what a
//! ManageSieve CHECKSCRIPT or PUTSCRIPT runs), and the extension list a ManageSieve `SIEVE`
//! capability shows ([`sieve_capability_string`]). Must not: deliver mail or touch storage.
//!
//! What the parser decides is the grammar of RFC 5228 §8 and nothing more: comments, tags,
//! numbers with `K`/`M`/`G` (overflow refused), quoted strings (a backslash keeps the next
//! character), multi-line `text:` strings (dot-unstuffed), string lists, test lists, blocks;
//! CRLF or bare LF line ends (CRLF in string values either way); UTF-8 only (RFC 5228 §2.1). Which commands, tests and tags exist,
//! and what arguments they take, is decided by [`check`] (see its module for the rules and the
//! supported extensions); `require` commands are collected with their positions
//! ([`Script::requires`]). A hostile script is bounded by [`Limits`]: its
//! size, nesting depth, list lengths, counts of commands, tests and arguments, string length —
//! each refused with a clear error before it costs more than that bound.

mod ast;
mod check;
mod error;
pub mod fuzzing;
pub mod interp;
mod lexer;
pub mod outgoing;
mod parser;

pub use ast::{Argument, Command, Require, Script, Test, Tests, Value};
pub use check::{check, sieve_capability_string, Capabilities, CheckError, Checked, SUPPORTED};
pub use error::{Error, Position};

/// Bounds on what one script may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest script, in bytes.
    pub max_script_size: usize,
    /// The deepest nesting of blocks, test lists and tests inside tests, together.
    pub max_depth: usize,
    /// The most strings in one string list, or tests in one test list.
    pub max_list_len: usize,
    /// The most commands in the script, nested ones included.
    pub max_commands: usize,
    /// The most tests in the script, nested ones included.
    pub max_tests: usize,
    /// The most arguments (tags, numbers, strings, string lists) of one command or test.
    pub max_arguments: usize,
    /// The longest string value, in bytes.
    pub max_string_len: usize,
}

impl Default for Limits {
    /// 1 MiB scripts, 64 levels, 1,024 items a list, 10,000 commands and tests, 64 arguments,
    /// 256 KiB strings.
    fn default() -> Limits {
        Limits {
            max_script_size: 1 << 20,
            max_depth: 64,
            max_list_len: 1024,
            max_commands: 10_000,
            max_tests: 10_000,
            max_arguments: 64,
            max_string_len: 256 << 10,
        }
    }
}

/// Parses a script with the default [`Limits`].
pub fn parse(script: &[u8]) -> Result<Script, Error> {
    parse_with(script, &Limits::default())
}

/// Parses a script within `limits`: its tree, or the first error in it.
pub fn parse_with(script: &[u8], limits: &Limits) -> Result<Script, Error> {
    if script.len() > limits.max_script_size {
        return Err(Error::limit(
            Position::START,
            format!(
                "the script is {} bytes, more than the limit of {}",
                script.len(),
                limits.max_script_size
            ),
        ));
    }
    let text = match std::str::from_utf8(script) {
        Ok(text) => text,
        Err(e) => {
            let valid = &script[..e.valid_up_to()];
            let before = std::str::from_utf8(valid).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let last = before.rfind('\n').map_or(before, |i| &before[i + 1..]);
            let position = Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(last.chars().count() + 1).unwrap_or(u32::MAX),
            };
            return Err(Error::new(position, "the script is not valid UTF-8"));
        }
    };
    parser::Parser::new(text, limits).script()
}
