//! SMTP AUTH (RFC 4954) as LMTP carries it: the `AUTH mechanism [initial-response]` command is
//! parsed in [`crate::parse_command`]; this module holds the exchange's framing — the server's
//! `334` challenges ([`challenge`]) and the client's response lines ([`parse_auth_response`]),
//! both base64 (RFC 4648 §4, with padding). The SASL mechanisms themselves live elsewhere.
//!
//! ```text
//! auth-command     = "AUTH" SP sasl-mech [SP initial-response] *(CRLF [base64]) [CRLF cancel-response] CRLF
//! initial-response = base64 / "="
//! cancel-response  = "*"
//! ```

use base64::Engine as _;

use crate::error::ParseError;

/// Client data of a SASL exchange, decoded from base64. It may carry a password, so its
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslData(Vec<u8>);

impl SaslData {
    pub fn new(bytes: Vec<u8>) -> SaslData {
        SaslData(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl std::fmt::Debug for SaslData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SaslData(<{} bytes>)", self.0.len())
    }
}

/// One line the client sends in answer to a `334` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthResponse {
    /// The decoded response (empty for an empty line).
    Data(SaslData),
    /// `*`: the client gives up (RFC 4954 §4, answered `501`).
    Cancel,
}

/// Parses a response line (without its line ending): `*` or base64.
pub fn parse_auth_response(line: &[u8]) -> Result<AuthResponse, ParseError> {
    if line == b"*" {
        return Ok(AuthResponse::Cancel);
    }
    decode(line).map(AuthResponse::Data)
}

/// `initial-response = base64 / "="`: `=` stands for an empty response (RFC 4954 §4).
pub(crate) fn initial_response(text: &str) -> Result<SaslData, ParseError> {
    if text == "=" {
        return Ok(SaslData(Vec::new()));
    }
    decode(text.as_bytes())
}

fn decode(text: &[u8]) -> Result<SaslData, ParseError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(SaslData)
        .map_err(|_| ParseError::argument_syntax("Invalid base64 data"))
}

/// The initial response as sent on the AUTH line: base64, or `=` when empty.
pub(crate) fn encode_initial(data: &SaslData) -> String {
    if data.0.is_empty() {
        "=".to_owned()
    } else {
        base64::engine::general_purpose::STANDARD.encode(&data.0)
    }
}

/// Appends a server challenge: `334 SP base64 CRLF` (RFC 4954 §4; the space is sent even
/// when the challenge is empty).
pub fn challenge(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"334 ");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}

/// Appends a client response line: base64 of `data` (empty for no data), CRLF.
pub fn encode_response(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}

/// RFC 4422 §3.1 `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT / "-" / "_"`;
/// taken in any case and upper-cased, as SMTP clients and servers do.
pub(crate) fn sasl_mech(text: &str) -> Option<String> {
    let ok = (1..=20).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| text.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_cancel_and_base64() {
        assert_eq!(parse_auth_response(b"*"), Ok(AuthResponse::Cancel));
        assert_eq!(
            parse_auth_response(b"AGJvYgBwdw=="),
            Ok(AuthResponse::Data(SaslData(b"\0bob\0pw".to_vec())))
        );
        assert_eq!(
            parse_auth_response(b""),
            Ok(AuthResponse::Data(SaslData(Vec::new())))
        );
        let bad = parse_auth_response(b"not base64!").unwrap_err();
        assert_eq!((bad.code, bad.enhanced), (501, "5.5.2"));
    }

    #[test]
    fn challenges_keep_the_space_when_empty_and_debug_hides_secrets() {
        let mut out = Vec::new();
        challenge(b"", &mut out);
        challenge(b"Username:", &mut out);
        assert_eq!(out, b"334 \r\n334 VXNlcm5hbWU6\r\n");
        let secret = SaslData(b"\0bob\0hunter2".to_vec());
        assert_eq!(format!("{secret:?}"), "SaslData(<12 bytes>)");
    }
}
