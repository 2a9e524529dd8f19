//! One command line to one [`Command`] (RFC 5321 §4.1.1, RFC 2033 §4). Verbs are
//! case-insensitive; spacing is liberal the way Postfix's and Cyrus's is (spaces or tabs between
//! words, a space after `FROM:`/`TO:`, trailing spaces ignored). Control characters other than
//! tab are refused outright: they have no place in a command and NUL in particular would reach
//! logs and C-string consumers.

use crate::address::{path, Cursor};
use crate::auth::{initial_response, sasl_mech};
use crate::command::{Address, Command};
use crate::error::ParseError;
use crate::params::{mail_parameters, number, rcpt_parameters};

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_spaces(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// Parses one command line, given without its line ending.
pub fn parse_command(line: &[u8]) -> Result<Command, ParseError> {
    if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::garbage("control character in command line"));
    }
    let start = line
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(line.len());
    let line = &line[start..];
    let verb_len = line.iter().position(|&b| is_space(b)).unwrap_or(line.len());
    let (verb, args) = line.split_at(verb_len);
    if verb.is_empty() {
        return Err(ParseError::garbage("empty command line"));
    }
    let verb = Verb::from_bytes(verb)?;
    let args = std::str::from_utf8(args)
        .map_err(|_| ParseError::argument_syntax("arguments are not valid UTF-8"))?;
    let args = trim_spaces(args);
    match verb {
        Verb::Lhlo => domain_argument(args, "LHLO").map(|domain| Command::Lhlo { domain }),
        Verb::Helo => domain_argument(args, "HELO").map(|domain| Command::Helo { domain }),
        Verb::Ehlo => domain_argument(args, "EHLO").map(|domain| Command::Ehlo { domain }),
        Verb::Mail => mail(args),
        Verb::Rcpt => rcpt(args),
        Verb::Data => no_argument(args, Command::Data),
        Verb::Bdat => bdat(args),
        Verb::Auth => auth(args),
        Verb::Rset => no_argument(args, Command::Rset),
        Verb::Noop => Ok(Command::Noop),
        Verb::Quit => no_argument(args, Command::Quit),
        Verb::StartTls => no_argument(args, Command::StartTls),
        Verb::Help => Ok(Command::Help),
        Verb::Vrfy if args.is_empty() => Err(ParseError::arguments("Syntax: VRFY address")),
        Verb::Vrfy => Ok(Command::Vrfy {
            arg: args.to_owned(),
        }),
    }
}

/// The verbs LMTP accepts.
enum Verb {
    Lhlo,
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Auth,
    Rset,
    Noop,
    Quit,
    StartTls,
    Help,
    Vrfy,
}

impl Verb {
    fn from_bytes(verb: &[u8]) -> Result<Verb, ParseError> {
        let verb = verb.to_ascii_uppercase();
        Ok(match verb.as_slice() {
            b"LHLO" => Verb::Lhlo,
            b"HELO" => Verb::Helo,
            b"EHLO" => Verb::Ehlo,
            b"MAIL" => Verb::Mail,
            b"RCPT" => Verb::Rcpt,
            b"DATA" => Verb::Data,
            b"BDAT" => Verb::Bdat,
            b"AUTH" => Verb::Auth,
            b"RSET" => Verb::Rset,
            b"NOOP" => Verb::Noop,
            b"QUIT" => Verb::Quit,
            b"STARTTLS" => Verb::StartTls,
            b"HELP" => Verb::Help,
            b"VRFY" => Verb::Vrfy,
            // RFC 5321 §4.2.4: commands we know of but do not offer over LMTP.
            b"EXPN" | b"TURN" | b"ETRN" | b"ATRN" | b"SEND" | b"SOML" | b"SAML" | b"BURL" => {
                return Err(ParseError::not_implemented(&String::from_utf8_lossy(&verb)))
            }
            _ => return Err(ParseError::garbage("command not recognized")),
        })
    }
}

fn no_argument(args: &str, command: Command) -> Result<Command, ParseError> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(ParseError::arguments(format!(
            "Syntax: {} takes no arguments",
            command.verb()
        )))
    }
}

/// RFC 2033 §4.1 `"LHLO" SP Domain`; the rest of the line is taken as sent.
fn domain_argument(args: &str, verb: &str) -> Result<String, ParseError> {
    if args.is_empty() {
        return Err(ParseError::arguments(format!("Syntax: {verb} hostname")));
    }
    Ok(args.to_owned())
}

/// Strips a case-insensitive `FROM:` / `TO:` and the spaces after it.
fn after_keyword<'a>(args: &'a str, keyword: &str) -> Option<&'a str> {
    let head = args.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| args[keyword.len()..].trim_start_matches([' ', '\t']))
}

/// Reads the path and checks it is followed by the end of the line or a space.
fn path_then_params(text: &str) -> Result<(Option<Address>, &str), &'static str> {
    let mut cursor = Cursor::new(text);
    let address = path(&mut cursor)?;
    let rest = cursor.rest();
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err("unexpected characters after the address");
    }
    Ok((address, rest))
}

/// RFC 5321 §4.1.1.2 `"MAIL FROM:" Reverse-path [SP Mail-parameters]`.
fn mail(args: &str) -> Result<Command, ParseError> {
    const SYNTAX: &str = "Syntax: MAIL FROM:<address>";
    let text = after_keyword(args, "FROM:").ok_or_else(|| ParseError::arguments(SYNTAX))?;
    if text.is_empty() {
        return Err(ParseError::arguments(SYNTAX));
    }
    let (reverse_path, rest) = path_then_params(text)
        .map_err(|why| ParseError::sender(format!("bad sender address syntax: {why}")))?;
    Ok(Command::Mail {
        reverse_path,
        params: mail_parameters(rest)?,
    })
}

/// RFC 5321 §4.1.1.3 `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
/// [SP Rcpt-parameters]`.
fn rcpt(args: &str) -> Result<Command, ParseError> {
    const SYNTAX: &str = "Syntax: RCPT TO:<address>";
    let text = after_keyword(args, "TO:").ok_or_else(|| ParseError::arguments(SYNTAX))?;
    if text.is_empty() {
        return Err(ParseError::arguments(SYNTAX));
    }
    let bad = |why: &str| ParseError::recipient(format!("bad recipient address syntax: {why}"));
    let (forward_path, rest) = path_then_params(text).map_err(bad)?;
    let forward_path = forward_path.ok_or_else(|| bad("the null path <> is not a recipient"))?;
    Ok(Command::Rcpt {
        forward_path,
        params: rcpt_parameters(rest)?,
    })
}

/// RFC 3030 §2 `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF`.
fn bdat(args: &str) -> Result<Command, ParseError> {
    const SYNTAX: &str = "Syntax: BDAT size [LAST]";
    let mut words = args.split([' ', '\t']).filter(|w| !w.is_empty());
    let size = words
        .next()
        .and_then(number)
        .ok_or_else(|| ParseError::arguments(SYNTAX))?;
    let last = match words.next() {
        None => false,
        Some(marker) if marker.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(ParseError::arguments(SYNTAX)),
    };
    if words.next().is_some() {
        return Err(ParseError::arguments(SYNTAX));
    }
    Ok(Command::Bdat { size, last })
}

/// RFC 4954 §4 `"AUTH" SP sasl-mech [SP initial-response]`.
fn auth(args: &str) -> Result<Command, ParseError> {
    const SYNTAX: &str = "Syntax: AUTH mechanism [initial-response]";
    let mut words = args.split([' ', '\t']).filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .and_then(sasl_mech)
        .ok_or_else(|| ParseError::arguments(SYNTAX))?;
    let initial = words.next().map(initial_response).transpose()?;
    if words.next().is_some() {
        return Err(ParseError::arguments(SYNTAX));
    }
    Ok(Command::Auth { mechanism, initial })
}
