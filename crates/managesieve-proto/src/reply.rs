//! The client's side of the wire: reading what a server sends (RFC 5804 §1.2, §4) — `OK`, `NO`
//! and `BYE` responses with their codes, and the data lines before them (capabilities,
//! LISTSCRIPTS lines, GETSCRIPT's literal, SASL challenges) — one line at a time out of a byte
//! buffer, within bounds, without I/O.

use base64::Engine as _;

use crate::response::{RespCode, Response, Status};

/// The bounds a client reads a server's output within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// The longest line outside literals, line end included.
    pub max_line: usize,
    /// The largest literal (a script from GETSCRIPT, a long text).
    pub max_literal: u64,
    /// The most strings and atoms on one line.
    pub max_items: usize,
}

impl Default for ReplyLimits {
    /// 8 KiB lines, 1 MiB literals, 256 items a line: far above what any server sends for a
    /// script within Cyrus's default `sieve_maxscriptsize` (32 KB).
    fn default() -> ReplyLimits {
        ReplyLimits {
            max_line: 8 * 1024,
            max_literal: 1024 * 1024,
            max_items: 256,
        }
    }
}

/// One item of a data line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A quoted string (unescaped) or a literal's octets.
    String(Vec<u8>),
    /// Anything else between spaces: `ACTIVE`, a number.
    Atom(Vec<u8>),
}

/// One line of server output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `OK`, `NO` or `BYE`: the end of a command's answer (or of the greeting). A response code
    /// this codec does not know is read as none.
    Response(Response),
    /// Any other line, as its items in order: a capability (`"SIEVE" "fileinto …"`), a
    /// LISTSCRIPTS line (`"name" ACTIVE`), GETSCRIPT's literal, a SASL challenge.
    Data(Vec<Item>),
}

/// Why the server's output cannot be read; the connection is out of step after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// A line (outside literals) is longer than [`ReplyLimits::max_line`].
    LineTooLong,
    /// An announced literal (its size, saturated) is over [`ReplyLimits::max_literal`].
    LiteralTooLarge(u64),
    /// More items on a line than [`ReplyLimits::max_items`].
    TooManyItems,
    /// The line breaks the grammar; the text says how.
    Syntax(&'static str),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::LineTooLong => f.write_str("server line too long"),
            ReplyError::LiteralTooLarge(n) => write!(f, "server literal of {n} octets too large"),
            ReplyError::TooManyItems => f.write_str("too many items on a server line"),
            ReplyError::Syntax(why) => write!(f, "server line: {why}"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Reads the first whole line of `input`: `Ok(None)` when more bytes are needed, else the line
/// and how many bytes of `input` it took. A bare LF ends a line as CRLF does.
pub fn read_server_line(
    input: &[u8],
    limits: &ReplyLimits,
) -> Result<Option<(ServerLine, usize)>, ReplyError> {
    let mut lexer = Lexer {
        input,
        pos: 0,
        line_bytes: 0,
        limits,
    };
    let tokens = match lexer.line() {
        Ok(tokens) => tokens,
        Err(Stop::Incomplete) => return Ok(None),
        Err(Stop::Error(e)) => return Err(e),
    };
    Ok(Some((interpret(tokens)?, lexer.pos)))
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Str(Vec<u8>),
    Atom(Vec<u8>),
    Open,
    Close,
}

enum Stop {
    Incomplete,
    Error(ReplyError),
}

impl From<ReplyError> for Stop {
    fn from(e: ReplyError) -> Stop {
        Stop::Error(e)
    }
}

struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    /// Bytes of the line read so far, literal octets excluded.
    line_bytes: usize,
    limits: &'a ReplyLimits,
}

impl Lexer<'_> {
    /// The next byte of the line (counted against the line bound), or `Incomplete`.
    fn next(&mut self) -> Result<u8, Stop> {
        let b = *self.input.get(self.pos).ok_or(Stop::Incomplete)?;
        self.pos += 1;
        self.line_bytes += 1;
        if self.line_bytes > self.limits.max_line {
            return Err(ReplyError::LineTooLong.into());
        }
        Ok(b)
    }

    fn peek(&self) -> Result<u8, Stop> {
        self.input.get(self.pos).copied().ok_or(Stop::Incomplete)
    }

    fn line(&mut self) -> Result<Vec<Token>, Stop> {
        let mut tokens = Vec::new();
        loop {
            let token = match self.peek()? {
                b'\n' => {
                    self.next()?;
                    return Ok(tokens);
                }
                b'\r' => {
                    self.next()?;
                    if self.next()? != b'\n' {
                        return Err(ReplyError::Syntax("CR without LF").into());
                    }
                    return Ok(tokens);
                }
                b' ' => {
                    self.next()?;
                    continue;
                }
                b'(' => {
                    self.next()?;
                    Token::Open
                }
                b')' => {
                    self.next()?;
                    Token::Close
                }
                b'"' => Token::Str(self.quoted()?),
                b'{' => Token::Str(self.literal()?),
                _ => Token::Atom(self.atom()?),
            };
            if tokens.len() >= self.limits.max_items {
                return Err(ReplyError::TooManyItems.into());
            }
            tokens.push(token);
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, Stop> {
        self.next()?; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => out.push(self.next()?),
                b'\r' | b'\n' => {
                    return Err(ReplyError::Syntax("line end in a quoted string").into())
                }
                b => out.push(b),
            }
        }
    }

    /// `{n}` or `{n+}`, CRLF, n octets (not counted against the line bound).
    fn literal(&mut self) -> Result<Vec<u8>, Stop> {
        self.next()?; // `{`
        let mut size: u64 = 0;
        let mut digits = 0;
        loop {
            match self.next()? {
                d @ b'0'..=b'9' => {
                    size = size.saturating_mul(10).saturating_add(u64::from(d - b'0'));
                    digits += 1;
                }
                b'+' if digits > 0 => {
                    if self.next()? != b'}' {
                        return Err(ReplyError::Syntax("bad literal header").into());
                    }
                    break;
                }
                b'}' if digits > 0 => break,
                _ => return Err(ReplyError::Syntax("bad literal header").into()),
            }
        }
        if size > self.limits.max_literal {
            return Err(ReplyError::LiteralTooLarge(size).into());
        }
        match self.next()? {
            b'\n' => {}
            b'\r' if self.next()? == b'\n' => {}
            _ => return Err(ReplyError::Syntax("literal header not followed by CRLF").into()),
        }
        // Within max_literal, which is a usize-sized bound on any machine this runs on.
        let len = usize::try_from(size).map_err(|_| ReplyError::LiteralTooLarge(size))?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(ReplyError::LiteralTooLarge(size))?;
        let octets = self.input.get(self.pos..end).ok_or(Stop::Incomplete)?;
        self.pos = end;
        Ok(octets.to_vec())
    }

    fn atom(&mut self) -> Result<Vec<u8>, Stop> {
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b' ' | b'(' | b')' | b'"' | b'{' | b'\r' | b'\n' => return Ok(out),
                _ => out.push(self.next()?),
            }
        }
    }
}

fn interpret(tokens: Vec<Token>) -> Result<ServerLine, ReplyError> {
    let status = match tokens.first() {
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case(b"OK") => Some(Status::Ok),
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case(b"NO") => Some(Status::No),
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case(b"BYE") => Some(Status::Bye),
        _ => None,
    };
    let mut rest = tokens.into_iter();
    let Some(status) = status else {
        return rest
            .map(|t| match t {
                Token::Str(s) => Ok(Item::String(s)),
                Token::Atom(a) => Ok(Item::Atom(a)),
                Token::Open | Token::Close => Err(ReplyError::Syntax("parenthesis in a data line")),
            })
            .collect::<Result<_, _>>()
            .map(ServerLine::Data);
    };
    rest.next(); // the status
    let mut code = None;
    let mut next = rest.next();
    if next == Some(Token::Open) {
        let Some(Token::Atom(name)) = rest.next() else {
            return Err(ReplyError::Syntax("response code without a name"));
        };
        let mut args = Vec::new();
        loop {
            match rest.next() {
                Some(Token::Close) => break,
                Some(Token::Str(s)) => args.push(s),
                Some(Token::Atom(a)) => args.push(a),
                Some(Token::Open) | None => {
                    return Err(ReplyError::Syntax("response code not closed"))
                }
            }
        }
        code = resp_code(&name, args);
        next = rest.next();
    }
    let text = match next {
        None => None,
        Some(Token::Str(s)) => Some(String::from_utf8_lossy(&s).into_owned()),
        Some(_) => return Err(ReplyError::Syntax("response text is not a string")),
    };
    if rest.next().is_some() {
        return Err(ReplyError::Syntax("more after the response text"));
    }
    Ok(ServerLine::Response(Response { status, code, text }))
}

/// The code named `name` (RFC 5804 §1.3), or `None` for one this codec does not know or whose
/// argument is missing.
fn resp_code(name: &[u8], args: Vec<Vec<u8>>) -> Option<RespCode> {
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let first = args.into_iter().next();
    Some(match name.as_str() {
        "AUTH-TOO-WEAK" => RespCode::AuthTooWeak,
        "ENCRYPT-NEEDED" => RespCode::EncryptNeeded,
        "QUOTA" => RespCode::Quota,
        "QUOTA/MAXSCRIPTS" => RespCode::QuotaMaxScripts,
        "QUOTA/MAXSIZE" => RespCode::QuotaMaxSize,
        "REFERRAL" => RespCode::Referral(String::from_utf8_lossy(&first?).into_owned()),
        "SASL" => RespCode::Sasl(
            base64::engine::general_purpose::STANDARD
                .decode(first?)
                .ok()?,
        ),
        "TRANSITION-NEEDED" => RespCode::TransitionNeeded,
        "TRYLATER" => RespCode::TryLater,
        "ACTIVE" => RespCode::Active,
        "NONEXISTENT" => RespCode::NonExistent,
        "ALREADYEXISTS" => RespCode::AlreadyExists,
        "TAG" => RespCode::Tag(first?),
        "WARNINGS" => RespCode::Warnings,
        _ => return None,
    })
}
