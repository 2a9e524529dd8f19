//! The command framer: cuts one whole command (its lines and the literals inside it) out of
//! the bytes a client sent, within bounds on the line, the literal and the whole command.
//!
//! RFC 5804 §4: clients send literals as `{n+}` CRLF octets (`literal-c2s`), and the octets
//! follow at once: ManageSieve has no continuation request, so there is nothing to tell the
//! client before it sends them. A client that sends the server form `{n}` gets the same
//! treatment (it cannot wait for a continuation that never comes, so it sends the octets at
//! once too). Cyrus's timsieved refuses `{n}`, and then reads its octets as commands; taking
//! them as the literal they are keeps the session in step. An announced literal over the bound
//! is refused as soon as its header arrives, and its octets are then skipped as they come,
//! never buffered (as timsieved eats an oversized literal). A bare LF ends a line as CRLF
//! does (timsieved takes it too).

/// The bounds of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line outside literals, line end included.
    pub max_line: usize,
    /// The largest literal (a script: `sieve_maxscriptsize`).
    pub max_literal: u64,
    /// The whole command: its lines, literal headers and octets.
    pub max_command: usize,
}

impl Default for Limits {
    /// 8 KiB lines, 32 KiB literals (Cyrus's `sieve_maxscriptsize` default, 32 KB) and a
    /// command that holds a literal of that size and a few lines.
    fn default() -> Limits {
        Limits {
            max_line: 8 * 1024,
            max_literal: 32 * 1024,
            max_command: 32 * 1024 + 16 * 1024,
        }
    }
}

/// What [`CommandFramer::take_command`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole command: its lines joined with their line ends, literal octets in place, without
    /// the final line end. [`crate::parse_command`] takes it.
    Command(Vec<u8>),
    /// More input is needed.
    Incomplete,
    /// The command is refused; the framer skips the rest of it as it arrives, so the next
    /// frame is the next command.
    Refused(FrameError),
}

/// Why a command was refused by the framer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    LineTooLong,
    /// The announced literal (its size, saturated at `u64::MAX`) is over `max_literal`; for
    /// a script, the session answers `NO (QUOTA/MAXSIZE)` (RFC 5804 §1.3).
    LiteralTooLarge(u64),
    CommandTooLong,
}

impl FrameError {
    /// What `NO` says.
    pub fn text(self) -> &'static str {
        match self {
            FrameError::LineTooLong => "Line too long",
            FrameError::LiteralTooLarge(_) => "Literal too large",
            FrameError::CommandTooLong => "Command too long",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Line,
    Literal(u64),
}

/// Assembles commands from the input; one per connection. It holds at most one command
/// (bounded by [`Limits::max_command`]); the caller's buffer holds what has not been taken.
#[derive(Debug)]
pub struct CommandFramer {
    limits: Limits,
    command: Vec<u8>,
    state: State,
    /// Skipping the rest of a refused command: lines and literal octets are consumed unkept.
    skipping: bool,
    /// Skipping an over-long line up to its end.
    skipping_line: bool,
}

impl CommandFramer {
    pub fn new(limits: Limits) -> CommandFramer {
        CommandFramer {
            limits,
            command: Vec::new(),
            state: State::Line,
            skipping: false,
            skipping_line: false,
        }
    }

    /// Takes the next command out of the front of `buf` (removing what it consumed).
    pub fn take_command(&mut self, buf: &mut Vec<u8>) -> Frame {
        loop {
            match self.state {
                State::Literal(remaining) => {
                    let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    if !self.skipping {
                        self.command.extend_from_slice(&buf[..n]);
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
                // A command already refused is not refused twice.
                if !self.skipping {
                    return Some(self.refuse(FrameError::LineTooLong));
                }
            }
            return Some(Frame::Incomplete);
        };
        let line: Vec<u8> = buf.drain(..=lf).collect();
        if self.skipping_line {
            // The end of an over-long line ends its command (a literal header in it is lost).
            self.skipping_line = false;
            self.end_skip();
            return None;
        }
        if line.len() > self.limits.max_line {
            let refused_before = self.skipping;
            let frame = self.refuse(FrameError::LineTooLong);
            self.end_skip();
            return (!refused_before).then_some(frame);
        }
        let body = strip_line_end(&line);
        match literal_header(body) {
            Some(size) => {
                self.state = State::Literal(size);
                if self.skipping {
                    return None;
                }
                if size > self.limits.max_literal {
                    return Some(self.refuse(FrameError::LiteralTooLarge(size)));
                }
                let total = (self.command.len() + line.len()) as u64 + size;
                if total > self.limits.max_command as u64 {
                    return Some(self.refuse(FrameError::CommandTooLong));
                }
                self.command.extend_from_slice(&line);
                None
            }
            None if self.skipping => {
                self.end_skip();
                None
            }
            None => {
                if self.command.len() + body.len() > self.limits.max_command {
                    self.command.clear();
                    return Some(Frame::Refused(FrameError::CommandTooLong));
                }
                self.command.extend_from_slice(body);
                Some(Frame::Command(std::mem::take(&mut self.command)))
            }
        }
    }

    fn refuse(&mut self, why: FrameError) -> Frame {
        self.command.clear();
        self.skipping = true;
        Frame::Refused(why)
    }

    fn end_skip(&mut self) {
        self.skipping = false;
        self.command.clear();
    }
}

/// The line without its CRLF (or bare LF, which is taken too).
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The size a line's trailing `{n+}` or `{n}` announces (saturated at `u64::MAX`, which no
/// bound admits), if the line ends with one.
pub(crate) fn literal_header(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let inner = inner.strip_suffix(b"+").unwrap_or(inner);
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
