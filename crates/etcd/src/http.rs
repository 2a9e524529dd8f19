//! Just enough HTTP/1.1 (RFC 9112) for etcd's gateway: a `POST` with a JSON body out, and a
//! response read back with its body framed by `Content-Length`, chunked transfer coding, or
//! the end of the connection.
//!
//! Everything read is bounded: the status line and header fields together by [`MAX_HEAD`],
//! one chunk by [`MAX_CHUNK`], and a whole body (or one message of a streamed body) by
//! [`MAX_BODY`]. Anything else a peer sends is an [`HttpError`], never a panic.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The most bytes of status line, header fields and trailer fields read for one response.
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest chunk of a chunked body accepted.
pub const MAX_CHUNK: usize = 64 * 1024 * 1024;
/// The largest body accepted, and the largest single JSON message of a streamed body.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// The most interim (1xx) responses skipped before the final one.
const MAX_INTERIM: usize = 8;

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The connection failed while reading.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The connection ended before a single byte of the response arrived: on a reused
    /// connection, the server had closed it while idle.
    #[error("the connection was closed before a response")]
    ClosedBeforeResponse,
    /// The connection ended in the middle of the response.
    #[error("the connection was closed in the middle of a response")]
    Truncated,
    /// The bytes are not an HTTP/1.1 response of the kind the gateway sends.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    /// A bound (head, chunk or body size) was exceeded.
    #[error("{0} is larger than {1} bytes")]
    TooLarge(&'static str, usize),
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// The status line and the header fields a client acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// The bytes of a `POST` of `body` (JSON) to `path`, with `Authorization: token` when given.
///
/// `Grpc-Metadata-hasleader: true` asks etcd to refuse the request, and to end a watch,
/// when the member has no leader, instead of waiting: the client then tries another member.
pub(crate) fn encode_post(
    path: &str,
    authority: &str,
    token: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(
        b"\r\nContent-Type: application/json\r\nGrpc-Metadata-hasleader: true\r\n",
    );
    if let Some(token) = token {
        out.extend_from_slice(b"Authorization: ");
        out.extend_from_slice(token.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// Whether `token` may be sent as a header field value (RFC 9110 §5.5: visible ASCII).
pub(crate) fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Reads one line ending in LF (CRLF or a bare LF, RFC 9112 §2.2) of at most `*budget`
/// bytes, taking its length off the budget; the line without its end, or `None` at a clean
/// end of input before any byte.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    budget: &mut usize,
    what: &'static str,
) -> Result<Option<Vec<u8>>, HttpError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    let n = (&mut *r).take(limit).read_until(b'\n', &mut line).await?;
    *budget -= n;
    if n == 0 {
        return if *budget == 0 {
            Err(HttpError::TooLarge(what, MAX_HEAD))
        } else {
            Ok(None)
        };
    }
    if line.last() != Some(&b'\n') {
        return if *budget == 0 {
            Err(HttpError::TooLarge(what, MAX_HEAD))
        } else {
            Err(HttpError::Truncated)
        };
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads a response's status line and header fields, skipping interim (1xx) responses.
pub(crate) async fn read_head<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<ResponseHead, HttpError> {
    let mut budget = MAX_HEAD;
    for _ in 0..=MAX_INTERIM {
        let Some(status_line) = read_line(r, &mut budget, "the response head").await? else {
            return Err(HttpError::ClosedBeforeResponse);
        };
        let (status, http10) = parse_status_line(&status_line)?;
        let mut fields = Fields::default();
        loop {
            let line = read_line(r, &mut budget, "the response head")
                .await?
                .ok_or(HttpError::Truncated)?;
            if line.is_empty() {
                break;
            }
            fields.add(&line)?;
        }
        if (100..200).contains(&status) {
            continue;
        }
        return fields.into_head(status, http10);
    }
    Err(HttpError::Malformed("too many interim responses".into()))
}

/// `HTTP/1.x SP 3DIGIT SP reason` (RFC 9112 §4): the status code, and whether it is HTTP/1.0.
fn parse_status_line(line: &[u8]) -> Result<(u16, bool), HttpError> {
    let bad = || HttpError::Malformed(format!("status line {:?}", String::from_utf8_lossy(line)));
    let http10 = if line.starts_with(b"HTTP/1.1 ") {
        false
    } else if line.starts_with(b"HTTP/1.0 ") {
        true
    } else {
        return Err(bad());
    };
    let code = line.get(9..12).ok_or_else(bad)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(line.get(12), None | Some(b' ')) {
        return Err(bad());
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if status < 100 {
        return Err(bad());
    }
    Ok((status, http10))
}

/// The header fields that decide framing and connection reuse.
#[derive(Default)]
struct Fields {
    content_length: Option<u64>,
    chunked: bool,
    other_coding: bool,
    close: bool,
    keep_alive: bool,
}

impl Fields {
    /// Takes in one `name: value` line (RFC 9112 §5).
    fn add(&mut self, line: &[u8]) -> Result<(), HttpError> {
        let text = std::str::from_utf8(line)
            .map_err(|_| HttpError::Malformed("a header field that is not UTF-8".into()))?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| HttpError::Malformed(format!("header field {text:?}")))?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(HttpError::Malformed(format!("header field {text:?}")));
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value
                .parse()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| HttpError::Malformed(format!("Content-Length {value:?}")))?;
            if self.content_length.is_some_and(|old| old != n) {
                return Err(HttpError::Malformed("two different Content-Lengths".into()));
            }
            self.content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            for coding in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if self.chunked {
                    // RFC 9112 §6.1: chunked must be the last coding.
                    self.other_coding = true;
                }
                if coding.eq_ignore_ascii_case("chunked") {
                    self.chunked = true;
                } else {
                    self.other_coding = true;
                }
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                self.close |= option.eq_ignore_ascii_case("close");
                self.keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        }
        Ok(())
    }

    /// The head these fields describe for a response with `status`.
    fn into_head(self, status: u16, http10: bool) -> Result<ResponseHead, HttpError> {
        if self.other_coding {
            return Err(HttpError::Malformed(
                "a transfer coding other than chunked".into(),
            ));
        }
        let framing = if status == 204 || status == 304 {
            Framing::Length(0)
        } else if self.chunked {
            Framing::Chunked
        } else if let Some(n) = self.content_length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        // RFC 9112 §6.3: with both Transfer-Encoding and Content-Length, the connection
        // must not be reused.
        let ambiguous = self.chunked && self.content_length.is_some();
        let persistent = if http10 { self.keep_alive } else { !self.close };
        Ok(ResponseHead {
            status,
            framing,
            keep_alive: persistent && framing != Framing::UntilClose && !ambiguous,
        })
    }
}

/// Reads a body piece by piece: chunk by chunk for a chunked body, in slices of at most
/// [`MAX_CHUNK`] otherwise.
#[derive(Debug)]
pub(crate) struct BodyReader {
    framing: Framing,
    /// Bytes still to read of a `Length` body.
    remaining: u64,
    /// Bytes of head budget left for chunk-size lines and trailers.
    budget: usize,
    done: bool,
}

impl BodyReader {
    /// A reader for a body delimited by `framing`.
    pub fn new(framing: Framing) -> BodyReader {
        let remaining = match framing {
            Framing::Length(n) => n,
            Framing::Chunked | Framing::UntilClose => 0,
        };
        BodyReader {
            framing,
            remaining,
            budget: MAX_HEAD,
            done: matches!(framing, Framing::Length(0)),
        }
    }

    /// Appends the next piece of the body to `out`, which may not grow past `limit` bytes;
    /// false once the body has ended (and then appends nothing).
    pub async fn next_piece<R: AsyncBufRead + Unpin>(
        &mut self,
        r: &mut R,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<bool, HttpError> {
        if self.done {
            return Ok(false);
        }
        let too_large = |more: usize| {
            if out.len().saturating_add(more) > limit {
                Err(HttpError::TooLarge("a response body or message", limit))
            } else {
                Ok(())
            }
        };
        match self.framing {
            Framing::Length(_) => {
                let want = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(MAX_CHUNK);
                too_large(want)?;
                let start = out.len();
                let n = (&mut *r).take(want as u64).read_to_end(out).await?;
                if n < want {
                    out.truncate(start);
                    return Err(HttpError::Truncated);
                }
                self.remaining -= n as u64;
                self.done = self.remaining == 0;
                Ok(true)
            }
            Framing::UntilClose => {
                let buf = r.fill_buf().await?;
                if buf.is_empty() {
                    self.done = true;
                    return Ok(false);
                }
                let n = buf.len().min(MAX_CHUNK);
                too_large(n)?;
                out.extend_from_slice(&buf[..n]);
                r.consume(n);
                Ok(true)
            }
            Framing::Chunked => self.next_chunk(r, out, limit).await,
        }
    }

    /// One chunk (RFC 9112 §7.1): `chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, or the
    /// last chunk and the trailer section.
    async fn next_chunk<R: AsyncBufRead + Unpin>(
        &mut self,
        r: &mut R,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<bool, HttpError> {
        let line = read_line(r, &mut self.budget, "chunk-size lines and trailers")
            .await?
            .ok_or(HttpError::Truncated)?;
        let size = parse_chunk_size(&line)?;
        if size == 0 {
            loop {
                let trailer = read_line(r, &mut self.budget, "chunk-size lines and trailers")
                    .await?
                    .ok_or(HttpError::Truncated)?;
                if trailer.is_empty() {
                    break;
                }
            }
            self.done = true;
            return Ok(false);
        }
        if out.len().saturating_add(size) > limit {
            return Err(HttpError::TooLarge("a response body or message", limit));
        }
        let start = out.len();
        let n = (&mut *r).take(size as u64).read_to_end(out).await?;
        if n < size {
            out.truncate(start);
            return Err(HttpError::Truncated);
        }
        let mut end = [0u8; 2];
        r.read_exact(&mut end).await.map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => HttpError::Truncated,
            _ => HttpError::Io(e),
        })?;
        if end != *b"\r\n" {
            return Err(HttpError::Malformed("a chunk not followed by CRLF".into()));
        }
        Ok(true)
    }
}

/// `chunk-size = 1*HEXDIG`, followed by optional extensions after `;`, at most [`MAX_CHUNK`].
fn parse_chunk_size(line: &[u8]) -> Result<usize, HttpError> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(HttpError::Malformed(format!(
            "chunk size {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    let size = digits.iter().fold(0u64, |n, &d| {
        let v = (d as char).to_digit(16).unwrap_or(0);
        (n << 4) | u64::from(v)
    });
    match usize::try_from(size) {
        Ok(size) if size <= MAX_CHUNK => Ok(size),
        _ => Err(HttpError::TooLarge("a chunk", MAX_CHUNK)),
    }
}

/// Reads a whole body of at most [`MAX_BODY`] bytes.
pub(crate) async fn read_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    framing: Framing,
) -> Result<Vec<u8>, HttpError> {
    if let Framing::Length(n) = framing {
        if n > MAX_BODY as u64 {
            return Err(HttpError::TooLarge("a response body", MAX_BODY));
        }
    }
    let mut reader = BodyReader::new(framing);
    let mut body = Vec::new();
    while reader.next_piece(r, &mut body, MAX_BODY).await? {}
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// Reads one response from `bytes`: its head, its body, and what is left after it.
    fn read(bytes: &[u8]) -> Result<(ResponseHead, Vec<u8>, Vec<u8>), HttpError> {
        block_on(async {
            let mut r = bytes;
            let head = read_head(&mut r).await?;
            let body = read_body(&mut r, head.framing).await?;
            Ok((head, body, r.to_vec()))
        })
    }

    #[test]
    fn a_content_length_body_is_read_and_the_connection_kept() {
        let (head, body, rest) = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}NEXT",
        )
        .unwrap();
        assert_eq!(head.status, 200);
        assert!(head.keep_alive);
        assert_eq!(body, b"{}");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn a_chunked_body_with_extensions_and_trailers_is_read() {
        let (head, body, rest) = read(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n\
              3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nGrpc-Trailer-Content-Type: application/grpc\r\n\r\nNEXT",
        )
        .unwrap();
        assert_eq!(head.status, 400);
        assert_eq!(head.framing, Framing::Chunked);
        assert_eq!(body, b"abc0123456789");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn interim_responses_are_skipped_and_bare_lf_accepted() {
        let (head, body, _) =
            read(b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 1\n\nx").unwrap();
        assert_eq!((head.status, body.as_slice()), (200, &b"x"[..]));
    }

    #[test]
    fn connection_close_and_http10_are_not_reused() {
        let (head, ..) =
            read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert!(!head.keep_alive);
        let (head, body, _) = read(b"HTTP/1.0 200 OK\r\n\r\nuntil the end").unwrap();
        assert!(!head.keep_alive);
        assert_eq!(body, b"until the end");
        let (head, ..) = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        )
        .unwrap();
        assert!(!head.keep_alive, "both framings: never reused");
    }

    #[test]
    fn truncated_responses_are_errors() {
        assert!(matches!(read(b""), Err(HttpError::ClosedBeforeResponse)));
        for bytes in [
            &b"HTTP/1.1 200 OK\r\nContent-Len"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        ] {
            assert!(
                matches!(read(bytes), Err(HttpError::Truncated)),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn malformed_responses_are_errors() {
        for bytes in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\xff: x\r\n\r\n",
        ] {
            assert!(
                matches!(read(bytes), Err(HttpError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn oversized_heads_chunks_and_bodies_are_refused() {
        let mut long_head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while long_head.len() <= MAX_HEAD {
            long_head.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        long_head.extend_from_slice(b"\r\n");
        assert!(matches!(read(&long_head), Err(HttpError::TooLarge(..))));
        let huge_length = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(
            read(huge_length.as_bytes()),
            Err(HttpError::TooLarge(..))
        ));
        let huge_chunk = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            MAX_CHUNK + 1
        );
        assert!(matches!(
            read(huge_chunk.as_bytes()),
            Err(HttpError::TooLarge(..))
        ));
        let overflow =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
        assert!(matches!(read(overflow), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn a_post_carries_host_length_token_and_the_leader_requirement() {
        let bytes = encode_post("/v3/kv/range", "127.0.0.1:2379", Some("tok.1"), b"{}");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n"));
        assert!(text.contains("\r\nAuthorization: tok.1\r\n"));
        assert!(text.contains("\r\nGrpc-Metadata-hasleader: true\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
        assert!(is_header_safe("abc.12"));
        assert!(!is_header_safe("a\r\nX: y"));
        assert!(!is_header_safe(""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Random bytes, and random bytes after a valid status line, never panic the reader.
        #[test]
        fn random_bytes_never_panic_the_response_reader(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            prefix in 0usize..4,
        ) {
            let prefixes: [&[u8]; 4] = [
                b"",
                b"HTTP/1.1 200 OK\r\n",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n",
            ];
            let mut input = prefixes[prefix].to_vec();
            input.extend_from_slice(&bytes);
            let _ = read(&input);
        }
    }
}
