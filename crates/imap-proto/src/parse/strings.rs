//! String rules: quoted, literal, literal8, astring, mailbox, list-mailbox, flags.

use types::Flag;

use super::cursor::{Cursor, Spooled};
use super::PResult;
use crate::command::Mailbox;
use crate::error::ErrorKind;
use crate::framer::LiteralKind;
use crate::limits::MailboxEncoding;
use crate::mutf7;
use crate::wire::{is_astring_char, is_atom_char, is_list_char};

/// A literal's content: in the buffer, or streamed to a spool file by the framer.
pub(crate) enum LiteralValue<'a> {
    Inline(&'a [u8]),
    Spooled(Spooled),
}

impl<'a> Cursor<'a> {
    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, where
    /// `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 /
    /// UTF8-3 / UTF8-4` (RFC 9051; 8-bit is checked as UTF-8 where a string is needed).
    pub fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "quoted string")?;
        let mut out = Vec::new();
        loop {
            let b = self.peek().ok_or(ErrorKind::Expected("closing quote"))?;
            self.pos += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => match self.peek() {
                    Some(e @ (b'"' | b'\\')) => {
                        self.pos += 1;
                        out.push(e);
                    }
                    _ => return Err(ErrorKind::Expected("quoted-special after backslash")),
                },
                b'\r' | b'\n' => return Err(ErrorKind::Expected("closing quote")),
                0 => return Err(ErrorKind::Nul),
                other => out.push(other),
            }
        }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` and
    /// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET` (RFC 9051, RFC 3516, RFC 7888).
    pub fn literal_any(&mut self) -> PResult<(LiteralValue<'a>, LiteralKind)> {
        let kind = if self.eat(b'~') {
            LiteralKind::Literal8
        } else {
            LiteralKind::Literal
        };
        self.expect(b'{', "literal")?;
        let len = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "'}' in literal")?;
        if !self.rest().starts_with(b"\r\n") {
            return Err(ErrorKind::Expected("CRLF after literal size"));
        }
        self.pos += 2;
        self.literal_starts.push(self.pos);
        if let Some(spooled) = self.spooled_at(self.pos) {
            return Ok((LiteralValue::Spooled(spooled), kind));
        }
        let len = usize::try_from(len).map_err(|_| ErrorKind::Incomplete)?;
        let data = self.rest().get(..len).ok_or(ErrorKind::Incomplete)?;
        if kind == LiteralKind::Literal && data.contains(&0) {
            return Err(ErrorKind::Nul);
        }
        self.pos += len;
        Ok((LiteralValue::Inline(data), kind))
    }

    /// `literal`, held in memory.
    fn literal(&mut self) -> PResult<&'a [u8]> {
        match self.literal_any()? {
            (LiteralValue::Inline(data), LiteralKind::Literal) => Ok(data),
            (LiteralValue::Inline(_), LiteralKind::Literal8) | (LiteralValue::Spooled(_), _) => {
                Err(ErrorKind::Expected("string"))
            }
        }
    }

    /// `string = quoted / literal`
    pub fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal().map(<[u8]>::to_vec),
            _ => Err(ErrorKind::Expected("string")),
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`
    pub fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let raw = self.take_while(is_astring_char);
                if raw.is_empty() {
                    return Err(ErrorKind::Expected("astring"));
                }
                Ok(raw.to_vec())
            }
        }
    }

    /// An `astring` that must be UTF-8.
    pub fn astring_utf8(&mut self) -> PResult<String> {
        String::from_utf8(self.astring()?).map_err(|_| ErrorKind::InvalidUtf8)
    }

    fn decode_name(&self, raw: Vec<u8>) -> PResult<String> {
        match self.encoding {
            MailboxEncoding::ModifiedUtf7 => Ok(mutf7::decode(&raw)?),
            MailboxEncoding::Utf8 => String::from_utf8(raw).map_err(|_| ErrorKind::InvalidUtf8),
        }
    }

    /// `mailbox = "INBOX" / astring` — decoded from modified UTF-7 unless UTF-8 is on.
    pub fn mailbox(&mut self) -> PResult<Mailbox> {
        let raw = self.astring()?;
        if raw.eq_ignore_ascii_case(b"INBOX") {
            return Ok(Mailbox::Inbox);
        }
        self.decode_name(raw).map(Mailbox::from_name)
    }

    /// A mailbox name as a plain string (LIST/LSUB reference), decoded like `mailbox`.
    pub fn mailbox_string(&mut self) -> PResult<String> {
        let raw = self.astring()?;
        self.decode_name(raw)
    }

    /// A mailbox name written as `string` (NAMESPACE prefixes), decoded like `mailbox`.
    pub fn string_name(&mut self) -> PResult<String> {
        let raw = self.string()?;
        self.decode_name(raw)
    }

    /// `list-mailbox = 1*list-char / string`
    pub fn list_mailbox(&mut self) -> PResult<String> {
        let raw = match self.peek() {
            Some(b'"' | b'{') => self.string()?,
            _ => {
                let raw = self.take_while(is_list_char);
                if raw.is_empty() {
                    return Err(ErrorKind::Expected("list-mailbox"));
                }
                raw.to_vec()
            }
        };
        self.decode_name(raw)
    }

    /// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword /
    /// flag-extension`; extension flags other than the system ones are refused.
    pub fn flag(&mut self) -> PResult<Flag> {
        let start = self.pos;
        self.eat(b'\\');
        let _ = self.take_while(is_atom_char);
        let text =
            std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| ErrorKind::InvalidUtf8)?;
        if text.is_empty() {
            return Err(ErrorKind::Expected("flag"));
        }
        Flag::parse(text).map_err(|e| ErrorKind::Flag(e.to_string()))
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`
    pub fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.expect(b'(', "flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// A parenthesised, space-separated, non-empty list of items.
    pub fn paren_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', "'('")?;
        self.enter()?;
        let mut items = vec![item(self)?];
        while self.eat(b' ') {
            items.push(item(self)?);
        }
        self.expect(b')', "')'")?;
        self.leave();
        Ok(items)
    }
}
