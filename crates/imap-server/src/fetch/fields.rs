//! HEADER.FIELDS and HEADER.FIELDS.NOT (RFC 9051 §6.4.5): the fields of a header block whose
//! names are (or are not) listed, with their continuation lines, then the blank line that ends
//! a header.
//!
//! The filter is a small state machine fed the header block in pieces of any size, so a header
//! block read from the file (a large message's, or an embedded message's) is filtered a chunk
//! at a time — twice when it is large: once to count the octets kept (the literal's header
//! comes first), once to send them. Only an undecided field name is held, and at most
//! [`MAX_NAME`] octets of it.

use std::ops::Range;

use imap_proto::response::{BodyLabel, FetchWriter, LiteralKind};

use super::emit::{broken, flush_if_full};
use super::source::{Source, CHUNK};
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

/// Longest field name held while its line is undecided; a longer name (no such field is
/// listed by any real client) is taken as not listed.
pub(crate) const MAX_NAME: usize = 1024;

/// Whether HEADER.FIELDS keeps the listed fields or the others (`.NOT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Include {
    Listed,
    Unlisted,
}

/// The field names of a HEADER.FIELDS list, lower-cased and sorted once per command, so that a
/// long list costs a binary search per header line rather than a scan.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeaderNames(Vec<Vec<u8>>);

impl HeaderNames {
    pub const EMPTY: HeaderNames = HeaderNames(Vec::new());

    pub fn new(names: &[String]) -> HeaderNames {
        let mut v: Vec<Vec<u8>> = names
            .iter()
            .map(|n| n.as_bytes().to_ascii_lowercase())
            .collect();
        v.sort_unstable();
        v.dedup();
        HeaderNames(v)
    }

    fn contains(&self, name: &[u8]) -> bool {
        self.0
            .binary_search_by(|n| {
                n.iter()
                    .copied()
                    .cmp(name.iter().map(|b| b.to_ascii_lowercase()))
            })
            .is_ok()
    }
}

/// The filter over a complete header block in memory.
pub(crate) fn header_fields(header: &[u8], names: &HeaderNames, include: Include) -> Vec<u8> {
    let mut out = Vec::new();
    let mut filter = Filter::new(names, include);
    filter.feed(header, &mut out);
    filter.finish(&mut out);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    /// Reading a field name (held in `name`) up to its colon.
    Name,
    Keep,
    Drop,
    /// The blank line ending the header was seen.
    Done,
}

/// HEADER.FIELDS over a header block fed in pieces.
pub(crate) struct Filter<'a> {
    names: &'a HeaderNames,
    include: Include,
    state: State,
    /// Whether the current field is kept (continuation lines follow it).
    keep: bool,
    name: Vec<u8>,
}

impl<'a> Filter<'a> {
    pub fn new(names: &'a HeaderNames, include: Include) -> Filter<'a> {
        Filter {
            names,
            include,
            state: State::LineStart,
            keep: false,
            name: Vec::new(),
        }
    }

    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            let rest = &input[i..];
            match self.state {
                State::Done => return,
                State::Keep | State::Drop => {
                    let end = rest.iter().position(|&b| b == b'\n').map(|p| p + 1);
                    let take = end.unwrap_or(rest.len());
                    if self.state == State::Keep {
                        out.extend_from_slice(&rest[..take]);
                    }
                    if end.is_some() {
                        self.state = State::LineStart;
                    }
                    i += take;
                }
                State::LineStart => {
                    match rest[0] {
                        b'\n' => self.state = State::Done,
                        // A continuation line belongs to the field before it.
                        b' ' | b'\t' => {
                            self.state = if self.keep { State::Keep } else { State::Drop };
                            continue;
                        }
                        b => {
                            self.name.push(b);
                            self.state = State::Name;
                        }
                    }
                    i += 1;
                }
                State::Name => {
                    let b = rest[0];
                    i += 1;
                    self.name.push(b);
                    match b {
                        b':' => self.decide(self.name.len() - 1, out, State::Keep),
                        b'\n' if self.name == b"\r\n" => self.state = State::Done,
                        // A line without a colon: the whole line is its "name".
                        b'\n' => self.decide(self.name.len(), out, State::LineStart),
                        _ if self.name.len() > MAX_NAME => {
                            self.keep = self.include == Include::Unlisted;
                            self.emit_name(out, State::Keep);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Ends the header block: a last line without a line end is decided, and the blank line
    /// that ends a header is appended.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state == State::Name {
            self.decide(self.name.len(), out, State::Done);
        }
        self.state = State::Done;
        out.extend_from_slice(b"\r\n");
    }

    /// Decides the field whose name is `name[..end]`, writes the held octets if it is kept,
    /// and goes on in `next` (Keep meaning "the rest of this line, if kept").
    fn decide(&mut self, end: usize, out: &mut Vec<u8>, next: State) {
        let listed = self.names.contains(trim(&self.name[..end]));
        self.keep = listed == (self.include == Include::Listed);
        self.emit_name(out, next);
    }

    fn emit_name(&mut self, out: &mut Vec<u8>, next: State) {
        if self.keep {
            out.extend_from_slice(&self.name);
        }
        self.name.clear();
        self.state = match next {
            State::Keep if !self.keep => State::Drop,
            other => other,
        };
    }
}

fn trim(name: &[u8]) -> &[u8] {
    let end = name
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &name[..end]
}

/// HEADER.FIELDS of a header block in the message file.
pub(crate) struct Fields<'a> {
    pub range: Range<u64>,
    pub names: &'a HeaderNames,
    pub include: Include,
}

/// Octets the filter keeps from `f.range` (the blank line included).
pub(crate) async fn measure(
    session: &Session,
    source: &Source,
    f: &Fields<'_>,
) -> Result<u64, Reply> {
    let mut filter = Filter::new(f.names, f.include);
    let (mut total, mut kept) = (0u64, Vec::new());
    source
        .for_each_chunk(session, f.range.clone(), |chunk| {
            kept.clear();
            filter.feed(chunk, &mut kept);
            total += kept.len() as u64;
        })
        .await
        .map_err(|e| refuse(&e, Target::Source))?;
    kept.clear();
    filter.finish(&mut kept);
    Ok(total + kept.len() as u64)
}

/// Sends the kept octets in `sent` (the partial range of a total measured before).
pub(crate) async fn stream(
    session: &mut Session,
    w: &mut FetchWriter,
    label: BodyLabel<'_>,
    f: &Fields<'_>,
    sent: Range<u64>,
    source: &Source,
) -> Result<(), Reply> {
    w.literal(
        &mut session.out.buf,
        label,
        sent.end - sent.start,
        LiteralKind::Literal,
    );
    let mut filter = Filter::new(f.names, f.include);
    let (mut pos, mut at, mut kept) = (0u64, f.range.start, Vec::new());
    while pos < sent.end {
        kept.clear();
        if at < f.range.end {
            let end = (at + CHUNK).min(f.range.end);
            match source.read(session, at..end).await {
                Ok(chunk) if !chunk.is_empty() => filter.feed(&chunk, &mut kept),
                Ok(_) => return Err(broken(session, &super::binary::changed()).await),
                Err(e) => return Err(broken(session, &e).await),
            }
            at = end;
        } else {
            filter.finish(&mut kept);
            if kept.is_empty() {
                return Err(broken(session, &super::binary::changed()).await);
            }
        }
        let here = pos..pos + kept.len() as u64;
        let (lo, hi) = (here.start.max(sent.start), here.end.min(sent.end));
        if lo < hi {
            // Both lie within `here`, so their offsets fit in `kept`.
            let slice = &kept[(lo - here.start) as usize..(hi - here.start) as usize];
            session.out.buf.extend_from_slice(slice);
        }
        pos = here.end;
        flush_if_full(session).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The whole-block filter this module replaced: the reference for every split.
    fn reference(header: &[u8], names: &[&str], include: Include) -> Vec<u8> {
        let mut out = Vec::new();
        let mut keep = false;
        for line in header.split_inclusive(|&b| b == b'\n') {
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            if !matches!(line.first(), Some(b' ' | b'\t')) {
                let name_end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
                let listed = names
                    .iter()
                    .any(|n| n.as_bytes().eq_ignore_ascii_case(trim(&line[..name_end])));
                keep = listed == (include == Include::Listed);
            }
            if keep {
                out.extend_from_slice(line);
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn split(header: &[u8], names: &HeaderNames, include: Include, cuts: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut f = Filter::new(names, include);
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.clamp(at, header.len());
            f.feed(&header[at..cut], &mut out);
            at = cut;
        }
        f.feed(&header[at..], &mut out);
        f.finish(&mut out);
        out
    }

    #[test]
    fn fields_keep_continuations_and_end_with_a_blank_line() {
        let header = b"From: a@example.org\r\nSubject: hi\r\n there\r\nTo: b\r\n\r\nbody: x\r\n";
        let names = HeaderNames::new(&["subject".into()]);
        assert_eq!(
            header_fields(header, &names, Include::Listed),
            b"Subject: hi\r\n there\r\n\r\n"
        );
        let names = HeaderNames::new(&["Subject".into(), "TO".into()]);
        assert_eq!(
            header_fields(header, &names, Include::Unlisted),
            b"From: a@example.org\r\n\r\n"
        );
    }

    #[test]
    fn every_split_matches_the_whole_block_filter() {
        let alphabet: [&[u8]; 9] = [
            b"From",
            b"to",
            b":",
            b" ",
            b"\t",
            b"\r\n",
            b"\n",
            b"x",
            b"Subject ",
        ];
        let lists: [&[&str]; 3] = [&["from", "subject"], &["TO"], &[]];
        let mut x: u32 = 99;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as usize
        };
        for _ in 0..3_000 {
            let header: Vec<u8> = (0..next() % 14)
                .flat_map(|_| alphabet[next() % alphabet.len()].to_vec())
                .collect();
            let list = lists[next() % lists.len()];
            let names = HeaderNames::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            for include in [Include::Listed, Include::Unlisted] {
                let want = reference(&header, list, include);
                for cut in 0..=header.len() {
                    let got = split(&header, &names, include, &[cut, cut + next() % 4]);
                    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&header));
                }
            }
        }
    }

    #[test]
    fn an_endless_name_is_not_held() {
        let names = HeaderNames::new(&["x".into()]);
        let mut header = vec![b'y'; 10 * MAX_NAME];
        header.extend_from_slice(b": v\r\n\r\n");
        let mut f = Filter::new(&names, Include::Unlisted);
        let mut out = Vec::new();
        for piece in header.chunks(100) {
            f.feed(piece, &mut out);
            assert!(f.name.len() <= MAX_NAME + 1);
        }
        f.finish(&mut out);
        assert_eq!(out.len(), header.len());
    }
}
