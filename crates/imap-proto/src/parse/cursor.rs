//! The parser's cursor and the lexical rules every command uses: SP, CRLF, atoms, numbers,
//! sequence sets, dates and parenthesis nesting.

use std::num::NonZeroU32;

use super::PResult;
use crate::command::Tag;
use crate::datetime::{Date, DateTime};
use crate::error::ErrorKind;
use crate::framer::SpoolRef;
use crate::limits::MailboxEncoding;
use crate::sequence::{SeqNumber, SequenceItem, SequenceSet};
use crate::wire::{is_astring_char, is_atom_char};

/// `word` upper-cased into `buf` without allocating, for matching keywords. A word longer than
/// the buffer (or not ASCII) comes back empty and so matches no keyword.
pub(crate) fn upper<'b>(word: &[u8], buf: &'b mut [u8; 32]) -> &'b str {
    let Some(out) = buf.get_mut(..word.len()) else {
        return "";
    };
    out.copy_from_slice(word);
    out.make_ascii_uppercase();
    std::str::from_utf8(out).unwrap_or("")
}

/// An APPEND literal whose bytes went to a spool file: the assembled command holds only its
/// `{N}` CRLF header, and `offset` is the position right after that CRLF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spooled {
    pub offset: usize,
    pub spool: SpoolRef,
    pub len: u64,
}

pub(crate) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    pub(super) spooled: &'a [Spooled],
    pub(super) encoding: MailboxEncoding,
    depth: u32,
    max_depth: u32,
    /// Where literal data starts, recorded for [`crate::TaggedCommand::to_sync_segments`].
    pub(super) literal_starts: Vec<usize>,
}

impl<'a> Cursor<'a> {
    pub fn new(
        buf: &'a [u8],
        spooled: &'a [Spooled],
        encoding: MailboxEncoding,
        max_depth: u32,
    ) -> Cursor<'a> {
        Cursor {
            buf,
            pos: 0,
            spooled,
            encoding,
            depth: 0,
            max_depth,
            literal_starts: Vec::new(),
        }
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn expect(&mut self, byte: u8, what: &'static str) -> PResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ErrorKind::Expected(what))
        }
    }

    /// Consumes `byte` if it is next.
    pub fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Consumes `word` (ASCII, case-insensitive) if it is next.
    pub fn eat_word(&mut self, word: &str) -> bool {
        let hit = self.rest().len() >= word.len()
            && self.rest()[..word.len()].eq_ignore_ascii_case(word.as_bytes());
        if hit {
            self.pos += word.len();
        }
        hit
    }

    pub fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "SP")
    }

    /// `CRLF` ending the whole command.
    pub fn crlf_end(&mut self) -> PResult<()> {
        if self.rest() == b"\r\n" {
            self.pos += 2;
            Ok(())
        } else if self.rest().is_empty() {
            Err(ErrorKind::Incomplete)
        } else {
            Err(ErrorKind::Trailing)
        }
    }

    pub fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// Enters a parenthesised level, refusing to go deeper than the limit.
    pub fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ErrorKind::NestingTooDeep {
                max: self.max_depth,
            });
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `tag = 1*<any ASTRING-CHAR except "+">`
    pub fn tag(&mut self) -> PResult<Tag> {
        let raw = self.take_while(|b| is_astring_char(b) && b != b'+');
        std::str::from_utf8(raw)
            .ok()
            .and_then(Tag::new)
            .ok_or(ErrorKind::InvalidTag)
    }

    /// `atom = 1*ATOM-CHAR`
    pub fn atom(&mut self) -> PResult<&'a str> {
        let raw = self.take_while(is_atom_char);
        if raw.is_empty() {
            return Err(ErrorKind::Expected("atom"));
        }
        std::str::from_utf8(raw).map_err(|_| ErrorKind::InvalidUtf8)
    }

    /// `number64 = 1*DIGIT` (RFC 9051; at most 2^63-1).
    pub fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(ErrorKind::Expected("number"));
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or(ErrorKind::NumberOutOfRange)?;
        }
        Ok(n)
    }

    /// `number = 1*DIGIT` (unsigned 32-bit).
    pub fn number(&mut self) -> PResult<u32> {
        u32::try_from(self.number64()?).map_err(|_| ErrorKind::NumberOutOfRange)
    }

    /// `nz-number = digit-nz *DIGIT`
    pub fn nz_number(&mut self) -> PResult<NonZeroU32> {
        NonZeroU32::new(self.number()?).ok_or(ErrorKind::NumberOutOfRange)
    }

    /// `seq-number = nz-number / "*"`
    fn seq_number(&mut self) -> PResult<SeqNumber> {
        if self.eat(b'*') {
            Ok(SeqNumber::Largest)
        } else {
            self.nz_number().map(SeqNumber::Value)
        }
    }

    /// `sequence-set = (seq-number / seq-range) ["," sequence-set]` / `"$"` (RFC 5182)
    pub fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut items = Vec::new();
        loop {
            if items.len() == crate::limits::MAX_SEQUENCE_ITEMS {
                return Err(ErrorKind::TooMany {
                    what: "items in a sequence set",
                    max: crate::limits::MAX_SEQUENCE_ITEMS,
                });
            }
            let first = self.seq_number()?;
            items.push(if self.eat(b':') {
                SequenceItem::Range(first, self.seq_number()?)
            } else {
                SequenceItem::Single(first)
            });
            if !self.eat(b',') {
                return Ok(SequenceSet::Items(items));
            }
        }
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`
    pub fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let date = self.date_text()?;
        if quoted {
            self.expect(b'"', "closing quote")?;
        }
        Ok(date)
    }

    /// `date-text = date-day "-" date-month "-" date-year`
    fn date_text(&mut self) -> PResult<Date> {
        let day = self.digits(1, 2)?;
        self.date_month_year(day)
    }

    fn date_month_year(&mut self, day: u32) -> PResult<Date> {
        self.expect(b'-', "'-' in date")?;
        let month = self.rest().get(..3).and_then(Date::month_from_name);
        let month = month.ok_or(ErrorKind::InvalidDate)?;
        self.pos += 3;
        self.expect(b'-', "'-' in date")?;
        let year = self.digits(4, 4)?;
        let to_u8 = |v: u32| u8::try_from(v).map_err(|_| ErrorKind::InvalidDate);
        let year = u16::try_from(year).map_err(|_| ErrorKind::InvalidDate)?;
        Date::new(year, month, to_u8(day)?).ok_or(ErrorKind::InvalidDate)
    }

    /// Exactly `min..=max` digits as a number.
    fn digits(&mut self, min: usize, max: usize) -> PResult<u32> {
        let start = self.pos;
        let mut value = 0u32;
        while self.pos - start < max {
            match self.peek() {
                Some(d) if d.is_ascii_digit() => value = value * 10 + u32::from(d - b'0'),
                _ => break,
            }
            self.pos += 1;
        }
        if self.pos - start < min {
            return Err(ErrorKind::InvalidDate);
        }
        Ok(value)
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
    pub fn date_time(&mut self) -> PResult<DateTime> {
        self.expect(b'"', "date-time")?;
        // date-day-fixed = (SP DIGIT) / 2DIGIT; a bare single digit is accepted too (some
        // clients send it; the value is unambiguous). We always write the fixed form.
        let day = if self.eat(b' ') {
            self.digits(1, 1)?
        } else {
            self.digits(1, 2)?
        };
        let date = self.date_month_year(day)?;
        self.sp()?;
        let hour = self.digits(2, 2)?;
        self.expect(b':', "':' in time")?;
        let minute = self.digits(2, 2)?;
        self.expect(b':', "':' in time")?;
        let second = self.digits(2, 2)?;
        self.sp()?;
        let sign: i32 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(ErrorKind::InvalidDate),
        };
        self.pos += 1;
        let zone = self.digits(4, 4)?;
        self.expect(b'"', "closing quote")?;
        let zone_minutes =
            i16::try_from(sign * i32::try_from(zone / 100 * 60 + zone % 100).unwrap_or(0))
                .map_err(|_| ErrorKind::InvalidDate)?;
        let hms = |v: u32| u8::try_from(v).map_err(|_| ErrorKind::InvalidDate);
        DateTime::new(date, (hms(hour)?, hms(minute)?, hms(second)?), zone_minutes)
            .ok_or(ErrorKind::InvalidDate)
    }

    /// The spooled literal whose data would start at `offset`, if any.
    pub fn spooled_at(&self, offset: usize) -> Option<Spooled> {
        self.spooled.iter().find(|s| s.offset == offset).copied()
    }
}
