//! The lexer (RFC 5228 §2.2–2.4, §8.1): white space and comments skipped, tokens with the
//! position where each starts.

use crate::error::{Error, Position};
use crate::Limits;

/// One token of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// An identifier, lower-cased.
    Identifier(String),
    /// A tag, without its colon, lower-cased.
    Tag(String),
    /// A number with its quantifier applied.
    Number(u64),
    /// A quoted or multi-line string, decoded.
    String(String),
    LBracket,
    RBracket,
    Comma,
    Semicolon,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Eof,
}

impl Token {
    /// The token as an error message names it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Identifier(name) => format!("the identifier `{name}`"),
            Token::Tag(name) => format!("the tag `:{name}`"),
            Token::Number(_) => "a number".to_owned(),
            Token::String(_) => "a string".to_owned(),
            Token::LBracket => "`[`".to_owned(),
            Token::RBracket => "`]`".to_owned(),
            Token::Comma => "`,`".to_owned(),
            Token::Semicolon => "`;`".to_owned(),
            Token::LBrace => "`{`".to_owned(),
            Token::RBrace => "`}`".to_owned(),
            Token::LParen => "`(`".to_owned(),
            Token::RParen => "`)`".to_owned(),
            Token::Eof => "the end of the script".to_owned(),
        }
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    at: usize,
    line: u32,
    column: u32,
    max_string: usize,
}

/// How a character is named in an error message.
fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str, limits: &Limits) -> Lexer<'a> {
        Lexer {
            src,
            at: 0,
            line: 1,
            column: 1,
            max_string: limits.max_string_len,
        }
    }

    pub(crate) fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.at..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut it = self.src[self.at..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    /// A line end at the cursor: LF or CRLF (consumed, `true`); a CR alone is an error.
    fn line_end(&mut self) -> Result<bool, Error> {
        match self.peek() {
            Some('\n') => {
                self.bump();
                Ok(true)
            }
            Some('\r') => {
                if self.peek_second() == Some('\n') {
                    self.bump();
                    self.bump();
                    Ok(true)
                } else {
                    Err(Error::new(
                        self.position(),
                        "a carriage return not followed by a line feed",
                    ))
                }
            }
            _ => Ok(false),
        }
    }

    /// Skips white space and comments.
    fn skip_blank(&mut self) -> Result<(), Error> {
        loop {
            match self.peek() {
                Some(' ' | '\t') => {
                    self.bump();
                }
                Some('\r' | '\n') => {
                    self.line_end()?;
                }
                Some('#') => self.hash_comment()?,
                Some('/') if self.peek_second() == Some('*') => {
                    let start = self.position();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(Error::new(
                                    start,
                                    "the comment started here is not closed with `*/`",
                                ))
                            }
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some('\0') => return Err(self.nul()),
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// A `#` comment up to and including its line end (or the end of the script).
    fn hash_comment(&mut self) -> Result<(), Error> {
        loop {
            match self.peek() {
                None => return Ok(()),
                Some('\n' | '\r') => {
                    self.line_end()?;
                    return Ok(());
                }
                Some('\0') => return Err(self.nul_here()),
                Some(_) => {
                    self.bump();
                }
            }
        }
    }

    fn nul_here(&self) -> Error {
        Error::new(
            self.position(),
            "a NUL character is not allowed in a script",
        )
    }

    /// A NUL just consumed: the error names where it was.
    fn nul(&self) -> Error {
        let mut p = self.position();
        p.column = p.column.saturating_sub(1).max(1);
        Error::new(p, "a NUL character is not allowed in a script")
    }

    pub(crate) fn next(&mut self) -> Result<(Token, Position), Error> {
        self.skip_blank()?;
        let start = self.position();
        let Some(c) = self.peek() else {
            return Ok((Token::Eof, start));
        };
        let single = match c {
            '[' => Some(Token::LBracket),
            ']' => Some(Token::RBracket),
            ',' => Some(Token::Comma),
            ';' => Some(Token::Semicolon),
            '{' => Some(Token::LBrace),
            '}' => Some(Token::RBrace),
            '(' => Some(Token::LParen),
            ')' => Some(Token::RParen),
            _ => None,
        };
        if let Some(token) = single {
            self.bump();
            return Ok((token, start));
        }
        let token = match c {
            '"' => self.quoted(start)?,
            ':' => {
                self.bump();
                match self.peek() {
                    Some(c) if c.is_ascii_alphabetic() || c == '_' => Token::Tag(self.identifier()),
                    _ => {
                        return Err(Error::new(
                            self.position(),
                            "expected a tag name (a letter or `_`) after `:`",
                        ))
                    }
                }
            }
            '0'..='9' => self.number(start)?,
            c if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.identifier();
                if name == "text" && self.peek() == Some(':') {
                    self.bump();
                    self.multi_line(start)?
                } else {
                    Token::Identifier(name)
                }
            }
            '\0' => return Err(self.nul_here()),
            c => {
                return Err(Error::new(
                    start,
                    format!("unexpected character {}", describe_char(c)),
                ))
            }
        };
        Ok((token, start))
    }

    fn identifier(&mut self) -> String {
        let begin = self.at;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                self.bump();
            } else {
                break;
            }
        }
        self.src[begin..self.at].to_ascii_lowercase()
    }

    /// `number = 1*DIGIT [ QUANTIFIER ]`, `QUANTIFIER = "K" / "M" / "G"` (§2.4.1): the value
    /// must fit in 64 bits after the quantifier is applied.
    fn number(&mut self, start: Position) -> Result<Token, Error> {
        let too_big = || Error::new(start, "the number is too large");
        let mut value: u64 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.bump();
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or_else(too_big)?;
        }
        let shift = match self.peek() {
            Some('K' | 'k') => 10,
            Some('M' | 'm') => 20,
            Some('G' | 'g') => 30,
            _ => 0,
        };
        if shift > 0 {
            self.bump();
            value = value.checked_mul(1u64 << shift).ok_or_else(too_big)?;
        }
        Ok(Token::Number(value))
    }

    fn push_checked(&self, out: &mut String, s: &str, start: Position) -> Result<(), Error> {
        if out.len() + s.len() > self.max_string {
            return Err(Error::limit(
                start,
                format!(
                    "the string starting here is longer than {} bytes",
                    self.max_string
                ),
            ));
        }
        out.push_str(s);
        Ok(())
    }

    /// A quoted string (§2.4.2): a backslash takes the next character as it is, so `\"` and
    /// `\\` give `"` and `\`, and any other escaped character stands for itself. A line end
    /// inside (an escaped one too) is CRLF in the value, whether the script used CRLF or LF.
    fn quoted(&mut self, start: Position) -> Result<Token, Error> {
        let unterminated = || Error::new(start, "the string started here has no closing `\"`");
        self.bump();
        let mut out = String::new();
        loop {
            let c = match self.peek() {
                None => return Err(unterminated()),
                Some('"') => {
                    self.bump();
                    return Ok(Token::String(out));
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        None => return Err(unterminated()),
                        Some('\r' | '\n') => continue,
                        Some(c) => c,
                    }
                }
                Some('\r' | '\n') => {
                    self.line_end()?;
                    self.push_checked(&mut out, "\r\n", start)?;
                    continue;
                }
                Some(c) => c,
            };
            if c == '\0' {
                return Err(self.nul_here());
            }
            self.bump();
            let mut buf = [0u8; 4];
            self.push_checked(&mut out, c.encode_utf8(&mut buf), start)?;
        }
    }

    /// A multi-line string (§2.4.2): after `text:`, blanks and an optional `#` comment up to
    /// the line end, then lines up to one that is `.` alone; a line starting with `.` loses
    /// that dot. Every line of the value ends with CRLF, whether the script used CRLF or LF.
    fn multi_line(&mut self, start: Position) -> Result<Token, Error> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        match self.peek() {
            Some('#') => self.hash_comment()?,
            _ => {
                if !self.line_end()? {
                    return Err(Error::new(
                        self.position(),
                        "expected the end of the line after `text:`",
                    ));
                }
            }
        }
        let mut out = String::new();
        loop {
            if self.peek().is_none() {
                return Err(Error::new(
                    start,
                    "the multi-line string started here has no line with a single `.` ending it",
                ));
            }
            let rest = &self.src[self.at..];
            let len = rest.find(['\r', '\n']).unwrap_or(rest.len());
            let line = &rest[..len];
            if let Some(nul) = line.find('\0') {
                for _ in line[..nul].chars() {
                    self.bump();
                }
                return Err(self.nul_here());
            }
            for _ in line.chars() {
                self.bump();
            }
            let ended = self.line_end()?;
            if line == "." {
                return Ok(Token::String(out));
            }
            let text = line.strip_prefix('.').unwrap_or(line);
            self.push_checked(&mut out, text, start)?;
            self.push_checked(&mut out, "\r\n", start)?;
            if !ended {
                return Err(Error::new(
                    start,
                    "the multi-line string started here has no line with a single `.` ending it",
                ));
            }
        }
    }
}
