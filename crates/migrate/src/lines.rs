//! Reading text files a line at a time with a bound on the line, so a file with no line ends
//! (or a hostile one) never makes us allocate more than the bound.

use std::io::{self, BufRead};

/// One piece of a line read by [`read_piece`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// The end of the input: nothing was read.
    End,
    /// A whole line, or the last piece of a long one, with its `\n` when it had one.
    LineEnd,
    /// The first `max` bytes of a longer line (or a middle piece of it): more follows.
    Partial,
}

/// Appends to `buf` up to `max` bytes: the rest of the current line including its `\n`, or a
/// piece of a longer line.
pub fn read_piece(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Piece> {
    let mut taken = 0usize;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if taken == 0 {
                Piece::End
            } else {
                Piece::LineEnd
            });
        }
        let room = max - taken;
        let window = &available[..available.len().min(room)];
        if let Some(i) = memchr_lf(window) {
            buf.extend_from_slice(&window[..=i]);
            input.consume(i + 1);
            return Ok(Piece::LineEnd);
        }
        let n = window.len();
        buf.extend_from_slice(window);
        input.consume(n);
        taken += n;
        if taken >= max {
            // A line of exactly `max` bytes is whole when its `\n` or the end follows.
            let next = loop {
                match input.fill_buf() {
                    Ok(b) => break b.first().copied(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            return Ok(match next {
                None => Piece::LineEnd,
                Some(b'\n') => {
                    buf.push(b'\n');
                    input.consume(1);
                    Piece::LineEnd
                }
                Some(_) => Piece::Partial,
            });
        }
    }
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Reads whole lines of at most `max` bytes: [`LineReader::next_line`] answers `Err(line)`
/// for a longer one (which it skips).
pub struct LineReader<R> {
    input: R,
    buf: Vec<u8>,
    max: usize,
    /// The 1-based number of the line last returned.
    pub line: u64,
}

/// A line longer than the bound, by its number.
#[derive(Debug)]
pub enum LineError {
    Io(io::Error),
    TooLong(u64),
}

impl<R: BufRead> LineReader<R> {
    pub fn new(input: R, max: usize) -> LineReader<R> {
        LineReader {
            input,
            buf: Vec::new(),
            max,
            line: 0,
        }
    }

    /// The next line without its line end (`\n` or `\r\n`), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LineError> {
        self.buf.clear();
        match read_piece(&mut self.input, &mut self.buf, self.max).map_err(LineError::Io)? {
            Piece::End => return Ok(None),
            Piece::LineEnd => {}
            Piece::Partial => {
                self.line += 1;
                loop {
                    self.buf.clear();
                    match read_piece(&mut self.input, &mut self.buf, self.max)
                        .map_err(LineError::Io)?
                    {
                        Piece::Partial => {}
                        Piece::End | Piece::LineEnd => return Err(LineError::TooLong(self.line)),
                    }
                }
            }
        }
        self.line += 1;
        let mut line = self.buf.as_slice();
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l.strip_suffix(b"\r").unwrap_or(l);
        }
        Ok(Some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_come_in_pieces_and_short_ones_whole() {
        let mut input: &[u8] = b"abcdefgh\nxy\nlast";
        let mut buf = Vec::new();
        assert_eq!(read_piece(&mut input, &mut buf, 4).unwrap(), Piece::Partial);
        assert_eq!(buf, b"abcd");
        buf.clear();
        assert_eq!(read_piece(&mut input, &mut buf, 4).unwrap(), Piece::LineEnd);
        assert_eq!(buf, b"efgh\n");
        buf.clear();
        assert_eq!(read_piece(&mut input, &mut buf, 4).unwrap(), Piece::LineEnd);
        assert_eq!(buf, b"xy\n");
        buf.clear();
        assert_eq!(read_piece(&mut input, &mut buf, 4).unwrap(), Piece::LineEnd);
        assert_eq!(buf, b"last");
        buf.clear();
        assert_eq!(read_piece(&mut input, &mut buf, 4).unwrap(), Piece::End);
    }

    #[test]
    fn a_line_over_the_bound_is_an_error_naming_it_and_reading_goes_on() {
        let mut r = LineReader::new(&b"ok\r\nmuch too long\nafter\n"[..], 8);
        assert_eq!(r.next_line().unwrap(), Some(&b"ok"[..]));
        assert!(matches!(r.next_line(), Err(LineError::TooLong(2))));
        assert_eq!(r.next_line().unwrap(), Some(&b"after"[..]));
        assert_eq!(r.next_line().unwrap(), None);
    }
}
