//! ManageSieve commands (RFC 5804 §2): a keyword in any case, then arguments separated by
//! single spaces, each a string (quoted or literal, §4) or a number.

use base64::Engine as _;
use types::Secret;

use crate::framer::literal_header;
use crate::string::{write_client_string, ScriptName, ScriptNameError, MAX_QUOTED_CHARS};

/// Client data of a SASL exchange, decoded from base64. It may carry a password, so it is a
/// [`Secret`], whose `Debug` never shows it.
pub type SaslData = Secret<Vec<u8>>;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// §2.1 `AUTHENTICATE mech [initial-response]`; an empty string is the empty response.
    Authenticate {
        mechanism: String,
        initial: Option<SaslData>,
    },
    /// §2.2.
    StartTls,
    /// §2.3.
    Logout,
    /// §2.4.
    Capability,
    /// §2.5 `HAVESPACE name size`.
    HaveSpace { name: ScriptName, size: u64 },
    /// §2.6 `PUTSCRIPT name script`.
    PutScript { name: ScriptName, script: Vec<u8> },
    /// §2.7.
    ListScripts,
    /// §2.8 `SETACTIVE name`; the empty name (`None`) deactivates every script.
    SetActive { name: Option<ScriptName> },
    /// §2.9.
    GetScript { name: ScriptName },
    /// §2.10.
    DeleteScript { name: ScriptName },
    /// §2.11 `RENAMESCRIPT old new`.
    RenameScript { old: ScriptName, new: ScriptName },
    /// §2.12 `CHECKSCRIPT script`.
    CheckScript { script: Vec<u8> },
    /// §2.13 `NOOP [tag]`: the tag comes back in the `TAG` response code.
    Noop { tag: Option<Vec<u8>> },
    /// §2.14.
    Unauthenticate,
}

impl Command {
    /// The keyword, upper-case, for logs.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::StartTls => "STARTTLS",
            Command::Logout => "LOGOUT",
            Command::Capability => "CAPABILITY",
            Command::HaveSpace { .. } => "HAVESPACE",
            Command::PutScript { .. } => "PUTSCRIPT",
            Command::ListScripts => "LISTSCRIPTS",
            Command::SetActive { .. } => "SETACTIVE",
            Command::GetScript { .. } => "GETSCRIPT",
            Command::DeleteScript { .. } => "DELETESCRIPT",
            Command::RenameScript { .. } => "RENAMESCRIPT",
            Command::CheckScript { .. } => "CHECKSCRIPT",
            Command::Noop { .. } => "NOOP",
            Command::Unauthenticate => "UNAUTHENTICATE",
        }
    }

    /// The command as a client sends it, without the final line end (what the framer hands to
    /// [`parse_command`], which gives it back).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.keyword().as_bytes().to_vec();
        let mut arg = |s: &[u8]| {
            out.push(b' ');
            write_client_string(&mut out, s);
        };
        match self {
            Command::Authenticate { mechanism, initial } => {
                arg(mechanism.as_bytes());
                if let Some(data) = initial {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(data.expose());
                    arg(b64.as_bytes());
                }
            }
            Command::HaveSpace { name, size } => {
                arg(name.as_str().as_bytes());
                out.extend_from_slice(format!(" {size}").as_bytes());
            }
            Command::PutScript { name, script } => {
                arg(name.as_str().as_bytes());
                arg(script);
            }
            Command::SetActive { name } => {
                arg(name.as_ref().map_or(&b""[..], |n| n.as_str().as_bytes()))
            }
            Command::GetScript { name } | Command::DeleteScript { name } => {
                arg(name.as_str().as_bytes())
            }
            Command::RenameScript { old, new } => {
                arg(old.as_str().as_bytes());
                arg(new.as_str().as_bytes());
            }
            Command::CheckScript { script } => arg(script),
            Command::Noop { tag: Some(tag) } => arg(tag),
            Command::Noop { tag: None }
            | Command::StartTls
            | Command::Logout
            | Command::Capability
            | Command::ListScripts
            | Command::Unauthenticate => {}
        }
        out
    }
}

/// Why a frame is not a command; [`ParseError::text`] is what `NO` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Unknown,
    /// A known keyword with missing, extra or malformed arguments.
    Syntax(&'static str),
    BadScriptName(ScriptNameError),
}

impl ParseError {
    pub fn text(&self) -> &'static str {
        match self {
            ParseError::Unknown => "Unrecognized command",
            ParseError::Syntax(why) => why,
            ParseError::BadScriptName(e) => e.text(),
        }
    }
}

/// RFC 5804 §4: the largest `number`.
pub const MAX_NUMBER: u64 = 1 << 32;

/// One argument as sent.
#[derive(Debug, PartialEq, Eq)]
enum Arg {
    String(Vec<u8>),
    Number(u64),
}

/// A cursor over a frame.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn eat(&mut self, b: u8) -> bool {
        if self.rest.first() == Some(&b) {
            self.rest = &self.rest[1..];
            true
        } else {
            false
        }
    }

    /// `quoted = DQUOTE *1024QUOTED-CHAR DQUOTE`, `QUOTED-CHAR = SAFE-UTF8-CHAR / "\" QUOTED-SPECIALS`.
    fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let Some(&b) = self.rest.get(i) else {
                return Err(ParseError::Syntax("Unterminated quoted string"));
            };
            i += 1;
            match b {
                b'"' => break,
                b'\\' => match self.rest.get(i) {
                    Some(&c @ (b'"' | b'\\')) => {
                        out.push(c);
                        i += 1;
                    }
                    _ => return Err(ParseError::Syntax("Bad escape in quoted string")),
                },
                0 | b'\r' | b'\n' => {
                    return Err(ParseError::Syntax("Forbidden character in quoted string"))
                }
                _ => out.push(b),
            }
        }
        self.rest = &self.rest[i..];
        let text = std::str::from_utf8(&out)
            .map_err(|_| ParseError::Syntax("Quoted string is not UTF-8"))?;
        if text.chars().count() > MAX_QUOTED_CHARS {
            return Err(ParseError::Syntax("Quoted string too long"));
        }
        Ok(out)
    }

    /// A literal `{n+}` CRLF octets (or `{n}`, see the framer), at the cursor.
    fn literal(&mut self) -> Result<Vec<u8>, ParseError> {
        let bad = ParseError::Syntax("Bad literal");
        let lf = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(bad.clone())?;
        let header = &self.rest[..lf];
        let header = header.strip_suffix(b"\r").unwrap_or(header);
        if literal_header(header).is_none() || header.iter().skip(1).any(|&b| b == b'{') {
            return Err(bad);
        }
        let size = literal_header(header).ok_or(bad.clone())?;
        let size = usize::try_from(size).map_err(|_| bad.clone())?;
        let body = &self.rest[lf + 1..];
        if body.len() < size {
            return Err(bad);
        }
        self.rest = &body[size..];
        Ok(body[..size].to_vec())
    }

    fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.rest.first() {
            Some(b'"') => {
                self.rest = &self.rest[1..];
                self.quoted()
            }
            Some(b'{') => self.literal(),
            _ => Err(ParseError::Syntax("Expected a string")),
        }
    }

    /// `number = 1*DIGIT`, 0 to 4294967296 (RFC 5804 §4).
    fn number(&mut self) -> Result<u64, ParseError> {
        let n = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = std::str::from_utf8(&self.rest[..n]).unwrap_or("");
        let value = digits
            .parse()
            .ok()
            .filter(|&v: &u64| v <= MAX_NUMBER)
            .ok_or(ParseError::Syntax("Expected a number up to 4294967296"))?;
        self.rest = &self.rest[n..];
        Ok(value)
    }

    fn args(&mut self) -> Result<Vec<Arg>, ParseError> {
        let mut args = Vec::new();
        while !self.rest.is_empty() {
            if !self.eat(b' ') {
                return Err(ParseError::Syntax(
                    "Arguments are separated by single spaces",
                ));
            }
            let arg = match self.rest.first() {
                Some(b) if b.is_ascii_digit() => Arg::Number(self.number()?),
                _ => Arg::String(self.string()?),
            };
            args.push(arg);
            // A command has at most two arguments; more is a syntax error, found below.
            if args.len() > 3 {
                return Err(ParseError::Syntax("Too many arguments"));
            }
        }
        Ok(args)
    }
}

/// Parses one command frame (what [`crate::CommandFramer`] gives).
pub fn parse_command(frame: &[u8]) -> Result<Command, ParseError> {
    let k = frame.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if k == 0 || k > "UNAUTHENTICATE".len() {
        return Err(ParseError::Unknown);
    }
    let keyword = String::from_utf8_lossy(&frame[..k]).to_ascii_uppercase();
    let mut input = Input { rest: &frame[k..] };
    if !input.rest.is_empty() && input.rest[0] != b' ' {
        return Err(ParseError::Unknown);
    }
    let args = input.args()?;
    build(&keyword, args)
}

fn name(bytes: &[u8]) -> Result<ScriptName, ParseError> {
    ScriptName::try_from(bytes).map_err(ParseError::BadScriptName)
}

fn build(keyword: &str, args: Vec<Arg>) -> Result<Command, ParseError> {
    use Arg::{Number, String as S};
    let none = |c: Command| {
        if args.is_empty() {
            Ok(c)
        } else {
            Err(ParseError::Syntax("This command takes no arguments"))
        }
    };
    match keyword {
        "AUTHENTICATE" => authenticate(&args),
        "STARTTLS" => none(Command::StartTls),
        "LOGOUT" => none(Command::Logout),
        "CAPABILITY" => none(Command::Capability),
        "LISTSCRIPTS" => none(Command::ListScripts),
        "UNAUTHENTICATE" => none(Command::Unauthenticate),
        "HAVESPACE" => match args.as_slice() {
            [S(n), Number(size)] => Ok(Command::HaveSpace {
                name: name(n)?,
                size: *size,
            }),
            _ => Err(ParseError::Syntax(
                "HAVESPACE needs a script name and a size",
            )),
        },
        "PUTSCRIPT" => match args.as_slice() {
            [S(n), S(script)] => Ok(Command::PutScript {
                name: name(n)?,
                script: script.clone(),
            }),
            _ => Err(ParseError::Syntax(
                "PUTSCRIPT needs a script name and a script",
            )),
        },
        "SETACTIVE" => match args.as_slice() {
            [S(n)] if n.is_empty() => Ok(Command::SetActive { name: None }),
            [S(n)] => Ok(Command::SetActive {
                name: Some(name(n)?),
            }),
            _ => Err(ParseError::Syntax("SETACTIVE needs a script name")),
        },
        "GETSCRIPT" | "DELETESCRIPT" => match args.as_slice() {
            [S(n)] if keyword == "GETSCRIPT" => Ok(Command::GetScript { name: name(n)? }),
            [S(n)] => Ok(Command::DeleteScript { name: name(n)? }),
            _ => Err(ParseError::Syntax("This command needs a script name")),
        },
        "RENAMESCRIPT" => match args.as_slice() {
            [S(old), S(new)] => Ok(Command::RenameScript {
                old: name(old)?,
                new: name(new)?,
            }),
            _ => Err(ParseError::Syntax("RENAMESCRIPT needs two script names")),
        },
        "CHECKSCRIPT" => match args.as_slice() {
            [S(script)] => Ok(Command::CheckScript {
                script: script.clone(),
            }),
            _ => Err(ParseError::Syntax("CHECKSCRIPT needs a script")),
        },
        "NOOP" => match args.as_slice() {
            [] => Ok(Command::Noop { tag: None }),
            [S(tag)] => Ok(Command::Noop {
                tag: Some(tag.clone()),
            }),
            _ => Err(ParseError::Syntax("NOOP takes at most one string")),
        },
        _ => Err(ParseError::Unknown),
    }
}

fn authenticate(args: &[Arg]) -> Result<Command, ParseError> {
    let (mechanism, initial) = match args {
        [Arg::String(m)] => (m, None),
        [Arg::String(m), Arg::String(i)] => (m, Some(i)),
        _ => {
            return Err(ParseError::Syntax(
                "AUTHENTICATE needs a mechanism and an optional initial response",
            ))
        }
    };
    // RFC 4422 §3.1: a mechanism name is 1 to 20 of A-Z, 0-9, '-' and '_'.
    let valid = (1..=20).contains(&mechanism.len())
        && mechanism
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if !valid {
        return Err(ParseError::Syntax("Bad SASL mechanism name"));
    }
    let initial = match initial {
        None => None,
        Some(b64) => Some(decode_base64(b64).ok_or(ParseError::Syntax("Bad base64"))?),
    };
    Ok(Command::Authenticate {
        mechanism: String::from_utf8_lossy(mechanism).to_ascii_uppercase(),
        initial,
    })
}

fn decode_base64(b64: &[u8]) -> Option<SaslData> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .map(Secret::new)
}

/// A client's line during an AUTHENTICATE exchange (§2.1): a string holding base64, or the
/// string `*` to cancel.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthResponse {
    Data(SaslData),
    Cancel,
    Bad,
}

/// Parses a client's SASL response frame.
pub fn parse_auth_response(frame: &[u8]) -> AuthResponse {
    let mut input = Input { rest: frame };
    let Ok(s) = input.string() else {
        return AuthResponse::Bad;
    };
    if !input.rest.is_empty() {
        return AuthResponse::Bad;
    }
    if s == b"*" {
        return AuthResponse::Cancel;
    }
    decode_base64(&s).map_or(AuthResponse::Bad, AuthResponse::Data)
}
