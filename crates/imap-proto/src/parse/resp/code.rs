//! `resp-text-code` (RFC 9051 §7.1 and the extension codes [`Code`] lists).

use super::super::cursor::Cursor;
use super::super::PResult;
use crate::error::ErrorKind;
use crate::response::{Code, PermanentFlag};
use types::{ModSeq, Uid, UidValidity};

/// `resp-text-code`, after `[` and up to (not including) `]`.
pub(super) fn resp_text_code(cur: &mut Cursor<'_>) -> PResult<Code> {
    let name = cur.atom()?.to_ascii_uppercase();
    if let Some(code) = bare(&name) {
        return Ok(code);
    }
    let arg = |cur: &mut Cursor<'_>| cur.sp();
    Ok(match name.as_str() {
        "BADCHARSET" if cur.peek() == Some(b']') => Code::BadCharset(Vec::new()),
        "BADCHARSET" => {
            arg(cur)?;
            Code::BadCharset(cur.paren_list(|c| c.astring_utf8())?)
        }
        "CAPABILITY" => Code::Capability(atoms(cur)?),
        "PERMANENTFLAGS" => {
            arg(cur)?;
            Code::PermanentFlags(permanent_flags(cur)?)
        }
        "UIDNEXT" => {
            arg(cur)?;
            Code::UidNext(Uid::new(cur.number()?).ok_or(ErrorKind::NumberOutOfRange)?)
        }
        "UIDVALIDITY" => {
            arg(cur)?;
            Code::UidValidity(uid_validity(cur)?)
        }
        "UNSEEN" => {
            arg(cur)?;
            Code::Unseen(cur.number()?)
        }
        "APPENDUID" => {
            arg(cur)?;
            let uid_validity = uid_validity(cur)?;
            arg(cur)?;
            Code::AppendUid {
                uid_validity,
                uids: cur.sequence_set()?,
            }
        }
        "COPYUID" => {
            arg(cur)?;
            let uid_validity = uid_validity(cur)?;
            arg(cur)?;
            let source = cur.sequence_set()?;
            arg(cur)?;
            Code::CopyUid {
                uid_validity,
                source,
                destination: cur.sequence_set()?,
            }
        }
        "HIGHESTMODSEQ" => {
            arg(cur)?;
            Code::HighestModSeq(ModSeq::new(cur.number64()?).ok_or(ErrorKind::NumberOutOfRange)?)
        }
        "MODIFIED" => {
            arg(cur)?;
            Code::Modified(cur.sequence_set()?)
        }
        "METADATA" => {
            arg(cur)?;
            metadata(cur)?
        }
        _ => other(cur, name),
    })
}

fn uid_validity(cur: &mut Cursor<'_>) -> PResult<UidValidity> {
    UidValidity::new(cur.number()?).ok_or(ErrorKind::NumberOutOfRange)
}

/// Codes without arguments.
fn bare(name: &str) -> Option<Code> {
    Some(match name {
        "ALERT" => Code::Alert,
        "PARSE" => Code::Parse,
        "READ-ONLY" => Code::ReadOnly,
        "READ-WRITE" => Code::ReadWrite,
        "TRYCREATE" => Code::TryCreate,
        "UIDNOTSTICKY" => Code::UidNotSticky,
        "NOMODSEQ" => Code::NoModSeq,
        "CLOSED" => Code::Closed,
        "TOOBIG" => Code::TooBig,
        "USEATTR" => Code::UseAttr,
        "NOTSAVED" => Code::NotSaved,
        "HASCHILDREN" => Code::HasChildren,
        "UNKNOWN-CTE" => Code::UnknownCte,
        "COMPRESSIONACTIVE" => Code::CompressionActive,
        "UNAVAILABLE" => Code::Unavailable,
        "AUTHENTICATIONFAILED" => Code::AuthenticationFailed,
        "AUTHORIZATIONFAILED" => Code::AuthorizationFailed,
        "EXPIRED" => Code::Expired,
        "PRIVACYREQUIRED" => Code::PrivacyRequired,
        "CONTACTADMIN" => Code::ContactAdmin,
        "NOPERM" => Code::NoPerm,
        "INUSE" => Code::InUse,
        "EXPUNGEISSUED" => Code::ExpungeIssued,
        "CORRUPTION" => Code::Corruption,
        "SERVERBUG" => Code::ServerBug,
        "CLIENTBUG" => Code::ClientBug,
        "CANNOT" => Code::Cannot,
        "LIMIT" => Code::Limit,
        "OVERQUOTA" => Code::OverQuota,
        "ALREADYEXISTS" => Code::AlreadyExists,
        "NONEXISTENT" => Code::NonExistent,
        _ => return None,
    })
}

/// `*(SP atom)` up to `]`.
fn atoms(cur: &mut Cursor<'_>) -> PResult<Vec<String>> {
    let mut atoms = Vec::new();
    while cur.eat(b' ') {
        atoms.push(cur.atom()?.to_string());
    }
    Ok(atoms)
}

/// `"(" [flag-perm *(SP flag-perm)] ")"`, `flag-perm = flag / "\*"`
fn permanent_flags(cur: &mut Cursor<'_>) -> PResult<Vec<PermanentFlag>> {
    cur.expect(b'(', "'('")?;
    let mut flags = Vec::new();
    while !cur.eat(b')') {
        if !flags.is_empty() {
            cur.sp()?;
        }
        flags.push(if cur.eat_word("\\*") {
            PermanentFlag::Wildcard
        } else {
            PermanentFlag::Flag(cur.flag()?)
        });
    }
    Ok(flags)
}

/// RFC 5464 `"METADATA" SP ("LONGENTRIES" SP number / "MAXSIZE" SP number / "TOOMANY" /
/// "NOPRIVATE")`
fn metadata(cur: &mut Cursor<'_>) -> PResult<Code> {
    let name = cur.atom()?.to_ascii_uppercase();
    Ok(match name.as_str() {
        "TOOMANY" => Code::MetadataTooMany,
        "NOPRIVATE" => Code::MetadataNoPrivate,
        "LONGENTRIES" => {
            cur.sp()?;
            Code::MetadataLongEntries(cur.number()?)
        }
        "MAXSIZE" => {
            cur.sp()?;
            Code::MetadataMaxSize(cur.number()?)
        }
        _ => return Err(ErrorKind::Unknown("METADATA response code")),
    })
}

/// `atom [SP 1*<any TEXT-CHAR except "]">]`
fn other(cur: &mut Cursor<'_>, name: String) -> Code {
    let text = if cur.eat(b' ') {
        let raw = cur.take_while(|b| b != b']' && b != b'\r' && b != b'\n');
        Some(String::from_utf8_lossy(raw).into_owned())
    } else {
        None
    };
    Code::Other { name, text }
}
