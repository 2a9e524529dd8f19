//! COPY and MOVE from the proxied mailbox to a mailbox another server holds, or one held
//! here: no server can do it alone, so the frontend carries the messages. It fetches UID,
//! FLAGS, INTERNALDATE and `BODY.PEEK[]` from the source backend in one FETCH and, as each
//! message arrives (its bytes streamed to a spool file, so memory stays bounded whatever its
//! size), APPENDs it to the destination with its flags and internal date. COPYUID comes from
//! the destination's APPENDUIDs (RFC 4315). MOVE then marks the messages `\Deleted` and
//! expunges them at the source by UID (RFC 6851 §3.3 allows COPY + STORE + UID EXPUNGE),
//! the source's EXPUNGE or VANISHED responses relayed.
//!
//! Not atomic across servers: when an APPEND fails halfway, the messages already appended
//! stay in the destination, the answer is that APPEND's refusal, and a MOVE removes nothing.

use imap_proto::command::{
    Addressing, AppendData, AppendMessage, Command, Fetch, FetchAttr, FetchItems, Mailbox,
    PeekMode, Section, Store, StoreAction, StoreSilence, Tag,
};
use imap_proto::response::{Code, Data, FetchItem, Response, StatusKind};
use imap_proto::{DateTime, LiteralKind, SequenceSet, SpoolRef};
use mailservice::{AppendItem, AppendSource, Authorized};
use types::{Flag, Rights, UidValidity};

use super::conn::{BackendConn, Completion};
use super::io::CHUNK;
use super::relay::Sink;
use super::ProxyError;
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{from_imap_datetime, refuse, Target};

/// COPY, or MOVE (RFC 6851).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Copy,
    Move,
}

/// Where the carried messages go.
pub(crate) struct Destination {
    /// Its authorization here.
    pub mailbox: Authorized,
    /// Its name as the client gave it (what the destination backend is told).
    pub client_name: Mailbox,
    /// The backend holding it; `None` for a mailbox held here.
    pub backend: Option<String>,
}

/// One message read from the source.
struct Carried {
    uid: u32,
    flags: Vec<Flag>,
    date: Option<DateTime>,
    /// Its spool file, and the file's length.
    spool: u64,
    len: u64,
}

/// Why carrying stopped before the source's FETCH completed.
enum Failure {
    /// The destination refused a message: its answer, for the client.
    Refused(Reply),
    /// The destination backend failed.
    Lost(ProxyError),
}

/// What carrying did.
struct Outcome {
    /// (source UID, destination UID) of each message appended.
    mapping: Vec<(u32, u32)>,
    uid_validity: Option<UidValidity>,
    failure: Option<Failure>,
    /// The source's completion of the FETCH.
    fetched: Completion,
}

/// COPY or MOVE of `set` from the proxied mailbox on `backend` to `destination`.
pub(crate) async fn between(
    session: &mut Session,
    tag: &Tag,
    backend: &str,
    (addressing, set): (Addressing, SequenceSet),
    destination: Destination,
    mode: Mode,
) -> Reply {
    if let Some(reply) = refused_move(session, mode) {
        return reply;
    }
    let mut source = match session.backend(backend).await {
        Ok(conn) => conn,
        Err(e) => return session.unavailable(backend, &e),
    };
    let mut target = match &destination.backend {
        Some(name) => match session.backend(name).await {
            Ok(conn) => Some(conn),
            Err(e) => {
                session.backends.put(source);
                return session.unavailable(name, &e);
            }
        },
        None => None,
    };
    let fetch = (addressing, set);
    let carried = carry(session, &mut source, target.as_mut(), fetch, &destination).await;
    session.spool.clear();
    let outcome = match carried {
        Ok(outcome) => outcome,
        Err(e) => return session.unavailable(backend, &e),
    };
    if let Some(conn) = target {
        if !matches!(outcome.failure, Some(Failure::Lost(_))) {
            session.backends.put(conn);
        }
    }
    if !outcome.fetched.is_ok() {
        session.backends.put(source);
        return session.complete(tag, &outcome.fetched);
    }
    match outcome.failure {
        Some(Failure::Refused(reply)) => {
            session.backends.put(source);
            return reply;
        }
        Some(Failure::Lost(e)) => {
            session.backends.put(source);
            let name = destination.backend.unwrap_or_default();
            return session.unavailable(&name, &e);
        }
        None => {}
    }
    let code = copyuid(&outcome.mapping, outcome.uid_validity);
    match mode {
        Mode::Copy => {
            session.backends.put(source);
            match code {
                Some(code) => Reply::ok_code(code, "Copy completed"),
                None => Reply::ok("Copy completed"),
            }
        }
        Mode::Move => {
            if let Some(code) = code {
                // RFC 6851 §4.3: COPYUID before the EXPUNGEs.
                session.out.untagged(StatusKind::Ok, Some(code), "Moved");
            }
            let uids: Vec<u32> = outcome.mapping.iter().map(|(src, _)| *src).collect();
            expunge_moved(session, tag, source, uids).await
        }
    }
}

/// RFC 4314 §4 and RFC 6851: MOVE takes the messages out of the source, which needs `t` and
/// `e` there and a read-write selection; refused before anything is copied.
fn refused_move(session: &Session, mode: Mode) -> Option<Reply> {
    let proxied = session.state.proxied()?;
    if mode != Mode::Move {
        return None;
    }
    let needed = Rights::DELETE_MESSAGES.union(Rights::EXPUNGE);
    if !proxied.mailbox.acting_rights().contains(needed) {
        return Some(Reply::no(
            Some(Code::NoPerm),
            "MOVE needs the t and e rights here",
        ));
    }
    if proxied.read_only {
        return Some(Reply::no(Some(Code::ReadOnly), "Mailbox is read-only"));
    }
    None
}

/// Reads the source's FETCH and appends each message as it comes. An error is the
/// source's; the destination's failures are in the outcome (the source's answer is still
/// read to its end, so its connection stays usable).
async fn carry(
    session: &mut Session,
    source: &mut BackendConn,
    mut target: Option<&mut BackendConn>,
    (addressing, set): (Addressing, SequenceSet),
    destination: &Destination,
) -> Result<Outcome, ProxyError> {
    let fetch = Command::Fetch(Fetch {
        addressing,
        set,
        items: FetchItems::Attrs(vec![
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::BodySection {
                peek: PeekMode::Peek,
                section: Section::default(),
                partial: None,
            },
        ]),
        changed_since: None,
        vanished: false,
    });
    let tag = source.tag();
    for piece in session.command_pieces(&tag, fetch)? {
        if let super::relay::Piece::Bytes(bytes) = piece {
            source.io.write_all(&bytes, source.timeout).await?;
        }
    }
    let mut mapping = Vec::new();
    let mut uid_validity = None;
    let mut failure = None;
    loop {
        let line = source.io.line(source.timeout).await?;
        if let Some(fetched) = Completion::of(&line, &tag) {
            return Ok(Outcome {
                mapping,
                uid_validity,
                failure,
                fetched,
            });
        }
        if !line.starts_with(b"* ") {
            return Err(ProxyError::Protocol("a line that is no response".into()));
        }
        if !is_message_body(&line) {
            session
                .relay_response(source, line, &mut Sink::Client)
                .await?;
            continue;
        }
        let message = read_message(session, source, line).await?;
        if failure.is_none() {
            let target = target.as_deref_mut();
            match deliver(session, target, destination, &message).await {
                Ok((validity, uid)) => {
                    uid_validity = Some(validity);
                    if let Some(uid) = uid {
                        mapping.push((message.uid, uid));
                    }
                }
                Err(f) => failure = Some(f),
            }
        }
        session.spool.clear();
    }
}

/// Whether a FETCH response's first line ends with the `BODY[]` literal this FETCH asked
/// for (UID, FLAGS and INTERNALDATE hold no literal, so it is always on the first line).
fn is_message_body(line: &[u8]) -> bool {
    if imap_proto::response_line_literal(line).is_none() {
        return false;
    }
    let Some(brace) = line.iter().rposition(|&b| b == b'{') else {
        return false;
    };
    let before = line[..brace].strip_suffix(b" ").unwrap_or(&line[..brace]);
    before.len() >= 6 && before[before.len() - 6..].eq_ignore_ascii_case(b"BODY[]")
}

/// Reads one message's FETCH response: its bytes to a spool file, the rest (a few short
/// items) parsed, the literal replaced by an empty one.
async fn read_message(
    session: &mut Session,
    source: &mut BackendConn,
    first: Vec<u8>,
) -> Result<Carried, ProxyError> {
    let len = imap_proto::response_line_literal(&first).unwrap_or(0);
    let brace = first
        .iter()
        .rposition(|&b| b == b'{')
        .unwrap_or(first.len());
    let mut skeleton = first[..brace].to_vec();
    skeleton.extend_from_slice(b"{0}\r\n");
    session.spool.begin().await?;
    let mut left = len;
    while left > 0 {
        let max = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
        let chunk = source.io.chunk(max, source.timeout).await?;
        left -= chunk.len() as u64;
        session.spool.write(&chunk).await?;
    }
    let spool = session.spool.finish().await?;
    let limits = &session.server.config.limits;
    let (max_literal, max_total) = (limits.max_literal, limits.max_command);
    loop {
        let line = source.io.line(source.timeout).await?;
        skeleton.extend_from_slice(&line);
        let Some(more) = imap_proto::response_line_literal(&line) else {
            break;
        };
        if more > max_literal {
            return Err(ProxyError::Protocol(format!("a literal of {more} bytes")));
        }
        let mut left = more;
        while left > 0 {
            let max = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
            let chunk = source.io.chunk(max, source.timeout).await?;
            left -= chunk.len() as u64;
            skeleton.extend_from_slice(&chunk);
        }
        if skeleton.len() > max_total {
            return Err(ProxyError::Protocol("a FETCH response too large".into()));
        }
    }
    let parsed = imap_proto::parse_response(&skeleton, session.out.encoding);
    let Ok(Response::Data(Data::Fetch { items, .. })) = parsed else {
        return Err(ProxyError::Protocol(
            "a FETCH response it could not parse".into(),
        ));
    };
    let mut message = Carried {
        uid: 0,
        flags: Vec::new(),
        date: None,
        spool,
        len,
    };
    message.flags = crate::flags::fetched_flags(&items).unwrap_or_default();
    for item in items {
        match item {
            FetchItem::Uid(uid) => message.uid = uid.get(),
            FetchItem::InternalDate(date) => message.date = Some(date),
            _ => {}
        }
    }
    if message.uid == 0 {
        return Err(ProxyError::Protocol("a FETCH response without UID".into()));
    }
    Ok(message)
}

/// Appends one message to the destination: the UIDVALIDITY and, when the destination said,
/// the new UID.
async fn deliver(
    session: &mut Session,
    target: Option<&mut BackendConn>,
    destination: &Destination,
    message: &Carried,
) -> Result<(UidValidity, Option<u32>), Failure> {
    let Some(conn) = target else {
        return deliver_here(session, destination, message).await;
    };
    let append = AppendMessage {
        flags: message.flags.clone(),
        date_time: message.date,
        data: AppendData::Spooled {
            spool: SpoolRef(message.spool),
            len: message.len,
            kind: LiteralKind::Literal,
        },
    };
    let tag = conn.tag();
    let mailbox = destination.client_name.clone();
    let pieces = session
        .append_pieces(conn, &tag, mailbox, vec![append])
        .map_err(Failure::Lost)?;
    let done = session
        .exchange(conn, &tag, pieces, &mut Sink::Discard)
        .await
        .map_err(Failure::Lost)?;
    match done.code {
        Some(Code::AppendUid { uid_validity, uids }) if done.is_ok() => {
            let uid = uids
                .ranges(u32::MAX)
                .and_then(|r| r.first().map(|(lo, _)| *lo));
            Ok((uid_validity, uid))
        }
        _ if done.is_ok() => Err(Failure::Refused(Reply::no(
            Some(Code::ServerBug),
            "The destination server gave no APPENDUID",
        ))),
        _ => Err(Failure::Refused(Reply::no(
            done.code.clone(),
            &refusal_text(&done),
        ))),
    }
}

/// The text of a refusal, without its status word and code.
fn refusal_text(done: &Completion) -> String {
    let text = done.text();
    let text = text
        .split_once(' ')
        .map_or("", |(_, rest)| rest)
        .trim_start();
    let text = match text.strip_prefix('[') {
        Some(coded) => coded
            .split_once(']')
            .map_or("", |(_, rest)| rest)
            .trim_start(),
        None => text,
    };
    if text.is_empty() {
        "The destination refused the message".to_string()
    } else {
        text.to_string()
    }
}

/// Appends one message to a mailbox held here.
async fn deliver_here(
    session: &mut Session,
    destination: &Destination,
    message: &Carried,
) -> Result<(UidValidity, Option<u32>), Failure> {
    let Some(path) = session.spool.path(message.spool).map(|p| p.to_path_buf()) else {
        return Err(Failure::Refused(Reply::no(
            Some(Code::ServerBug),
            "Spooled message is missing",
        )));
    };
    let item = AppendItem {
        source: AppendSource::File(path),
        flags: message.flags.clone(),
        internal_date: message.date.map(from_imap_datetime),
    };
    let mailbox = destination.mailbox.clone();
    match session
        .blocking(move |s| s.append(&mailbox, vec![item]))
        .await
    {
        Ok(outcome) => Ok((outcome.uidvalidity, outcome.uids.first().map(|u| u.get()))),
        Err(e) => Err(Failure::Refused(refuse(&e, Target::Destination))),
    }
}

/// RFC 4315 COPYUID of the carried messages; `None` when none was carried.
fn copyuid(mapping: &[(u32, u32)], uid_validity: Option<UidValidity>) -> Option<Code> {
    Some(Code::CopyUid {
        uid_validity: uid_validity?,
        source: SequenceSet::from_numbers(mapping.iter().map(|(s, _)| *s))?,
        destination: SequenceSet::from_numbers(mapping.iter().map(|(_, d)| *d))?,
    })
}

/// The second half of a MOVE between servers: `UID STORE +FLAGS.SILENT (\Deleted)` and
/// `UID EXPUNGE` of the moved messages at the source, whose answers are relayed.
async fn expunge_moved(
    session: &mut Session,
    tag: &Tag,
    mut source: BackendConn,
    uids: Vec<u32>,
) -> Reply {
    let backend = source.name.clone();
    let Some(set) = SequenceSet::from_numbers(uids) else {
        session.backends.put(source);
        return Reply::ok("Move completed");
    };
    let store = Command::Store(Store {
        addressing: Addressing::Uid,
        set: set.clone(),
        unchanged_since: None,
        action: StoreAction::Add,
        silence: StoreSilence::Silent,
        flags: vec![Flag::Deleted],
    });
    for command in [store, Command::UidExpunge(set)] {
        let tag_there = source.tag();
        let exchanged = match session.command_pieces(&tag_there, command) {
            Ok(pieces) => {
                session
                    .exchange(&mut source, &tag_there, pieces, &mut Sink::Client)
                    .await
            }
            Err(e) => Err(e),
        };
        match exchanged {
            Ok(done) if done.is_ok() => {}
            Ok(done) => {
                session.backends.put(source);
                return session.complete(tag, &done);
            }
            Err(e) => return session.unavailable(&backend, &e),
        }
    }
    session.backends.put(source);
    Reply::ok("Move completed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_message_literal_is_taken_for_a_message() {
        assert!(is_message_body(
            b"* 1 FETCH (UID 4 FLAGS () BODY[] {12}\r\n"
        ));
        assert!(is_message_body(b"* 1 FETCH (BODY[] {0}\r\n"));
        assert!(is_message_body(b"* 1 FETCH (uid 4 body[] {3}\r\n"));
        assert!(!is_message_body(b"* 1 FETCH (BODY[1] {12}\r\n"));
        assert!(!is_message_body(b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n"));
        assert!(!is_message_body(b"* 1 FETCH (BODY[HEADER] {12}\r\n"));
    }

    #[test]
    fn a_refusal_loses_its_status_word_and_code() {
        let done = |rest: &[u8]| Completion {
            kind: StatusKind::No,
            code: None,
            rest: rest.to_vec(),
        };
        assert_eq!(
            refusal_text(&done(b" NO [OVERQUOTA] Over quota\r\n")),
            "Over quota"
        );
        assert_eq!(refusal_text(&done(b" NO Nope\r\n")), "Nope");
        assert_eq!(
            refusal_text(&done(b" NO\r\n")),
            "The destination refused the message"
        );
    }
}
