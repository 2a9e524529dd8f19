//! Command-line framing (RFC 5321 §2.3.8, §4.5.3.1.4): one line at a time out of a byte buffer the
//! caller fills from the socket. Lines end in CRLF; a bare LF is accepted too, as Postfix and
//! Cyrus accept it. An over-long line is reported once and then skipped up to its end, so the
//! session can answer `500 5.5.2` and carry on with the next command.

/// The default limit on a command line, line ending excluded. RFC 5321 §4.5.3.1.4 asks for at
/// least 512 octets; long parameter lists (ORCPT, AUTH) need more in practice.
pub const MAX_COMMAND_LINE: usize = 4096;

/// What [`LineFramer::take_line`] found at the front of the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineResult {
    /// One complete line, without its line ending.
    Line(Vec<u8>),
    /// No complete line yet: read more and call again.
    Incomplete,
    /// A line longer than the limit; its bytes are (or will be, as they arrive) thrown away up to
    /// and including its line end. Reported once per over-long line.
    TooLong,
}

/// Splits command lines out of a buffer. Keeps only the limit and whether it is skipping the
/// rest of an over-long line; the bytes stay in the caller's buffer.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max: usize,
    discarding: bool,
}

impl LineFramer {
    /// A framer refusing lines longer than `max` bytes (line ending excluded).
    pub fn new(max: usize) -> Self {
        LineFramer {
            max,
            discarding: false,
        }
    }

    /// The limit this framer was built with.
    pub fn max(&self) -> usize {
        self.max
    }

    /// True while the rest of an over-long line is being skipped.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Takes one line from the front of `buf`, draining it (and its line ending) from the buffer.
    pub fn take_line(&mut self, buf: &mut Vec<u8>) -> LineResult {
        if self.discarding {
            match buf.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    buf.drain(..=lf);
                    self.discarding = false;
                }
                None => {
                    buf.clear();
                    return LineResult::Incomplete;
                }
            }
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let mut line: Vec<u8> = buf.drain(..=lf).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.max {
                    LineResult::TooLong
                } else {
                    LineResult::Line(line)
                }
            }
            None => {
                // A trailing CR may be the first half of the CRLF still in flight.
                let pending = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                if pending > self.max {
                    buf.clear();
                    self.discarding = true;
                    LineResult::TooLong
                } else {
                    LineResult::Incomplete
                }
            }
        }
    }
}
