//! Multi-line responses (RFC 1939 §3): each line that starts with `.` gets another `.`, and the
//! response ends with `.` on a line of its own. RETR and TOP stream a stored message (CRLF line
//! ends) through these in chunks, so a message is never held whole.

/// Dot-stuffs a body given in chunks of any size.
#[derive(Debug, Default)]
pub struct DotStuffer {
    /// Something other than a line end was the last byte passed (the start counts as a line
    /// start).
    mid_line: bool,
}

impl DotStuffer {
    pub fn new() -> DotStuffer {
        DotStuffer::default()
    }

    /// Appends `chunk`, dot-stuffed, to `out`: a line at a time, copied whole.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len());
        while let Some(&first) = chunk.first() {
            if !self.mid_line && first == b'.' {
                out.push(b'.');
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    out.extend_from_slice(&chunk[..=end]);
                    chunk = &chunk[end + 1..];
                    self.mid_line = false;
                }
                None => {
                    out.extend_from_slice(chunk);
                    self.mid_line = true;
                    return;
                }
            }
        }
    }

    /// Ends the response: a CRLF if the body did not end with a line end, then `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.mid_line {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// What TOP sends of a message: its header, the blank line, then the first `lines` lines of
/// the body (RFC 1939 §7), taken from chunks of any size.
#[derive(Debug)]
pub struct TopFilter {
    in_body: bool,
    lines_left: u32,
    /// The last byte seen was LF (a blank line is LF after LF, the CR between them aside).
    at_line_start: bool,
    done: bool,
}

impl TopFilter {
    pub fn new(lines: u32) -> TopFilter {
        TopFilter {
            in_body: false,
            lines_left: lines,
            at_line_start: true,
            done: false,
        }
    }

    /// Whether nothing more of the message is wanted (the caller may stop reading it).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Appends to `out` the part of `chunk` that TOP sends.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        for (i, &b) in chunk.iter().enumerate() {
            if self.in_body && self.at_line_start && self.lines_left == 0 {
                // The wanted lines are out: stop before this one.
                out.extend_from_slice(&chunk[..i]);
                self.done = true;
                return;
            }
            match b {
                b'\n' => {
                    if self.in_body {
                        self.lines_left = self.lines_left.saturating_sub(1);
                    } else if self.at_line_start {
                        // The blank line that ends the header.
                        self.in_body = true;
                    }
                    self.at_line_start = true;
                }
                b'\r' => {}
                _ => self.at_line_start = false,
            }
        }
        out.extend_from_slice(chunk);
        if self.in_body && self.at_line_start && self.lines_left == 0 {
            self.done = true;
        }
    }
}
