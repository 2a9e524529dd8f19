//! Darius's private transfer steps (`XFERPREPARE` … `XFERABORT`, see
//! [`crate::command::XferStep`] for their grammar), and the prefix that tells the framer an
//! `XFERMSG` literal is a message to stream.

use types::{Uid, UidValidity};

use super::cursor::Cursor;
use super::strings::LiteralValue;
use super::PResult;
use crate::command::{AppendData, Command, Tag, XferStep};
use crate::error::ErrorKind;

/// Most `uid flag-list` pairs one `XFERFLAGS` may carry.
pub const MAX_XFER_FLAGS: usize = 1_000;

/// The transfer step `name` (upper-cased), after its name.
pub(super) fn xfer_step(cur: &mut Cursor<'_>, name: &str) -> PResult<Command> {
    cur.sp()?;
    let mailbox = cur.astring_utf8()?;
    let step = match name {
        "XFERPREPARE" => prepare(cur, mailbox)?,
        "XFERMSG" => message(cur, mailbox)?,
        "XFERFLAGS" => flags(cur, mailbox)?,
        "XFEREXPUNGE" => {
            cur.sp()?;
            XferStep::Expunge {
                mailbox,
                uids: cur.sequence_set()?,
            }
        }
        "XFERCOMMIT" => {
            cur.sp()?;
            XferStep::Commit {
                mailbox,
                uidnext: cur.nz_number()?.get(),
            }
        }
        "XFERDONE" => XferStep::Done { mailbox },
        "XFERSIEVE" => sieve(cur, mailbox)?,
        "XFERSUB" => {
            cur.sp()?;
            XferStep::Subscription {
                mailbox,
                name: cur.astring_utf8()?,
            }
        }
        _ => XferStep::Abort { mailbox },
    };
    Ok(Command::XferStep(step))
}

/// `name SP uidvalidity SP nz-number SP mod-sequence-value SP (astring / nil) SP astring SP
/// "(" [astring *(SP astring)] ")"`, after the name.
fn prepare(cur: &mut Cursor<'_>, mailbox: String) -> PResult<XferStep> {
    cur.sp()?;
    let uidvalidity = UidValidity::new(cur.number()?).ok_or(ErrorKind::NumberOutOfRange)?;
    cur.sp()?;
    let uidnext = cur.nz_number()?.get();
    cur.sp()?;
    let highestmodseq = cur.number64()?;
    cur.sp()?;
    let partition = if cur.eat_word("NIL") {
        None
    } else {
        Some(cur.astring_utf8()?)
    };
    cur.sp()?;
    let acl = cur.astring_utf8()?;
    cur.sp()?;
    let special_use = if cur.rest().starts_with(b"()") {
        cur.expect(b'(', "'('")?;
        cur.expect(b')', "')'")?;
        Vec::new()
    } else {
        cur.paren_list(|c| c.astring_utf8())?
    };
    Ok(XferStep::Prepare {
        mailbox,
        uidvalidity,
        uidnext,
        highestmodseq,
        partition,
        acl,
        special_use,
    })
}

/// `nz-number SP date-time SP flag-list SP literal`, after the name.
fn message(cur: &mut Cursor<'_>, mailbox: String) -> PResult<XferStep> {
    cur.sp()?;
    let uid = uid(cur)?;
    cur.sp()?;
    let internal_date = cur.date_time()?;
    cur.sp()?;
    let flags = cur.flag_list()?;
    cur.sp()?;
    if !matches!(cur.peek(), Some(b'{' | b'~')) {
        return Err(ErrorKind::Expected("message literal"));
    }
    let data = match cur.literal_any()? {
        (LiteralValue::Inline(data), kind) => AppendData::Inline {
            data: data.to_vec(),
            kind,
        },
        (LiteralValue::Spooled(s), kind) => AppendData::Spooled {
            spool: s.spool,
            len: s.len,
            kind,
        },
    };
    Ok(XferStep::Message {
        mailbox,
        uid,
        internal_date,
        flags,
        data,
    })
}

/// `1*(SP nz-number SP flag-list)`, after the name.
fn flags(cur: &mut Cursor<'_>, mailbox: String) -> PResult<XferStep> {
    let mut flags = Vec::new();
    while cur.eat(b' ') {
        if flags.len() == MAX_XFER_FLAGS {
            return Err(ErrorKind::TooMany {
                what: "messages in one XFERFLAGS",
                max: MAX_XFER_FLAGS,
            });
        }
        let uid = uid(cur)?;
        cur.sp()?;
        flags.push((uid, cur.flag_list()?));
    }
    if flags.is_empty() {
        return Err(ErrorKind::Expected("UID and flag list"));
    }
    Ok(XferStep::Flags { mailbox, flags })
}

/// `astring SP ("ACTIVE" / "INACTIVE") SP string`, after the name.
fn sieve(cur: &mut Cursor<'_>, mailbox: String) -> PResult<XferStep> {
    cur.sp()?;
    let name = cur.astring_utf8()?;
    cur.sp()?;
    let active = if cur.eat_word("ACTIVE") {
        true
    } else if cur.eat_word("INACTIVE") {
        false
    } else {
        return Err(ErrorKind::Expected("ACTIVE or INACTIVE"));
    };
    cur.sp()?;
    Ok(XferStep::Sieve {
        mailbox,
        name,
        active,
        script: cur.string()?,
    })
}

fn uid(cur: &mut Cursor<'_>) -> PResult<Uid> {
    Uid::new(cur.nz_number()?.get()).ok_or(ErrorKind::NumberOutOfRange)
}

/// Whether `cur` (a command up to a literal announcement) is `tag XFERMSG name uid date-time
/// flag-list`, whose literal is a message; answers the tag and the name.
pub(super) fn message_prefix(cur: &mut Cursor<'_>) -> PResult<Option<(Tag, String)>> {
    let tag = cur.tag()?;
    cur.sp()?;
    if !cur.atom()?.eq_ignore_ascii_case("XFERMSG") {
        return Ok(None);
    }
    cur.sp()?;
    let mailbox = cur.astring_utf8()?;
    cur.sp()?;
    uid(cur)?;
    cur.sp()?;
    cur.date_time()?;
    cur.sp()?;
    cur.flag_list()?;
    cur.sp()?;
    Ok(cur.rest().is_empty().then_some((tag, mailbox)))
}
