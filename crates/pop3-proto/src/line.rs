//! Splitting the input into command lines, each bounded, without ever holding more than one
//! over-long line's worth of input.

/// What [`LineFramer::take_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum LineResult {
    /// A complete line without its line end (CRLF, or a bare LF, accepted as many servers do).
    Line(Vec<u8>),
    /// A line longer than the limit; its bytes up to the line end are dropped (now, or as
    /// they arrive), and the caller answers it with an error.
    TooLong,
    /// No complete line yet.
    Incomplete,
}

/// Cuts command lines off the front of an input buffer.
#[derive(Debug)]
pub struct LineFramer {
    max: usize,
    /// Dropping the rest of an over-long line until its line end.
    skipping: bool,
}

impl LineFramer {
    /// `max` counts the line without its line end.
    pub fn new(max: usize) -> LineFramer {
        LineFramer {
            max,
            skipping: false,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Takes the next line off the front of `buf`.
    pub fn take_line(&mut self, buf: &mut Vec<u8>) -> LineResult {
        match buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let mut line: Vec<u8> = buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if std::mem::take(&mut self.skipping) {
                    // The end of a line already reported as too long.
                    return self.take_line(buf);
                }
                if line.len() > self.max {
                    return LineResult::TooLong;
                }
                LineResult::Line(line)
            }
            None if buf.len() > self.max + 1 => {
                buf.clear();
                if std::mem::replace(&mut self.skipping, true) {
                    LineResult::Incomplete
                } else {
                    LineResult::TooLong
                }
            }
            None => LineResult::Incomplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_in_crlf_or_lf_and_long_ones_are_reported_once() {
        let mut f = LineFramer::new(8);
        let mut buf = b"STAT\r\nNOOP\nQU".to_vec();
        assert_eq!(f.take_line(&mut buf), LineResult::Line(b"STAT".to_vec()));
        assert_eq!(f.take_line(&mut buf), LineResult::Line(b"NOOP".to_vec()));
        assert_eq!(f.take_line(&mut buf), LineResult::Incomplete);
        buf.extend_from_slice(b"IT\r\n");
        assert_eq!(f.take_line(&mut buf), LineResult::Line(b"QUIT".to_vec()));
        buf.extend_from_slice(b"USER aaaaaaaaaaaaaaaaa");
        assert_eq!(f.take_line(&mut buf), LineResult::TooLong);
        assert!(buf.is_empty(), "the long line is not kept");
        buf.extend_from_slice(b"aaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(f.take_line(&mut buf), LineResult::Incomplete);
        buf.extend_from_slice(b"aaa\r\nRSET\r\n");
        assert_eq!(f.take_line(&mut buf), LineResult::Line(b"RSET".to_vec()));
        let mut buf = b"USER 123456789\r\nSTAT\r\n".to_vec();
        assert_eq!(f.take_line(&mut buf), LineResult::TooLong);
        assert_eq!(f.take_line(&mut buf), LineResult::Line(b"STAT".to_vec()));
    }
}
