//! Status responses: `+OK` or `-ERR`, an optional RFC 2449 §8 response code in brackets
//! (RFC 3206's and RFC 2449's), and text, on one line of at most 512 octets (RFC 2449 §4).

/// Extended response codes (RFC 2449 §8, RFC 3206).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespCode {
    /// The maildrop is already locked by another session (RFC 2449 §8.1.1).
    InUse,
    /// Logging in again this soon is not allowed (RFC 2449 §8.1.2).
    LoginDelay,
    /// A temporary failure of this server, not the client's fault (RFC 3206 §4).
    SysTemp,
    /// A permanent failure of this server (RFC 3206 §4).
    SysPerm,
    /// The credentials were wrong (RFC 3206 §5).
    Auth,
}

impl RespCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
        }
    }

    /// The code written `name` (ASCII case ignored), if it is one of these.
    pub fn from_name(name: &str) -> Option<RespCode> {
        [
            RespCode::InUse,
            RespCode::LoginDelay,
            RespCode::SysTemp,
            RespCode::SysPerm,
            RespCode::Auth,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// The longest status line, CRLF included (RFC 2449 §4).
pub const MAX_RESPONSE_LINE: usize = 512;

/// One status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub ok: bool,
    pub code: Option<RespCode>,
    pub text: String,
}

impl Response {
    pub fn ok(text: impl Into<String>) -> Response {
        Response {
            ok: true,
            code: None,
            text: text.into(),
        }
    }

    pub fn err(text: impl Into<String>) -> Response {
        Response {
            ok: false,
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(mut self, code: RespCode) -> Response {
        self.code = Some(code);
        self
    }

    /// Appends the line: control characters in the text become spaces (no reply ever spans
    /// two lines whatever a client put in a name), and the text is cut to fit the limit.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(if self.ok { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            let room = MAX_RESPONSE_LINE - 2 - (out.len() - start);
            let mut used = 0;
            for c in self.text.chars() {
                let c = if c.is_control() { ' ' } else { c };
                if used + c.len_utf8() > room {
                    break;
                }
                used += c.len_utf8();
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads a status line as a client receives it, without its line end: `+OK` or `-ERR`
    /// (RFC 1939 §3), then a space and the text. A text that starts with one of
    /// [`RespCode`]'s codes in brackets gives the code (RFC 2449 §8); any other bracketed word
    /// stays in the text. `None` when the line is not a status line. What [`Response::encode`]
    /// writes reads back the same.
    pub fn parse(line: &[u8]) -> Option<Response> {
        let (ok, rest) = if let Some(rest) = line.strip_prefix(b"+OK") {
            (true, rest)
        } else {
            (false, line.strip_prefix(b"-ERR")?)
        };
        let text = match rest {
            [] => "".into(),
            [b' ', text @ ..] => String::from_utf8_lossy(text),
            _ => return None, // `+OKAY` is not `+OK`
        };
        let coded = text.strip_prefix('[').and_then(|t| {
            let (name, after) = t.split_once(']')?;
            let code = RespCode::from_name(name)?;
            Some((code, after.strip_prefix(' ').unwrap_or(after)))
        });
        Some(match coded {
            Some((code, text)) => Response {
                ok,
                code: Some(code),
                text: text.to_owned(),
            },
            None => Response {
                ok,
                code: None,
                text: text.into_owned(),
            },
        })
    }
}

/// A SASL challenge (RFC 5034 §4): `+ `, the data in base64 (nothing for empty data), CRLF.
pub fn encode_challenge(data: &[u8], out: &mut Vec<u8>) {
    use base64::Engine as _;
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}
