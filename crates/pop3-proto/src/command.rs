//! POP3 commands (RFC 1939 §§4–7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): a keyword of
//! three or four letters in any case, then arguments separated by single spaces.

use base64::Engine as _;
use types::Secret;

/// Client data of a SASL exchange, decoded from base64. It may carry a password, so it is a
/// [`Secret`], whose `Debug` never shows it.
pub type SaslData = Secret<Vec<u8>>;

/// A parsed command. Message numbers are 1-based as the client sends them (never 0).
#[derive(Debug)]
pub enum Command {
    User {
        name: String,
    },
    /// The rest of the line after `PASS ` (a password may hold spaces).
    Pass {
        password: Secret<String>,
    },
    /// `APOP name digest`: the digest as 32 lower-case hex digits.
    Apop {
        name: String,
        digest: String,
    },
    /// `AUTH` alone asks for the mechanisms; `AUTH mech [initial]` starts an exchange, whose
    /// initial response `=` is the empty one (RFC 5034 §4).
    Auth {
        mechanism: Option<String>,
        initial: Option<SaslData>,
    },
    Capa,
    Stls,
    Stat,
    List {
        msg: Option<u32>,
    },
    Uidl {
        msg: Option<u32>,
    },
    Retr {
        msg: u32,
    },
    Top {
        msg: u32,
        lines: u32,
    },
    Dele {
        msg: u32,
    },
    Noop,
    Rset,
    Quit,
}

impl Command {
    /// The keyword, upper-case, for logs.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::User { .. } => "USER",
            Command::Pass { .. } => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } => "AUTH",
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Stat => "STAT",
            Command::List { .. } => "LIST",
            Command::Uidl { .. } => "UIDL",
            Command::Retr { .. } => "RETR",
            Command::Top { .. } => "TOP",
            Command::Dele { .. } => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
        }
    }

    /// The command as a client sends it, without the line end (`parse_command` gives it back).
    pub fn encode(&self) -> Vec<u8> {
        let k = self.keyword();
        let text = match self {
            Command::User { name } => format!("{k} {name}"),
            Command::Pass { password } => format!("{k} {}", password.expose()),
            Command::Apop { name, digest } => format!("{k} {name} {digest}"),
            Command::Auth { mechanism, initial } => {
                let mut s = k.to_string();
                if let Some(m) = mechanism {
                    s.push(' ');
                    s.push_str(m);
                }
                if let Some(data) = initial {
                    s.push(' ');
                    if data.expose().is_empty() {
                        s.push('=');
                    } else {
                        s.push_str(
                            &base64::engine::general_purpose::STANDARD.encode(data.expose()),
                        );
                    }
                }
                s
            }
            Command::List { msg: Some(n) } | Command::Uidl { msg: Some(n) } => format!("{k} {n}"),
            Command::Retr { msg } | Command::Dele { msg } => format!("{k} {msg}"),
            Command::Top { msg, lines } => format!("{k} {msg} {lines}"),
            _ => k.to_string(),
        };
        text.into_bytes()
    }
}

/// Why a line is not a command; [`ParseError::text`] is what `-ERR` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Unknown,
    /// A known keyword with missing, extra or malformed arguments.
    Syntax(&'static str),
}

impl ParseError {
    pub fn text(&self) -> &'static str {
        match self {
            ParseError::Unknown => "Unknown command",
            ParseError::Syntax(why) => why,
        }
    }
}

/// RFC 1939 §3: each argument may be up to 40 characters long.
const MAX_ARGUMENT: usize = 40;

/// Parses one command line (without its line end).
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("Not UTF-8"))?;
    let (keyword, rest) = match line.split_once(' ') {
        Some((k, r)) => (k, Some(r)),
        None => (line, None),
    };
    if !(3..=4).contains(&keyword.len()) || !keyword.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ParseError::Unknown);
    }
    let keyword = keyword.to_ascii_uppercase();
    if keyword == "PASS" {
        // The password is the rest of the line, spaces and all (RFC 1939 leaves servers this).
        return match rest {
            Some(p) if !p.is_empty() && !p.bytes().any(|b| b.is_ascii_control()) => {
                Ok(Command::Pass {
                    password: Secret::new(p.to_string()),
                })
            }
            _ => Err(ParseError::Syntax("PASS needs a password")),
        };
    }
    let args: Vec<&str> = match rest {
        None => Vec::new(),
        Some(r) => r.split(' ').collect(),
    };
    if args
        .iter()
        .any(|a| a.is_empty() || a.bytes().any(|b| b.is_ascii_control()))
    {
        return Err(ParseError::Syntax(
            "Arguments are separated by single spaces",
        ));
    }
    let none = |c: Command| {
        if args.is_empty() {
            Ok(c)
        } else {
            Err(ParseError::Syntax("This command takes no arguments"))
        }
    };
    match keyword.as_str() {
        "USER" => match args.as_slice() {
            [name] if name.len() <= MAX_ARGUMENT => Ok(Command::User {
                name: name.to_string(),
            }),
            _ => Err(ParseError::Syntax("USER needs one name")),
        },
        "APOP" => match args.as_slice() {
            [name, digest]
                if name.len() <= MAX_ARGUMENT
                    && digest.len() == 32
                    && digest.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Ok(Command::Apop {
                    name: name.to_string(),
                    digest: digest.to_ascii_lowercase(),
                })
            }
            _ => Err(ParseError::Syntax("APOP needs a name and an MD5 digest")),
        },
        "AUTH" => parse_auth(&args),
        "CAPA" => none(Command::Capa),
        "STLS" => none(Command::Stls),
        "STAT" => none(Command::Stat),
        "NOOP" => none(Command::Noop),
        "RSET" => none(Command::Rset),
        "QUIT" => none(Command::Quit),
        "LIST" | "UIDL" => {
            let msg = match args.as_slice() {
                [] => None,
                [n] => Some(message_number(n)?),
                _ => return Err(ParseError::Syntax("One message number at most")),
            };
            Ok(if keyword == "LIST" {
                Command::List { msg }
            } else {
                Command::Uidl { msg }
            })
        }
        "RETR" | "DELE" => match args.as_slice() {
            [n] => {
                let msg = message_number(n)?;
                Ok(if keyword == "RETR" {
                    Command::Retr { msg }
                } else {
                    Command::Dele { msg }
                })
            }
            _ => Err(ParseError::Syntax("A message number is needed")),
        },
        "TOP" => match args.as_slice() {
            [n, lines] => Ok(Command::Top {
                msg: message_number(n)?,
                lines: number(lines).ok_or(ParseError::Syntax("Bad number of lines"))?,
            }),
            _ => Err(ParseError::Syntax(
                "TOP needs a message number and a line count",
            )),
        },
        _ => Err(ParseError::Unknown),
    }
}

fn parse_auth(args: &[&str]) -> Result<Command, ParseError> {
    let mechanism_ok = |m: &str| {
        (1..=20).contains(&m.len())
            && m.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    match args {
        [] => Ok(Command::Auth {
            mechanism: None,
            initial: None,
        }),
        [mech, rest @ ..] if rest.len() <= 1 => {
            let mech = mech.to_ascii_uppercase();
            if !mechanism_ok(&mech) {
                return Err(ParseError::Syntax("Not a SASL mechanism name"));
            }
            let initial = match rest.first() {
                None => None,
                // RFC 5034 §4: an empty initial response is sent as `=`, never as nothing.
                Some(&"") => return Err(ParseError::Syntax("Bad base64 in the initial response")),
                Some(data) => match parse_auth_response(data.as_bytes()) {
                    AuthResponse::Data(d) => Some(d),
                    _ => return Err(ParseError::Syntax("Bad base64 in the initial response")),
                },
            };
            Ok(Command::Auth {
                mechanism: Some(mech),
                initial,
            })
        }
        _ => Err(ParseError::Syntax(
            "AUTH takes a mechanism and an initial response",
        )),
    }
}

/// A client's line during a SASL exchange (RFC 5034 §4).
#[derive(Debug, PartialEq, Eq)]
pub enum AuthResponse {
    Data(SaslData),
    /// `*`: the client cancels.
    Cancel,
    /// Not base64.
    Bad,
}

/// Decodes one response line of a SASL exchange: base64 (an empty line is the empty
/// response, which is how clients such as Cyrus SASL's answer a challenge that wants nothing),
/// `=` for empty too, or `*`.
pub fn parse_auth_response(line: &[u8]) -> AuthResponse {
    match line {
        b"*" => AuthResponse::Cancel,
        b"=" | b"" => AuthResponse::Data(SaslData::new(Vec::new())),
        _ => match base64::engine::general_purpose::STANDARD.decode(line) {
            Ok(bytes) => AuthResponse::Data(SaslData::new(bytes)),
            Err(_) => AuthResponse::Bad,
        },
    }
}

/// A decimal number without sign or leading `+`, within u32.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn message_number(s: &str) -> Result<u32, ParseError> {
    match number(s) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(ParseError::Syntax("Bad message number")),
    }
}
