//! `response-data` other than FETCH items: mailbox data (RFC 9051 §7.2-7.4), ESEARCH (RFC 4731),
//! SORT/THREAD (RFC 5256), NAMESPACE (RFC 2342), ID (RFC 2971), VANISHED (RFC 7162), ACL
//! (RFC 4314), QUOTA (RFC 9208), METADATA (RFC 5464).

use types::ModSeq;

use super::super::cursor::Cursor;
use super::super::PResult;
use super::fetch;
use crate::command::{Addressing, MetadataEntry, StatusItem};
use crate::error::ErrorKind;
use crate::response::{
    Data, ESearchItem, ListExtItem, ListItem, MailboxAttr, NamespaceDesc, QuotaResource,
    ThreadNode, Vanished,
};

/// `nz-number SP ("EXISTS" / "RECENT" / "EXPUNGE" / "FETCH" SP msg-att)`
pub(super) fn numbered(cur: &mut Cursor<'_>) -> PResult<Data> {
    let n = cur.number()?;
    cur.sp()?;
    let name = cur.atom()?.to_ascii_uppercase();
    match name.as_str() {
        "EXISTS" => Ok(Data::Exists(n)),
        "RECENT" => Ok(Data::Recent(n)),
        "EXPUNGE" => Ok(Data::Expunge(n)),
        "FETCH" => {
            cur.sp()?;
            Ok(Data::Fetch {
                seq: n,
                items: fetch::msg_att(cur)?,
            })
        }
        _ => Err(ErrorKind::Unknown("message data")),
    }
}

/// Data introduced by a name (already read and upper-cased).
pub(super) fn named(cur: &mut Cursor<'_>, name: &str) -> PResult<Data> {
    match name {
        "CAPABILITY" => Ok(Data::Capability(atoms(cur)?)),
        "ENABLED" => Ok(Data::Enabled(atoms(cur)?)),
        "LIST" => Ok(Data::List(mailbox_list(cur)?)),
        "LSUB" => Ok(Data::Lsub(mailbox_list(cur)?)),
        "FLAGS" => {
            cur.sp()?;
            Ok(Data::Flags(cur.flag_list()?))
        }
        "STATUS" => status(cur),
        "SEARCH" => numbers_modseq(cur).map(|(numbers, mod_seq)| Data::Search { numbers, mod_seq }),
        "SORT" => numbers_modseq(cur).map(|(numbers, mod_seq)| Data::Sort { numbers, mod_seq }),
        "THREAD" => thread(cur),
        "ESEARCH" => esearch(cur),
        "NAMESPACE" => namespace(cur),
        "ID" => id(cur),
        "VANISHED" => vanished(cur),
        _ => admin(cur, name),
    }
}

fn atoms(cur: &mut Cursor<'_>) -> PResult<Vec<String>> {
    let mut atoms = Vec::new();
    while cur.eat(b' ') {
        atoms.push(cur.atom()?.to_string());
    }
    Ok(atoms)
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]`
fn mailbox_list(cur: &mut Cursor<'_>) -> PResult<ListItem> {
    cur.sp()?;
    cur.expect(b'(', "'('")?;
    let mut attributes = Vec::new();
    while !cur.eat(b')') {
        if !attributes.is_empty() {
            cur.sp()?;
        }
        cur.expect(b'\\', "mailbox attribute")?;
        attributes.push(mailbox_attr(cur.atom()?));
    }
    cur.sp()?;
    let delimiter = delimiter(cur)?;
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    let mut extended = Vec::new();
    if cur.eat(b' ') {
        cur.expect(b'(', "mbox-list-extended")?;
        while !cur.eat(b')') {
            if !extended.is_empty() {
                cur.sp()?;
            }
            extended.push(list_ext_item(cur)?);
        }
    }
    Ok(ListItem {
        attributes,
        delimiter,
        mailbox,
        extended,
    })
}

fn mailbox_attr(name: &str) -> MailboxAttr {
    match name.to_ascii_lowercase().as_str() {
        "noinferiors" => MailboxAttr::NoInferiors,
        "noselect" => MailboxAttr::NoSelect,
        "marked" => MailboxAttr::Marked,
        "unmarked" => MailboxAttr::Unmarked,
        "haschildren" => MailboxAttr::HasChildren,
        "hasnochildren" => MailboxAttr::HasNoChildren,
        "nonexistent" => MailboxAttr::NonExistent,
        "subscribed" => MailboxAttr::Subscribed,
        "remote" => MailboxAttr::Remote,
        "all" => MailboxAttr::All,
        "archive" => MailboxAttr::Archive,
        "drafts" => MailboxAttr::Drafts,
        "flagged" => MailboxAttr::Flagged,
        "junk" => MailboxAttr::Junk,
        "sent" => MailboxAttr::Sent,
        "trash" => MailboxAttr::Trash,
        _ => MailboxAttr::Other(format!("\\{name}")),
    }
}

/// `DQUOTE QUOTED-CHAR DQUOTE / nil`
fn delimiter(cur: &mut Cursor<'_>) -> PResult<Option<char>> {
    if cur.eat_word("NIL") {
        return Ok(None);
    }
    let raw = String::from_utf8(cur.quoted()?).map_err(|_| ErrorKind::InvalidUtf8)?;
    let mut chars = raw.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Some(c)),
        _ => Err(ErrorKind::Expected("one delimiter character")),
    }
}

/// `mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val`, with CHILDINFO
/// (RFC 5258) and OLDNAME (RFC 9051) interpreted.
fn list_ext_item(cur: &mut Cursor<'_>) -> PResult<ListExtItem> {
    let tag = cur.astring_utf8()?.to_ascii_uppercase();
    cur.sp()?;
    match tag.as_str() {
        "CHILDINFO" => Ok(ListExtItem::ChildInfo(
            cur.paren_list(Cursor::astring_utf8)?,
        )),
        "OLDNAME" => {
            cur.expect(b'(', "'('")?;
            let old = cur.mailbox()?;
            cur.expect(b')', "')'")?;
            Ok(ListExtItem::OldName(old))
        }
        _ => Err(ErrorKind::Unknown("LIST extended item")),
    }
}

/// `"STATUS" SP mailbox SP "(" [status-att-list] ")"`
fn status(cur: &mut Cursor<'_>) -> PResult<Data> {
    cur.sp()?;
    let mailbox = cur.mailbox()?;
    cur.sp()?;
    cur.expect(b'(', "'('")?;
    let mut items = Vec::new();
    while !cur.eat(b')') {
        if !items.is_empty() {
            cur.sp()?;
        }
        let item = StatusItem::from_name(cur.atom()?).ok_or(ErrorKind::Unknown("status item"))?;
        cur.sp()?;
        items.push((item, cur.number64()?));
    }
    Ok(Data::Status { mailbox, items })
}

/// `*(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]`
fn numbers_modseq(cur: &mut Cursor<'_>) -> PResult<(Vec<u32>, Option<ModSeq>)> {
    let mut numbers = Vec::new();
    while cur.eat(b' ') {
        if cur.eat_word("(MODSEQ ") {
            let m = ModSeq::new(cur.number64()?).ok_or(ErrorKind::NumberOutOfRange)?;
            cur.expect(b')', "')'")?;
            return Ok((numbers, Some(m)));
        }
        numbers.push(cur.nz_number()?.get());
    }
    Ok((numbers, None))
}

/// `"THREAD" [SP 1*thread-list]`
fn thread(cur: &mut Cursor<'_>) -> PResult<Data> {
    let mut threads = Vec::new();
    if cur.eat(b' ') {
        while cur.peek() == Some(b'(') {
            threads.push(thread_list(cur)?);
        }
    }
    Ok(Data::Thread(threads))
}

/// `thread-list = "(" (thread-members / thread-nested) ")"`
fn thread_list(cur: &mut Cursor<'_>) -> PResult<ThreadNode> {
    cur.expect(b'(', "'('")?;
    cur.enter()?;
    let node = thread_members(cur)?;
    cur.leave();
    cur.expect(b')', "')'")?;
    Ok(node)
}

/// `thread-members = nz-number *(SP nz-number) [SP thread-nested]`, `thread-nested = 2*thread-list`
fn thread_members(cur: &mut Cursor<'_>) -> PResult<ThreadNode> {
    if cur.peek() == Some(b'(') {
        let mut children = Vec::new();
        while cur.peek() == Some(b'(') {
            children.push(thread_list(cur)?);
        }
        return Ok(ThreadNode {
            message: None,
            children,
        });
    }
    let mut chain = vec![cur.nz_number()?.get()];
    let mut children = Vec::new();
    while cur.eat(b' ') {
        if cur.peek() == Some(b'(') {
            while cur.peek() == Some(b'(') {
                children.push(thread_list(cur)?);
            }
            break;
        }
        chain.push(cur.nz_number()?.get());
    }
    let mut node = ThreadNode {
        message: chain.pop(),
        children,
    };
    while let Some(parent) = chain.pop() {
        node = ThreadNode {
            message: Some(parent),
            children: vec![node],
        };
    }
    Ok(node)
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
fn esearch(cur: &mut Cursor<'_>) -> PResult<Data> {
    let mut tag = None;
    if cur.eat_word(" (TAG ") {
        let raw = cur.string()?;
        tag = std::str::from_utf8(&raw)
            .ok()
            .and_then(crate::command::Tag::new);
        cur.expect(b')', "')'")?;
    }
    let addressing = if cur.eat_word(" UID") {
        Addressing::Uid
    } else {
        Addressing::Sequence
    };
    let mut items = Vec::new();
    while cur.eat(b' ') {
        let name = cur.atom()?.to_ascii_uppercase();
        cur.sp()?;
        items.push(match name.as_str() {
            "MIN" => ESearchItem::Min(cur.number()?),
            "MAX" => ESearchItem::Max(cur.number()?),
            "COUNT" => ESearchItem::Count(cur.number()?),
            "ALL" => ESearchItem::All(cur.sequence_set()?),
            "MODSEQ" => ESearchItem::ModSeq(
                ModSeq::new(cur.number64()?).ok_or(ErrorKind::NumberOutOfRange)?,
            ),
            _ => return Err(ErrorKind::Unknown("ESEARCH item")),
        });
    }
    Ok(Data::ESearch {
        tag,
        addressing,
        items,
    })
}

/// `Namespace = nil / "(" 1*("(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) ")") ")"`, three
/// times (RFC 2342 §5).
fn namespace(cur: &mut Cursor<'_>) -> PResult<Data> {
    let mut parts = Vec::with_capacity(3);
    for _ in 0..3 {
        cur.sp()?;
        if cur.eat_word("NIL") {
            parts.push(None);
            continue;
        }
        cur.expect(b'(', "'('")?;
        let mut descs = Vec::new();
        while cur.eat(b'(') {
            let prefix = cur.string_name()?;
            cur.sp()?;
            let delimiter = delimiter(cur)?;
            cur.expect(b')', "')'")?;
            descs.push(NamespaceDesc { prefix, delimiter });
        }
        cur.expect(b')', "')'")?;
        parts.push(Some(descs));
    }
    let shared = parts.pop().flatten();
    let other = parts.pop().flatten();
    let personal = parts.pop().flatten();
    Ok(Data::Namespace {
        personal,
        other,
        shared,
    })
}

/// `"ID" SP ("(" *(string SP nstring) ")" / nil)`
fn id(cur: &mut Cursor<'_>) -> PResult<Data> {
    cur.sp()?;
    if cur.eat_word("NIL") {
        return Ok(Data::Id(None));
    }
    cur.expect(b'(', "'('")?;
    let mut params = Vec::new();
    while !cur.eat(b')') {
        if !params.is_empty() {
            cur.sp()?;
        }
        let key = utf8(cur.string()?)?;
        cur.sp()?;
        let value = fetch::nstring(cur)?.map(utf8).transpose()?;
        params.push((key, value));
    }
    Ok(Data::Id(Some(params)))
}

/// `"VANISHED" [SP "(EARLIER)"] SP known-uids`
fn vanished(cur: &mut Cursor<'_>) -> PResult<Data> {
    cur.sp()?;
    let mode = if cur.eat_word("(EARLIER) ") {
        Vanished::Earlier
    } else {
        Vanished::Now
    };
    Ok(Data::Vanished {
        mode,
        uids: cur.sequence_set()?,
    })
}

fn utf8(raw: Vec<u8>) -> PResult<String> {
    String::from_utf8(raw).map_err(|_| ErrorKind::InvalidUtf8)
}

/// ACL (RFC 4314 §3.6-3.8), QUOTA (RFC 9208 §5), METADATA (RFC 5464 §4.4).
fn admin(cur: &mut Cursor<'_>, name: &str) -> PResult<Data> {
    cur.sp()?;
    match name {
        "ACL" => {
            let mailbox = cur.mailbox()?;
            let mut entries = Vec::new();
            while cur.eat(b' ') {
                let identifier = cur.astring_utf8()?;
                cur.sp()?;
                entries.push((identifier, cur.astring_utf8()?));
            }
            Ok(Data::Acl { mailbox, entries })
        }
        "LISTRIGHTS" => {
            let mailbox = cur.mailbox()?;
            cur.sp()?;
            let identifier = cur.astring_utf8()?;
            cur.sp()?;
            let required = cur.astring_utf8()?;
            let optional = astrings(cur)?;
            Ok(Data::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            })
        }
        "MYRIGHTS" => {
            let mailbox = cur.mailbox()?;
            cur.sp()?;
            Ok(Data::MyRights {
                mailbox,
                rights: cur.astring_utf8()?,
            })
        }
        "QUOTA" => quota(cur),
        "QUOTAROOT" => {
            let mailbox = cur.mailbox()?;
            Ok(Data::QuotaRoot {
                mailbox,
                roots: astrings(cur)?,
            })
        }
        "METADATA" => metadata(cur),
        _ => Err(ErrorKind::Unknown("response")),
    }
}

fn astrings(cur: &mut Cursor<'_>) -> PResult<Vec<String>> {
    let mut values = Vec::new();
    while cur.eat(b' ') {
        values.push(cur.astring_utf8()?);
    }
    Ok(values)
}

/// `"QUOTA" SP quota-root-name SP quota-list`, `quota-resource = resource-name SP usage SP limit`
fn quota(cur: &mut Cursor<'_>) -> PResult<Data> {
    let root = cur.astring_utf8()?;
    cur.sp()?;
    cur.expect(b'(', "'('")?;
    let mut resources = Vec::new();
    while !cur.eat(b')') {
        if !resources.is_empty() {
            cur.sp()?;
        }
        let name = cur.atom()?.to_string();
        cur.sp()?;
        let usage = cur.number64()?;
        cur.sp()?;
        resources.push(QuotaResource {
            name,
            usage,
            limit: cur.number64()?,
        });
    }
    Ok(Data::Quota { root, resources })
}

/// `"METADATA" SP mailbox SP (entry-values / entry-list)`
fn metadata(cur: &mut Cursor<'_>) -> PResult<Data> {
    let mailbox = cur.mailbox()?;
    cur.sp()?;
    if cur.peek() != Some(b'(') {
        let mut entries = vec![cur.astring_utf8()?];
        entries.extend(astrings(cur)?);
        return Ok(Data::MetadataChanged { mailbox, entries });
    }
    let entries = cur.paren_list(|cur| -> PResult<MetadataEntry> {
        let entry = cur.astring_utf8()?;
        cur.sp()?;
        Ok((entry, fetch::nstring(cur)?))
    })?;
    Ok(Data::Metadata { mailbox, entries })
}
