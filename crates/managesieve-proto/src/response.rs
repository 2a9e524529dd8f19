//! Server responses (RFC 5804 §1.2, §1.3, §2): `OK`, `NO` and `BYE` with an optional response
//! code and human text, the capability listing (§1.7), LISTSCRIPTS and GETSCRIPT data, and
//! SASL challenges.

use base64::Engine as _;

use crate::string::{write_string, ScriptName};

/// The status of a response (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bye,
}

/// The response codes of §1.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespCode {
    AuthTooWeak,
    EncryptNeeded,
    /// `QUOTA`: some quota would be exceeded.
    Quota,
    /// `QUOTA/MAXSCRIPTS`: too many scripts.
    QuotaMaxScripts,
    /// `QUOTA/MAXSIZE`: the script is too large.
    QuotaMaxSize,
    /// `REFERRAL sieveurl`: the user's scripts live on another server.
    Referral(String),
    /// `SASL string`: the server's last SASL data, base64-encoded, in the final `OK`.
    Sasl(Vec<u8>),
    TransitionNeeded,
    TryLater,
    /// The script is active (DELETESCRIPT refused).
    Active,
    NonExistent,
    AlreadyExists,
    /// `TAG string`: NOOP's argument, echoed.
    Tag(Vec<u8>),
    /// The script was stored but the text holds warnings.
    Warnings,
}

impl RespCode {
    fn write(&self, out: &mut Vec<u8>) {
        let word: &str = match self {
            RespCode::AuthTooWeak => "AUTH-TOO-WEAK",
            RespCode::EncryptNeeded => "ENCRYPT-NEEDED",
            RespCode::Quota => "QUOTA",
            RespCode::QuotaMaxScripts => "QUOTA/MAXSCRIPTS",
            RespCode::QuotaMaxSize => "QUOTA/MAXSIZE",
            RespCode::Referral(_) => "REFERRAL",
            RespCode::Sasl(_) => "SASL",
            RespCode::TransitionNeeded => "TRANSITION-NEEDED",
            RespCode::TryLater => "TRYLATER",
            RespCode::Active => "ACTIVE",
            RespCode::NonExistent => "NONEXISTENT",
            RespCode::AlreadyExists => "ALREADYEXISTS",
            RespCode::Tag(_) => "TAG",
            RespCode::Warnings => "WARNINGS",
        };
        out.extend_from_slice(word.as_bytes());
        match self {
            RespCode::Referral(url) => {
                out.push(b' ');
                write_string(out, url.as_bytes());
            }
            RespCode::Sasl(data) => {
                out.push(b' ');
                let b64 = base64::engine::general_purpose::STANDARD.encode(data);
                write_string(out, b64.as_bytes());
            }
            RespCode::Tag(tag) => {
                out.push(b' ');
                write_string(out, tag);
            }
            RespCode::AuthTooWeak
            | RespCode::EncryptNeeded
            | RespCode::Quota
            | RespCode::QuotaMaxScripts
            | RespCode::QuotaMaxSize
            | RespCode::TransitionNeeded
            | RespCode::TryLater
            | RespCode::Active
            | RespCode::NonExistent
            | RespCode::AlreadyExists
            | RespCode::Warnings => {}
        }
    }
}

/// `OK` / `NO` / `BYE` [SP "(" code ")"] [SP string] CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub code: Option<RespCode>,
    pub text: Option<String>,
}

impl Response {
    fn new(status: Status, text: &str) -> Response {
        Response {
            status,
            code: None,
            text: (!text.is_empty()).then(|| text.to_string()),
        }
    }

    /// `OK "text"` (no text when `text` is empty).
    pub fn ok(text: &str) -> Response {
        Response::new(Status::Ok, text)
    }

    pub fn no(text: &str) -> Response {
        Response::new(Status::No, text)
    }

    pub fn bye(text: &str) -> Response {
        Response::new(Status::Bye, text)
    }

    pub fn with_code(mut self, code: RespCode) -> Response {
        self.code = Some(code);
        self
    }

    /// The response on the wire, CRLF included; the text is a quoted string, or a literal
    /// when it holds a line end, `"`, `\` or more than 1024 characters.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = match self.status {
            Status::Ok => b"OK".to_vec(),
            Status::No => b"NO".to_vec(),
            Status::Bye => b"BYE".to_vec(),
        };
        if let Some(code) = &self.code {
            out.extend_from_slice(b" (");
            code.write(&mut out);
            out.push(b')');
        }
        if let Some(text) = &self.text {
            out.push(b' ');
            write_string(&mut out, text.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// The capabilities a server announces (§1.7), in greeting and CAPABILITY responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub implementation: String,
    /// The SASL mechanisms offered now (none before STARTTLS if plaintext is refused).
    pub sasl: Vec<String>,
    /// The Sieve extensions the server's interpreter supports.
    pub sieve: Vec<String>,
    /// STARTTLS is offered (only before TLS is in use).
    pub starttls: bool,
    /// The notification methods (RFC 5435), if the `enotify` extension is supported.
    pub notify: Vec<String>,
    pub max_redirects: Option<u32>,
    /// The language of human-readable text (RFC 5804 §1.7, a language tag).
    pub language: Option<String>,
    /// The authenticated user (only once authenticated).
    pub owner: Option<String>,
}

impl Capabilities {
    /// The capability lines, each `"NAME" [SP string]` CRLF, ending with `VERSION "1.0"`. The
    /// caller sends the `OK` that closes the listing.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut line = |name: &str, value: Option<&str>| {
            write_string(&mut out, name.as_bytes());
            if let Some(v) = value {
                out.push(b' ');
                write_string(&mut out, v.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        };
        line("IMPLEMENTATION", Some(&self.implementation));
        line("SASL", Some(&self.sasl.join(" ")));
        line("SIEVE", Some(&self.sieve.join(" ")));
        if self.starttls {
            line("STARTTLS", None);
        }
        if !self.notify.is_empty() {
            line("NOTIFY", Some(&self.notify.join(" ")));
        }
        if let Some(n) = self.max_redirects {
            line("MAXREDIRECTS", Some(&n.to_string()));
        }
        if let Some(lang) = &self.language {
            line("LANGUAGE", Some(lang));
        }
        if let Some(owner) = &self.owner {
            line("OWNER", Some(owner));
        }
        line("VERSION", Some("1.0"));
        out
    }
}

/// Whether a LISTSCRIPTS line names the active script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Active,
    Inactive,
}

/// One LISTSCRIPTS line (§2.7): the name, then ` ACTIVE` for the active script.
pub fn list_line(name: &ScriptName, activity: Activity) -> Vec<u8> {
    let mut out = Vec::new();
    write_string(&mut out, name.as_str().as_bytes());
    if activity == Activity::Active {
        out.extend_from_slice(b" ACTIVE");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// GETSCRIPT's data (§2.9): the script as a literal, then CRLF; the `OK` follows.
pub fn script_data(script: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::string::write_literal(&mut out, script, crate::string::LiteralForm::ServerToClient);
    out.extend_from_slice(b"\r\n");
    out
}

/// A SASL challenge during AUTHENTICATE (§2.1): a string holding the base64 data, CRLF. A
/// non-empty challenge goes as a literal, as Cyrus's `timsieved` sends it: Cyrus's C client
/// (`sivtest`) reads a quoted challenge with its quotes and fails to decode it; every client
/// reads the literal form, which §2.1 allows alike.
pub fn encode_challenge(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    if b64.is_empty() {
        write_string(&mut out, b"");
    } else {
        crate::string::write_literal(
            &mut out,
            b64.as_bytes(),
            crate::string::LiteralForm::ServerToClient,
        );
    }
    out.extend_from_slice(b"\r\n");
    out
}
