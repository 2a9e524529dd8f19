//! Netnews articles as the messages they represent. A news spool's article files are the news
//! server's, never rewritten here, and INN keeps them in one of two forms:
//! - *wire format* (`wireformat: true`): CRLF line ends, a leading `.` doubled, and a final
//!   line holding a single `.`;
//! - *plain*: bare LF line ends, no dot-stuffing.
//!
//! Either way IMAP serves the RFC 5322 message: CRLF line ends, no dot-stuffing, no final `.`
//! line. [`ArticleDecoder`] turns a file's bytes into that, in chunks, so a large article never
//! sits in memory whole; [`ArticleReader`] reads ranges of the decoded message from an open
//! file, cheaply when they come in order (FETCH streams a message front to back).
//!
//! Owns: the article forms and their decoding. Must not: know the index or newsgroup names.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Result, StoreError};
use crate::normalise::CrlfNormaliser;

/// The line a wire-format article ends with.
const WIRE_END: &[u8] = b"\r\n.\r\n";

/// Bytes read from an article file at a time.
const CHUNK: usize = 64 * 1024;

/// The form an article file is in, and how many of its octets hold the article.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArticleForm {
    /// Dot-stuffed with a final `.` line.
    pub wire: bool,
    /// Octets before the final `.` line (the whole file when not in wire format).
    pub body_len: u64,
}

impl ArticleForm {
    /// Judges a file of `len` octets by its last (up to) five: a wire-format article ends in
    /// CRLF `.` CRLF (an empty one is the `.` line alone).
    pub(crate) fn of(file: &File, len: u64, path: &Path) -> Result<ArticleForm> {
        let tail_len = len.min(WIRE_END.len() as u64);
        let mut tail = [0u8; 5];
        let tail = &mut tail[..tail_len as usize];
        read_exact_at(file, tail, len - tail_len, path)?;
        Ok(ArticleForm::from_tail(tail, len))
    }

    /// [`ArticleForm::of`] given the last (up to) five octets of an article of `len` octets.
    fn from_tail(tail: &[u8], len: u64) -> ArticleForm {
        if tail.ends_with(WIRE_END) || (tail == b".\r\n" && len == 3) {
            ArticleForm {
                wire: true,
                body_len: len - 3,
            }
        } else {
            ArticleForm {
                wire: false,
                body_len: len,
            }
        }
    }
}

/// Decodes an article's bytes (up to [`ArticleForm::body_len`]) into the message, chunk by
/// chunk: undoes dot-stuffing in wire format, then makes every line end CRLF.
#[derive(Debug)]
pub(crate) struct ArticleDecoder {
    wire: bool,
    at_line_start: bool,
    normaliser: CrlfNormaliser,
    stuffed: Vec<u8>,
}

impl ArticleDecoder {
    pub(crate) fn new(form: ArticleForm, limit: Option<u64>) -> ArticleDecoder {
        ArticleDecoder {
            wire: form.wire,
            at_line_start: true,
            normaliser: CrlfNormaliser::new(limit),
            stuffed: Vec::new(),
        }
    }

    /// Appends the decoded form of `input` (the next bytes of the article) to `out`. A NUL
    /// byte or a message past the limit is [`StoreError::BadMessage`] or
    /// [`StoreError::TooBig`].
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if !self.wire {
            return self.normaliser.feed(input, out).map_err(|e| e.into_store());
        }
        self.stuffed.clear();
        let mut rest = input;
        while !rest.is_empty() {
            if self.at_line_start && rest[0] == b'.' {
                rest = &rest[1..];
            }
            self.at_line_start = false;
            match memchr::memchr(b'\n', rest) {
                Some(at) => {
                    self.stuffed.extend_from_slice(&rest[..=at]);
                    self.at_line_start = true;
                    rest = &rest[at + 1..];
                }
                None => {
                    self.stuffed.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        self.normaliser
            .feed(&self.stuffed, out)
            .map_err(|e| e.into_store())
    }
}

/// Decodes an article held in memory (fuzzing and tests; the server reads files).
pub fn decode_article(bytes: &[u8], limit: Option<u64>) -> Result<Vec<u8>> {
    let tail = &bytes[bytes.len().saturating_sub(WIRE_END.len())..];
    let form = ArticleForm::from_tail(tail, bytes.len() as u64);
    let mut decoder = ArticleDecoder::new(form, limit);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for chunk in bytes[..form.body_len as usize].chunks(CHUNK) {
        decoder.feed(chunk, &mut out)?;
    }
    Ok(out)
}

/// The whole message an article file holds, at most `limit` octets ([`StoreError::TooBig`]
/// past it; [`StoreError::BadMessage`] for a NUL).
pub fn read_article(path: &Path, limit: Option<u64>) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    let form = ArticleForm::of(&file, len, path)?;
    let mut decoder = ArticleDecoder::new(form, limit);
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 20) + 1024);
    let mut buf = vec![0u8; CHUNK];
    let mut at = 0u64;
    while at < form.body_len {
        let want = (form.body_len - at).min(CHUNK as u64) as usize;
        let got = read_some_at(&file, &mut buf[..want], at, path)?;
        if got == 0 {
            break;
        }
        decoder.feed(&buf[..got], &mut out)?;
        at += got as u64;
    }
    Ok(out)
}

/// Ranges of the message an open article file holds. Decoding keeps a position: a read at or
/// after the last one's end goes on from there; one before it starts again from the top.
#[derive(Debug)]
pub(crate) struct ArticleReader {
    form: ArticleForm,
    /// Input octets decoded so far.
    input_at: u64,
    /// Output octets produced so far (those in `pending` included).
    output_at: u64,
    /// Decoded octets not yet handed out; they end at `output_at`.
    pending: Vec<u8>,
    decoder: ArticleDecoder,
}

impl ArticleReader {
    pub(crate) fn new(file: &File, len: u64, path: &Path) -> Result<ArticleReader> {
        let form = ArticleForm::of(file, len, path)?;
        Ok(ArticleReader {
            form,
            input_at: 0,
            output_at: 0,
            pending: Vec::new(),
            decoder: ArticleDecoder::new(form, None),
        })
    }

    /// Up to `len` octets of the message from `offset`, fewer only at its end.
    pub(crate) fn read_range(
        &mut self,
        file: &File,
        path: &Path,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        let pending_start = self.output_at - self.pending.len() as u64;
        if offset < pending_start {
            self.input_at = 0;
            self.output_at = 0;
            self.pending.clear();
            self.decoder = ArticleDecoder::new(self.form, None);
        }
        let end = offset.saturating_add(len);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            // The next octet wanted, if the pending ones hold it, and as many after it.
            let pending_start = self.output_at - self.pending.len() as u64;
            let want = offset + out.len() as u64;
            if want < end && want >= pending_start && want < self.output_at {
                let from = (want - pending_start) as usize;
                let to = (end.min(self.output_at) - pending_start) as usize;
                out.extend_from_slice(&self.pending[from..to]);
            }
            if offset + out.len() as u64 >= end || self.input_at >= self.form.body_len {
                return Ok(out);
            }
            if buf.is_empty() {
                buf = vec![0u8; CHUNK];
            }
            let take = (self.form.body_len - self.input_at).min(CHUNK as u64) as usize;
            let got = read_some_at(file, &mut buf[..take], self.input_at, path)?;
            if got == 0 {
                return Ok(out);
            }
            self.input_at += got as u64;
            self.pending.clear();
            self.decoder.feed(&buf[..got], &mut self.pending)?;
            self.output_at += self.pending.len() as u64;
        }
    }
}

fn read_some_at(file: &File, buf: &mut [u8], at: u64, path: &Path) -> Result<usize> {
    loop {
        match file.read_at(buf, at) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::io(path, e)),
        }
    }
}

fn read_exact_at(file: &File, buf: &mut [u8], at: u64, path: &Path) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = read_some_at(file, &mut buf[done..], at + done as u64, path)?;
        if n == 0 {
            return Err(StoreError::corrupt(
                path.display().to_string(),
                "article shorter than its length",
            ));
        }
        done += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn decode_whole(bytes: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1");
        std::fs::write(&path, bytes).unwrap();
        read_article(&path, None).unwrap()
    }

    #[test]
    fn wire_format_is_unstuffed_and_loses_its_final_line() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\nplain\r\n.\r\n";
        assert_eq!(
            decode_whole(wire),
            b"Subject: x\r\n\r\n.leading dot\r\nplain\r\n"
        );
    }

    #[test]
    fn plain_articles_get_crlf_and_keep_their_dots() {
        let plain = b"Subject: x\n\n..two dots stay\nend\n";
        assert_eq!(
            decode_whole(plain),
            b"Subject: x\r\n\r\n..two dots stay\r\nend\r\n"
        );
    }

    #[test]
    fn an_empty_wire_article_is_empty() {
        assert_eq!(decode_whole(b".\r\n"), b"");
        assert_eq!(decode_whole(b""), b"");
    }

    #[test]
    fn nul_is_a_bad_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1");
        std::fs::write(&path, b"a\0b\n").unwrap();
        assert!(matches!(
            read_article(&path, None),
            Err(StoreError::BadMessage(_))
        ));
    }

    /// Wire-encodes a message the way a news server stores it.
    fn wire_encode(msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in msg.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    fn crlf_message() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![Just(b'.'), Just(b'a'), Just(b' '), Just(b'\r')],
                0..40,
            ),
            0..60,
        )
        .prop_map(|lines| {
            let mut m = Vec::new();
            for l in lines {
                let l: Vec<u8> = l.into_iter().filter(|&b| b != b'\r').collect();
                m.extend_from_slice(&l);
                m.extend_from_slice(b"\r\n");
            }
            m
        })
    }

    proptest! {
        /// Any message, wire-encoded, decodes back to itself; read in ranges of any size and
        /// order, the pieces are the message's own.
        #[test]
        fn wire_round_trip_and_ranges(
            msg in crlf_message(),
            cuts in proptest::collection::vec((0u64..3000, 0u64..700), 1..12),
        ) {
            let wire = wire_encode(&msg);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("1");
            std::fs::write(&path, &wire).unwrap();
            prop_assert_eq!(read_article(&path, None).unwrap(), msg.clone());
            let file = File::open(&path).unwrap();
            let mut reader = ArticleReader::new(&file, wire.len() as u64, &path).unwrap();
            for (offset, len) in cuts {
                let got = reader.read_range(&file, &path, offset, len).unwrap();
                let from = (offset as usize).min(msg.len());
                let to = (offset.saturating_add(len) as usize).min(msg.len());
                prop_assert_eq!(got, msg[from..to].to_vec());
            }
            // A front-to-back read in small pieces, as FETCH does.
            let mut whole = Vec::new();
            let mut at = 0;
            loop {
                let piece = reader.read_range(&file, &path, at, 37).unwrap();
                if piece.is_empty() { break; }
                at += piece.len() as u64;
                whole.extend(piece);
            }
            prop_assert_eq!(whole, msg);
        }
    }
}
