//! The response parser (client side): one complete response, literals inline, into a typed
//! [`Response`] — the inverse of [`Response::encode`]. Used by clients (the admin tool, the
//! benchmark driver) and by the encode → parse identity tests. `ENVELOPE`, `BODY` and
//! `BODYSTRUCTURE` stay raw bytes, exactly as the encoder takes them.

mod code;
mod data;
mod fetch;

use base64::Engine;

use super::cursor::Cursor;
use super::PResult;
use crate::error::{ErrorKind, ParseError};
use crate::limits::{Limits, MailboxEncoding};
use crate::response::{Continue, Response, StatusKind, StatusResponse};

/// Parses one complete server response, `CRLF` included.
pub fn parse_response(input: &[u8], encoding: MailboxEncoding) -> Result<Response, ParseError> {
    let mut cur = Cursor::new(input, &[], encoding, Limits::default().max_nesting);
    response(&mut cur).map_err(|kind| ParseError::new(None, kind))
}

/// The length of the first complete response in `input` (lines plus the literals announced at
/// their ends), or `None` while more bytes are needed. For clients reading a server they trust
/// to be well-formed (the admin tool, the benchmark driver); sizes are not limited here.
pub fn response_len(input: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let lf = pos + input.get(pos..)?.iter().position(|&b| b == b'\n')?;
        let line = input[pos..lf]
            .strip_suffix(b"\r")
            .unwrap_or(&input[pos..lf]);
        match trailing_literal_len(line) {
            Some(len) => {
                pos = (lf + 1).checked_add(usize::try_from(len).ok()?)?;
                if pos > input.len() {
                    return None;
                }
            }
            None => return Some(lf + 1),
        }
    }
}

/// The size of the literal announced at the end of one line of a server response (`{N}` or
/// `~{N}`, CRLF or LF optional), or `None` when the line ends the response. For clients that
/// read a response line by line and handle each literal themselves (a proxy relaying a
/// backend's answers, streaming large literals instead of holding them).
pub fn response_line_literal(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    trailing_literal_len(line.strip_suffix(b"\r").unwrap_or(line))
}

/// `"{" number64 "}"` or `"~{" number64 "}"` ending a line.
fn trailing_literal_len(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = body[open + 1..]
        .strip_suffix(b"+")
        .unwrap_or(&body[open + 1..]);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `response = continue-req / response-data / response-done`
fn response(cur: &mut Cursor<'_>) -> PResult<Response> {
    if cur.eat(b'+') {
        return continue_req(cur);
    }
    let response = if cur.eat(b'*') {
        cur.sp()?;
        untagged(cur)?
    } else {
        let tag = cur.tag()?;
        cur.sp()?;
        let kind = match cur.atom()?.to_ascii_uppercase().as_str() {
            "OK" => StatusKind::Ok,
            "NO" => StatusKind::No,
            "BAD" => StatusKind::Bad,
            _ => return Err(ErrorKind::Expected("OK, NO or BAD")),
        };
        let mut status = resp_text(cur, kind)?;
        status.tag = Some(tag);
        Response::Status(status)
    };
    cur.crlf_end()?;
    Ok(response)
}

/// `continue-req = "+" SP (resp-text / base64) CRLF` — text that is valid base64 (a SASL
/// challenge) is taken as base64.
fn continue_req(cur: &mut Cursor<'_>) -> PResult<Response> {
    cur.eat(b' ');
    if cur.peek() != Some(b'[') {
        let text = text(cur);
        let is_b64 = !text.is_empty()
            && text.len() & 3 == 0
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        let decoded = base64::engine::general_purpose::STANDARD.decode(&text);
        cur.crlf_end()?;
        return Ok(Response::Continue(match decoded {
            Ok(data) if is_b64 => Continue::Base64(data),
            Ok(_) | Err(_) => Continue::Text { code: None, text },
        }));
    }
    let status = resp_text(cur, StatusKind::Ok)?;
    cur.crlf_end()?;
    Ok(Response::Continue(Continue::Text {
        code: status.code,
        text: status.text,
    }))
}

/// After `* `: a status response or data.
fn untagged(cur: &mut Cursor<'_>) -> PResult<Response> {
    if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        return data::numbered(cur).map(Response::Data);
    }
    let word = cur.atom()?;
    let mut buf = [0; 32];
    let kind = match super::upper(word.as_bytes(), &mut buf) {
        "OK" => StatusKind::Ok,
        "NO" => StatusKind::No,
        "BAD" => StatusKind::Bad,
        "PREAUTH" => StatusKind::PreAuth,
        "BYE" => StatusKind::Bye,
        name => return data::named(cur, name).map(Response::Data),
    };
    resp_text(cur, kind).map(Response::Status)
}

/// `SP resp-text`, `resp-text = ["[" resp-text-code "]" SP] text`
fn resp_text(cur: &mut Cursor<'_>, kind: StatusKind) -> PResult<StatusResponse> {
    let mut status = StatusResponse::untagged(kind, String::new());
    if !cur.eat(b' ') {
        return Ok(status);
    }
    if cur.eat(b'[') {
        status.code = Some(code::resp_text_code(cur)?);
        cur.expect(b']', "']'")?;
        if !cur.eat(b' ') {
            return Ok(status);
        }
    }
    status.text = text(cur);
    Ok(status)
}

/// `text = 1*TEXT-CHAR`: the rest of the line.
fn text(cur: &mut Cursor<'_>) -> String {
    let raw = cur.take_while(|b| b != b'\r' && b != b'\n');
    String::from_utf8_lossy(raw).into_owned()
}
