//! The typed LMTP commands (RFC 2033 §4, RFC 5321 §4.1.1) and their encoder. The encoder is what
//! an LMTP client (the murder proxy, tests) sends; [`crate::parse_command`] of its output gives
//! back the same value.

use crate::auth::{encode_initial, SaslData};
use crate::xtext::xtext_encode;

/// One command line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// RFC 2033 §4.1. `domain` is the rest of the line, trimmed, unchecked.
    Lhlo {
        domain: String,
    },
    /// Parsed only so the server can refuse it: RFC 2033 §4.1 forbids HELO in LMTP.
    Helo {
        domain: String,
    },
    /// Parsed only so the server can refuse it: RFC 2033 §4.1 forbids EHLO in LMTP.
    Ehlo {
        domain: String,
    },
    /// RFC 5321 §4.1.1.2; `reverse_path` is `None` for the null path `<>`.
    Mail {
        reverse_path: Option<Address>,
        params: MailParams,
    },
    /// RFC 5321 §4.1.1.3.
    Rcpt {
        forward_path: Address,
        params: RcptParams,
    },
    /// RFC 5321 §4.1.1.4.
    Data,
    /// RFC 3030 §2 CHUNKING: `size` octets of message follow the line.
    Bdat {
        size: u64,
        last: bool,
    },
    /// RFC 4954 §4: `mechanism` upper-cased; `initial` the decoded initial response (`=` on
    /// the wire is an empty one).
    Auth {
        mechanism: String,
        initial: Option<SaslData>,
    },
    Rset,
    /// RFC 5321 §4.1.1.9; the optional argument is ignored.
    Noop,
    Quit,
    /// RFC 3207.
    StartTls,
    /// RFC 5321 §4.1.1.8; the optional argument is ignored.
    Help,
    /// RFC 5321 §4.1.1.6; `arg` is the rest of the line, trimmed.
    Vrfy {
        arg: String,
    },
}

/// A mailbox from a path: RFC 5321 `Mailbox = Local-part "@" ( Domain / address-literal )`, with
/// the domain optional because LMTP clients (Cyrus's `deliver`, `<Postmaster>`) send bare local
/// parts. The local part is stored decoded (no quotes or backslashes); the case of both parts is
/// kept as sent. An address literal keeps its brackets (`[192.0.2.1]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    pub local: String,
    pub domain: Option<String>,
}

impl Address {
    /// `local@domain` (or just `local`), the local part quoted when it is not a dot-atom
    /// (RFC 5321 §4.1.2 `Dot-string`; RFC 6531 lets atoms carry UTF-8).
    pub fn to_string_form(&self) -> String {
        let mut out = String::with_capacity(self.local.len() + 2);
        if is_dot_atom(&self.local) {
            out.push_str(&self.local);
        } else {
            out.push('"');
            for c in self.local.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        if let Some(domain) = &self.domain {
            out.push('@');
            out.push_str(domain);
        }
        out
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_form())
    }
}

/// RFC 5321 `atext` plus RFC 6531's UTF-8 characters.
pub(crate) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// RFC 6152 / RFC 3030 `BODY=` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

impl Body {
    /// The keyword as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

/// MAIL FROM parameters (RFC 5321 §4.1.2 `Mail-parameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// RFC 1870 SIZE.
    pub size: Option<u64>,
    /// RFC 6152 / RFC 3030 BODY.
    pub body: Option<Body>,
    /// RFC 4954 §5 AUTH, xtext-decoded; the unknown-submitter form `<>` is kept as `"<>"`.
    pub auth: Option<String>,
    /// RFC 6531 SMTPUTF8.
    pub smtputf8: bool,
    /// RFC 3461 §4.4 ENVID, xtext-decoded.
    pub envid: Option<String>,
    /// RFC 3461 §4.3 RET, upper-cased: `FULL` or `HDRS`.
    pub ret: Option<String>,
    /// Every other parameter, keyword upper-cased, value as sent, in order.
    pub other: Vec<(String, Option<String>)>,
}

/// RCPT TO parameters (RFC 5321 §4.1.2 `Rcpt-parameters`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// RFC 3461 §4.1 NOTIFY, upper-cased: `NEVER` or a comma list of `SUCCESS`, `FAILURE`,
    /// `DELAY`.
    pub notify: Option<String>,
    /// RFC 3461 §4.2 ORCPT as `addr-type;address`, the address part xtext-decoded.
    pub orcpt: Option<String>,
    /// Every other parameter, keyword upper-cased, value as sent, in order.
    pub other: Vec<(String, Option<String>)>,
}

impl Command {
    /// The verb, upper-case, for logs and "503 5.5.1 MAIL first"-style replies.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Lhlo { .. } => "LHLO",
            Command::Helo { .. } => "HELO",
            Command::Ehlo { .. } => "EHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Auth { .. } => "AUTH",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Help => "HELP",
            Command::Vrfy { .. } => "VRFY",
        }
    }

    /// Appends the command line, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let line = match self {
            Command::Lhlo { domain } | Command::Helo { domain } | Command::Ehlo { domain } => {
                format!("{} {domain}", self.verb())
            }
            Command::Mail {
                reverse_path,
                params,
            } => {
                let path = reverse_path
                    .as_ref()
                    .map(Address::to_string_form)
                    .unwrap_or_default();
                format!("MAIL FROM:<{path}>{}", mail_params(params))
            }
            Command::Rcpt {
                forward_path,
                params,
            } => format!(
                "RCPT TO:<{}>{}",
                forward_path.to_string_form(),
                rcpt_params(params)
            ),
            Command::Bdat { size, last } => {
                format!("BDAT {size}{}", if *last { " LAST" } else { "" })
            }
            Command::Auth { mechanism, initial } => match initial {
                Some(data) => format!("AUTH {mechanism} {}", encode_initial(data)),
                None => format!("AUTH {mechanism}"),
            },
            Command::Vrfy { arg } => format!("VRFY {arg}"),
            Command::Data
            | Command::Rset
            | Command::Noop
            | Command::Quit
            | Command::StartTls
            | Command::Help => self.verb().to_owned(),
        };
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// The encoded command line as a new buffer, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn mail_params(params: &MailParams) -> String {
    let mut out = String::new();
    if let Some(size) = params.size {
        out.push_str(&format!(" SIZE={size}"));
    }
    if let Some(body) = params.body {
        out.push_str(&format!(" BODY={}", body.as_str()));
    }
    if let Some(auth) = &params.auth {
        out.push_str(&format!(" AUTH={}", xtext_encode(auth)));
    }
    if params.smtputf8 {
        out.push_str(" SMTPUTF8");
    }
    if let Some(envid) = &params.envid {
        out.push_str(&format!(" ENVID={}", xtext_encode(envid)));
    }
    if let Some(ret) = &params.ret {
        out.push_str(&format!(" RET={ret}"));
    }
    push_other(&mut out, &params.other);
    out
}

fn rcpt_params(params: &RcptParams) -> String {
    let mut out = String::new();
    if let Some(notify) = &params.notify {
        out.push_str(&format!(" NOTIFY={notify}"));
    }
    if let Some(orcpt) = &params.orcpt {
        let (addr_type, address) = orcpt.split_once(';').unwrap_or(("rfc822", orcpt));
        out.push_str(&format!(" ORCPT={addr_type};{}", xtext_encode(address)));
    }
    push_other(&mut out, &params.other);
    out
}

fn push_other(out: &mut String, other: &[(String, Option<String>)]) {
    for (keyword, value) in other {
        out.push(' ');
        out.push_str(keyword);
        if let Some(value) = value {
            out.push('=');
            out.push_str(value);
        }
    }
}
