//! The client's commands (RFC 3656): their tags, parsing a framed command, and writing one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use types::Secret;

use crate::string::{atom_char, write_string, Cursor, ParseError};

/// The longest tag taken.
const MAX_TAG: usize = 64;

/// A command's tag (an atom, as in IMAP): 1 to 64 visible ASCII characters, none of them one
/// that opens a string or list, `*` or `+` (which start untagged and continuation lines).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

/// Why a tag was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a tag is 1 to 64 atom characters, without * and +")]
pub struct TagError;

impl TryFrom<&str> for Tag {
    type Error = TagError;

    fn try_from(s: &str) -> Result<Tag, TagError> {
        Tag::from_bytes(s.as_bytes()).ok_or(TagError)
    }
}

impl Tag {
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Tag> {
        let valid = !b.is_empty()
            && b.len() <= MAX_TAG
            && b.iter().all(|&c| atom_char(c) && c != b'*' && c != b'+');
        // Every byte is ASCII, so this is UTF-8.
        valid.then(|| Tag(String::from_utf8_lossy(b).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One command: its tag and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tag: Tag,
    pub body: CommandBody,
}

/// What a command asks. Names, locations (`SERVER!PARTITION`) and ACLs (Cyrus's stored form,
/// `identifier TAB rights TAB …`) are bytes: the master keeps what it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// `AUTHENTICATE mechanism [initial-response]`; the initial response decoded from
    /// its base64.
    Authenticate {
        mechanism: String,
        initial: Option<Secret<Vec<u8>>>,
    },
    /// `ACTIVATE name location acl`: the mailbox exists at `location`.
    Activate {
        name: Vec<u8>,
        location: Vec<u8>,
        acl: Vec<u8>,
    },
    /// `DEACTIVATE name location`: an active entry goes back to reserved while the mailbox
    /// moves (Cyrus's XFER). Cyrus's mupdate has it; RFC 3656 does not.
    Deactivate { name: Vec<u8>, location: Vec<u8> },
    /// `DELETE name`.
    Delete { name: Vec<u8> },
    /// `FIND name`: the master answers its `MAILBOX` or `RESERVE` for the name, if any.
    Find { name: Vec<u8> },
    /// `LIST [prefix]`: every entry, or those whose location starts with `prefix`.
    List { prefix: Option<Vec<u8>> },
    /// `LOGOUT`.
    Logout,
    /// `NOOP`.
    Noop,
    /// `RESERVE name location`: the name is about to be created at `location`; refused
    /// when the master holds it at another location.
    Reserve { name: Vec<u8>, location: Vec<u8> },
    /// `STARTTLS`.
    Starttls,
    /// `UPDATE [name …]`: the whole list (or, with the `PARTIAL-UPDATE` capability,
    /// those names) and then every change, streamed.
    Update { names: Vec<Vec<u8>> },
}

impl CommandBody {
    /// The command's name as written.
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Activate { .. } => "ACTIVATE",
            CommandBody::Deactivate { .. } => "DEACTIVATE",
            CommandBody::Delete { .. } => "DELETE",
            CommandBody::Find { .. } => "FIND",
            CommandBody::List { .. } => "LIST",
            CommandBody::Logout => "LOGOUT",
            CommandBody::Noop => "NOOP",
            CommandBody::Reserve { .. } => "RESERVE",
            CommandBody::Starttls => "STARTTLS",
            CommandBody::Update { .. } => "UPDATE",
        }
    }
}

impl Command {
    pub fn new(tag: Tag, body: CommandBody) -> Command {
        Command { tag, body }
    }

    /// The command as sent, line end included. Every argument is a string (Cyrus refuses
    /// atoms), quoted or, when it cannot be, a `{n+}` literal.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.tag.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.body.name().as_bytes());
        let mut arg = |s: &[u8]| {
            out.push(b' ');
            write_string(&mut out, s);
        };
        match &self.body {
            CommandBody::Authenticate { mechanism, initial } => {
                arg(mechanism.as_bytes());
                if let Some(initial) = initial {
                    arg(BASE64.encode(initial.expose()).as_bytes());
                }
            }
            CommandBody::Activate {
                name,
                location,
                acl,
            } => {
                arg(name);
                arg(location);
                arg(acl);
            }
            CommandBody::Deactivate { name, location }
            | CommandBody::Reserve { name, location } => {
                arg(name);
                arg(location);
            }
            CommandBody::Delete { name } | CommandBody::Find { name } => arg(name),
            CommandBody::List { prefix } => {
                if let Some(prefix) = prefix {
                    arg(prefix);
                }
            }
            CommandBody::Update { names } => {
                for name in names {
                    arg(name);
                }
            }
            CommandBody::Logout | CommandBody::Noop | CommandBody::Starttls => {}
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// Parses one framed command (a [`crate::Frame::Message`]). On an error a server answers `BAD`
/// with [`ParseError::text`], under the tag when there is one (the `Err`'s tag).
pub fn parse_command(frame: &[u8]) -> Result<Command, (Option<Tag>, ParseError)> {
    let mut c = Cursor::new(frame);
    let Some(tag) = c.atom() else {
        return Err((None, ParseError::Empty));
    };
    let tag = Tag::from_bytes(tag).ok_or((None, ParseError::BadTag))?;
    let fail = |e| (Some(tag.clone()), e);
    if !c.space() {
        return Err(fail(ParseError::Empty));
    }
    let name = c.atom().ok_or_else(|| fail(ParseError::Empty))?;
    let body = body(&name.to_ascii_uppercase(), &mut c).map_err(fail)?;
    if !c.at_end() {
        return Err(fail(ParseError::ExtraArguments));
    }
    Ok(Command { tag, body })
}

/// The arguments of the command called `name` (upper case).
fn body(name: &[u8], c: &mut Cursor<'_>) -> Result<CommandBody, ParseError> {
    Ok(match name {
        b"AUTHENTICATE" => {
            let mechanism = String::from_utf8(arg(c)?).map_err(|_| ParseError::MissingArguments)?;
            let initial = match optional(c)? {
                Some(text) => Some(Secret::new(
                    BASE64
                        .decode(text)
                        .map_err(|_| ParseError::MissingArguments)?,
                )),
                None => None,
            };
            CommandBody::Authenticate { mechanism, initial }
        }
        b"ACTIVATE" => CommandBody::Activate {
            name: arg(c)?,
            location: arg(c)?,
            acl: arg(c)?,
        },
        b"DEACTIVATE" => CommandBody::Deactivate {
            name: arg(c)?,
            location: arg(c)?,
        },
        b"DELETE" => CommandBody::Delete { name: arg(c)? },
        b"FIND" => CommandBody::Find { name: arg(c)? },
        b"LIST" => CommandBody::List {
            prefix: optional(c)?,
        },
        b"LOGOUT" => CommandBody::Logout,
        b"NOOP" => CommandBody::Noop,
        b"RESERVE" => CommandBody::Reserve {
            name: arg(c)?,
            location: arg(c)?,
        },
        b"STARTTLS" => CommandBody::Starttls,
        b"UPDATE" => {
            let mut names = Vec::new();
            while let Some(name) = optional(c)? {
                names.push(name);
            }
            CommandBody::Update { names }
        }
        _ => return Err(ParseError::Unrecognized),
    })
}

/// A space and a string.
fn arg(c: &mut Cursor<'_>) -> Result<Vec<u8>, ParseError> {
    if !c.space() {
        return Err(ParseError::MissingArguments);
    }
    c.string()
}

/// A space and a string, if the command goes on.
fn optional(c: &mut Cursor<'_>) -> Result<Option<Vec<u8>>, ParseError> {
    if c.at_end() {
        return Ok(None);
    }
    arg(c).map(Some)
}
