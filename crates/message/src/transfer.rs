//! Streaming content-transfer decoding (RFC 2045 §6.7 quoted-printable, §6.8 base64) for
//! BINARY (RFC 3516): the encoded body goes in as pieces of any size, decoded octets come out as
//! soon as they are decided, and the state between pieces is a few octets — so FETCH can decode
//! a part of any size from the message file through a bounded buffer. [`crate::decode_body`]
//! is this decoder fed in one piece, so both give the same octets by construction.
//!
//! Decoding is lenient as RFC 2045 asks of decoders: base64 ignores octets outside its alphabet
//! (and `=`) and drops a trailing partial quantum, as Cyrus does; quoted-printable keeps
//! malformed `=` sequences literally and removes transport whitespace at line ends.

use crate::decode::DecodeError;
use crate::part::TransferEncoding;

/// Longest undecided tail of a quoted-printable line: whitespace that may yet turn out to be
/// trailing (RFC 2045 §6.7 rule 3), behind a `=` that may be a soft line break. Past it the
/// whitespace is kept as content — only a run longer than this with nothing after it on its
/// line decodes differently from a whole-line decoder, and it is no legitimate encoder's output.
pub const MAX_QP_PENDING: usize = 64 * 1024;

/// A content-transfer decoder fed piece by piece: [`Decoder::feed`] each piece in order, then
/// [`Decoder::finish`] once.
#[derive(Debug, Clone)]
pub struct Decoder {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// 7BIT, 8BIT, BINARY: the octets as they are.
    Identity,
    Base64 {
        acc: u32,
        bits: u32,
    },
    QuotedPrintable {
        pending: Vec<u8>,
    },
}

impl Decoder {
    /// A decoder for `encoding`; an encoding we cannot undo is RFC 3516's `UNKNOWN-CTE`.
    pub fn new(encoding: &TransferEncoding) -> Result<Decoder, DecodeError> {
        let kind = match encoding {
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
                Kind::Identity
            }
            TransferEncoding::Base64 => Kind::Base64 { acc: 0, bits: 0 },
            TransferEncoding::QuotedPrintable => Kind::QuotedPrintable {
                pending: Vec::new(),
            },
            TransferEncoding::Other(t) => return Err(DecodeError::UnknownEncoding(t.clone())),
        };
        Ok(Decoder { kind })
    }

    /// Whether decoding leaves the octets as they are (7BIT, 8BIT, BINARY), so a caller may
    /// send the encoded span itself.
    pub fn is_identity(&self) -> bool {
        matches!(self.kind, Kind::Identity)
    }

    /// Decodes the next piece of the body, appending what is decided to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match &mut self.kind {
            Kind::Identity => out.extend_from_slice(input),
            Kind::Base64 { acc, bits } => base64(acc, bits, input, out),
            Kind::QuotedPrintable { pending } => Qp { pending, out }.feed(input),
        }
    }

    /// Ends the body: a quoted-printable last line without a line end is decoded; a trailing
    /// partial base64 quantum is dropped.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match &mut self.kind {
            Kind::Identity => {}
            Kind::Base64 { acc, bits } => (*acc, *bits) = (0, 0),
            Kind::QuotedPrintable { pending } => Qp { pending, out }.end_line(b""),
        }
    }
}

/// RFC 2045 §6.8, leniently: every non-alphabet octet (including `=`) is skipped.
fn base64(acc: &mut u32, bits: &mut u32, input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len() / 4 * 3);
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        *acc = (*acc << 6) | u32::from(v);
        *bits += 6;
        if *bits >= 8 {
            *bits -= 8;
            out.push((*acc >> *bits) as u8);
            *acc &= (1 << *bits) - 1;
        }
    }
}

/// Quoted-printable over a stream. `pending` holds the undecided tail of the current line:
/// `=` plus at most one hex digit or plus whitespace (a possible escape or soft line break),
/// whitespace (possibly trailing), or a CR (possibly the start of CRLF) — never more than
/// [`MAX_QP_PENDING`] octets.
struct Qp<'a> {
    pending: &'a mut Vec<u8>,
    out: &'a mut Vec<u8>,
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl Qp<'_> {
    fn feed(&mut self, input: &[u8]) {
        let mut i = 0;
        while i < input.len() {
            if self.pending.is_empty() {
                let plain = input[i..]
                    .iter()
                    .position(|&b| matches!(b, b'=' | b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(input.len() - i);
                self.out.extend_from_slice(&input[i..i + plain]);
                i += plain;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            i += 1;
            if self.pending.is_empty()
                && is_wsp(b)
                && input
                    .get(i)
                    .is_some_and(|&n| !matches!(n, b' ' | b'\t' | b'\r' | b'\n'))
            {
                // A space between words: something other than whitespace or a line end follows,
                // so it is not trailing and is decided at once.
                self.out.push(b);
                continue;
            }
            if b == b'\n' {
                let eol: &[u8] = if self.pending.last() == Some(&b'\r') {
                    self.pending.pop();
                    b"\r\n"
                } else {
                    b"\n"
                };
                self.end_line(eol);
            } else if is_wsp(b) && matches!(self.pending.last(), Some(b' ' | b'\t' | b'=')) {
                // More of an undecided run (`=` is only ever last when alone): nothing new is
                // decided, so the run is not scanned again for every octet.
                self.pending.push(b);
                if self.pending.len() > MAX_QP_PENDING {
                    self.out.append(self.pending);
                }
            } else {
                self.pending.push(b);
                self.settle();
            }
        }
    }

    /// Emits the decided head of `pending`.
    fn settle(&mut self) {
        if self.pending.len() > MAX_QP_PENDING {
            self.out.append(self.pending);
            return;
        }
        let p = &*self.pending;
        let mut done = 0;
        while done < p.len() {
            let rest = &p[done..];
            let taken = match rest[0] {
                b'=' => match (rest.get(1).copied().and_then(hex), rest.get(2)) {
                    (Some(h), Some(&l)) if hex(l).is_some() => {
                        self.out.push(h * 16 + hex(l).unwrap_or(0));
                        3
                    }
                    // `=X` waits for its second digit.
                    (Some(_), None) => break,
                    // `=` then only whitespace so far: perhaps a soft line break.
                    _ if could_end_line(&rest[1..]) => break,
                    _ => {
                        self.out.push(b'=');
                        1
                    }
                },
                b' ' | b'\t' => {
                    let run = rest.iter().position(|&b| !is_wsp(b));
                    match run {
                        Some(n) if !could_end_line(&rest[n..]) => {
                            self.out.extend_from_slice(&rest[..n]);
                            n
                        }
                        Some(_) | None => break,
                    }
                }
                b'\r' if rest.len() == 1 => break,
                other => {
                    self.out.push(other);
                    1
                }
            };
            done += taken;
        }
        self.pending.drain(..done);
    }

    /// The line ends (`eol` is its line end, empty at the end of the body): trailing whitespace
    /// goes (RFC 2045 §6.7 rule 3), a final `=` is a soft line break (rule 5), escapes are
    /// decoded (rule 1).
    fn end_line(&mut self, eol: &[u8]) {
        let end = self
            .pending
            .iter()
            .rposition(|&b| !is_wsp(b))
            .map_or(0, |i| i + 1);
        let mut line = &self.pending[..end];
        let soft = line.last() == Some(&b'=');
        if soft {
            line = &line[..line.len() - 1];
        }
        let mut i = 0;
        while i < line.len() {
            if line[i] == b'=' {
                if let (Some(h), Some(l)) = (
                    line.get(i + 1).copied().and_then(hex),
                    line.get(i + 2).copied().and_then(hex),
                ) {
                    self.out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
            self.out.push(line[i]);
            i += 1;
        }
        if !soft {
            self.out.extend_from_slice(eol);
        }
        self.pending.clear();
    }
}

/// Whether `rest` (what follows on the line so far) may still turn out to be trailing
/// whitespace: only whitespace, perhaps followed by the CR of a CRLF.
fn could_end_line(rest: &[u8]) -> bool {
    let body = rest.strip_suffix(b"\r").unwrap_or(rest);
    body.iter().all(|&b| is_wsp(b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The whole-line decoder this module replaced, kept as the reference the streaming one
    /// must match for every split of its input.
    fn reference(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            let (content, eol) = match line.strip_suffix(b"\r\n") {
                Some(c) => (c, &b"\r\n"[..]),
                None => match line.strip_suffix(b"\n") {
                    Some(c) => (c, &b"\n"[..]),
                    None => (line, &b""[..]),
                },
            };
            let end = content
                .iter()
                .rposition(|&b| !is_wsp(b))
                .map_or(0, |i| i + 1);
            let content = &content[..end];
            let (content, soft) = match content.strip_suffix(b"=") {
                Some(c) => (c, true),
                None => (content, false),
            };
            let mut i = 0;
            while i < content.len() {
                if content[i] == b'=' {
                    if let (Some(h), Some(l)) = (
                        content.get(i + 1).copied().and_then(hex),
                        content.get(i + 2).copied().and_then(hex),
                    ) {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                }
                out.push(content[i]);
                i += 1;
            }
            if !soft {
                out.extend_from_slice(eol);
            }
        }
        out
    }

    fn streamed(encoding: &TransferEncoding, body: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut d = Decoder::new(encoding).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.clamp(at, body.len());
            d.feed(&body[at..cut], &mut out);
            at = cut;
        }
        d.feed(&body[at..], &mut out);
        d.finish(&mut out);
        out
    }

    #[test]
    fn quoted_printable_soft_breaks_escapes_and_trailing_space() {
        let qp = TransferEncoding::QuotedPrintable;
        let body = b"a=\r\nb=3D=20 \r\nc=E9=\r\n";
        assert_eq!(streamed(&qp, body, &[]), b"ab= \r\nc\xe9");
        assert_eq!(streamed(&qp, b"bad=ZZ=\n", &[]), b"bad=ZZ");
        assert_eq!(streamed(&qp, b"x \t\r\ny=4", &[]), b"x\r\ny=4");
        assert_eq!(streamed(&qp, b"= \r\n=\rx \r", &[]), b"=\rx \r");
    }

    #[test]
    fn base64_skips_garbage_in_any_split() {
        let b64 = TransferEncoding::Base64;
        let body = b"SGVs\r\nbG8g\r\nd29y bGQK";
        for cut in 0..body.len() {
            assert_eq!(streamed(&b64, body, &[cut]), b"Hello world\n");
        }
        assert_eq!(
            streamed(&b64, b"SGVsbG8gd29ybGQ\r\nSGk=SGk\r\n", &[3]).len(),
            15
        );
    }

    #[test]
    fn quoted_printable_matches_the_line_decoder_for_every_split() {
        let qp = TransferEncoding::QuotedPrintable;
        let alphabet = b"=A3 \t\r\nzF";
        let mut x: u32 = 12345;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as usize
        };
        for _ in 0..4_000 {
            let len = next() % 24;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect();
            let x = next();
            let want = reference(&body);
            for cut in 0..=body.len() {
                let second = cut + (x % 5);
                assert_eq!(
                    streamed(&qp, &body, &[cut, second]),
                    want,
                    "{:?} cut at {cut}, {second}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }

    #[test]
    fn whitespace_pending_is_bounded() {
        let qp = TransferEncoding::QuotedPrintable;
        let mut body = b"a=".to_vec();
        body.extend(std::iter::repeat_n(b' ', 3 * MAX_QP_PENDING));
        let mut d = Decoder::new(&qp).unwrap();
        let mut out = Vec::new();
        for piece in body.chunks(4096) {
            d.feed(piece, &mut out);
            let Kind::QuotedPrintable { pending } = &d.kind else {
                unreachable!()
            };
            assert!(pending.len() <= MAX_QP_PENDING + 1);
        }
    }
}
