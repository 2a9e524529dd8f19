//! SORT and THREAD (RFC 5256 §5 grammar).

use super::cursor::Cursor;
use super::search::search_key;
use super::PResult;
use crate::command::{
    Addressing, Command, SearchKey, Sort, SortCriterion, SortKey, SortOrder, Thread,
    ThreadAlgorithm,
};
use crate::error::ErrorKind;

/// `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`,
/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`
pub(super) fn sort(cur: &mut Cursor<'_>, addressing: Addressing) -> PResult<Command> {
    cur.sp()?;
    let criteria = cur.paren_list(sort_criterion)?;
    cur.sp()?;
    let (charset, search) = search_criteria(cur)?;
    Ok(Command::Sort(Sort {
        addressing,
        criteria,
        charset,
        search,
    }))
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
fn sort_criterion(cur: &mut Cursor<'_>) -> PResult<SortCriterion> {
    let order = if cur.eat_word("REVERSE ") {
        SortOrder::Descending
    } else {
        SortOrder::Ascending
    };
    let name = cur.atom()?;
    let key = SortKey::ALL
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .ok_or(ErrorKind::Unknown("sort key"))?;
    Ok(SortCriterion { order, key })
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`
pub(super) fn thread(cur: &mut Cursor<'_>, addressing: Addressing) -> PResult<Command> {
    cur.sp()?;
    let algorithm = match cur.atom()?.to_ascii_uppercase().as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        other => ThreadAlgorithm::Other(other.to_string()),
    };
    cur.sp()?;
    let (charset, search) = search_criteria(cur)?;
    Ok(Command::Thread(Thread {
        addressing,
        algorithm,
        charset,
        search,
    }))
}

/// `search-criteria = charset 1*(SP search-key)`, `charset = atom / quoted`
fn search_criteria(cur: &mut Cursor<'_>) -> PResult<(String, Vec<SearchKey>)> {
    let charset = if cur.peek() == Some(b'"') {
        super::command::utf8(cur.quoted()?)?
    } else {
        cur.atom()?.to_string()
    };
    let mut keys = Vec::new();
    while cur.eat(b' ') {
        keys.push(search_key(cur)?);
    }
    if keys.is_empty() {
        return Err(ErrorKind::Expected("search key"));
    }
    Ok((charset, keys))
}
