//! Splitting an mbox file into messages, streaming: a message starts at a line beginning
//! `From ` and ends before the next one; the empty line before a `From ` line belongs to the
//! separator. Body lines quoted against that (`>From `) are unquoted as the chosen
//! [`Quoting`] says.
//!
//! The headers Dovecot, Pine and UW-IMAP keep their state in (`X-IMAPbase`, `X-IMAP`,
//! `X-UID`, `Status`, `X-Status`, `X-Keywords`, `Content-Length`) are read into
//! [`MboxState`] and left out of the message, as Dovecot leaves them out when it serves the
//! message. `Content-Length` is a hint: when the body it counts ends where the file ends or
//! where an empty line and a `From ` line follow, the body is those bytes as they are (Dovecot
//! writes `From ` lines in bodies unquoted and relies on it); otherwise the body ends at the
//! next `From ` line.
//!
//! Nothing is read whole: lines come in pieces of at most [`MAX_PIECE`] bytes, a header field
//! is held up to [`MAX_FIELD`] bytes (a longer one is passed through unread), and the message
//! goes to the caller's writer as it is read.

use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};

use crate::lines::{read_piece, Piece};
use crate::maildir::error::SyntaxError;

/// The longest piece of a line handled at once.
pub const MAX_PIECE: usize = 64 * 1024;
/// The longest header field read for state; longer ones are kept in the message unread.
pub const MAX_FIELD: usize = 64 * 1024;
/// Keywords read from one `X-Keywords` or `X-IMAPbase` field at most.
pub const MAX_FIELD_KEYWORDS: usize = 256;

/// How `From ` lines in bodies were quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    /// mboxrd: `>From `, `>>From `… each lose one `>`.
    Mboxrd,
    /// mboxo: only `>From ` loses its `>` (`>>From ` stays).
    Mboxo,
    /// Nothing is unquoted (Dovecot's own mbox files: it writes `>From ` and serves it as is).
    None,
}

/// The state an mbox keeps in a message's headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MboxState {
    /// `X-IMAPbase: UIDVALIDITY LAST-UID [KEYWORD…]` (or UW's `X-IMAP`), in the first
    /// message: the second number is the last UID given (UIDNEXT - 1), as UW-IMAP and Dovecot
    /// write it.
    pub imapbase: Option<(u32, u32)>,
    /// The message was UW-IMAP's folder-data pseudo message (it had `X-IMAP`): not mail.
    pub pseudo: bool,
    pub uid: Option<u32>,
    /// `Status:` had `R`.
    pub seen: bool,
    /// `X-Status:` letters.
    pub answered: bool,
    pub deleted: bool,
    pub flagged: bool,
    pub draft: bool,
    pub keywords: Vec<String>,
    /// `Content-Length:`, the body's length in octets as the writer counted it.
    pub content_length: Option<u64>,
}

/// One message's `From ` line and state (its bytes went to the writer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MboxMessage {
    /// Without its line end.
    pub from_line: Vec<u8>,
    /// The 1-based line of the `From ` line.
    pub line: u64,
    pub state: MboxState,
}

/// Reads messages one after the other from an mbox.
pub struct MboxReader<R> {
    input: R,
    quoting: Quoting,
    /// Lines read so far.
    line: u64,
    /// The `From ` line of the next message, once read.
    next_from: Option<(Vec<u8>, u64)>,
    started: bool,
}

/// A failure reading an mbox: its input failed, or it is not an mbox.
#[derive(Debug)]
pub enum MboxError {
    Io(io::Error),
    Syntax(SyntaxError),
}

impl From<io::Error> for MboxError {
    fn from(e: io::Error) -> MboxError {
        MboxError::Io(e)
    }
}

impl<R: BufRead + Seek> MboxReader<R> {
    pub fn new(input: R, quoting: Quoting) -> MboxReader<R> {
        MboxReader {
            input,
            quoting,
            line: 0,
            next_from: None,
            started: false,
        }
    }

    /// Writes the next message's bytes (LF line ends as in the file, state headers left out)
    /// to `out` and answers its `From ` line and state; `None` after the last.
    pub fn next_message(&mut self, out: &mut impl Write) -> Result<Option<MboxMessage>, MboxError> {
        if !self.started {
            self.started = true;
            self.find_first()?;
        }
        let Some((from_line, line)) = self.next_from.take() else {
            return Ok(None);
        };
        let mut state = MboxState::default();
        let at_body = self.headers(out, &mut state)?;
        if at_body {
            match state.content_length {
                Some(n) if self.length_fits(n)? => self.body_by_length(out, n)?,
                _ => self.body(out)?,
            }
        }
        Ok(Some(MboxMessage {
            from_line,
            line,
            state,
        }))
    }

    /// Reads up to the first `From ` line; only empty lines may come before it.
    fn find_first(&mut self) -> Result<(), MboxError> {
        self.blank_lines_to_from(Self::not_mbox)
    }

    /// Reads empty lines up to a `From ` line (kept as the next separator) or the end; any
    /// other line is the error `unexpected` makes.
    fn blank_lines_to_from(&mut self, unexpected: fn(&Self) -> MboxError) -> Result<(), MboxError> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match read_piece(&mut self.input, &mut buf, MAX_PIECE)? {
                Piece::End => return Ok(()),
                Piece::Partial => return Err(unexpected(self)),
                Piece::LineEnd => {}
            }
            self.line += 1;
            let text = trim_eol(&buf);
            if text.starts_with(b"From ") {
                self.next_from = Some((text.to_vec(), self.line));
                return Ok(());
            }
            if !text.is_empty() {
                return Err(unexpected(self));
            }
        }
    }

    fn not_mbox(&self) -> MboxError {
        MboxError::Syntax(SyntaxError::new(
            self.line.max(1),
            "not an mbox file: the first line does not begin with \"From \"",
        ))
    }

    /// Copies the header (without state fields) and its empty line. Answers false when the
    /// message ended (end of input or a `From ` line) before its body.
    fn headers(&mut self, out: &mut impl Write, state: &mut MboxState) -> Result<bool, MboxError> {
        let mut field: Vec<u8> = Vec::new();
        let mut passing = false;
        let mut buf = Vec::new();
        let mut at_line_start = true;
        loop {
            buf.clear();
            let piece = read_piece(&mut self.input, &mut buf, MAX_PIECE)?;
            if piece == Piece::End {
                end_field(&mut field, out, state)?;
                return Ok(false);
            }
            if at_line_start {
                self.line += 1;
                let text = trim_eol(&buf);
                if text.starts_with(b"From ") {
                    end_field(&mut field, out, state)?;
                    self.next_from = Some((text.to_vec(), self.line));
                    return Ok(false);
                }
                let continuation = matches!(buf.first(), Some(b' ' | b'\t'));
                if !continuation {
                    end_field(&mut field, out, state)?;
                    passing = false;
                    if text.is_empty() {
                        out.write_all(&buf)?;
                        return Ok(true);
                    }
                }
            }
            at_line_start = piece == Piece::LineEnd;
            if passing {
                out.write_all(&buf)?;
            } else if field.len() + buf.len() > MAX_FIELD {
                out.write_all(&field)?;
                out.write_all(&buf)?;
                field.clear();
                passing = true;
            } else {
                field.extend_from_slice(&buf);
            }
        }
    }

    /// Copies the body up to the next `From ` line or the end, unquoting, and leaving out the
    /// empty line before a `From ` line.
    fn body(&mut self, out: &mut impl Write) -> Result<(), MboxError> {
        let mut buf = Vec::new();
        let mut held_empty: Option<Vec<u8>> = None;
        let mut at_line_start = true;
        loop {
            buf.clear();
            let piece = read_piece(&mut self.input, &mut buf, MAX_PIECE)?;
            if piece == Piece::End {
                return Ok(());
            }
            if at_line_start {
                self.line += 1;
                let text = trim_eol(&buf);
                if text.starts_with(b"From ") {
                    self.next_from = Some((text.to_vec(), self.line));
                    return Ok(());
                }
                if let Some(e) = held_empty.take() {
                    out.write_all(&e)?;
                }
                if text.is_empty() && piece == Piece::LineEnd {
                    held_empty = Some(buf.clone());
                    continue;
                }
                let skip = usize::from(self.quoted(&buf));
                out.write_all(&buf[skip..])?;
            } else {
                out.write_all(&buf)?;
            }
            at_line_start = piece == Piece::LineEnd;
        }
    }

    /// Whether a body of `n` octets from here ends at the end of the input, or before an empty
    /// line and a `From ` line. The read position is left where it was.
    fn length_fits(&mut self, n: u64) -> io::Result<bool> {
        let start = self.input.stream_position()?;
        let end = self.input.seek(SeekFrom::End(0))?;
        let fits = match start.checked_add(n) {
            Some(stop) if stop == end => true,
            Some(stop) if stop < end => {
                self.input.seek(SeekFrom::Start(stop))?;
                let mut next = Vec::with_capacity(8);
                (&mut self.input).take(8).read_to_end(&mut next)?;
                next == b"\n"
                    || next == b"\r\n"
                    || next.starts_with(b"\nFrom ")
                    || next.starts_with(b"\r\nFrom ")
            }
            _ => false,
        };
        self.input.seek(SeekFrom::Start(start))?;
        Ok(fits)
    }

    /// Copies a body of `n` octets (unquoting line starts as chosen), then reads the empty
    /// line and the next `From ` line ([`MboxReader::length_fits`] said they are there).
    fn body_by_length(&mut self, out: &mut impl Write, n: u64) -> Result<(), MboxError> {
        let mut left = n;
        let mut at_line_start = true;
        let mut buf = Vec::new();
        while left > 0 {
            buf.clear();
            let max = usize::try_from(left).unwrap_or(usize::MAX).min(MAX_PIECE);
            if read_piece(&mut self.input, &mut buf, max)? == Piece::End {
                break;
            }
            // A piece that filled `max` may carry the separator's `\n` after it: not the body's.
            let body = &buf[..buf.len().min(max)];
            let skip = usize::from(at_line_start && self.quoted(body));
            out.write_all(&body[skip..])?;
            self.line += body.iter().filter(|&&b| b == b'\n').count() as u64;
            at_line_start = body.ends_with(b"\n");
            left -= body.len() as u64;
            if buf.len() > body.len() {
                self.line += 1;
                break;
            }
        }
        self.blank_lines_to_from(Self::lost_separator)
    }

    fn lost_separator(&self) -> MboxError {
        MboxError::Syntax(SyntaxError::new(
            self.line,
            "no \"From \" line where Content-Length said the message ends",
        ))
    }

    /// Whether a body line's first `>` is quoting to remove.
    fn quoted(&self, line: &[u8]) -> bool {
        match self.quoting {
            Quoting::None => false,
            Quoting::Mboxo => line.starts_with(b">From "),
            Quoting::Mboxrd => {
                let gt = line.iter().take_while(|&&b| b == b'>').count();
                gt > 0 && line[gt..].starts_with(b"From ")
            }
        }
    }
}

/// The line without its `\n` or `\r\n`.
fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Ends a header field: a state field is read into `state`, any other is written out.
fn end_field(field: &mut Vec<u8>, out: &mut impl Write, state: &mut MboxState) -> io::Result<()> {
    if field.is_empty() {
        return Ok(());
    }
    if !read_state_field(field, state) {
        out.write_all(field)?;
    }
    field.clear();
    Ok(())
}

/// Reads a state field into `state`; answers false when `field` is not one.
fn read_state_field(field: &[u8], state: &mut MboxState) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = String::from_utf8_lossy(&field[..colon]).to_ascii_lowercase();
    let value = String::from_utf8_lossy(&field[colon + 1..]);
    let mut words = value.split_ascii_whitespace();
    match name.as_str() {
        "x-imapbase" | "x-imap" => {
            let uidvalidity = words.next().and_then(|w| w.parse().ok());
            let last_uid = words.next().and_then(|w| w.parse().ok());
            if let (Some(v), Some(n)) = (uidvalidity, last_uid) {
                state.imapbase = Some((v, n));
            }
            state.pseudo |= name == "x-imap";
        }
        "x-uid" => state.uid = words.next().and_then(|w| w.parse().ok()).filter(|&u| u > 0),
        "status" => state.seen = value.contains('R'),
        "x-status" => {
            state.answered = value.contains('A');
            state.deleted = value.contains('D');
            state.flagged = value.contains('F');
            state.draft = value.contains('T');
        }
        "x-keywords" => {
            for w in words.take(MAX_FIELD_KEYWORDS) {
                let w = w.trim_end_matches(',');
                if !w.is_empty() && !state.keywords.iter().any(|k| k == w) {
                    state.keywords.push(w.to_string());
                }
            }
        }
        "content-length" => state.content_length = words.next().and_then(|w| w.parse().ok()),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &[u8], quoting: Quoting) -> Vec<(MboxMessage, Vec<u8>)> {
        let mut r = MboxReader::new(std::io::Cursor::new(text), quoting);
        let mut all = Vec::new();
        loop {
            let mut out = Vec::new();
            match r.next_message(&mut out).unwrap() {
                Some(m) => all.push((m, out)),
                None => return all,
            }
        }
    }

    #[test]
    fn messages_split_at_from_lines_and_state_headers_are_read_and_left_out() {
        let text = b"From a@b Mon Dec  7 02:53:42 2026\n\
X-IMAPbase: 1234 0000000010 $Label1 work\n\
Subject: one\n\
Status: RO\n\
X-Status: AF\n\
X-Keywords: $Label1 work\n\
X-UID: 4\n\
Content-Length: 6\n\
\n\
body\n\
>From me\n\
>>From you\n\
\n\
From c@d Mon Dec  7 02:53:43 2026\n\
Subject: two\n\
\n\
text\n";
        let all = split(text, Quoting::Mboxrd);
        assert_eq!(all.len(), 2);
        let (m, bytes) = &all[0];
        assert_eq!(m.line, 1);
        assert_eq!(m.from_line, b"From a@b Mon Dec  7 02:53:42 2026");
        assert_eq!(m.state.imapbase, Some((1234, 10)));
        assert_eq!(m.state.uid, Some(4));
        assert!(m.state.seen && m.state.answered && m.state.flagged);
        assert!(!m.state.deleted && !m.state.draft);
        assert_eq!(m.state.keywords, ["$Label1", "work"]);
        assert_eq!(bytes, b"Subject: one\n\nbody\nFrom me\n>From you\n");
        assert_eq!(all[1].0.line, 14);
        assert_eq!(all[1].1, b"Subject: two\n\ntext\n");
        assert_eq!(all[1].0.state, MboxState::default());
    }

    #[test]
    fn a_content_length_that_fits_keeps_unquoted_from_lines_in_the_body() {
        // Dovecot's own mbox: `From ` in a body is not quoted, Content-Length counts the body.
        let text = b"From fred@vm  Mon Dec 07 03:29:51 2026\n\
Subject: one\n\
Content-Length: 34\n\
\n\
From the start of a line\n\
body one\n\
\n\
From x Mon Dec  7 02:53:42 2026\n\
Content-Length: 999\n\
\n\
From here on it is a new message\n";
        let all = split(text, Quoting::Mboxrd);
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(
            all[0].1,
            b"Subject: one\n\nFrom the start of a line\nbody one\n"
        );
        assert_eq!(all[0].0.state.content_length, Some(34));
        // A length past the end is only a hint: the body ends at the next From line.
        assert_eq!(all[1].1, b"\n");
        assert_eq!(all[2].0.line, 11);
    }

    #[test]
    fn quoting_choices_unquote_differently() {
        let text = b"From x Mon Dec  7 02:53:42 2026\nA: b\n\n>From 1\n>>From 2\n";
        assert_eq!(
            split(text, Quoting::Mboxo)[0].1,
            b"A: b\n\nFrom 1\n>>From 2\n"
        );
        assert_eq!(
            split(text, Quoting::None)[0].1,
            b"A: b\n\n>From 1\n>>From 2\n"
        );
    }

    #[test]
    fn not_an_mbox_and_empty_files() {
        let mut r = MboxReader::new(
            std::io::Cursor::new(&b"\nSubject: x\n"[..]),
            Quoting::Mboxrd,
        );
        match r.next_message(&mut Vec::new()) {
            Err(MboxError::Syntax(e)) => assert_eq!(e.line, 2),
            other => panic!("{other:?}"),
        }
        assert!(split(b"", Quoting::Mboxrd).is_empty());
        assert!(split(b"\n\n", Quoting::Mboxrd).is_empty());
    }

    #[test]
    fn headers_without_a_body_and_folded_state_fields() {
        let text = b"From x Mon Dec  7 02:53:42 2026\nX-Keywords: a\n b\nSubject: s\nFrom y Mon Dec  7 02:53:42 2026\n";
        let all = split(text, Quoting::Mboxrd);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0.state.keywords, ["a", "b"]);
        assert_eq!(all[0].1, b"Subject: s\n");
    }

    #[test]
    fn long_lines_pass_through_in_pieces() {
        let long = "y".repeat(MAX_PIECE * 2 + 7);
        let text = format!("From x Mon Dec  7 02:53:42 2026\nX-Long: {long}\n\n{long}\nFrom q\n");
        let all = split(text.as_bytes(), Quoting::Mboxrd);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1, format!("X-Long: {long}\n\n{long}\n").as_bytes());
    }
}
