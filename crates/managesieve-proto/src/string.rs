//! ManageSieve strings (RFC 5804 §4 `string`): quoted strings and literals, and script names
//! (§1.6). The encoder picks the form; the parser lives in `command.rs`.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// RFC 5804 §4: `quoted = DQUOTE *1024QUOTED-CHAR DQUOTE`.
pub const MAX_QUOTED_CHARS: usize = 1024;

/// RFC 5804 §1.6: servers must allow names of at least 128 Unicode characters and must refuse,
/// never truncate, a longer one than they take. We take exactly the minimum.
pub const MAX_SCRIPT_NAME_CHARS: usize = 128;

/// A character a quoted string may hold unescaped (`SAFE-UTF8-CHAR`: anything but NUL, CR,
/// LF, `"` and `\`).
fn is_safe_char(c: char) -> bool {
    !matches!(c, '\0' | '\r' | '\n' | '"' | '\\')
}

/// Appends `s` as the server sends a string: quoted when every character is safe and it fits
/// the 1024-character bound, else as a `literal-s2c` (`{n}` CRLF octets). Characters that would
/// need escaping go in a literal, as the RFC's own LISTSCRIPTS example does, so that clients
/// never have to unescape.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(text) if text.chars().all(is_safe_char) && text.chars().count() <= MAX_QUOTED_CHARS => {
            out.push(b'"');
            out.extend_from_slice(s);
            out.push(b'"');
        }
        _ => write_literal(out, s, LiteralForm::ServerToClient),
    }
}

/// The two literal headers (RFC 5804 §4): the client sends `{n+}` (`literal-c2s`, the
/// octets follow at once), the server sends `{n}` (`literal-s2c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralForm {
    ClientToServer,
    ServerToClient,
}

/// Appends `{n+}` or `{n}`, CRLF and the octets.
pub fn write_literal(out: &mut Vec<u8>, s: &[u8], form: LiteralForm) {
    let plus = match form {
        LiteralForm::ClientToServer => "+",
        LiteralForm::ServerToClient => "",
    };
    out.extend_from_slice(format!("{{{}{plus}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Appends `s` as a client sends a string: quoted (escaping `"` and `\`) when that is allowed,
/// else a `literal-c2s`.
pub fn write_client_string(out: &mut Vec<u8>, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(text)
            if !text.contains(['\0', '\r', '\n']) && text.chars().count() <= MAX_QUOTED_CHARS =>
        {
            out.push(b'"');
            for &b in s {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        _ => write_literal(out, s, LiteralForm::ClientToServer),
    }
}

/// A valid script name (RFC 5804 §1.6): non-empty UTF-8 of at most
/// [`MAX_SCRIPT_NAME_CHARS`] characters, without control characters (U+0000–U+001F, U+007F,
/// U+0080–U+009F) or the line and paragraph separators U+2028 and U+2029, held in Unicode
/// normalization form C (Net-Unicode, RFC 5198, as §1.6 asks): a name sent decomposed names the
/// same script as the same name composed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScriptName(String);

/// Why a string is not a script name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptNameError {
    Empty,
    NotUtf8,
    TooLong,
    ForbiddenCharacter,
}

impl ScriptNameError {
    pub fn text(self) -> &'static str {
        match self {
            ScriptNameError::Empty => "Script name is empty",
            ScriptNameError::NotUtf8 => "Script name is not UTF-8",
            ScriptNameError::TooLong => "Script name is too long",
            ScriptNameError::ForbiddenCharacter => "Script name has a forbidden character",
        }
    }
}

impl ScriptName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for ScriptName {
    type Error = ScriptNameError;

    fn try_from(s: &str) -> Result<ScriptName, ScriptNameError> {
        if s.is_empty() {
            return Err(ScriptNameError::Empty);
        }
        // Bounded before normalizing (the work is linear in what was sent) and after (a few
        // characters decompose into more than they compose back to).
        if s.chars().count() > MAX_SCRIPT_NAME_CHARS {
            return Err(ScriptNameError::TooLong);
        }
        let s: String = s.nfc().collect();
        if s.chars().count() > MAX_SCRIPT_NAME_CHARS {
            return Err(ScriptNameError::TooLong);
        }
        let forbidden = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
        if s.chars().any(forbidden) {
            return Err(ScriptNameError::ForbiddenCharacter);
        }
        Ok(ScriptName(s))
    }
}

impl TryFrom<&[u8]> for ScriptName {
    type Error = ScriptNameError;

    fn try_from(s: &[u8]) -> Result<ScriptName, ScriptNameError> {
        std::str::from_utf8(s)
            .map_err(|_| ScriptNameError::NotUtf8)?
            .try_into()
    }
}

impl fmt::Display for ScriptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
