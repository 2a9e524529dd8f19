//! `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`:
//! dispatch on the command name, and the commands with simple arguments.

use base64::Engine;
use types::Secret;

use super::cursor::Cursor;
use super::{append, fetch, mailbox, search, sort, PResult};
use crate::command::{Addressing, Command, IdParams};
use crate::error::ErrorKind;
use crate::limits;

/// Everything after `tag SP`, up to (not including) the final CRLF.
pub(super) fn command(cur: &mut Cursor<'_>) -> PResult<Command> {
    let word = cur.atom()?;
    let mut buf = [0; 32];
    let name = super::upper(word.as_bytes(), &mut buf);
    match name {
        "CAPABILITY" => Ok(Command::Capability),
        "NOOP" => Ok(Command::Noop),
        "LOGOUT" => Ok(Command::Logout),
        "STARTTLS" => Ok(Command::StartTls),
        "UNAUTHENTICATE" => Ok(Command::Unauthenticate),
        "COMPRESS" => {
            // compress = "COMPRESS" SP algorithm (RFC 4978 §3)
            cur.sp()?;
            Ok(Command::Compress(cur.atom()?.to_ascii_uppercase()))
        }
        "IDLE" => Ok(Command::Idle),
        "CHECK" => Ok(Command::Check),
        "CLOSE" => Ok(Command::Close),
        "UNSELECT" => Ok(Command::Unselect),
        "EXPUNGE" => Ok(Command::Expunge),
        "NAMESPACE" => Ok(Command::Namespace),
        "AUTHENTICATE" => authenticate(cur),
        "LOGIN" => login(cur),
        "ENABLE" => enable(cur),
        "ID" => id(cur),
        "UID" => uid(cur),
        "APPEND" => append::append(cur),
        "SEARCH" => search::search(cur, Addressing::Sequence),
        "SORT" => sort::sort(cur, Addressing::Sequence),
        "THREAD" => sort::thread(cur, Addressing::Sequence),
        "FETCH" => fetch::fetch(cur, Addressing::Sequence),
        "STORE" => fetch::store(cur, Addressing::Sequence),
        "COPY" => copy_move(cur, Addressing::Sequence, CopyOrMove::Copy),
        "MOVE" => copy_move(cur, Addressing::Sequence, CopyOrMove::Move),
        "XFERPREPARE" | "XFERMSG" | "XFERFLAGS" | "XFEREXPUNGE" | "XFERCOMMIT" | "XFERDONE"
        | "XFERABORT" | "XFERSIEVE" | "XFERSUB" => super::xfer::xfer_step(cur, name),
        _ => mailbox::mailbox_command(cur, name, word),
    }
}

/// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`
fn uid(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let word = cur.atom()?;
    let mut buf = [0; 32];
    match super::upper(word.as_bytes(), &mut buf) {
        "SEARCH" => search::search(cur, Addressing::Uid),
        "SORT" => sort::sort(cur, Addressing::Uid),
        "THREAD" => sort::thread(cur, Addressing::Uid),
        "FETCH" => fetch::fetch(cur, Addressing::Uid),
        "STORE" => fetch::store(cur, Addressing::Uid),
        "COPY" => copy_move(cur, Addressing::Uid, CopyOrMove::Copy),
        "MOVE" => copy_move(cur, Addressing::Uid, CopyOrMove::Move),
        "EXPUNGE" => {
            cur.sp()?;
            Ok(Command::UidExpunge(cur.sequence_set()?))
        }
        _ => Err(ErrorKind::UnknownCommand(format!(
            "UID {}",
            word.to_ascii_uppercase()
        ))),
    }
}

enum CopyOrMove {
    Copy,
    Move,
}

/// `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`
fn copy_move(cur: &mut Cursor<'_>, addressing: Addressing, which: CopyOrMove) -> PResult<Command> {
    cur.sp()?;
    let set = cur.sequence_set()?;
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    Ok(match which {
        CopyOrMove::Copy => Command::Copy {
            addressing,
            set,
            mailbox,
        },
        CopyOrMove::Move => Command::Move {
            addressing,
            set,
            mailbox,
        },
    })
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`,
/// `initial-resp = (base64 / "=")` (RFC 4959)
fn authenticate(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let mechanism = cur.atom()?.to_ascii_uppercase();
    let initial_response = if cur.eat(b' ') {
        Some(Secret::new(base64_or_empty(cur)?))
    } else {
        None
    };
    Ok(Command::Authenticate {
        mechanism,
        initial_response,
    })
}

/// `base64 / "="` up to the end of the line.
fn base64_or_empty(cur: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    if cur.eat(b'=') {
        return Ok(Vec::new());
    }
    let text = cur.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    decode_base64(text)
}

/// RFC 9051 §9 `base64`: padded, non-empty.
pub(crate) fn decode_base64(text: &[u8]) -> PResult<Vec<u8>> {
    if text.is_empty() {
        return Err(ErrorKind::InvalidBase64);
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ErrorKind::InvalidBase64)
}

/// `login = "LOGIN" SP userid SP password`, `userid = astring`, `password = astring`
fn login(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let username = cur.astring_utf8()?;
    cur.sp()?;
    let password = Secret::new(cur.astring_utf8()?);
    Ok(Command::Login { username, password })
}

/// `enable = "ENABLE" 1*(SP capability)` (RFC 5161)
fn enable(cur: &mut Cursor<'_>) -> PResult<Command> {
    let mut caps = Vec::new();
    while cur.eat(b' ') {
        caps.push(cur.atom()?.to_string());
    }
    if caps.is_empty() {
        return Err(ErrorKind::Expected("capability"));
    }
    Ok(Command::Enable(caps))
}

/// `id = "ID" SP id-params-list`,
/// `id-params-list = "(" *(string SP nstring) ")" / nil` (RFC 2971 §4), within the §3.3 limits.
fn id(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    if cur.eat_word("NIL") {
        return Ok(Command::Id(None));
    }
    cur.expect(b'(', "'(' or NIL")?;
    let mut params = Vec::new();
    if !cur.eat(b')') {
        loop {
            if params.len() == limits::ID_MAX_FIELDS {
                return Err(ErrorKind::TooMany {
                    what: "ID fields",
                    max: limits::ID_MAX_FIELDS,
                });
            }
            let key = bounded(cur.string()?, "ID field name", limits::ID_MAX_FIELD_LEN)?;
            cur.sp()?;
            let value = if cur.eat_word("NIL") {
                None
            } else {
                Some(bounded(
                    cur.string()?,
                    "ID value",
                    limits::ID_MAX_VALUE_LEN,
                )?)
            };
            params.push((key, value));
            if cur.eat(b')') {
                break;
            }
            cur.sp()?;
        }
    }
    let params: IdParams = Some(params);
    Ok(Command::Id(params))
}

/// `raw` as UTF-8, refused when longer than `max` octets.
fn bounded(raw: Vec<u8>, what: &'static str, max: usize) -> PResult<String> {
    if raw.len() > max {
        return Err(ErrorKind::TooLong { what, max });
    }
    utf8(raw)
}

pub(super) fn utf8(raw: Vec<u8>) -> PResult<String> {
    String::from_utf8(raw).map_err(|_| ErrorKind::InvalidUtf8)
}
