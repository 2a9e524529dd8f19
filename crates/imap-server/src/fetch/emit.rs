//! One message's FETCH response, written item by item into the session's output, which is
//! flushed to the socket whenever it passes [`Output::FLUSH_AT`] — between items, and between
//! the chunks of a streamed literal. Everything that can be refused (a damaged cache, a BINARY
//! of a part that cannot be decoded) is settled before the first octet of the response; once it
//! has begun, a failure to read the message file can only close the connection, since a
//! literal cannot be taken back.

use std::ops::Range;
use std::sync::Arc;

use imap_proto::command::FetchAttr;
use imap_proto::response::{BodyLabel, Code, FetchItem, FetchWriter, LiteralKind};
use mailservice::{MessageRecord, ServiceError, StoreError};
use message::MessageCache;

use super::binary::{self, Content};
use super::fields::{self, header_fields, Fields, HeaderNames};
use super::plan::{Plan, Planned};
use super::section::{self, SectionBytes};
use super::source::{Source, CHUNK};
use super::{Loaded, Octets};
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, to_imap_datetime, Target};
use crate::output::Output;

/// One item, ready to write.
enum Value<'a> {
    Item(FetchItem),
    /// Body data in memory (header blocks, header fields, small decoded parts).
    Bytes(BodyLabel<'a>, Vec<u8>),
    /// A range of the message, read when written.
    Span(BodyLabel<'a>, Range<u64>),
    /// A large part decoded while it is written.
    Decoded(BodyLabel<'a>, binary::Decoded),
    /// Fields of a large header block, filtered while they are written; the range is the part
    /// of the kept octets that is sent.
    Filtered(BodyLabel<'a>, Fields<'a>, Range<u64>),
}

/// Writes the FETCH response for one message; a message expunged since its batch was loaded
/// is skipped (RFC 9051 §7.5.1 lets FETCH omit it).
pub(crate) async fn message(
    session: &mut Session,
    seq: u32,
    loaded: Loaded,
    plan: &Plan,
) -> Result<(), Reply> {
    let Loaded {
        record,
        cache,
        octets,
    } = loaded;
    let cache = cache.map_err(|e| {
        tracing::error!(severity = "err", "UID {}: {e}", record.uid);
        Reply::no(
            Some(Code::Corruption),
            "Message cache is damaged; run reconstruct",
        )
    })?;
    let source = match octets {
        Octets::NotNeeded => None,
        Octets::Read(raw) => Some(Source::Memory(raw)),
        Octets::InFile => match open(session, &record).await {
            Ok(file) => Some(Source::File(Arc::new(file))),
            Err(ServiceError::Store(StoreError::NoSuchMessage(_))) => return Ok(()),
            Err(e) => return Err(refuse(&e, Target::Source)),
        },
    };
    let flags = plan
        .wants_flags()
        .then(|| session.flags_item(record.uid, &record.flags));
    let env = Env {
        record: &record,
        flags,
        cache: cache.as_ref(),
        source: source.as_ref(),
    };
    let mut values = Vec::with_capacity(plan.items.len());
    for planned in &plan.items {
        if let Some(v) = value(session, &env, planned).await? {
            values.push(v);
        }
    }
    write(session, seq, values, source.as_ref()).await
}

/// What the items of one message are made from.
struct Env<'a> {
    record: &'a MessageRecord,
    /// The FLAGS item, built (and its keywords announced) before the response began.
    flags: Option<FetchItem>,
    cache: Option<&'a MessageCache>,
    source: Option<&'a Source>,
}

impl Env<'_> {
    /// Octets in the message.
    fn len(&self) -> u64 {
        self.source.map_or(self.record.size, Source::len)
    }

    /// The top-level header block's range in the message.
    fn header(&self) -> Range<u64> {
        0..self
            .cache
            .map_or(0, |c| u64::from(c.header_len()))
            .min(self.len())
    }
}

async fn open(
    session: &Session,
    record: &MessageRecord,
) -> Result<mailservice::MessageFile, ServiceError> {
    let Some(view) = session.state.view() else {
        return Err(ServiceError::NoSuchMailbox);
    };
    let (mailbox, uid) = (view.mailbox.clone(), record.uid);
    session
        .blocking(move |s| s.open_message(&mailbox, uid))
        .await
}

/// The value of one item, or `None` for an item this message has no value for.
async fn value<'a>(
    session: &Session,
    env: &Env<'_>,
    planned: &'a Planned,
) -> Result<Option<Value<'a>>, Reply> {
    let record = env.record;
    let cached = |get: fn(&MessageCache) -> &[u8]| env.cache.map(|c| get(c).to_vec());
    let item = match &planned.attr {
        FetchAttr::Uid => FetchItem::Uid(record.uid),
        FetchAttr::Flags => match &env.flags {
            Some(item) => item.clone(),
            None => return Ok(None),
        },
        FetchAttr::InternalDate => match to_imap_datetime(record.internal_date) {
            Some(dt) => FetchItem::InternalDate(dt),
            None => return Ok(None),
        },
        FetchAttr::Rfc822Size => FetchItem::Rfc822Size(record.size),
        FetchAttr::ModSeq => FetchItem::ModSeq(record.modseq),
        FetchAttr::Envelope => FetchItem::Envelope(cached(|c| c.envelope()).unwrap_or_default()),
        FetchAttr::Body => FetchItem::Body(cached(|c| c.body()).unwrap_or_default()),
        FetchAttr::BodyStructure => {
            FetchItem::BodyStructure(cached(|c| c.bodystructure()).unwrap_or_default())
        }
        FetchAttr::Rfc822 => return Ok(Some(Value::Span(BodyLabel::Rfc822, 0..env.len()))),
        FetchAttr::Rfc822Header => {
            return Ok(Some(match &record.header {
                Some(header) => Value::Bytes(BodyLabel::Rfc822Header, header.clone()),
                None => Value::Span(BodyLabel::Rfc822Header, env.header()),
            }));
        }
        FetchAttr::Rfc822Text => {
            let start = env.cache.map_or(0, |c| u64::from(c.header_len()));
            let range = start.min(env.len())..env.len();
            return Ok(Some(Value::Span(BodyLabel::Rfc822Text, range)));
        }
        FetchAttr::BodySection {
            section, partial, ..
        } => {
            let label = BodyLabel::Section {
                section,
                origin: partial.map(|p| p.0),
            };
            return body_section(session, env, planned, label, *partial)
                .await
                .map(Some);
        }
        FetchAttr::Binary { part, partial, .. } => {
            let label = BodyLabel::Binary { part };
            let content = binary::content(session, env.source, env.cache, part, *partial).await?;
            return Ok(Some(match content {
                Content::Span(range) => Value::Span(label, range),
                Content::Bytes(data) => Value::Bytes(label, data),
                Content::Decoded(d) => Value::Decoded(label, d),
            }));
        }
        FetchAttr::BinarySize { part } => {
            let size = binary::size(session, env.source, env.cache, part).await?;
            FetchItem::BinarySize {
                part: part.clone(),
                size,
            }
        }
        FetchAttr::Other(_) => return Ok(None),
    };
    Ok(Some(Value::Item(item)))
}

/// `BODY[section]<partial>`: a range of the message, or header fields picked from a header
/// block (the index's copy for the top level when the batch loaded it, else the file's).
async fn body_section<'a>(
    session: &Session,
    env: &Env<'_>,
    planned: &'a Planned,
    label: BodyLabel<'a>,
    partial: Option<(u32, u32)>,
) -> Result<Value<'a>, Reply> {
    let FetchAttr::BodySection { section, .. } = &planned.attr else {
        return Ok(Value::Bytes(label, Vec::new()));
    };
    let top_header = section::header_only(section);
    if let (true, Some(header)) = (top_header, env.record.header.as_deref()) {
        let data = section::from_header_block(header, section, planned.names.as_ref());
        return Ok(Value::Bytes(label, section::partial(data, partial)));
    }
    let (Some(cache), Some(source)) = (env.cache, env.source) else {
        return Ok(Value::Bytes(label, Vec::new()));
    };
    let located = match top_header {
        true => section::top_header(section, env.header()),
        false => section::locate(cache, section, env.len()),
    };
    match located {
        SectionBytes::Span(range) => Ok(Value::Span(label, section::partial_range(range, partial))),
        SectionBytes::Fields(range, include) => {
            let names = planned.names.as_ref().unwrap_or(&NO_NAMES);
            let wanted = Fields {
                range,
                names,
                include,
            };
            filtered(session, source, label, wanted, partial).await
        }
        SectionBytes::Empty => Ok(Value::Bytes(label, Vec::new())),
    }
}

static NO_NAMES: HeaderNames = HeaderNames::EMPTY;

/// HEADER.FIELDS of a header block in the file: filtered in memory when the block is small,
/// else measured now and streamed when written.
async fn filtered<'a>(
    session: &Session,
    source: &Source,
    label: BodyLabel<'a>,
    wanted: Fields<'a>,
    partial: Option<(u32, u32)>,
) -> Result<Value<'a>, Reply> {
    if wanted.range.end - wanted.range.start <= CHUNK {
        let header = source
            .read(session, wanted.range.clone())
            .await
            .map_err(|e| refuse(&e, Target::Source))?;
        let data = header_fields(&header, wanted.names, wanted.include);
        return Ok(Value::Bytes(label, section::partial(data, partial)));
    }
    let total = fields::measure(session, source, &wanted).await?;
    let sent = section::partial_range(0..total, partial);
    Ok(Value::Filtered(label, wanted, sent))
}

async fn write(
    session: &mut Session,
    seq: u32,
    values: Vec<Value<'_>>,
    source: Option<&Source>,
) -> Result<(), Reply> {
    let encoding = session.out.encoding;
    let mut w = FetchWriter::begin(&mut session.out.buf, seq, encoding);
    for value in values {
        match value {
            Value::Item(item) => w.item(&mut session.out.buf, &item),
            Value::Bytes(label, data) => w.body(&mut session.out.buf, label, Some(&data)),
            Value::Span(label, range) => span(session, &mut w, label, range, source).await?,
            Value::Decoded(label, d) => binary::stream(session, &mut w, label, d, source).await?,
            Value::Filtered(label, wanted, sent) => match source {
                Some(source) => {
                    fields::stream(session, &mut w, label, &wanted, sent, source).await?
                }
                None => w.body(&mut session.out.buf, label, Some(b"")),
            },
        }
        flush_if_full(session).await?;
    }
    w.end(&mut session.out.buf);
    flush_if_full(session).await
}

/// A range of the message: written whole when it is at most [`CHUNK`] octets (as an nstring,
/// quoted when short, as for any data in memory), else as a literal streamed a chunk at a time.
async fn span(
    session: &mut Session,
    w: &mut FetchWriter,
    label: BodyLabel<'_>,
    range: Range<u64>,
    source: Option<&Source>,
) -> Result<(), Reply> {
    let Some(source) = source else {
        w.body(&mut session.out.buf, label, Some(b""));
        return Ok(());
    };
    let end = range.end.min(source.len());
    let range = range.start.min(end)..end;
    if range.end - range.start <= CHUNK {
        let data = match source.read(session, range).await {
            Ok(data) => data,
            Err(e) => return Err(broken(session, &e).await),
        };
        w.body(&mut session.out.buf, label, Some(&data));
        return Ok(());
    }
    // Message files hold no NUL (the store refuses them), so a plain literal fits.
    w.literal(
        &mut session.out.buf,
        label,
        range.end - range.start,
        LiteralKind::Literal,
    );
    let mut at = range.start;
    while at < range.end {
        let want = (range.end - at).min(CHUNK);
        let chunk = match source.read(session, at..at + want).await {
            Ok(chunk) if chunk.len() as u64 == want => chunk,
            Ok(_) => return Err(broken(session, &binary::changed()).await),
            Err(e) => return Err(broken(session, &e).await),
        };
        session.out.buf.extend_from_slice(&chunk);
        at += want;
        flush_if_full(session).await?;
    }
    Ok(())
}

/// Writes the output if it has passed [`Output::FLUSH_AT`]; a client that is gone ends the
/// session.
pub(super) async fn flush_if_full(session: &mut Session) -> Result<(), Reply> {
    if session.out.buf.len() >= Output::FLUSH_AT && session.flush().await.is_err() {
        return Err(Reply::bad("").closing());
    }
    Ok(())
}

/// The message could not be read after its response began: nothing more can be written that
/// the client would parse correctly, so the connection is closed without another octet.
pub(super) async fn broken(session: &mut Session, err: &ServiceError) -> Reply {
    tracing::error!(
        severity = "err",
        "{}: reading a message during FETCH: {err}; closing the connection",
        session.info.peer
    );
    session.out.buf.clear();
    let _ = tokio::io::AsyncWriteExt::shutdown(&mut session.transport).await;
    Reply::already_sent().closing()
}
