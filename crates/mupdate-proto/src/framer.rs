//! The framer: cuts one whole message — a command or a response: its line, and the literals
//! inside it with the lines that follow them — out of the bytes received, within bounds on
//! the line, the literal and the whole message. The same framing serves both directions.
//!
//! A line that ends in `{n+}` (non-synchronizing, what Cyrus's `mupdate` writes) is followed at
//! once by `n` octets and the rest of the message. A line that ends in `{n}` (synchronizing)
//! makes the framer say [`Frame::LiteralWanted`]: a server then answers `+ go ahead` (Cyrus
//! does), and the client sends the octets. An announced literal over the bound is refused as
//! soon as its header arrives; the octets of a refused `{n+}` literal are skipped as they come,
//! never buffered, while a refused `{n}` literal never comes (nobody said go ahead). A bare LF
//! ends a line as CRLF does.

/// The bounds of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line outside literals, line end included.
    pub max_line: usize,
    /// The largest literal.
    pub max_literal: u64,
    /// The whole message: its lines, literal headers and octets.
    pub max_message: usize,
}

impl Default for Limits {
    /// 8 KiB lines, 64 KiB literals (a mailbox name is at most a few hundred bytes; an ACL of
    /// a thousand entries fits) and 256 KiB messages.
    fn default() -> Limits {
        Limits {
            max_line: 8 * 1024,
            max_literal: 64 * 1024,
            max_message: 256 * 1024,
        }
    }
}

/// What [`Framer::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message: its lines with their line ends and the literal octets in place,
    /// without the final line end. [`crate::parse_command`] or [`crate::parse_response`]
    /// takes it.
    Message(Vec<u8>),
    /// More input is needed.
    Incomplete,
    /// A synchronizing literal was announced: a server answers `+ go ahead`, then calls
    /// [`Framer::take`] again (the octets may be in the buffer already).
    LiteralWanted,
    /// The message is refused; the framer skips the rest of it as it arrives, so the next
    /// frame is the next message.
    Refused(FrameError),
}

/// Why a message was refused by the framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("line too long")]
    LineTooLong,
    /// The announced size, saturated at `u64::MAX`.
    #[error("literal of {0} octets too large")]
    LiteralTooLarge(u64),
    #[error("message too long")]
    MessageTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Literal(u64),
}

/// Assembles messages from the input; one per connection and direction. It holds at most one
/// message (bounded by [`Limits::max_message`]); the caller's buffer holds what has not been
/// taken.
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    message: Vec<u8>,
    state: State,
    /// Skipping the rest of a refused message: lines and literal octets are consumed unkept.
    skipping: bool,
    /// Skipping an over-long line up to its end.
    skipping_line: bool,
}

impl Framer {
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            message: Vec::new(),
            state: State::Line,
            skipping: false,
            skipping_line: false,
        }
    }

    /// Takes the next message out of the front of `buf` (removing what it consumed).
    pub fn take(&mut self, buf: &mut Vec<u8>) -> Frame {
        loop {
            match self.state {
                State::Literal(remaining) => {
                    let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    if !self.skipping {
                        self.message.extend_from_slice(&buf[..n]);
                    }
                    buf.drain(..n);
                    // n fits in a u64: it is at most `remaining`.
                    let left = remaining - n as u64;
                    if left > 0 {
                        self.state = State::Literal(left);
                        return Frame::Incomplete;
                    }
                    self.state = State::Line;
                }
                State::Line => {
                    if let Some(frame) = self.take_line(buf) {
                        return frame;
                    }
                }
            }
        }
    }

    /// Consumes one line (or what there is of it); `None` means go on with the loop.
    fn take_line(&mut self, buf: &mut Vec<u8>) -> Option<Frame> {
        let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
            if self.skipping_line {
                buf.clear();
            } else if buf.len() >= self.limits.max_line {
                buf.clear();
                self.skipping_line = true;
                if !self.skipping {
                    return Some(self.refuse(FrameError::LineTooLong));
                }
            }
            return Some(Frame::Incomplete);
        };
        let line: Vec<u8> = buf.drain(..=lf).collect();
        if self.skipping_line {
            // The end of an over-long line ends its message (a literal header in it is lost).
            self.skipping_line = false;
            self.skipping = false;
            return None;
        }
        let header = literal_header(&line);
        let mut refusal = None;
        if line.len() > self.limits.max_line {
            refusal = Some(FrameError::LineTooLong);
        } else if self.message.len() + line.len() > self.limits.max_message {
            refusal = Some(FrameError::MessageTooLong);
        } else if let Some((size, _)) = header {
            if size > self.limits.max_literal {
                refusal = Some(FrameError::LiteralTooLarge(size));
            } else if (self.message.len() + line.len()) as u64 + size
                > self.limits.max_message as u64
            {
                refusal = Some(FrameError::MessageTooLong);
            }
        }
        let was_skipping = self.skipping;
        if !self.skipping {
            self.message.extend_from_slice(&line);
        }
        let frame = match refusal {
            Some(e) if !was_skipping => Some(self.refuse(e)),
            _ => None,
        };
        match header {
            Some((size, Sync::NonSynchronizing)) => {
                self.state = State::Literal(size);
                frame
            }
            // A refused synchronizing literal is never sent: the message ends here.
            Some((_, Sync::Synchronizing)) if self.skipping => {
                self.skipping = false;
                frame
            }
            Some((size, Sync::Synchronizing)) => {
                self.state = State::Literal(size);
                Some(Frame::LiteralWanted)
            }
            None if self.skipping => {
                self.skipping = false;
                frame
            }
            None => {
                let mut message = std::mem::take(&mut self.message);
                strip_line_end(&mut message);
                Some(Frame::Message(message))
            }
        }
    }

    fn refuse(&mut self, e: FrameError) -> Frame {
        self.message.clear();
        self.skipping = true;
        Frame::Refused(e)
    }
}

/// Whether a literal's octets follow at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    NonSynchronizing,
    Synchronizing,
}

/// The literal header a line ends with (`{n}` or `{n+}` before its line end), if any; a size
/// too large for a `u64` saturates (and is refused as too large).
fn literal_header(line: &[u8]) -> Option<(u64, Sync)> {
    let body = line.strip_suffix(b"\n")?;
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let inner = body.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let inner = &inner[open + 1..];
    let sync = if inner.ends_with(b"+") {
        Sync::NonSynchronizing
    } else {
        Sync::Synchronizing
    };
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((size, sync))
}

fn strip_line_end(message: &mut Vec<u8>) {
    if message.last() == Some(&b'\n') {
        message.pop();
        if message.last() == Some(&b'\r') {
            message.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Framer {
        Framer::new(Limits {
            max_line: 40,
            max_literal: 20,
            max_message: 60,
        })
    }

    #[test]
    fn a_message_with_literals_comes_whole() {
        let mut f = Framer::new(Limits::default());
        let mut buf =
            b"A3 MAILBOX {8+}\r\nuser.ann {3+}\r\ns!p {0+}\r\n\r\nA3 OK \"x\"\r\n".to_vec();
        assert_eq!(
            f.take(&mut buf),
            Frame::Message(b"A3 MAILBOX {8+}\r\nuser.ann {3+}\r\ns!p {0+}\r\n".to_vec())
        );
        assert_eq!(f.take(&mut buf), Frame::Message(b"A3 OK \"x\"".to_vec()));
        assert_eq!(f.take(&mut buf), Frame::Incomplete);
    }

    #[test]
    fn bytes_arriving_one_at_a_time_make_the_same_message() {
        let wire = b"A1 FIND {8+}\r\nuser.ann\r\n";
        let mut f = Framer::new(Limits::default());
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        for &b in wire {
            buf.push(b);
            match f.take(&mut buf) {
                Frame::Incomplete => {}
                other => frames.push(other),
            }
        }
        assert_eq!(
            frames,
            vec![Frame::Message(b"A1 FIND {8+}\r\nuser.ann".to_vec())]
        );
    }

    #[test]
    fn a_synchronizing_literal_asks_for_go_ahead() {
        let mut f = Framer::new(Limits::default());
        let mut buf = b"A4 FIND {8}\r\n".to_vec();
        assert_eq!(f.take(&mut buf), Frame::LiteralWanted);
        assert_eq!(f.take(&mut buf), Frame::Incomplete);
        buf.extend_from_slice(b"user.ann\r\n");
        assert_eq!(
            f.take(&mut buf),
            Frame::Message(b"A4 FIND {8}\r\nuser.ann".to_vec())
        );
    }

    #[test]
    fn an_oversized_literal_is_refused_and_its_octets_skipped() {
        let mut f = small();
        let mut buf = b"A1 FIND {30+}\r\n".to_vec();
        assert_eq!(
            f.take(&mut buf),
            Frame::Refused(FrameError::LiteralTooLarge(30))
        );
        buf.extend_from_slice(&[b'x'; 30]);
        buf.extend_from_slice(b"\r\nA2 NOOP\r\n");
        assert_eq!(f.take(&mut buf), Frame::Message(b"A2 NOOP".to_vec()));
    }

    #[test]
    fn a_refused_synchronizing_literal_ends_the_message() {
        let mut f = small();
        let mut buf = b"A1 FIND {30}\r\nA2 NOOP\r\n".to_vec();
        assert_eq!(
            f.take(&mut buf),
            Frame::Refused(FrameError::LiteralTooLarge(30))
        );
        assert_eq!(f.take(&mut buf), Frame::Message(b"A2 NOOP".to_vec()));
    }

    #[test]
    fn an_over_long_line_is_refused_without_buffering_it() {
        let mut f = small();
        let mut buf = vec![b'a'; 100];
        assert_eq!(f.take(&mut buf), Frame::Refused(FrameError::LineTooLong));
        assert!(buf.is_empty());
        buf.extend_from_slice(&[b'a'; 100]);
        assert_eq!(f.take(&mut buf), Frame::Incomplete);
        buf.extend_from_slice(b"aaa\r\nA2 NOOP\r\n");
        assert_eq!(f.take(&mut buf), Frame::Message(b"A2 NOOP".to_vec()));
    }

    #[test]
    fn a_message_over_its_bound_is_refused() {
        let mut f = small();
        let mut buf = b"A1 ACTIVATE {20+}\r\n".to_vec();
        buf.extend_from_slice(&[b'n'; 20]);
        buf.extend_from_slice(b" {20+}\r\n");
        buf.extend_from_slice(&[b'l'; 20]);
        buf.extend_from_slice(b" \"\"\r\nA2 NOOP\r\n");
        assert_eq!(f.take(&mut buf), Frame::Refused(FrameError::MessageTooLong));
        assert_eq!(f.take(&mut buf), Frame::Message(b"A2 NOOP".to_vec()));
    }

    #[test]
    fn a_huge_announced_size_saturates() {
        let mut f = small();
        let mut buf = b"* X {99999999999999999999999+}\r\n".to_vec();
        assert_eq!(
            f.take(&mut buf),
            Frame::Refused(FrameError::LiteralTooLarge(u64::MAX))
        );
    }
}
