//! Parse errors: where in the script (1-based line and column, columns in characters) and what
//! went wrong, in plain words.

use std::fmt;

/// A place in a script: 1-based line and column, the column counted in characters (not bytes),
/// so that it matches what an editor shows for a UTF-8 script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Position {
    /// The start of a script.
    pub const START: Position = Position { line: 1, column: 1 };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The first error of a script: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where the error was found.
    pub position: Position,
    /// What is wrong, in plain words (no position in it).
    pub message: String,
    /// Whether a bound of [`crate::Limits`] was exceeded, rather than the grammar broken.
    pub limit: bool,
}

impl Error {
    pub(crate) fn new(position: Position, message: impl Into<String>) -> Error {
        Error {
            position,
            message: message.into(),
            limit: false,
        }
    }

    pub(crate) fn limit(position: Position, message: impl Into<String>) -> Error {
        Error {
            position,
            message: message.into(),
            limit: true,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

impl std::error::Error for Error {}
