//! Line handling for the framer: finding line ends, literal announcements at the end of a line
//! (`{N}`, `{N+}`, `~{N}`), limits, and the IDLE and AUTHENTICATE line modes.

use types::Secret;

use super::{
    CommandFramer, FramerEvent, FramerMode, LiteralClass, LiteralKind, LiteralSync as Sync, State,
};
use crate::error::{ErrorKind, ParseError};
use crate::limits::{LiteralPlusMode, LITERAL_MINUS_MAX};
use crate::parse::{classify_literal, decode_base64, leading_tag, parse_assembled};

/// Whether the LF of an over-long line has been read.
#[derive(Clone, Copy)]
enum LineEnd<'a> {
    /// The line (without CRLF) was read whole.
    Consumed(&'a [u8]),
    /// Its end is still to come.
    NotYetSeen,
}

/// A literal announcement ending a line.
#[derive(Clone, Copy, Debug)]
pub(super) struct LiteralHeader {
    /// Where `{` (or `~`) starts within the line.
    pub(super) start: usize,
    /// `None` when the size does not fit in 63 bits.
    pub(super) len: Option<u64>,
    pub(super) sync: Sync,
    pub(super) kind: LiteralKind,
}

/// `literal = "{" number64 ["+"] "}" CRLF`, `literal8 = "~{" number64 ["+"] "}" CRLF`, when the
/// line (without CRLF) ends with one.
pub(super) fn literal_header(line: &[u8]) -> Option<LiteralHeader> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let inside = &body[open + 1..];
    let (digits, sync) = match inside.strip_suffix(b"+") {
        Some(d) => (d, Sync::NonSync),
        None => (inside, Sync::Sync),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?
            .checked_add(u64::from(d - b'0'))
            .filter(|&n| n <= i64::MAX as u64)
    });
    let (start, kind) = if open > 0 && line[open - 1] == b'~' {
        (open - 1, LiteralKind::Literal8)
    } else {
        (open, LiteralKind::Literal)
    };
    Some(LiteralHeader {
        start,
        len,
        sync,
        kind,
    })
}

impl CommandFramer {
    /// Handles the next complete line, if there is one; `false` when more input is needed.
    pub(super) fn step_line(&mut self) -> bool {
        let from = self.scanned.max(self.start);
        let Some(lf) = self.input[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| from + p)
        else {
            self.scanned = self.input.len();
            if self.state == State::DiscardLine {
                self.start = self.input.len();
                return false;
            }
            if self.buffered() > self.limits.max_line {
                self.line_too_long(LineEnd::NotYetSeen);
                return true;
            }
            return false;
        };
        let line_start = self.start;
        self.start = lf + 1;
        self.scanned = self.start;
        let end = if lf > line_start && self.input[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        let line = self.input[line_start..end].to_vec();
        if self.state == State::DiscardLine {
            self.state = State::Line;
            return true;
        }
        if lf + 1 - line_start > self.limits.max_line {
            self.line_too_long(LineEnd::Consumed(&line));
            return true;
        }
        if self.state == State::DiscardCommand {
            self.discard_command_line(&line);
            return true;
        }
        match self.mode {
            FramerMode::Command if self.undump.is_some() => self.undump_line(&line),
            FramerMode::Command => self.command_line(&line),
            FramerMode::Idle => self.idle_line(&line),
            FramerMode::Authenticate => self.auth_line(&line),
        }
        true
    }

    /// Refuses an over-long line: one `Bad`, then everything up to its LF is dropped.
    fn line_too_long(&mut self, end: LineEnd<'_>) {
        let tag = match (self.command.is_empty(), end) {
            (false, _) => leading_tag(&self.command),
            (true, LineEnd::Consumed(line)) => leading_tag(line),
            (true, LineEnd::NotYetSeen) => leading_tag(self.available()),
        };
        let max = self.limits.max_line;
        let bad = ParseError::new(tag, ErrorKind::LineTooLong { max });
        self.events.push_back(FramerEvent::Bad(bad));
        self.abandon_command();
        self.state = State::Line;
        if let LineEnd::NotYetSeen = end {
            self.start = self.input.len();
            self.scanned = self.start;
            self.state = State::DiscardLine;
        }
    }

    /// A line of a command we already refused: skip its literal data too.
    fn discard_command_line(&mut self, line: &[u8]) {
        self.state = State::Line;
        if let Some(header) = literal_header(line) {
            self.discard_literal(header);
        }
    }

    /// After refusing a command whose line ends in `header`: a synchronising literal will not be
    /// sent; a non-synchronising one is read and dropped, or ends the connection if too large.
    fn discard_literal(&mut self, header: LiteralHeader) {
        if header.sync == Sync::Sync {
            return;
        }
        match header.len {
            Some(len) if len <= self.limits.max_discard => {
                self.state = State::DiscardLiteral { remaining: len };
            }
            Some(len) => {
                let kind = ErrorKind::LiteralTooLarge {
                    len,
                    max: self.limits.max_discard,
                };
                self.fatal(kind);
            }
            None => self.fatal(ErrorKind::BadLiteralSize),
        }
    }

    fn fatal(&mut self, kind: ErrorKind) {
        self.events
            .push_back(FramerEvent::Fatal(ParseError::new(None, kind)));
        self.state = State::Closed;
    }

    fn refuse(&mut self, kind: ErrorKind, header: Option<LiteralHeader>) {
        let tag = leading_tag(&self.command);
        self.events
            .push_back(FramerEvent::Bad(ParseError::new(tag, kind)));
        self.abandon_command();
        self.state = State::Line;
        if let Some(header) = header {
            self.discard_literal(header);
        }
    }

    fn command_line(&mut self, line: &[u8]) {
        if self.command.is_empty() && line.is_empty() {
            return;
        }
        let header = literal_header(line);
        if self.command.len() + line.len() + 2 > self.limits.max_command {
            self.command.extend_from_slice(line);
            let max = self.limits.max_command;
            return self.refuse(ErrorKind::CommandTooLong { max }, header);
        }
        self.command.extend_from_slice(line);
        if self.start_undump(line.len()) {
            return;
        }
        match header {
            None => self.command_complete(),
            Some(header) => {
                let prefix_len = self.command.len() - (line.len() - header.start);
                self.literal_announced(header, prefix_len);
            }
        }
    }

    fn command_complete(&mut self) {
        self.command.extend_from_slice(b"\r\n");
        let parsed = parse_assembled(
            &self.command,
            &self.spooled,
            self.encoding,
            self.limits.max_nesting,
        );
        match parsed {
            Ok(command) => {
                self.events.push_back(FramerEvent::Command(command));
                self.reset_command();
            }
            Err(err) => {
                self.events.push_back(FramerEvent::Bad(err));
                self.abandon_command();
            }
        }
    }

    fn literal_announced(&mut self, header: LiteralHeader, prefix_len: usize) {
        let Some(len) = header.len else {
            return self.refuse(ErrorKind::BadLiteralSize, Some(header));
        };
        let class = classify_literal(&self.command[..prefix_len], &self.spooled, self.encoding);
        if let LiteralClass::Refused(kind) = class {
            return self.refuse(kind, Some(header));
        }
        if let Some(kind) = self.check_literal(len, header.sync, &class) {
            return self.refuse(kind, Some(header));
        }
        self.command.extend_from_slice(b"\r\n");
        match class {
            LiteralClass::Message {
                tag,
                mailbox,
                command,
            } => {
                let (kind, sync) = (header.kind, header.sync);
                self.events.push_back(FramerEvent::MessageLiteral {
                    tag,
                    mailbox,
                    command,
                    len,
                    kind,
                    sync,
                });
                self.message_sync = sync;
                self.state = State::Message {
                    remaining: len,
                    len,
                };
            }
            LiteralClass::Other | LiteralClass::Refused(_) => {
                if header.sync == Sync::Sync {
                    self.events.push_back(FramerEvent::NeedContinuation);
                }
                self.state = State::Literal { remaining: len };
            }
        }
    }

    /// The limit an announced literal breaks, if any.
    fn check_literal(&self, len: u64, sync: Sync, class: &LiteralClass) -> Option<ErrorKind> {
        let limits = &self.limits;
        if sync == Sync::NonSync
            && limits.literal_plus == LiteralPlusMode::LiteralMinus
            && len > LITERAL_MINUS_MAX
        {
            return Some(ErrorKind::LiteralMinusExceeded);
        }
        match class {
            LiteralClass::Message { .. } if len > limits.max_append_literal => {
                Some(ErrorKind::MessageTooBig {
                    len,
                    max: limits.max_append_literal,
                })
            }
            LiteralClass::Message { .. } | LiteralClass::Refused(_) => None,
            LiteralClass::Other if len > limits.max_literal => Some(ErrorKind::LiteralTooLarge {
                len,
                max: limits.max_literal,
            }),
            LiteralClass::Other => {
                let total = (self.command.len() as u64).saturating_add(len);
                let max = limits.max_command;
                (total > max as u64).then_some(ErrorKind::CommandTooLong { max })
            }
        }
    }

    /// RFC 2177: the only valid line while idling is `DONE`.
    fn idle_line(&mut self, line: &[u8]) {
        if line.eq_ignore_ascii_case(b"DONE") {
            self.mode = FramerMode::Command;
            self.events.push_back(FramerEvent::IdleDone);
        } else {
            let kind = ErrorKind::UnexpectedLine("idling (expected DONE)");
            self.events
                .push_back(FramerEvent::Bad(ParseError::new(None, kind)));
        }
    }

    /// RFC 9051 §6.2.2: `authenticate = ... *(CRLF base64) CRLF`; `*` cancels; an empty line is an
    /// empty response.
    fn auth_line(&mut self, line: &[u8]) {
        let event = match line {
            b"*" => {
                self.mode = FramerMode::Command;
                FramerEvent::AuthCancel
            }
            b"" | b"=" => FramerEvent::AuthResponse(Secret::new(Vec::new())),
            data => match decode_base64(data) {
                Ok(bytes) => FramerEvent::AuthResponse(Secret::new(bytes)),
                Err(kind) => FramerEvent::Bad(ParseError::new(None, kind)),
            },
        };
        self.events.push_back(event);
    }
}
