//! The server's responses (RFC 3656): the greeting (capability lines, then the banner), the
//! data responses `MAILBOX`, `RESERVE` and `DELETE`, the status responses `OK`, `NO` and
//! `BAD`, `BYE`, and continuation requests; parsing a framed response and writing one.

use crate::command::Tag;
use crate::string::{write_string, Cursor, ParseError};

/// A status response's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        }
    }
}

/// A capability line of the greeting (`* NAME args`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// `* AUTH "PLAIN" "LOGIN"`: the SASL mechanisms offered.
    Auth(Vec<String>),
    /// `* STARTTLS`.
    Starttls,
    /// `* COMPRESS "DEFLATE"` (Cyrus's): the compression algorithms offered.
    Compress(Vec<String>),
    /// `* PARTIAL-UPDATE`: `UPDATE` takes a list of names.
    PartialUpdate,
    /// Any other `* NAME` line of the greeting, kept as it came.
    Other { name: String, args: Vec<Vec<u8>> },
}

/// The greeting's last line, `* OK MUPDATE "server" "implementation" "version" "(master)"`:
/// the server is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub server: String,
    pub implementation: String,
    pub version: String,
    /// Cyrus's `(master)`, when given.
    pub mode: Option<String>,
}

/// The data of a `MAILBOX`, `RESERVE` or `DELETE` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaggedData {
    /// The mailbox exists at `location` (`SERVER!PARTITION`) with `acl` (Cyrus's stored form).
    Mailbox {
        name: Vec<u8>,
        location: Vec<u8>,
        acl: Vec<u8>,
    },
    /// The name is reserved for a mailbox being created at `location`.
    Reserve { name: Vec<u8>, location: Vec<u8> },
    /// The name is gone (in a stream of updates).
    Delete { name: Vec<u8> },
}

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// A capability line of the greeting.
    Capability(Capability),
    /// The greeting's banner.
    Banner(Banner),
    /// An untagged status other than the banner (Cyrus's `* BAD "Need command"`).
    Untagged { status: Status, text: String },
    /// `* BYE text`: the server closes the connection.
    Bye(String),
    /// `+ …`: a SASL challenge (its string, still base64) or a literal's `go ahead`.
    Continuation(Vec<u8>),
    /// `MAILBOX`, `RESERVE` or `DELETE`, under the tag of the command it answers (Cyrus) or
    /// untagged (`None`, `*`).
    Data { tag: Option<Tag>, data: TaggedData },
    /// The end of a command: `tag OK|NO|BAD text`.
    Done {
        tag: Tag,
        status: Status,
        text: String,
    },
}

impl Response {
    /// The response as written, line end included. Strings are quoted where they can be,
    /// `{n+}` literals where not.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Capability(capability) => {
                out.extend_from_slice(b"* ");
                encode_capability(&mut out, capability);
            }
            Response::Banner(b) => {
                out.extend_from_slice(b"* OK MUPDATE");
                let mode = b.mode.iter().map(String::as_str);
                for s in [&b.server, &b.implementation, &b.version]
                    .into_iter()
                    .map(String::as_str)
                    .chain(mode)
                {
                    out.push(b' ');
                    write_string(&mut out, s.as_bytes());
                }
            }
            Response::Untagged { status, text } => status_line(&mut out, "*", *status, text),
            Response::Bye(text) => {
                out.extend_from_slice(b"* BYE ");
                write_string(&mut out, text.as_bytes());
            }
            Response::Continuation(data) => {
                out.extend_from_slice(b"+ ");
                write_string(&mut out, data);
            }
            Response::Data { tag, data } => {
                out.extend_from_slice(tag.as_ref().map_or("*", Tag::as_str).as_bytes());
                let (name, args): (&str, Vec<&[u8]>) = match data {
                    TaggedData::Mailbox {
                        name,
                        location,
                        acl,
                    } => ("MAILBOX", vec![name, location, acl]),
                    TaggedData::Reserve { name, location } => ("RESERVE", vec![name, location]),
                    TaggedData::Delete { name } => ("DELETE", vec![name]),
                };
                out.push(b' ');
                out.extend_from_slice(name.as_bytes());
                for arg in args {
                    out.push(b' ');
                    write_string(&mut out, arg);
                }
            }
            Response::Done { tag, status, text } => {
                status_line(&mut out, tag.as_str(), *status, text)
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn status_line(out: &mut Vec<u8>, tag: &str, status: Status, text: &str) {
    out.extend_from_slice(tag.as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.name().as_bytes());
    out.push(b' ');
    write_string(out, text.as_bytes());
}

fn encode_capability(out: &mut Vec<u8>, capability: &Capability) {
    let (name, args): (&str, Vec<&[u8]>) = match capability {
        Capability::Auth(mechs) => ("AUTH", mechs.iter().map(|m| m.as_bytes()).collect()),
        Capability::Starttls => ("STARTTLS", Vec::new()),
        Capability::Compress(algos) => ("COMPRESS", algos.iter().map(|a| a.as_bytes()).collect()),
        Capability::PartialUpdate => ("PARTIAL-UPDATE", Vec::new()),
        Capability::Other { name, args } => (name, args.iter().map(Vec::as_slice).collect()),
    };
    out.extend_from_slice(name.as_bytes());
    for arg in args {
        out.push(b' ');
        write_string(out, arg);
    }
}

/// Parses one framed response (a [`crate::Frame::Message`]).
pub fn parse_response(frame: &[u8]) -> Result<Response, ParseError> {
    let mut c = Cursor::new(frame);
    if let Some(rest) = frame.strip_prefix(b"+") {
        let mut c = Cursor::new(rest);
        c.space();
        return Ok(Response::Continuation(c.text_bytes()));
    }
    let head = c.atom().ok_or(ParseError::Empty)?;
    let tag = match head {
        b"*" => None,
        _ => Some(Tag::from_bytes(head).ok_or(ParseError::BadTag)?),
    };
    if !c.space() {
        return Err(ParseError::BadResponse);
    }
    let name = c
        .atom()
        .ok_or(ParseError::BadResponse)?
        .to_ascii_uppercase();
    let status = match name.as_slice() {
        b"OK" => Some(Status::Ok),
        b"NO" => Some(Status::No),
        b"BAD" => Some(Status::Bad),
        _ => None,
    };
    match (tag, status) {
        (Some(tag), Some(status)) => Ok(Response::Done {
            tag,
            status,
            text: text(&mut c),
        }),
        (None, Some(Status::Ok)) => Ok(banner_or_ok(&mut c)),
        (None, Some(status)) => Ok(Response::Untagged {
            status,
            text: text(&mut c),
        }),
        (tag, None) => match name.as_slice() {
            b"MAILBOX" | b"RESERVE" | b"DELETE" => Ok(Response::Data {
                tag,
                data: data(&name, &mut c)?,
            }),
            b"BYE" if tag.is_none() => Ok(Response::Bye(text(&mut c))),
            _ if tag.is_none() => capability(&name, &mut c).map(Response::Capability),
            _ => Err(ParseError::Unrecognized),
        },
    }
}

/// The free text after a status: after one space, if there is anything.
fn text(c: &mut Cursor<'_>) -> String {
    c.space();
    c.text()
}

/// `* OK MUPDATE "server" "implementation" "version" ["(master)"]`, or another `* OK`.
fn banner_or_ok(c: &mut Cursor<'_>) -> Response {
    let mut probe = Cursor::new(c.rest());
    if probe.space() && probe.atom() == Some(b"MUPDATE") {
        let mut strings = Vec::new();
        while probe.space() && probe.at_string() {
            match probe.string() {
                Ok(s) => strings.push(String::from_utf8_lossy(&s).into_owned()),
                Err(_) => break,
            }
        }
        if probe.at_end() && (3..=4).contains(&strings.len()) {
            let mut strings = strings.into_iter();
            let mut next = || strings.next().unwrap_or_default();
            let (server, implementation, version) = (next(), next(), next());
            let mode = strings.next();
            return Response::Banner(Banner {
                server,
                implementation,
                version,
                mode,
            });
        }
    }
    Response::Untagged {
        status: Status::Ok,
        text: text(c),
    }
}

/// The strings of a data response called `name` (upper case), and nothing after them.
fn data(name: &[u8], c: &mut Cursor<'_>) -> Result<TaggedData, ParseError> {
    let mut arg = || {
        if !c.space() {
            return Err(ParseError::BadResponse);
        }
        c.string().map_err(|_| ParseError::BadResponse)
    };
    let data = match name {
        b"MAILBOX" => TaggedData::Mailbox {
            name: arg()?,
            location: arg()?,
            acl: arg()?,
        },
        b"RESERVE" => TaggedData::Reserve {
            name: arg()?,
            location: arg()?,
        },
        _ => TaggedData::Delete { name: arg()? },
    };
    if !c.at_end() {
        return Err(ParseError::BadResponse);
    }
    Ok(data)
}

/// A capability line `* NAME [string …]`.
fn capability(name: &[u8], c: &mut Cursor<'_>) -> Result<Capability, ParseError> {
    let mut args = Vec::new();
    while c.space() {
        args.push(c.string().map_err(|_| ParseError::BadResponse)?);
    }
    if !c.at_end() {
        return Err(ParseError::BadResponse);
    }
    let words = |args: Vec<Vec<u8>>| {
        args.into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect()
    };
    Ok(match name {
        b"AUTH" => Capability::Auth(words(args)),
        b"STARTTLS" if args.is_empty() => Capability::Starttls,
        b"COMPRESS" => Capability::Compress(words(args)),
        b"PARTIAL-UPDATE" if args.is_empty() => Capability::PartialUpdate,
        _ => Capability::Other {
            name: String::from_utf8_lossy(name).into_owned(),
            args,
        },
    })
}
