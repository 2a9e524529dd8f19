//! FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY). Records come from the index in
//! batches; ENVELOPE and BODYSTRUCTURE from the cache; header sections from the cached header
//! block; other sections are cut from the message file by cached offsets. A non-PEEK body fetch
//! sets `\Seen` first and reports the new FLAGS.

mod section;

use imap_proto::command::{Addressing, Fetch, FetchAttr, FetchItems, PeekMode};
use imap_proto::response::{Code, Data, FetchFlag, FetchItem};
use mailservice::{FlagChange, MessageRecord, RecordFields, UidSelection};
use types::{Flag, Uid};

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, to_imap_datetime, Target};
use crate::output::Output;

/// Messages per trip to the blocking pool.
const BATCH: usize = 256;

/// What the requested attributes need loaded.
struct Needs {
    cache: bool,
    header: bool,
    file: bool,
    sets_seen: bool,
}

fn needs(attrs: &[FetchAttr]) -> Needs {
    let mut n = Needs {
        cache: false,
        header: false,
        file: false,
        sets_seen: false,
    };
    for attr in attrs {
        match attr {
            FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => n.cache = true,
            FetchAttr::Rfc822Header => n.header = true,
            FetchAttr::Rfc822 | FetchAttr::Rfc822Text => {
                n.file = true;
                n.sets_seen |= matches!(attr, FetchAttr::Rfc822 | FetchAttr::Rfc822Text);
            }
            FetchAttr::BodySection { peek, section, .. } => {
                if section::header_only(section) {
                    n.header = true;
                } else {
                    n.cache = true;
                    n.file = true;
                }
                n.sets_seen |= *peek == PeekMode::Read;
            }
            FetchAttr::Binary { peek, .. } => {
                n.cache = true;
                n.file = true;
                n.sets_seen |= *peek == PeekMode::Read;
            }
            FetchAttr::BinarySize { .. } => {
                n.cache = true;
                n.file = true;
            }
            FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq
            | FetchAttr::Other(_) => {}
        }
    }
    n
}

pub(crate) async fn run(session: &mut Session, fetch: Fetch) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let targets = match view.resolve(&fetch.set, fetch.addressing) {
        Ok(t) => t,
        Err(_) => return Reply::bad("Invalid message sequence number"),
    };
    let mut attrs = match fetch.items {
        FetchItems::Macro(m) => m.expand(),
        FetchItems::Attrs(a) => a,
    };
    if let Some(other) = attrs.iter().find_map(|a| match a {
        FetchAttr::Other(name) => Some(name.clone()),
        _ => None,
    }) {
        return Reply::bad(&format!("Unsupported FETCH attribute {other}"));
    }
    if fetch.addressing == Addressing::Uid && !attrs.contains(&FetchAttr::Uid) {
        attrs.insert(0, FetchAttr::Uid);
    }
    let mut needs = needs(&attrs);
    needs.sets_seen &= !view.read_only;
    if needs.sets_seen && !attrs.contains(&FetchAttr::Flags) {
        attrs.push(FetchAttr::Flags);
    }
    for batch in targets.chunks(BATCH) {
        if let Err(reply) = fetch_batch(session, batch, &attrs, &needs).await {
            return reply;
        }
        if session.out.buf.len() >= Output::FLUSH_AT && session.flush().await.is_err() {
            return Reply::bad("").closing();
        }
    }
    Reply::ok("Fetch completed")
}

/// A record with the message bytes the attributes need.
struct Loaded {
    record: MessageRecord,
    raw: Option<Vec<u8>>,
}

async fn fetch_batch(
    session: &mut Session,
    batch: &[(u32, Uid)],
    attrs: &[FetchAttr],
    needs: &Needs,
) -> Result<(), Reply> {
    let Some(view) = session.state.view() else {
        return Err(Reply::bad("No mailbox selected"));
    };
    let mailbox = view.mailbox.clone();
    let uids: Vec<Uid> = batch.iter().map(|(_, u)| *u).collect();
    let fields = RecordFields {
        cache: needs.cache,
        header: needs.header,
    };
    let (sets_seen, file) = (needs.sets_seen, needs.file);
    let (seen_updates, loaded) = session
        .blocking(move |s| {
            let seen_updates = if sets_seen {
                s.store_flags(&mailbox, &uids, FlagChange::Add(vec![Flag::Seen]), None)?
                    .updated
            } else {
                Vec::new()
            };
            let records = s.records(&mailbox, UidSelection::Uids(&uids), fields)?;
            let mut loaded = Vec::with_capacity(records.len());
            for record in records {
                let raw = if file {
                    match s.read_message(&mailbox, record.uid) {
                        Ok(raw) => Some(raw),
                        // Expunged between the snapshot and the read: skip it (RFC 9051 §7.5.1).
                        Err(mailservice::ServiceError::Store(
                            mailservice::StoreError::NoSuchMessage(_),
                        )) => continue,
                        Err(e) => return Err(e),
                    }
                } else {
                    None
                };
                loaded.push(Loaded { record, raw });
            }
            Ok((seen_updates, loaded))
        })
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    if let Some(view) = session.state.view_mut() {
        // The FLAGS in these FETCH responses report the change; its echo need not be repeated.
        for (uid, _, modseq) in seen_updates {
            view.note_own_change(uid, modseq);
        }
    }
    for item in loaded {
        let Some(&(seq, _)) = batch.iter().find(|(_, u)| *u == item.record.uid) else {
            continue;
        };
        let items = build_items(&item, attrs)?;
        session.out.data(Data::Fetch { seq, items });
    }
    Ok(())
}

fn build_items(loaded: &Loaded, attrs: &[FetchAttr]) -> Result<Vec<FetchItem>, Reply> {
    let record = &loaded.record;
    let cache = match &record.cache {
        Some(_) => Some(record.message_cache().map_err(|e| {
            tracing::error!(severity = "err", "{e}");
            Reply::no(
                Some(Code::Corruption),
                "Message cache is damaged; run reconstruct",
            )
        })?),
        None => None,
    };
    let raw = loaded.raw.as_deref().unwrap_or_default();
    let mut items = Vec::with_capacity(attrs.len());
    for attr in attrs {
        items.push(match attr {
            FetchAttr::Uid => FetchItem::Uid(record.uid),
            FetchAttr::Flags => {
                FetchItem::Flags(record.flags.iter().cloned().map(FetchFlag::Flag).collect())
            }
            FetchAttr::InternalDate => match to_imap_datetime(record.internal_date) {
                Some(dt) => FetchItem::InternalDate(dt),
                None => continue,
            },
            FetchAttr::Rfc822Size => FetchItem::Rfc822Size(record.size),
            FetchAttr::ModSeq => FetchItem::ModSeq(record.modseq),
            FetchAttr::Envelope => FetchItem::Envelope(cached(&cache, |c| c.envelope())),
            FetchAttr::Body => FetchItem::Body(cached(&cache, |c| c.body())),
            FetchAttr::BodyStructure => {
                FetchItem::BodyStructure(cached(&cache, |c| c.bodystructure()))
            }
            FetchAttr::Rfc822 => FetchItem::Rfc822(Some(raw.to_vec())),
            FetchAttr::Rfc822Header => {
                FetchItem::Rfc822Header(Some(record.header.clone().unwrap_or_default()))
            }
            FetchAttr::Rfc822Text => {
                let start = cache
                    .as_ref()
                    .map_or(0, |c| c.header_len() as usize)
                    .min(raw.len());
                FetchItem::Rfc822Text(Some(raw[start..].to_vec()))
            }
            FetchAttr::BodySection {
                section, partial, ..
            } => {
                let data = if section::header_only(section) {
                    Some(section::from_header_block(
                        record.header.as_deref().unwrap_or_default(),
                        section,
                    ))
                } else {
                    cache
                        .as_ref()
                        .and_then(|c| section::section_bytes(raw, c, section))
                };
                let data = section::partial(data.unwrap_or_default(), *partial);
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: partial.map(|p| p.0),
                    data: Some(data),
                }
            }
            FetchAttr::Binary { part, partial, .. } => {
                let data = binary(raw, cache.as_ref(), part)?;
                FetchItem::Binary {
                    part: part.clone(),
                    data: Some(section::partial(data, *partial)),
                }
            }
            FetchAttr::BinarySize { part } => {
                let size = binary(raw, cache.as_ref(), part)?.len() as u64;
                FetchItem::BinarySize {
                    part: part.clone(),
                    size,
                }
            }
            FetchAttr::Other(_) => continue,
        });
    }
    Ok(items)
}

fn cached(
    cache: &Option<message::MessageCache>,
    get: impl Fn(&message::MessageCache) -> &[u8],
) -> Vec<u8> {
    cache.as_ref().map(|c| get(c).to_vec()).unwrap_or_default()
}

/// RFC 3516 §4.2: the part's content with its transfer encoding removed; an encoding we cannot
/// undo is `NO [UNKNOWN-CTE]`.
fn binary(
    raw: &[u8],
    cache: Option<&message::MessageCache>,
    part: &[u32],
) -> Result<Vec<u8>, Reply> {
    if part.is_empty() {
        return Ok(raw.to_vec());
    }
    let Some(p) = cache.and_then(|c| c.part(part)) else {
        return Err(Reply::no(Some(Code::NonExistent), "No such message part"));
    };
    if p.is_multipart() {
        return Err(Reply::no(
            Some(Code::Cannot),
            "BINARY of a multipart is not defined",
        ));
    }
    message::decode_body(raw, p).map_err(|_| {
        Reply::no(
            Some(Code::Other {
                name: "UNKNOWN-CTE".into(),
                text: None,
            }),
            "Unknown content-transfer-encoding",
        )
    })
}
