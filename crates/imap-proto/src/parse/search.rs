//! SEARCH (RFC 9051 §6.4.4 and RFC 3501 §6.4.4 keys, RFC 4731 RETURN, RFC 5182 SAVE and `$`,
//! RFC 7162 §3.1.5 MODSEQ, RFC 5032 OLDER/YOUNGER).

use super::cursor::Cursor;
use super::PResult;
use crate::command::{Addressing, Command, Search, SearchKey, SearchReturn};
use crate::error::ErrorKind;

/// `search = "SEARCH" [search-return-opts] SP search-program`,
/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`
pub(super) fn search(cur: &mut Cursor<'_>, addressing: Addressing) -> PResult<Command> {
    cur.sp()?;
    let mut return_options = None;
    if cur.eat_word("RETURN ") {
        return_options = Some(search_return_opts(cur)?);
        cur.sp()?;
    }
    let mut charset = None;
    if cur.eat_word("CHARSET ") {
        charset = Some(super::command::utf8(cur.astring()?)?);
        cur.sp()?;
    }
    let mut criteria = vec![search_key(cur)?];
    while cur.eat(b' ') {
        criteria.push(search_key(cur)?);
    }
    Ok(Command::Search(Search {
        addressing,
        return_options,
        charset,
        criteria,
    }))
}

/// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`
fn search_return_opts(cur: &mut Cursor<'_>) -> PResult<Vec<SearchReturn>> {
    cur.expect(b'(', "'(' after RETURN")?;
    let mut opts = Vec::new();
    while !cur.eat(b')') {
        if !opts.is_empty() {
            cur.sp()?;
        }
        let opt = match cur.atom()?.to_ascii_uppercase().as_str() {
            "MIN" => SearchReturn::Min,
            "MAX" => SearchReturn::Max,
            "ALL" => SearchReturn::All,
            "COUNT" => SearchReturn::Count,
            "SAVE" => SearchReturn::Save,
            _ => return Err(ErrorKind::Unknown("search return option")),
        };
        opts.push(opt);
    }
    Ok(opts)
}

/// `search-key`, with nesting bounded by the cursor's depth limit (NOT, OR and parentheses
/// all recurse here).
pub(super) fn search_key(cur: &mut Cursor<'_>) -> PResult<SearchKey> {
    cur.enter()?;
    let key = search_key_inner(cur);
    cur.leave();
    key
}

fn search_key_inner(cur: &mut Cursor<'_>) -> PResult<SearchKey> {
    match cur.peek() {
        Some(b'(') => {
            cur.pos += 1;
            let mut keys = vec![search_key(cur)?];
            while cur.eat(b' ') {
                keys.push(search_key(cur)?);
            }
            cur.expect(b')', "')'")?;
            return Ok(SearchKey::And(keys));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => return Ok(SearchKey::SequenceSet(cur.sequence_set()?)),
        _ => {}
    }
    let mut buf = [0; 32];
    let name = super::upper(cur.atom()?.as_bytes(), &mut buf);
    if let Some(key) = flag_key(name) {
        return Ok(key);
    }
    cur.sp()?;
    argument_key(cur, name)
}

/// Keys without arguments.
fn flag_key(name: &str) -> Option<SearchKey> {
    Some(match name {
        "ALL" => SearchKey::All,
        "ANSWERED" => SearchKey::Answered,
        "DELETED" => SearchKey::Deleted,
        "DRAFT" => SearchKey::Draft,
        "FLAGGED" => SearchKey::Flagged,
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "RECENT" => SearchKey::Recent,
        "SEEN" => SearchKey::Seen,
        "UNANSWERED" => SearchKey::Unanswered,
        "UNDELETED" => SearchKey::Undeleted,
        "UNDRAFT" => SearchKey::Undraft,
        "UNFLAGGED" => SearchKey::Unflagged,
        "UNSEEN" => SearchKey::Unseen,
        _ => return None,
    })
}

/// Keys with arguments; `name` has been read, followed by SP.
fn argument_key(cur: &mut Cursor<'_>, name: &str) -> PResult<SearchKey> {
    Ok(match name {
        "BCC" => SearchKey::Bcc(cur.astring()?),
        "BODY" => SearchKey::Body(cur.astring()?),
        "CC" => SearchKey::Cc(cur.astring()?),
        "FROM" => SearchKey::From(cur.astring()?),
        "SUBJECT" => SearchKey::Subject(cur.astring()?),
        "TEXT" => SearchKey::Text(cur.astring()?),
        "TO" => SearchKey::To(cur.astring()?),
        "HEADER" => {
            let field = cur.astring()?;
            cur.sp()?;
            SearchKey::Header(field, cur.astring()?)
        }
        "BEFORE" => SearchKey::Before(cur.date()?),
        "ON" => SearchKey::On(cur.date()?),
        "SINCE" => SearchKey::Since(cur.date()?),
        "SENTBEFORE" => SearchKey::SentBefore(cur.date()?),
        "SENTON" => SearchKey::SentOn(cur.date()?),
        "SENTSINCE" => SearchKey::SentSince(cur.date()?),
        "KEYWORD" => SearchKey::Keyword(keyword(cur)?),
        "UNKEYWORD" => SearchKey::Unkeyword(keyword(cur)?),
        "LARGER" => SearchKey::Larger(cur.number64()?),
        "SMALLER" => SearchKey::Smaller(cur.number64()?),
        "UID" => SearchKey::Uid(cur.sequence_set()?),
        "NOT" => SearchKey::Not(Box::new(search_key(cur)?)),
        "OR" => {
            let a = search_key(cur)?;
            cur.sp()?;
            SearchKey::Or(Box::new(a), Box::new(search_key(cur)?))
        }
        "OLDER" => SearchKey::Older(cur.nz_number()?.get()),
        "YOUNGER" => SearchKey::Younger(cur.nz_number()?.get()),
        "MODSEQ" => modseq(cur)?,
        _ => return Err(ErrorKind::Unknown("search key")),
    })
}

/// `flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom`
fn keyword(cur: &mut Cursor<'_>) -> PResult<String> {
    let flag = cur.flag()?;
    if flag.is_system() {
        // RFC 9051 §6.4.4: KEYWORD takes a keyword; system flags have their own keys.
        return Err(ErrorKind::Expected("keyword"));
    }
    Ok(flag.as_str().to_string())
}

/// `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`,
/// `search-modseq-ext = SP entry-name SP entry-type-req` (RFC 7162 §7)
fn modseq(cur: &mut Cursor<'_>) -> PResult<SearchKey> {
    let mut entry = None;
    if cur.peek() == Some(b'"') {
        // entry-name = DQUOTE "/flags/" attr-flag DQUOTE
        let name = super::command::utf8(cur.quoted()?)?;
        let flag = name
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("/flags/"))
            .and(name.get(7..));
        if !flag.is_some_and(|f| !f.is_empty() && types::Flag::parse(f).is_ok()) {
            return Err(ErrorKind::Expected("entry-name \"/flags/<flag>\""));
        }
        cur.sp()?;
        let kind = cur.atom()?.to_ascii_lowercase();
        if !matches!(kind.as_str(), "priv" | "shared" | "all") {
            return Err(ErrorKind::Expected("entry-type-req"));
        }
        cur.sp()?;
        entry = Some((name, kind));
    }
    Ok(SearchKey::ModSeq {
        entry,
        mod_seq: cur.number64()?,
    })
}
