//! BINARY[part] and BINARY.SIZE[part] (RFC 3516 §4.2): a part's content with its transfer
//! encoding removed, in bounded memory whatever the part's size.
//!
//! A 7BIT/8BIT/BINARY part is its span of the file, sent as BODY sends it. A base64 or
//! quoted-printable part of at most [`CHUNK`] octets is decoded in memory; a larger one goes
//! through [`message::Decoder`] twice, a chunk at a time — once to learn the decoded length
//! (the literal's header comes first) and whether the data sent holds NUL (which needs
//! `literal8`), once to send it. That reads the part twice instead of holding it decoded:
//! memory stays one chunk for a part of any size, which matters more than the second read.

use std::ops::Range;

use imap_proto::response::{BodyLabel, Code, FetchWriter, LiteralKind};
use mailservice::ServiceError;
use message::{Decoder, MessageCache, TransferEncoding};

use super::emit::{broken, flush_if_full};
use super::section;
use super::source::{Source, CHUNK};
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

/// A BINARY item's data.
pub(crate) enum Content {
    /// The part as stored (no transfer encoding to remove).
    Span(Range<u64>),
    /// Decoded in memory (a small part).
    Bytes(Vec<u8>),
    /// To be decoded while it is written.
    Decoded(Decoded),
}

/// A large encoded part, measured: decoding `body` gives `skip` octets not sent, then the
/// `len` octets that are.
pub(crate) struct Decoded {
    body: Range<u64>,
    encoding: TransferEncoding,
    skip: u64,
    len: u64,
    literal8: bool,
}

/// The data of `BINARY[part]<partial>`; refusals are RFC 3516's: `[NONEXISTENT]` for a part
/// that is not there, `[UNKNOWN-CTE]` for an encoding we cannot undo.
pub(crate) async fn content(
    session: &Session,
    source: Option<&Source>,
    cache: Option<&MessageCache>,
    part: &[u32],
    partial: Option<(u32, u32)>,
) -> Result<Content, Reply> {
    let (body, encoding) = locate(source, cache, part)?;
    let decoder = decoder(&encoding)?;
    if decoder.is_identity() {
        return Ok(Content::Span(section::partial_range(body, partial)));
    }
    if body.end - body.start <= CHUNK {
        let data = decode_small(session, source, body, decoder).await?;
        return Ok(Content::Bytes(section::partial(data, partial)));
    }
    let window = partial.map_or(0..u64::MAX, |(origin, count)| {
        u64::from(origin)..u64::from(origin) + u64::from(count)
    });
    let measure = measure(session, source, &body, &encoding, window).await?;
    let sent = section::partial_range(0..measure.len, partial);
    Ok(Content::Decoded(Decoded {
        body,
        encoding,
        skip: sent.start,
        len: sent.end - sent.start,
        literal8: measure.nul,
    }))
}

/// `BINARY.SIZE[part]`: the decoded length.
pub(crate) async fn size(
    session: &Session,
    source: Option<&Source>,
    cache: Option<&MessageCache>,
    part: &[u32],
) -> Result<u64, Reply> {
    let (body, encoding) = locate(source, cache, part)?;
    let decoder = decoder(&encoding)?;
    if decoder.is_identity() {
        return Ok(body.end - body.start);
    }
    if body.end - body.start <= CHUNK {
        let data = decode_small(session, source, body, decoder).await?;
        return Ok(data.len() as u64);
    }
    Ok(measure(session, source, &body, &encoding, 0..0).await?.len)
}

/// Sends a measured part: the literal header, then the decoded octets a chunk at a time.
pub(crate) async fn stream(
    session: &mut Session,
    w: &mut FetchWriter,
    label: BodyLabel<'_>,
    d: Decoded,
    source: Option<&Source>,
) -> Result<(), Reply> {
    let kind = match d.literal8 {
        true => LiteralKind::Literal8,
        false => LiteralKind::Literal,
    };
    // Measuring made the same decoder, and found the source.
    let (Some(source), Ok(mut decoder)) = (source, Decoder::new(&d.encoding)) else {
        return Err(broken(session, &changed()).await);
    };
    w.literal(&mut session.out.buf, label, d.len, kind);
    let (mut skip, mut left) = (d.skip, d.len);
    let mut at = d.body.start;
    let mut decoded = Vec::new();
    while left > 0 {
        decoded.clear();
        if at < d.body.end {
            let end = (at + CHUNK).min(d.body.end);
            match source.read(session, at..end).await {
                Ok(chunk) if !chunk.is_empty() => decoder.feed(&chunk, &mut decoded),
                Ok(_) => return Err(broken(session, &changed()).await),
                Err(e) => return Err(broken(session, &e).await),
            }
            at = end;
        } else {
            decoder.finish(&mut decoded);
            if decoded.is_empty() {
                // The part decoded shorter than when it was measured.
                return Err(broken(session, &changed()).await);
            }
        }
        let from = skip.min(decoded.len() as u64);
        skip -= from;
        let take = (decoded.len() as u64 - from).min(left);
        // `from + take` lies within `decoded`.
        let (from, take) = (from as usize, take as usize);
        session
            .out
            .buf
            .extend_from_slice(&decoded[from..from + take]);
        left -= take as u64;
        flush_if_full(session).await?;
    }
    Ok(())
}

/// The file no longer gives what it gave when measured.
pub(super) fn changed() -> ServiceError {
    ServiceError::Store(mailservice::StoreError::Corrupt {
        what: "message file".into(),
        detail: "changed while it was sent".into(),
    })
}

/// The encoded body of `part` in the message and its transfer encoding; `BINARY[]` is the
/// whole message as stored.
fn locate(
    source: Option<&Source>,
    cache: Option<&MessageCache>,
    part: &[u32],
) -> Result<(Range<u64>, TransferEncoding), Reply> {
    let len = source.map_or(0, Source::len);
    if part.is_empty() {
        return Ok((0..len, TransferEncoding::Binary));
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
    let start = p.body_offset.min(len);
    let end = p.body_offset.saturating_add(p.body_len).min(len);
    Ok((start..end, p.encoding.clone()))
}

fn decoder(encoding: &TransferEncoding) -> Result<Decoder, Reply> {
    Decoder::new(encoding).map_err(|_| {
        Reply::no(
            Some(Code::Other {
                name: "UNKNOWN-CTE".into(),
                text: None,
            }),
            "Unknown content-transfer-encoding",
        )
    })
}

async fn decode_small(
    session: &Session,
    source: Option<&Source>,
    body: Range<u64>,
    mut decoder: Decoder,
) -> Result<Vec<u8>, Reply> {
    let Some(source) = source else {
        return Ok(Vec::new());
    };
    let raw = source
        .read(session, body)
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    let mut out = Vec::with_capacity(raw.len());
    decoder.feed(&raw, &mut out);
    decoder.finish(&mut out);
    Ok(out)
}

struct Measure {
    /// Decoded octets.
    len: u64,
    /// Whether a decoded octet within the window is NUL.
    nul: bool,
}

/// Decodes `body` a chunk at a time, keeping only counts.
async fn measure(
    session: &Session,
    source: Option<&Source>,
    body: &Range<u64>,
    encoding: &TransferEncoding,
    window: Range<u64>,
) -> Result<Measure, Reply> {
    let mut m = Measure { len: 0, nul: false };
    let Some(source) = source else {
        return Ok(m);
    };
    let mut decoder = decoder(encoding)?;
    let mut decoded = Vec::new();
    let account = |decoded: &[u8], m: &mut Measure| {
        let here = m.len..m.len + decoded.len() as u64;
        let (lo, hi) = (here.start.max(window.start), here.end.min(window.end));
        if lo < hi {
            // Both lie within `here`, so their offsets fit in `decoded`.
            let slice = &decoded[(lo - here.start) as usize..(hi - here.start) as usize];
            m.nul |= slice.contains(&0);
        }
        m.len = here.end;
    };
    source
        .for_each_chunk(session, body.clone(), |chunk| {
            decoded.clear();
            decoder.feed(chunk, &mut decoded);
            account(&decoded, &mut m);
        })
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    decoded.clear();
    decoder.finish(&mut decoded);
    account(&decoded, &mut m);
    Ok(m)
}
