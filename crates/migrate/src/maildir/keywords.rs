//! Dovecot's `dovecot-keywords`: `N NAME` lines giving keyword number N (0 to 25) to the
//! letter `a`+N of the Maildir info part.

use std::io::BufRead;

use types::Flag;

use crate::lines::{LineError, LineReader};
use crate::maildir::error::SyntaxError;

/// Keywords a Maildir file name can carry: the letters `a` to `z`.
pub const MAX_MAILDIR_KEYWORDS: usize = 26;

/// The keyword of each letter, `a` first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keywords {
    pub names: [Option<String>; MAX_MAILDIR_KEYWORDS],
}

impl Keywords {
    /// The keyword the info letter `letter` stands for.
    pub fn of_letter(&self, letter: u8) -> Option<&str> {
        let i = usize::from(letter.checked_sub(b'a')?);
        self.names.get(i)?.as_deref()
    }
}

/// Parses a `dovecot-keywords` file. Numbers beyond 25 and names that are not valid IMAP
/// keywords are skipped (Dovecot cannot use the former and a client could not name the latter).
pub fn parse(input: impl BufRead) -> Result<Keywords, SyntaxError> {
    let mut lines = LineReader::new(input, 1024);
    let mut keywords = Keywords::default();
    loop {
        let line = match lines.next_line() {
            Ok(Some(l)) => String::from_utf8_lossy(l).into_owned(),
            Ok(None) => return Ok(keywords),
            Err(LineError::TooLong(n)) => return Err(SyntaxError::new(n, "line too long")),
            Err(LineError::Io(e)) => return Err(SyntaxError::new(lines.line + 1, e.to_string())),
        };
        if line.trim().is_empty() {
            continue;
        }
        let (n, name) = line
            .split_once(' ')
            .and_then(|(n, name)| Some((n.parse::<usize>().ok()?, name)))
            .ok_or_else(|| SyntaxError::new(lines.line, format!("bad line {line:?}")))?;
        if matches!(Flag::parse(name), Ok(Flag::Keyword(_))) {
            if let Some(slot) = keywords.names.get_mut(n) {
                *slot = Some(name.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_letters() {
        let k = parse(&b"0 $Forwarded\n1 mykw\n3 other\n40 far\n"[..]).unwrap();
        assert_eq!(k.of_letter(b'a'), Some("$Forwarded"));
        assert_eq!(k.of_letter(b'b'), Some("mykw"));
        assert_eq!(k.of_letter(b'c'), None);
        assert_eq!(k.of_letter(b'd'), Some("other"));
        assert_eq!(k.of_letter(b'A'), None);
    }

    #[test]
    fn invalid_keywords_are_skipped_and_bad_lines_named() {
        let k = parse(&b"0 \\Seen\n1 a(b\n2 fine\n"[..]).unwrap();
        assert_eq!(k.of_letter(b'a'), None);
        assert_eq!(k.of_letter(b'b'), None);
        assert_eq!(k.of_letter(b'c'), Some("fine"));
        assert_eq!(parse(&b"0 ok\nnonsense\n"[..]).unwrap_err().line, 2);
    }
}
