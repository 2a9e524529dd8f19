//! Everything Sieve sends, as bytes: the vacation reply (RFC 5230) and its "do not reply" rules
//! and tracking key, the `reject` bounce (RFC 5429, an RFC 3798 MDN), the `mailto` notification
//! (RFC 5435, RFC 5436, URIs of RFC 6068) and the redirected copy with its loop-detection
//! field. I/O-free: input is the original message (its header at least), the envelope and the
//! interpreter's action values; output is a message and the envelope to send it with, which
//! the delivery layer hands to the MTA.
//!
//! Owns: deciding whether an auto-reply may go out, and the exact form of what goes out. Must
//! not: send, store, or remember anything (the delivery layer tracks vacation replies with
//! [`vacation_tracking_key`] and sends).
//!
//! Envelopes: the vacation reply, the bounce and the notification go out from the null
//! reverse-path `<>` (RFC 5230 §5.1, RFC 5429 §2.1, RFC 5436 §2.7), so that nothing answers
//! them in turn. A redirected message keeps the envelope sender of the original (RFC 5228
//! §4.2: the redirect is a forwarding of the message as received, so bounces go to its real
//! sender).
//!
//! Loop detection for redirect: [`redirect_message`] prepends `X-Sieve-Redirected-By: <owner
//! address>` ([`REDIRECT_FIELD`]) and [`redirect_loops`] says whether a message already carries
//! that field for the same owner, in which case the redirect must not happen.
//!
//! Bounds: the original header is read up to [`MAX_HEADER_SCAN`] bytes and [`MAX_FIELDS`]
//! fields; subjects are cut to [`MAX_SUBJECT`] characters, reasons and bodies to
//! [`MAX_REASON`] bytes, References to [`MAX_REFERENCES`] bytes, the header quoted in a bounce
//! to [`MAX_QUOTED_HEADER`] bytes, mailto URIs to [`MAX_MAILTO`] bytes and
//! [`MAX_MAILTO_RECIPIENTS`] recipients.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sha1::{Digest, Sha1};

use crate::interp::{Envelope, Notify, Vacation};

/// The most header bytes of the original message looked at.
pub const MAX_HEADER_SCAN: usize = 256 << 10;
/// The most header fields of the original message looked at.
pub const MAX_FIELDS: usize = 1000;
/// The longest subject written, in characters.
pub const MAX_SUBJECT: usize = 256;
/// The longest reason or body copied into a message, in bytes.
pub const MAX_REASON: usize = 64 << 10;
/// The longest References field written, in bytes (the oldest ids are dropped first).
pub const MAX_REFERENCES: usize = 2000;
/// The most header bytes of the original quoted in a bounce.
pub const MAX_QUOTED_HEADER: usize = 64 << 10;
/// The longest address copied into a header field, in bytes.
pub const MAX_ADDRESS: usize = 256;
/// The longest mailto URI accepted, in bytes.
pub const MAX_MAILTO: usize = 4096;
/// The most recipients of one mailto URI (`to`, `cc` and `bcc` together).
pub const MAX_MAILTO_RECIPIENTS: usize = 32;
/// The field [`redirect_message`] prepends and [`redirect_loops`] looks for.
pub const REDIRECT_FIELD: &str = "X-Sieve-Redirected-By";

// ---------------------------------------------------------------------------------------------
// Reading the original header

/// One header field of the original: its name, and its value unfolded and trimmed, not decoded.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    value: String,
}

/// The message split into its header (with the blank line, if any) and its body.
pub fn split_message(raw: &[u8]) -> (&[u8], &[u8]) {
    raw.split_at(message::header_len(raw).min(raw.len()))
}

/// The header fields of `raw` (a message or its header) as the rest of Darius reads them
/// (`message::header_fields`), values unfolded; bounded by [`MAX_HEADER_SCAN`] and
/// [`MAX_FIELDS`].
fn fields(raw: &[u8]) -> Vec<Field> {
    let (header, _) = split_message(raw);
    let header = header.get(..MAX_HEADER_SCAN).unwrap_or(header);
    message::header_fields(header)
        .iter()
        .take(MAX_FIELDS)
        .map(|f| Field {
            name: String::from_utf8_lossy(f.name).into_owned(),
            value: String::from_utf8_lossy(&message::unfold(f.value))
                .trim()
                .to_string(),
        })
        .collect()
}

/// The values of the fields `name` (any case), in order.
fn values<'a>(fields: &'a [Field], name: &str) -> std::vec::IntoIter<&'a str> {
    fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
        .collect::<Vec<_>>()
        .into_iter()
}

fn first<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    values(fields, name).next()
}

/// The addresses (`local@domain`) of an address-list value, parsed as ENVELOPE does
/// (`message::parse_address_list`); group markers and addresses without a domain left out.
fn addresses_in(value: &str) -> Vec<String> {
    message::parse_address_list(value.as_bytes())
        .into_iter()
        .filter_map(|a| {
            let (local, host) = (a.mailbox?, a.host?);
            (host != message::MISSING_DOMAIN).then(|| {
                format!(
                    "{}@{}",
                    String::from_utf8_lossy(&local),
                    String::from_utf8_lossy(&host)
                )
            })
        })
        .filter(|a| a.len() <= MAX_ADDRESS)
        .collect()
}

/// An address as compared with the owner's: angle brackets removed, lower case, and the
/// `+detail` of the local part dropped (`:user`).
fn normalize(address: &str) -> String {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let lower = address.to_lowercase();
    match lower.rsplit_once('@') {
        Some((local, domain)) => {
            let user = local.split_once('+').map_or(local, |(user, _)| user);
            format!("{user}@{domain}")
        }
        None => lower,
    }
}

/// The decoded (RFC 2047) value.
fn decoded(value: &str) -> String {
    message::decode_header_value(value.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Writing

/// `s` with control characters (CR, LF among them) turned into spaces and cut to `max`
/// characters: what may go into one header field.
fn header_safe(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An unstructured header value: as is when printable ASCII, otherwise RFC 2047 `Q` encoded
/// words of UTF-8 (each at most 75 characters, folded onto continuation lines).
fn encode_unstructured(text: &str) -> String {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.to_string();
    }
    const OPEN: &str = "=?utf-8?Q?";
    const ROOM: usize = 75 - OPEN.len() - 2;
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let mut piece = String::new();
        if c == ' ' {
            piece.push('_');
        } else if c.is_ascii_graphic() && !matches!(c, '=' | '?' | '_') {
            piece.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(piece, "={b:02X}");
            }
        }
        if word.len() + piece.len() > ROOM {
            words.push(std::mem::take(&mut word));
        }
        word.push_str(&piece);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .iter()
        .map(|w| format!("{OPEN}{w}?="))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Quoted-printable (RFC 2045 §6.7) of `text`, lines ending CRLF, at most 76 characters each.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let mut width = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal =
                ((b'!'..=b'~').contains(&b) && b != b'=') || (matches!(b, b' ' | b'\t') && !last);
            let piece = if literal {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
        out.push_str("\r\n");
    }
    // `split` yields a last empty piece after a final newline: one CRLF too many.
    if text.ends_with('\n') {
        out.truncate(out.len().saturating_sub(2));
    }
    out
}

/// `text` with every line ending in CRLF.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    out
}

static SERIAL: AtomicU64 = AtomicU64::new(0);

/// A hex string unlikely to repeat: SHA-1 of the time, the process, a serial number and
/// `parts`.
fn unique(now: time::OffsetDateTime, parts: &[&str]) -> String {
    let mut h = Sha1::new();
    h.update(now.unix_timestamp_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(SERIAL.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn date(now: time::OffsetDateTime) -> String {
    now.format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_string())
}

fn message_id(now: time::OffsetDateTime, hostname: &str, parts: &[&str]) -> String {
    let host = header_safe(hostname, 255).replace([' ', '<', '>', '@'], "");
    let host = if host.is_empty() { "localhost" } else { &host };
    format!("<{}.{}@{host}>", unique(now, parts), now.unix_timestamp())
}

/// Appends `Name: value` and CRLF.
fn field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// `<address>` for a To field, or the value as given when it already is a full mailbox.
fn angle(address: &str) -> String {
    let address = header_safe(address, MAX_ADDRESS);
    if address.contains('<') {
        address
    } else {
        format!("<{address}>")
    }
}

/// The original's Message-ID, when it has a plausible one.
fn original_message_id(fields: &[Field]) -> Option<String> {
    let id = first(fields, "Message-ID")?;
    let id = header_safe(id, 998);
    (id.starts_with('<') && id.ends_with('>') && id.len() > 2).then_some(id)
}

/// `Auto-Submitted` present with a value other than `no` (RFC 3834 §5).
fn auto_submitted(fields: &[Field]) -> bool {
    values(fields, "Auto-Submitted").any(|v| {
        let token = v.split([';', '(', ' ']).next().unwrap_or_default();
        !token.eq_ignore_ascii_case("no")
    })
}

// ---------------------------------------------------------------------------------------------
// Vacation

/// Why no vacation reply may go to the sender of `message` (RFC 5230 §4.5 and the usual
/// practice of Cyrus and Dovecot), as one word for the log; `None` when a reply may go (the
/// tracking, "already replied within the period", is the caller's).
///
/// `message`: the original, its header at least. The owner's addresses are the envelope
/// recipient, `:addresses` and `known` (the user's other addresses); they are compared with
/// the `+detail` dropped and case ignored. Reasons, in the order tried:
/// - `null-sender`: the envelope sender is `<>` or missing;
/// - `auto-submitted`: `Auto-Submitted` with a value other than `no`;
/// - `mailing-list`: a `List-Id`, `List-Help`, `List-Subscribe`, `List-Unsubscribe`,
///   `List-Post`, `List-Owner` or `List-Archive` field;
/// - `bulk`: `Precedence: bulk`, `list` or `junk`;
/// - `suppressed`: `X-Auto-Response-Suppress` asking for no out-of-office replies (`All`,
///   `OOF`, `AutoReply`);
/// - `own-message`: the envelope sender is the owner;
/// - `system-sender`: the sender's local part is `MAILER-DAEMON`, `LISTSERV`, `majordomo`,
///   `owner-…` or `…-request`;
/// - `not-addressed`: none of the owner's addresses is in `To`, `Cc`, `Bcc`, `Resent-To`,
///   `Resent-Cc` (the message reached the owner by a list or a Bcc to another address).
pub fn vacation_refusal(
    message: &[u8],
    envelope: &Envelope<'_>,
    vacation: &Vacation,
    known: &[&str],
) -> Option<&'static str> {
    let sender = envelope
        .from
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    if sender.is_empty() || !sender.contains('@') {
        return Some("null-sender");
    }
    let fields = fields(message);
    if auto_submitted(&fields) {
        return Some("auto-submitted");
    }
    const LIST_FIELDS: [&str; 7] = [
        "List-Id",
        "List-Help",
        "List-Subscribe",
        "List-Unsubscribe",
        "List-Post",
        "List-Owner",
        "List-Archive",
    ];
    if LIST_FIELDS.iter().any(|n| first(&fields, n).is_some()) {
        return Some("mailing-list");
    }
    if values(&fields, "Precedence").any(|v| {
        let v = v.trim().to_ascii_lowercase();
        matches!(v.as_str(), "bulk" | "list" | "junk")
    }) {
        return Some("bulk");
    }
    if values(&fields, "X-Auto-Response-Suppress").any(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            ["all", "oof", "autoreply"]
                .iter()
                .any(|s| t.eq_ignore_ascii_case(s))
        })
    }) {
        return Some("suppressed");
    }
    let mut owner: Vec<String> = vec![normalize(envelope.to)];
    owner.extend(vacation.addresses.iter().map(|a| normalize(a)));
    owner.extend(known.iter().map(|a| normalize(a)));
    let sender_n = normalize(sender);
    if owner.contains(&sender_n) {
        return Some("own-message");
    }
    let local = sender_n.rsplit_once('@').map_or("", |(l, _)| l);
    if matches!(local, "mailer-daemon" | "listserv" | "majordomo")
        || local.starts_with("owner-")
        || local.ends_with("-request")
    {
        return Some("system-sender");
    }
    let addressed = ["To", "Cc", "Bcc", "Resent-To", "Resent-Cc"]
        .iter()
        .flat_map(|n| values(&fields, n))
        .flat_map(addresses_in)
        .any(|a| owner.contains(&normalize(&a)));
    if !addressed {
        return Some("not-addressed");
    }
    None
}

/// The key under which a vacation reply from `owner` to `sender` for `handle` is tracked:
/// SHA-1 in hex (40 characters) of the three, case ignored in the addresses (a `+detail` of the
/// sender kept: a different detail is a different correspondent).
pub fn vacation_tracking_key(owner: &str, sender: &str, handle: &str) -> String {
    let mut h = Sha1::new();
    h.update(b"vacation\0");
    h.update(owner.trim().to_lowercase().as_bytes());
    h.update([0]);
    h.update(sender.trim().to_lowercase().as_bytes());
    h.update([0]);
    h.update(handle.as_bytes());
    hex(&h.finalize())
}

/// The vacation reply (RFC 5230 §5) to the message whose header is `original`, for the
/// envelope `envelope`; to be sent from the null reverse-path `<>` to `envelope.from`.
///
/// From: `:from`, else the envelope recipient. To: the envelope sender. Subject: `:subject`,
/// else `Auto: ` and the original subject (RFC 5230 §5.2.4), RFC 2047-decoded and cut to
/// [`MAX_SUBJECT`] characters, encoded again when not ASCII. In-Reply-To and References from
/// the original's Message-ID and References (RFC 5230 §5.8). `Auto-Submitted: auto-replied
/// (vacation)` (§5.1), a Date of `now`, a new Message-ID on `hostname`. The reason (cut to
/// [`MAX_REASON`] bytes) is a text/plain UTF-8 quoted-printable body, or with `:mime` a MIME
/// entity placed as the body part of the reply (its own header fields follow ours).
pub fn vacation_reply(
    original: &[u8],
    envelope: &Envelope<'_>,
    vacation: &Vacation,
    hostname: &str,
    now: time::OffsetDateTime,
) -> Vec<u8> {
    let fields = fields(original);
    let mut h = String::new();
    let from = vacation.from.as_deref().unwrap_or(envelope.to);
    field(&mut h, "From", &angle(from));
    field(&mut h, "To", &angle(envelope.from));
    let subject = match &vacation.subject {
        Some(s) => header_safe(s, MAX_SUBJECT),
        None => match first(&fields, "Subject").map(decoded) {
            Some(s) if !s.trim().is_empty() => {
                header_safe(&format!("Auto: {}", s.trim()), MAX_SUBJECT)
            }
            _ => "Automated reply".to_string(),
        },
    };
    field(&mut h, "Subject", &encode_unstructured(&subject));
    if let Some(id) = original_message_id(&fields) {
        field(&mut h, "In-Reply-To", &id);
        let mut refs: Vec<String> = first(&fields, "References")
            .map(|r| {
                r.split_whitespace()
                    .filter(|t| t.starts_with('<') && t.ends_with('>'))
                    .map(|t| header_safe(t, 998))
                    .collect()
            })
            .unwrap_or_default();
        refs.push(id);
        while refs.len() > 1 && refs.iter().map(|r| r.len() + 1).sum::<usize>() > MAX_REFERENCES {
            refs.remove(0);
        }
        field(&mut h, "References", &refs.join("\r\n "));
    }
    field(&mut h, "Date", &date(now));
    field(
        &mut h,
        "Message-ID",
        &message_id(now, hostname, &[envelope.to, envelope.from]),
    );
    field(&mut h, "Auto-Submitted", "auto-replied (vacation)");
    field(&mut h, "MIME-Version", "1.0");
    let reason = cut(&vacation.reason, MAX_REASON);
    if vacation.mime {
        // The reason is a MIME entity: its header fields (Content-Type, …) and its body.
        let entity = crlf(reason);
        if entity.starts_with("\r\n") {
            // No header of its own: a text/plain default (RFC 2045 §5.2).
            field(&mut h, "Content-Type", "text/plain; charset=us-ascii");
        }
        h.push_str(&entity);
        if !h.ends_with("\r\n") {
            h.push_str("\r\n");
        }
    } else {
        field(&mut h, "Content-Type", "text/plain; charset=utf-8");
        field(&mut h, "Content-Transfer-Encoding", "quoted-printable");
        h.push_str("\r\n");
        h.push_str(&quoted_printable(reason));
        if !h.ends_with("\r\n") {
            h.push_str("\r\n");
        }
    }
    h.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Reject

/// The bounce of `reject` (RFC 5429 §2.1): an RFC 3798 MDN, multipart/report with a human
/// part giving `reason` (cut to [`MAX_REASON`] bytes), the machine part
/// (`Disposition: automatic-action/MDN-sent-automatically; deleted`) and the original header
/// (text/rfc822-headers, cut to [`MAX_QUOTED_HEADER`] bytes at a line end). To be sent from `<>`
/// to `envelope.from`; `None` when that is the null path (no bounce to a bounce).
pub fn reject_bounce(
    original: &[u8],
    envelope: &Envelope<'_>,
    reason: &str,
    hostname: &str,
    now: time::OffsetDateTime,
) -> Option<Vec<u8>> {
    let sender = envelope
        .from
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    if sender.is_empty() {
        return None;
    }
    let fields = fields(original);
    let host = header_safe(hostname, 255);
    let boundary = format!("=_{}", unique(now, &["reject", envelope.to, sender]));
    let mut m = String::new();
    field(
        &mut m,
        "From",
        &format!("Mail Sieve Subsystem <MAILER-DAEMON@{host}>"),
    );
    field(&mut m, "To", &angle(sender));
    let subject = match first(&fields, "Subject").map(decoded) {
        Some(s) if !s.trim().is_empty() => format!("Rejected: {}", s.trim()),
        _ => "Message rejected".to_string(),
    };
    field(
        &mut m,
        "Subject",
        &encode_unstructured(&header_safe(&subject, MAX_SUBJECT)),
    );
    let original_id = original_message_id(&fields);
    if let Some(id) = &original_id {
        field(&mut m, "In-Reply-To", id);
    }
    field(&mut m, "Date", &date(now));
    field(
        &mut m,
        "Message-ID",
        &message_id(now, hostname, &[envelope.to, sender]),
    );
    field(&mut m, "Auto-Submitted", "auto-replied (rejected)");
    field(&mut m, "MIME-Version", "1.0");
    field(
        &mut m,
        "Content-Type",
        &format!(
            "multipart/report; report-type=disposition-notification;\r\n boundary=\"{boundary}\""
        ),
    );
    m.push_str("\r\nThis is a MIME-encapsulated message.\r\n\r\n");
    // The human part.
    let _ = write!(m, "--{boundary}\r\n");
    field(&mut m, "Content-Type", "text/plain; charset=utf-8");
    field(&mut m, "Content-Transfer-Encoding", "quoted-printable");
    m.push_str("\r\n");
    let text = format!(
        "Your message to {} was automatically rejected by a Sieve mail filter.\n\nThe reason given was:\n{}\n",
        header_safe(envelope.to, MAX_ADDRESS),
        cut(reason, MAX_REASON)
    );
    m.push_str(&quoted_printable(&text));
    m.push_str("\r\n");
    // The machine part.
    let _ = write!(m, "--{boundary}\r\n");
    field(&mut m, "Content-Type", "message/disposition-notification");
    m.push_str("\r\n");
    field(&mut m, "Reporting-UA", &format!("{host}; Darius Sieve"));
    field(
        &mut m,
        "Final-Recipient",
        &format!("rfc822; {}", header_safe(envelope.to, MAX_ADDRESS)),
    );
    if let Some(id) = &original_id {
        field(&mut m, "Original-Message-ID", id);
    }
    field(
        &mut m,
        "Disposition",
        "automatic-action/MDN-sent-automatically; deleted",
    );
    m.push_str("\r\n");
    // The original header.
    let _ = write!(m, "--{boundary}\r\n");
    field(&mut m, "Content-Type", "text/rfc822-headers");
    m.push_str("\r\n");
    let (header, _) = split_message(original);
    let mut quoted = &header[..header.len().min(MAX_QUOTED_HEADER)];
    if quoted.len() < header.len() {
        // Cut at the last line end within the bound.
        let end = quoted
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        quoted = &quoted[..end];
    }
    let quoted = crlf(String::from_utf8_lossy(quoted).trim_end());
    m.push_str(&quoted);
    m.push_str("\r\n\r\n");
    let _ = write!(m, "--{boundary}--\r\n");
    Some(m.into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Notify (mailto)

/// A parsed `mailto:` URI (RFC 6068).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailto {
    /// The path's addresses and the `to` fields'.
    pub to: Vec<String>,
    /// The `cc` fields' addresses: sent to and shown in `Cc`.
    pub cc: Vec<String>,
    /// Recipients that are sent to but not shown.
    pub bcc: Vec<String>,
    /// The `subject` field, decoded.
    pub subject: Option<String>,
    /// The `body` field, decoded: the text of the notification.
    pub body: Option<String>,
    /// Other header fields RFC 5436 §2.3 lets a URI set (`Keywords`, `Comments`,
    /// `In-Reply-To`, `References`), name as written and value; unsafe ones are dropped.
    pub headers: Vec<(String, String)>,
}

/// Percent-decodes (RFC 3986 §2.1) into UTF-8; `None` when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hexpair = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hexpair, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether `a` looks like one addr-spec: a local part and a domain, no spaces or controls.
fn plausible_address(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && a.len() <= MAX_ADDRESS
                && !a.chars().any(|c| c.is_control() || c.is_whitespace())
                && !domain.contains(['"', '<', '>', ',', '@'])
        }
        None => false,
    }
}

fn push_addresses(list: &mut Vec<String>, value: &str) -> Result<(), &'static str> {
    for a in value.split(',') {
        let a = a.trim();
        if a.is_empty() {
            continue;
        }
        if !plausible_address(a) {
            return Err("bad-address");
        }
        list.push(a.to_string());
    }
    Ok(())
}

/// Parses a `mailto:` URI (RFC 6068): its addresses (path and `to`), `cc`, `bcc`, `subject`,
/// `body`, and the other header fields RFC 5436 §2.3 allows. Fields that must not be set from
/// a URI (`From`, `Sender`, `Received`, `Return-Path`, `Auto-Submitted`, `Date`, `Message-ID`,
/// and every other one not listed on [`Mailto::headers`]) are ignored. `Err` with a reason
/// word when the URI is malformed, longer than [`MAX_MAILTO`], has no recipient or more than
/// [`MAX_MAILTO_RECIPIENTS`].
pub fn parse_mailto(uri: &str) -> Result<Mailto, &'static str> {
    if uri.len() > MAX_MAILTO {
        return Err("too-long");
    }
    let rest = match uri.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &uri[7..],
        _ => return Err("not-mailto"),
    };
    if rest.contains(|c: char| c.is_control() || c == ' ') {
        return Err("bad-character");
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut m = Mailto::default();
    push_addresses(&mut m.to, &percent_decode(path).ok_or("bad-encoding")?)?;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name).ok_or("bad-encoding")?;
        let value = percent_decode(value).ok_or("bad-encoding")?;
        match name.to_ascii_lowercase().as_str() {
            "to" => push_addresses(&mut m.to, &value)?,
            "cc" => push_addresses(&mut m.cc, &value)?,
            "bcc" => push_addresses(&mut m.bcc, &value)?,
            "subject" => m.subject = Some(value),
            "body" => m.body = Some(value),
            "keywords" | "comments" | "in-reply-to" | "references" => {
                m.headers.push((name, value));
            }
            _ => {}
        }
    }
    let count = m.to.len() + m.cc.len() + m.bcc.len();
    if count == 0 {
        return Err("no-recipient");
    }
    if count > MAX_MAILTO_RECIPIENTS {
        return Err("too-many-recipients");
    }
    Ok(m)
}

/// Whether `uri` is a usable `mailto:` notification method (`valid_notify_method`, RFC 5435
/// §5.1): [`parse_mailto`] accepts it.
pub fn mailto_is_valid(uri: &str) -> bool {
    parse_mailto(uri).is_ok()
}

/// A message to send, with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The reverse-path, `""` for the null path `<>`.
    pub sender: String,
    /// The envelope recipients (RCPT TO), Bcc ones included.
    pub recipients: Vec<String>,
    /// The complete message, CRLF line ends.
    pub message: Vec<u8>,
}

/// The notification of a `notify` action with a `mailto:` method (RFC 5436), about the message
/// whose header is `original`, received for `envelope`.
///
/// From: `:from`, else the envelope recipient (the owner). To and Cc: the URI's. Subject:
/// `:message`, else the URI's `subject`, else `[SIEVE] ` with the original From and Subject.
/// Body: the URI's `body`, else `:message`, else a line naming the original sender and subject
/// (cut to [`MAX_REASON`] bytes). `Auto-Submitted: auto-notified` (RFC 5436 §2.7), an
/// `Importance` field for `:importance` 1 or 3. Sent from `<>`.
///
/// `Err` with a reason word: the URI is not usable ([`parse_mailto`]), or the original is
/// itself auto-submitted (RFC 5436 §2.7: no notification about such a message).
pub fn notify_mailto(
    original: &[u8],
    envelope: &Envelope<'_>,
    notify: &Notify,
    hostname: &str,
    now: time::OffsetDateTime,
) -> Result<Outgoing, &'static str> {
    let mailto = parse_mailto(&notify.method)?;
    let fields = fields(original);
    if auto_submitted(&fields) {
        return Err("auto-submitted");
    }
    let orig_from = first(&fields, "From").map(decoded).unwrap_or_default();
    let orig_subject = first(&fields, "Subject").map(decoded).unwrap_or_default();
    let mut h = String::new();
    let from = notify.from.as_deref().unwrap_or(envelope.to);
    field(&mut h, "From", &angle(from));
    let list = |l: &[String]| {
        l.iter()
            .map(|a| angle(a))
            .collect::<Vec<_>>()
            .join(",\r\n ")
    };
    if !mailto.to.is_empty() {
        field(&mut h, "To", &list(&mailto.to));
    }
    if !mailto.cc.is_empty() {
        field(&mut h, "Cc", &list(&mailto.cc));
    }
    let subject = notify
        .message
        .clone()
        .or_else(|| mailto.subject.clone())
        .unwrap_or_else(|| format!("[SIEVE] {}: {}", orig_from.trim(), orig_subject.trim()));
    field(
        &mut h,
        "Subject",
        &encode_unstructured(&header_safe(&subject, MAX_SUBJECT)),
    );
    for (name, value) in &mailto.headers {
        let value = header_safe(value, 998);
        let value =
            if name.eq_ignore_ascii_case("keywords") || name.eq_ignore_ascii_case("comments") {
                encode_unstructured(&value)
            } else {
                value
            };
        field(&mut h, name, &value);
    }
    field(&mut h, "Date", &date(now));
    field(
        &mut h,
        "Message-ID",
        &message_id(now, hostname, &[envelope.to, &notify.method]),
    );
    field(&mut h, "Auto-Submitted", "auto-notified");
    match notify.importance {
        1 => field(&mut h, "Importance", "high"),
        3 => field(&mut h, "Importance", "low"),
        _ => {}
    }
    field(&mut h, "MIME-Version", "1.0");
    field(&mut h, "Content-Type", "text/plain; charset=utf-8");
    field(&mut h, "Content-Transfer-Encoding", "quoted-printable");
    h.push_str("\r\n");
    let body = mailto
        .body
        .clone()
        .or_else(|| notify.message.clone())
        .unwrap_or_else(|| {
            format!(
                "You have received a new message from {} with the subject \"{}\".\n",
                orig_from.trim(),
                orig_subject.trim()
            )
        });
    h.push_str(&quoted_printable(cut(&body, MAX_REASON)));
    if !h.ends_with("\r\n") {
        h.push_str("\r\n");
    }
    let mut recipients = mailto.to;
    recipients.extend(mailto.cc);
    recipients.extend(mailto.bcc);
    Ok(Outgoing {
        sender: String::new(),
        recipients,
        message: h.into_bytes(),
    })
}

// ---------------------------------------------------------------------------------------------
// Redirect

/// The message a `redirect` re-sends: `X-Sieve-Redirected-By: <owner>` ([`REDIRECT_FIELD`]),
/// then `header` (the original header, or as `editheader` left it, with its blank line), then
/// `body`. Sent with the envelope sender of the original, unchanged (RFC 5228 §4.2).
pub fn redirect_message(header: &[u8], body: &[u8], owner: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + body.len() + 64);
    let mut trace = String::new();
    field(&mut trace, REDIRECT_FIELD, &angle(owner));
    out.extend_from_slice(trace.as_bytes());
    out.extend_from_slice(header);
    if !header.ends_with(b"\n\n") && !header.ends_with(b"\r\n\r\n") {
        // A header block without its blank line (or an empty one): close it.
        if !header.is_empty() && !header.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(body);
    out
}

/// Whether `message` (its header at least) already went through a redirect of `owner`: a
/// [`REDIRECT_FIELD`] naming the same address (compared as in [`vacation_refusal`]). The
/// redirect must then not happen, or two users redirecting to each other would loop.
pub fn redirect_loops(message: &[u8], owner: &str) -> bool {
    let owner = normalize(owner);
    values(&fields(message), REDIRECT_FIELD)
        .flat_map(addresses_in)
        .any(|a| normalize(&a) == owner)
}

#[cfg(test)]
#[path = "outgoing_tests.rs"]
mod tests;
