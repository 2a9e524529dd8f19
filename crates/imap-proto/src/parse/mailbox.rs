//! Mailbox-level commands: SELECT/EXAMINE (with RFC 4466 / RFC 7162 parameters), CREATE
//! (RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (RFC 5258, RFC 5819), LSUB, RLIST and RLSUB (RFC 2193),
//! STATUS, and the ACL (RFC 4314) and QUOTA (RFC 9208) commands Cyrus's admin tools use.

use types::{ModSeq, UidValidity};

use super::command::utf8;
use super::cursor::Cursor;
use super::PResult;
use crate::command::{
    Command, ExtComp, ExtValue, List, ListReturnOption, ListSelectOption, Recursion, SelectParam,
    StatusItem,
};
use crate::error::ErrorKind;

/// `mailbox SP list-mailbox`: the arguments of LSUB, RLIST and RLSUB.
fn reference_and_pattern(cur: &mut Cursor<'_>) -> PResult<(String, String)> {
    let reference = one_reference(cur)?;
    cur.sp()?;
    let pattern = cur.list_mailbox()?;
    Ok((reference, pattern))
}

/// Commands whose first argument is a mailbox, plus the admin commands.
pub(super) fn mailbox_command(cur: &mut Cursor<'_>, name: &str, word: &str) -> PResult<Command> {
    match name {
        "SELECT" | "EXAMINE" => select(cur, name),
        "CREATE" => create(cur),
        "DELETE" => one_mailbox(cur).map(Command::Delete),
        "SUBSCRIBE" => one_mailbox(cur).map(Command::Subscribe),
        "UNSUBSCRIBE" => one_mailbox(cur).map(Command::Unsubscribe),
        "GETACL" => one_mailbox(cur).map(Command::GetAcl),
        "MYRIGHTS" => one_mailbox(cur).map(Command::MyRights),
        "GETQUOTAROOT" => one_mailbox(cur).map(Command::GetQuotaRoot),
        "RENAME" => {
            let from = one_mailbox(cur)?;
            let to = one_mailbox(cur)?;
            let partition = optional_astring(cur)?;
            Ok(Command::Rename {
                from,
                to,
                partition,
            })
        }
        "RECONSTRUCT" => {
            let mailbox = one_mailbox(cur)?;
            let recursion = if cur.eat_word(" RECURSIVE") {
                Recursion::Recursive
            } else {
                Recursion::Single
            };
            Ok(Command::Reconstruct { mailbox, recursion })
        }
        "XFER" => {
            let mailbox = one_mailbox(cur)?;
            cur.sp()?;
            let server = cur.astring_utf8()?;
            let partition = optional_astring(cur)?;
            Ok(Command::Xfer {
                mailbox,
                server,
                partition,
            })
        }
        "LOCALCREATE" => {
            let mailbox = one_mailbox(cur)?;
            let partition = optional_astring(cur)?;
            Ok(Command::LocalCreate { mailbox, partition })
        }
        "LOCALDELETE" => one_mailbox(cur).map(Command::LocalDelete),
        "MUPDATEPUSH" => one_mailbox(cur).map(Command::MupdatePush),
        "LIST" => list(cur),
        "LSUB" => {
            let (reference, pattern) = reference_and_pattern(cur)?;
            Ok(Command::Lsub { reference, pattern })
        }
        // RFC 2193 §5: `rlist = "RLIST" SP mailbox SP list_mailbox`, RLSUB alike.
        "RLIST" => {
            let (reference, pattern) = reference_and_pattern(cur)?;
            Ok(Command::Rlist { reference, pattern })
        }
        "RLSUB" => {
            let (reference, pattern) = reference_and_pattern(cur)?;
            Ok(Command::Rlsub { reference, pattern })
        }
        "STATUS" => {
            let mailbox = one_mailbox(cur)?;
            cur.sp()?;
            let items = cur.paren_list(status_att)?;
            Ok(Command::Status { mailbox, items })
        }
        "SETACL" | "DELETEACL" | "LISTRIGHTS" => acl(cur, name),
        "GETQUOTA" => {
            cur.sp()?;
            Ok(Command::GetQuota(cur.astring_utf8()?))
        }
        "SETQUOTA" => setquota(cur),
        "GETMETADATA" => super::metadata::getmetadata(cur),
        "SETMETADATA" => super::metadata::setmetadata(cur),
        _ => Err(ErrorKind::UnknownCommand(word.to_ascii_uppercase())),
    }
}

fn one_mailbox(cur: &mut Cursor<'_>) -> PResult<crate::command::Mailbox> {
    cur.sp()?;
    cur.mailbox()
}

/// `[SP astring]` (Cyrus's optional partition argument).
fn optional_astring(cur: &mut Cursor<'_>) -> PResult<Option<String>> {
    if cur.rest().first() == Some(&b' ') && cur.rest().get(1) != Some(&b'(') {
        cur.sp()?;
        return cur.astring_utf8().map(Some);
    }
    Ok(None)
}

fn one_reference(cur: &mut Cursor<'_>) -> PResult<String> {
    cur.sp()?;
    cur.mailbox_string()
}

/// `select = "SELECT" SP mailbox [select-params]`,
/// `select-params = SP "(" select-param *(SP select-param) ")"` (RFC 4466 §2.1)
fn select(cur: &mut Cursor<'_>, name: &str) -> PResult<Command> {
    let mailbox = one_mailbox(cur)?;
    let params = if cur.eat(b' ') {
        cur.paren_list(select_param)?
    } else {
        Vec::new()
    };
    Ok(if name == "SELECT" {
        Command::Select { mailbox, params }
    } else {
        Command::Examine { mailbox, params }
    })
}

/// `select-param = select-param-name [SP select-param-value]`, with `CONDSTORE` (RFC 7162
/// §3.1.8) and `QRESYNC` (RFC 7162 §3.2.5) interpreted.
fn select_param(cur: &mut Cursor<'_>) -> PResult<SelectParam> {
    let name = cur.atom()?;
    if name.eq_ignore_ascii_case("CONDSTORE") {
        return Ok(SelectParam::CondStore);
    }
    if name.eq_ignore_ascii_case("QRESYNC") {
        cur.sp()?;
        return qresync(cur);
    }
    let name = name.to_string();
    let value = if starts_ext_value(cur) {
        cur.sp()?;
        Some(tagged_ext_val(cur)?)
    } else {
        None
    };
    Ok(SelectParam::Other { name, value })
}

/// After a parameter name, does `SP` introduce a value rather than the next name?
fn starts_ext_value(cur: &Cursor<'_>) -> bool {
    let rest = cur.rest();
    rest.first() == Some(&b' ')
        && rest
            .get(1)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'(' | b'$' | b'*'))
}

/// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`
fn qresync(cur: &mut Cursor<'_>) -> PResult<SelectParam> {
    cur.expect(b'(', "'(' after QRESYNC")?;
    let uid_validity = UidValidity::new(cur.number()?).ok_or(ErrorKind::NumberOutOfRange)?;
    cur.sp()?;
    let mod_seq = ModSeq::new(cur.number64()?).ok_or(ErrorKind::NumberOutOfRange)?;
    let mut known_uids = None;
    let mut seq_match = None;
    if cur.eat(b' ') {
        if cur.peek() != Some(b'(') {
            known_uids = Some(cur.sequence_set()?);
        }
        if cur.peek() == Some(b'(') || cur.eat(b' ') {
            cur.expect(b'(', "seq-match-data")?;
            let seqs = cur.sequence_set()?;
            cur.sp()?;
            let uids = cur.sequence_set()?;
            cur.expect(b')', "')'")?;
            seq_match = Some((seqs, uids));
        }
    }
    cur.expect(b')', "')'")?;
    Ok(SelectParam::QResync {
        uid_validity,
        mod_seq,
        known_uids,
        seq_match,
    })
}

/// `tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"` (RFC 4466 §2.1)
pub(super) fn tagged_ext_val(cur: &mut Cursor<'_>) -> PResult<ExtValue> {
    if cur.peek() != Some(b'(') {
        let start = cur.pos;
        cur.sequence_set()?;
        let text = String::from_utf8_lossy(&cur.buf[start..cur.pos]).into_owned();
        return Ok(ExtValue::Simple(text));
    }
    cur.expect(b'(', "'('")?;
    if cur.eat(b')') {
        return Ok(ExtValue::Comp(Vec::new()));
    }
    cur.enter()?;
    let comp = tagged_ext_comp(cur)?;
    cur.leave();
    cur.expect(b')', "')'")?;
    Ok(ExtValue::Comp(comp))
}

/// `tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"`
fn tagged_ext_comp(cur: &mut Cursor<'_>) -> PResult<Vec<ExtComp>> {
    let mut items = Vec::new();
    loop {
        if cur.eat(b'(') {
            cur.enter()?;
            items.push(ExtComp::List(tagged_ext_comp(cur)?));
            cur.leave();
            cur.expect(b')', "')'")?;
        } else {
            items.push(ExtComp::AString(utf8(cur.astring()?)?));
        }
        if !cur.eat(b' ') {
            return Ok(items);
        }
    }
}

/// `create = "CREATE" SP mailbox [SP partition] [create-params]` (the partition is Cyrus's
/// extension); only RFC 6154 §3
/// `"USE" SP "(" [use-attr *(SP use-attr)] ")"` is known.
fn create(cur: &mut Cursor<'_>) -> PResult<Command> {
    let mailbox = one_mailbox(cur)?;
    let partition = optional_astring(cur)?;
    let mut use_attrs = Vec::new();
    if cur.eat(b' ') {
        cur.expect(b'(', "create-params")?;
        if !cur.eat_word("USE ") {
            return Err(ErrorKind::Unknown("CREATE parameter"));
        }
        cur.expect(b'(', "'(' after USE")?;
        while !cur.eat(b')') {
            if !use_attrs.is_empty() {
                cur.sp()?;
            }
            cur.expect(b'\\', "use-attr")?;
            use_attrs.push(format!("\\{}", cur.atom()?));
        }
        cur.expect(b')', "')'")?;
    }
    Ok(Command::Create {
        mailbox,
        partition,
        use_attrs,
    })
}

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
/// (RFC 5258 §6)
fn list(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let mut selection = Vec::new();
    if cur.eat(b'(') {
        while !cur.eat(b')') {
            if !selection.is_empty() {
                cur.sp()?;
            }
            selection.push(list_select_opt(cur.atom()?));
        }
        cur.sp()?;
    }
    let reference = cur.mailbox_string()?;
    cur.sp()?;
    let patterns = if cur.peek() == Some(b'(') {
        cur.paren_list(Cursor::list_mailbox)?
    } else {
        vec![cur.list_mailbox()?]
    };
    let mut return_options = Vec::new();
    if cur.eat(b' ') {
        if !cur.eat_word("RETURN (") {
            return Err(ErrorKind::Expected("RETURN"));
        }
        while !cur.eat(b')') {
            if !return_options.is_empty() {
                cur.sp()?;
            }
            return_options.push(return_option(cur)?);
        }
    }
    Ok(Command::List(List {
        selection,
        reference,
        patterns,
        return_options,
    }))
}

/// `list-select-opt = list-select-base-opt / list-select-independent-opt / list-select-mod-opt`
fn list_select_opt(name: &str) -> ListSelectOption {
    match name.to_ascii_uppercase().as_str() {
        "SUBSCRIBED" => ListSelectOption::Subscribed,
        "REMOTE" => ListSelectOption::Remote,
        "RECURSIVEMATCH" => ListSelectOption::RecursiveMatch,
        "SPECIAL-USE" => ListSelectOption::SpecialUse,
        _ => ListSelectOption::Other(name.to_string()),
    }
}

/// `return-option = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / status-option / option-extension`,
/// `status-option = "STATUS" SP "(" status-att *(SP status-att) ")"` (RFC 5819)
fn return_option(cur: &mut Cursor<'_>) -> PResult<ListReturnOption> {
    let name = cur.atom()?.to_ascii_uppercase();
    Ok(match name.as_str() {
        "SUBSCRIBED" => ListReturnOption::Subscribed,
        "CHILDREN" => ListReturnOption::Children,
        "SPECIAL-USE" => ListReturnOption::SpecialUse,
        "MYRIGHTS" => ListReturnOption::MyRights,
        "STATUS" => {
            cur.sp()?;
            ListReturnOption::Status(cur.paren_list(status_att)?)
        }
        _ => ListReturnOption::Other(name),
    })
}

/// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE" /
/// "RECENT" / "HIGHESTMODSEQ" / "APPENDLIMIT"`
fn status_att(cur: &mut Cursor<'_>) -> PResult<StatusItem> {
    StatusItem::from_name(cur.atom()?).ok_or(ErrorKind::Unknown("status item"))
}

/// `setacl = "SETACL" SP mailbox SP identifier SP mod-rights`,
/// `deleteacl = "DELETEACL" SP mailbox SP identifier`,
/// `listrights = "LISTRIGHTS" SP mailbox SP identifier` (RFC 4314 §3)
fn acl(cur: &mut Cursor<'_>, name: &str) -> PResult<Command> {
    let mailbox = one_mailbox(cur)?;
    cur.sp()?;
    let identifier = cur.astring_utf8()?;
    match name {
        "SETACL" => {
            cur.sp()?;
            let rights = cur.astring_utf8()?;
            Ok(Command::SetAcl {
                mailbox,
                identifier,
                rights,
            })
        }
        "DELETEACL" => Ok(Command::DeleteAcl {
            mailbox,
            identifier,
        }),
        _ => Ok(Command::ListRights {
            mailbox,
            identifier,
        }),
    }
}

/// `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`,
/// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`,
/// `setquota-resource = resource-name SP resource-limit` (RFC 9208 §6). A space before the
/// closing parenthesis is accepted: Cyrus's `cyradm` sends `(STORAGE 1000 )`, and Cyrus takes it.
fn setquota(cur: &mut Cursor<'_>) -> PResult<Command> {
    cur.sp()?;
    let root = cur.astring_utf8()?;
    cur.sp()?;
    cur.expect(b'(', "setquota-list")?;
    let mut limits = Vec::new();
    while !cur.eat(b')') {
        if !limits.is_empty() {
            cur.sp()?;
            if cur.eat(b')') {
                break;
            }
        }
        let resource = cur.atom()?.to_ascii_uppercase();
        cur.sp()?;
        limits.push((resource, cur.number64()?));
    }
    Ok(Command::SetQuota { root, limits })
}
