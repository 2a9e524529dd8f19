//! The DATA body (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing and end detection, incremental so
//! the server can stream a message of any size through a small buffer.
//!
//! The body is a sequence of lines. A line starting with "." has that dot removed; a line that is
//! only "." ends the body. The line end before the final "." belongs to the message, so
//! `a\r\n.\r\n` decodes to `a\r\n`, and a first line of "." ends an empty message. Line ends are
//! kept as sent: a bare LF ends a line too (so `\n.\n` terminates, as Postfix and Cyrus accept)
//! and is reported by [`DataDecoder::saw_bare_lf`], leaving the server to refuse or repair it.

/// Where the decoder is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the first byte of a line (also the start of the body).
    LineStart,
    /// Read a "." at the start of a line.
    Dot,
    /// Read "." then CR at the start of a line.
    DotCr,
    /// Inside a line; the previous byte was not CR.
    InLine,
    /// Inside a line; the previous byte was CR.
    InLineAfterCr,
    /// Read the terminating "." line.
    Done,
}

/// Whether [`DataDecoder::feed`] reached the end of the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataStatus {
    /// The terminator has not been seen yet: feed more.
    More,
    /// The terminator was consumed; bytes after it belong to the next command.
    Done,
}

/// Decodes one DATA body. Make a new one per message.
#[derive(Clone, Debug)]
pub struct DataDecoder {
    state: State,
    max_size: u64,
    size: u64,
    bare_lf: bool,
    nul: bool,
}

impl DataDecoder {
    /// A decoder that keeps at most `max_size` decoded bytes (`u64::MAX` for no limit).
    pub fn new(max_size: u64) -> Self {
        DataDecoder {
            state: State::LineStart,
            max_size,
            size: 0,
            bare_lf: false,
            nul: false,
        }
    }

    /// Consumes bytes from the front of `input`, appending the unstuffed message to `out`, and
    /// returns how many bytes were consumed and whether the terminator was reached. Bytes after
    /// the terminator are not consumed. Once the message exceeds the limit, input is still
    /// consumed up to the terminator but nothing more is appended.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, DataStatus) {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            match self.state {
                State::LineStart => {
                    if input[i] == b'.' {
                        self.state = State::Dot;
                        i += 1;
                    } else {
                        self.state = State::InLine;
                    }
                }
                State::Dot => match input[i] {
                    b'\r' => {
                        self.state = State::DotCr;
                        i += 1;
                    }
                    b'\n' => {
                        self.bare_lf = true;
                        self.state = State::Done;
                        i += 1;
                    }
                    // RFC 5321 §4.5.2: the leading dot of any other line is dropped.
                    _ => self.state = State::InLine,
                },
                State::DotCr => {
                    if input[i] == b'\n' {
                        self.state = State::Done;
                        i += 1;
                    } else {
                        // ".\r" followed by more text: a stuffed line starting with CR.
                        self.emit(b"\r", out);
                        self.state = State::InLineAfterCr;
                    }
                }
                State::InLine | State::InLineAfterCr => i += self.line_bytes(&input[i..], out),
                State::Done => {}
            }
        }
        let status = if self.state == State::Done {
            DataStatus::Done
        } else {
            DataStatus::More
        };
        (i, status)
    }

    /// Copies the rest of the current line (or all of `rest` if the line does not end in it);
    /// returns how many bytes it took. `rest` is not empty.
    fn line_bytes(&mut self, rest: &[u8], out: &mut Vec<u8>) -> usize {
        match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let cr_before = match lf {
                    0 => self.state == State::InLineAfterCr,
                    _ => rest[lf - 1] == b'\r',
                };
                if !cr_before {
                    self.bare_lf = true;
                }
                self.emit(&rest[..=lf], out);
                self.state = State::LineStart;
                lf + 1
            }
            None => {
                self.emit(rest, out);
                self.state = if rest.last() == Some(&b'\r') {
                    State::InLineAfterCr
                } else {
                    State::InLine
                };
                rest.len()
            }
        }
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if bytes.contains(&0) {
            self.nul = true;
        }
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let size = self.size.saturating_add(len);
        if size <= self.max_size {
            out.extend_from_slice(bytes);
        }
        self.size = size;
    }

    /// True once the decoded message has grown past the limit (RFC 5321 §4.5.3.1.10: the server
    /// answers 552 5.3.4 after the terminator).
    pub fn too_big(&self) -> bool {
        self.size > self.max_size
    }

    /// Decoded bytes seen so far, counting those past the limit.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True if any line ended in a bare LF (including the terminator's).
    pub fn saw_bare_lf(&self) -> bool {
        self.bare_lf
    }

    /// True if the decoded message contains a NUL byte.
    pub fn saw_nul(&self) -> bool {
        self.nul
    }

    /// True once the terminator has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

/// The sending side of [`DataDecoder`]: appends `message` dot-stuffed, followed by the
/// terminator. A message that does not end in a line end gets a CRLF first, so decoding gives
/// back `message` exactly when it is empty or ends in LF, and `message` + CRLF otherwise.
pub fn dot_stuff(message: &[u8], out: &mut Vec<u8>) {
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !message.is_empty() && message.last() != Some(&b'\n') {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}
