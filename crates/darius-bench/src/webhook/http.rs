//! The little of HTTP/1.1 (RFC 9112) the receiver needs, without I/O: a request head (request
//! line and header fields) parsed from bytes, with the body framed by `Content-Length` only.
//! Chunked bodies are refused (`411`), which is enough for a notifier that knows its body's
//! length before it sends it.

/// The longest request head read before the request is refused (`431`).
pub const MAX_HEAD: usize = 16 * 1024;

/// A parsed request head: what the receiver needs to frame and answer the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `POST`, `GET`… (case-sensitive, RFC 9110 §9.1).
    pub method: String,
    /// The request target (`/hook`).
    pub target: String,
    /// Octets of the head, the blank line included: the body starts there.
    pub len: usize,
    /// `Content-Length`, 0 when absent (RFC 9112 §6.3: no length and no transfer coding means
    /// no body).
    pub content_length: u64,
    /// Whether the connection stays open after the answer.
    pub persistence: Persistence,
    /// `Expect: 100-continue`: the client waits for a `100` before it sends the body.
    pub expects_continue: bool,
}

/// What happens to the connection after the answer (RFC 9112 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    KeepAlive,
    Close,
}

/// Why a request head is refused, each with the status the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// Not `METHOD SP target SP HTTP/1.x CRLF` and `name: value` fields.
    Malformed(&'static str),
    /// Longer than [`MAX_HEAD`] without its blank line.
    TooLong,
    /// A `Transfer-Encoding` (only `Content-Length` framing is read).
    TransferCoding,
}

impl HeadError {
    /// The status line's code and reason for this refusal.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            HeadError::Malformed(_) => (400, "Bad Request"),
            HeadError::TooLong => (431, "Request Header Fields Too Large"),
            HeadError::TransferCoding => (411, "Length Required"),
        }
    }
}

/// Parses the request head at the start of `buf`: `Ok(None)` while its blank line has not
/// arrived (and `buf` is within [`MAX_HEAD`]).
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(HeadError::TooLong)
        } else {
            Ok(None)
        };
    };
    if end + 4 > MAX_HEAD {
        return Err(HeadError::TooLong);
    }
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| HeadError::Malformed("not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let (method, target, minor) = request_line(lines.next().unwrap_or(""))?;
    let mut head = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        len: end + 4,
        content_length: 0,
        // RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 closes unless `keep-alive`.
        persistence: if minor == 0 {
            Persistence::Close
        } else {
            Persistence::KeepAlive
        },
        expects_continue: false,
    };
    let mut length_seen = None;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(HeadError::Malformed("field without a colon"))?;
        // RFC 9112 §5.1: no whitespace between the field name and the colon.
        if name.is_empty() || name.ends_with([' ', '\t']) || name.starts_with([' ', '\t']) {
            return Err(HeadError::Malformed("bad field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                let n = content_length(value)?;
                if length_seen.is_some_and(|seen| seen != n) {
                    return Err(HeadError::Malformed("conflicting Content-Length"));
                }
                length_seen = Some(n);
                head.content_length = n;
            }
            "transfer-encoding" => return Err(HeadError::TransferCoding),
            "connection" => {
                for token in value.split(',').map(|t| t.trim().to_ascii_lowercase()) {
                    match token.as_str() {
                        "close" => head.persistence = Persistence::Close,
                        "keep-alive" if minor == 0 => head.persistence = Persistence::KeepAlive,
                        _ => {}
                    }
                }
            }
            "expect" => head.expects_continue = value.eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    Ok(Some(head))
}

/// `request-line = method SP request-target SP HTTP-version` (RFC 9112 §3): the method, the
/// target and the minor version (HTTP/1.0 or 1.1 only).
fn request_line(line: &str) -> Result<(&str, &str, u8), HeadError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed("bad request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) || target.is_empty() {
        return Err(HeadError::Malformed("bad request line"));
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return Err(HeadError::Malformed("not HTTP/1.0 or HTTP/1.1")),
    };
    Ok((method, target, minor))
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6); a list of equal values is allowed there, but
/// no notifier sends one, so only one number is.
fn content_length(value: &str) -> Result<u64, HeadError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeadError::Malformed("bad Content-Length"));
    }
    value
        .parse()
        .map_err(|_| HeadError::Malformed("bad Content-Length"))
}

/// A complete response without a body (`204`, or an error with `Content-Length: 0`).
pub fn response(code: u16, reason: &str, persistence: Persistence) -> Vec<u8> {
    let connection = match persistence {
        Persistence::KeepAlive => "keep-alive",
        Persistence::Close => "close",
    };
    // RFC 9110 §8.6: a 204 carries no Content-Length.
    let length = if code == 204 {
        ""
    } else {
        "Content-Length: 0\r\n"
    };
    format!("HTTP/1.1 {code} {reason}\r\n{length}Connection: {connection}\r\n\r\n").into_bytes()
}
