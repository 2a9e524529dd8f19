//! Numbered replies (RFC 5321 §4.2) with RFC 2034 enhanced status codes, and their encoder.
//! LMTP (RFC 2033 §4.2) sends one reply per accepted recipient after DATA; each is an ordinary
//! [`Reply`] here.

/// Enhanced status codes (RFC 3463, registry in RFC 5248) the LMTP server uses. The class digit
/// is part of the constant, so a temporary failure has its own (`4.x.x`) constant.
pub mod codes {
    /// X.0.0: other or undefined status — success.
    pub const OK: &str = "2.0.0";
    /// X.1.0: other address status — the sender is accepted.
    pub const SENDER_OK: &str = "2.1.0";
    /// X.1.5: destination address valid — the recipient is accepted / delivered.
    pub const DESTINATION_OK: &str = "2.1.5";
    /// X.1.1: bad destination mailbox address (no such user).
    pub const BAD_MAILBOX: &str = "5.1.1";
    /// X.1.3: bad destination mailbox address syntax.
    pub const BAD_DESTINATION_SYNTAX: &str = "5.1.3";
    /// RFC 3463: bad destination system address (a domain this server does not hold).
    pub const BAD_DESTINATION_SYSTEM: &str = "5.1.2";
    /// X.1.7: bad sender's mailbox address syntax.
    pub const BAD_SENDER_SYNTAX: &str = "5.1.7";
    /// X.2.1: mailbox disabled, not accepting messages.
    pub const MAILBOX_DISABLED: &str = "5.2.1";
    /// X.2.0: other or undefined mailbox status — temporary: the mailbox is locked by another
    /// operation, or was renamed or removed after its recipient was accepted.
    pub const MAILBOX_BUSY: &str = "4.2.0";
    /// X.2.2: mailbox full (over quota), permanent.
    pub const MAILBOX_FULL: &str = "5.2.2";
    /// X.2.2: mailbox full (over quota), temporary.
    pub const MAILBOX_FULL_TEMPORARY: &str = "4.2.2";
    /// X.3.0: other or undefined mail system status (temporary failure).
    pub const SYSTEM_TEMPORARY: &str = "4.3.0";
    /// X.3.1: mail system full (not enough free disk space now), temporary.
    pub const SYSTEM_FULL: &str = "4.3.1";
    /// X.3.4: message too big for system.
    pub const MESSAGE_TOO_BIG: &str = "5.3.4";
    /// X.3.2: system not accepting network messages (shutting down).
    pub const NOT_ACCEPTING: &str = "4.3.2";
    /// X.5.1: invalid command (also: bad sequence of commands).
    pub const INVALID_COMMAND: &str = "5.5.1";
    /// X.5.1: bad sequence of commands, e.g. RCPT before MAIL.
    pub const BAD_SEQUENCE: &str = "5.5.1";
    /// X.5.2: syntax error.
    pub const SYNTAX_ERROR: &str = "5.5.2";
    /// X.5.3: too many recipients (temporary, so the client retries the rest).
    pub const TOO_MANY_RECIPIENTS: &str = "4.5.3";
    /// X.5.4: invalid command arguments.
    pub const INVALID_ARGUMENTS: &str = "5.5.4";
    /// X.6.0: other or undefined media error (e.g. a body with bare LFs or NULs, refused).
    pub const MEDIA_ERROR: &str = "5.6.0";
    /// X.6.7: non-ASCII address without SMTPUTF8 (RFC 6531 §3.7.4.2).
    pub const NON_ASCII_ADDRESS: &str = "5.6.7";
    /// X.7.0: other security status (e.g. must issue STARTTLS first: 530 5.7.0).
    pub const SECURITY: &str = "5.7.0";
    /// X.7.1: delivery not authorized.
    pub const NOT_AUTHORIZED: &str = "5.7.1";
}

/// A reply: one code, an optional enhanced code repeated on every line, and one or more lines of
/// text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<String>,
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply; `enhanced` `""` means no enhanced code.
    pub fn new(code: u16, enhanced: &str, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: (!enhanced.is_empty()).then(|| enhanced.to_owned()),
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply such as the LHLO capability list.
    pub fn multiline(code: u16, enhanced: Option<&str>, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: enhanced.map(str::to_owned),
            lines,
        }
    }

    /// True for 2xx and 3xx replies.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// RFC 5321 §4.2: `Reply-code "-" text CRLF` for every line but the last, `Reply-code SP text
    /// CRLF` for the last; RFC 2034 §4: the enhanced code starts the text of every line. CR and LF
    /// in the text are dropped so a reply can never be split or forged by its content.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let empty = [String::new()];
        let lines = if self.lines.is_empty() {
            &empty[..]
        } else {
            &self.lines[..]
        };
        let code = self.code.min(999);
        for (i, text) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            out.extend_from_slice(format!("{code:03}").as_bytes());
            let enhanced = self.enhanced.as_deref().filter(|e| !e.is_empty());
            if !last || enhanced.is_some() || !text.is_empty() {
                out.push(if last { b' ' } else { b'-' });
            }
            if let Some(enhanced) = enhanced {
                push_text(out, enhanced);
                if !text.is_empty() {
                    out.push(b' ');
                }
            }
            push_text(out, text);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The encoded reply as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|&b| b != b'\r' && b != b'\n'));
}
