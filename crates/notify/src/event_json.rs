//! RFC 5423 events as the JSON objects Cyrus's event notifications send (`event`, `uri` as an
//! IMAP URL (RFC 5092), `pid`, `user`, `uidset`, `uidnext`, `messages`, `vnd.cmu.*`).
//!
//! Which parameters an event carries follows Cyrus 3 (`imap/mboxevent.c`): every event has
//! `event`, `uri` and `pid`; the rest depend on the kind, and some only appear when named in
//! `event_extra_params` (Cyrus's option; default `timestamp`). Where Cyrus differs from RFC
//! 5423 the choice is noted beside the parameter. Keys are RFC 5423 parameter names, `vnd.`
//! names, `event` (the notification's type), and Cyrus's `aclSubject`/`aclRights` for its
//! AclChange event (not an RFC 5423 event).
//!
//! Mailboxes are named as Cyrus names them in events, in the administrator's view
//! (`user.fred.Sent`, without a URL user: Cyrus's form since 2015), in UTF-8 and
//! %-escaped; MessageNew adds `vnd.darius.mailbox`, the owner's own view (`INBOX.Sent`).

use std::time::{SystemTime, UNIX_EPOCH};

use mailservice::{Event, EventKind, MailboxRef, Namespace, Origin};
use serde_json::{Map, Value};
use types::Uid;

/// One optional parameter of `event_extra_params`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Extra {
    ClientAddress,
    DiskUsed,
    FlagNames,
    MessageSize,
    Messages,
    Modseq,
    Service,
    Timestamp,
    Uidnext,
    Midset,
    UnseenMessages,
    Envelope,
    SessionId,
}

/// Cyrus's allowed `event_extra_params` names (imapd.conf(5)), with what Darius makes of each:
/// `None` for the ones it accepts, so that a Cyrus configuration loads, but has nothing to
/// fill (body structure and content, DAV, JMAP and Fastmail's conversation data).
const EXTRA_NAMES: [(&str, Option<Extra>); 29] = [
    ("bodyStructure", None),
    ("clientAddress", Some(Extra::ClientAddress)),
    ("diskUsed", Some(Extra::DiskUsed)),
    ("flagNames", Some(Extra::FlagNames)),
    ("messageContent", None),
    ("messageSize", Some(Extra::MessageSize)),
    ("messages", Some(Extra::Messages)),
    ("modseq", Some(Extra::Modseq)),
    ("service", Some(Extra::Service)),
    ("timestamp", Some(Extra::Timestamp)),
    ("uidnext", Some(Extra::Uidnext)),
    ("vnd.cmu.midset", Some(Extra::Midset)),
    ("vnd.cmu.unseenMessages", Some(Extra::UnseenMessages)),
    ("vnd.cmu.envelope", Some(Extra::Envelope)),
    ("vnd.cmu.sessionId", Some(Extra::SessionId)),
    ("vnd.cmu.mailboxACL", None),
    ("vnd.cmu.mbtype", None),
    ("vnd.cmu.davFilename", None),
    ("vnd.cmu.davUid", None),
    ("vnd.fastmail.clientId", None),
    ("vnd.fastmail.sessionId", None),
    ("vnd.fastmail.convExists", None),
    ("vnd.fastmail.convUnseen", None),
    ("vnd.fastmail.cid", None),
    ("vnd.fastmail.counters", None),
    ("vnd.fastmail.jmapEmail", None),
    ("vnd.fastmail.jmapStates", None),
    ("vnd.cmu.emailid", None),
    ("vnd.cmu.threadid", None),
];

/// What rendering needs besides the event.
#[derive(Clone, Debug)]
pub struct RenderContext {
    /// `servername`: the host part of IMAP URLs.
    pub servername: String,
    /// The namespace that names mailboxes to their owners.
    pub namespace: Namespace,
    /// The server's process id (`pid`).
    pub pid: u32,
    /// The `event_extra_params` in force.
    extra: Vec<Extra>,
}

impl RenderContext {
    /// Rendering for `servername` and `namespace`, from this process, with Cyrus's default
    /// `event_extra_params` (`timestamp`).
    pub fn new(servername: String, namespace: Namespace) -> RenderContext {
        RenderContext {
            servername,
            namespace,
            pid: std::process::id(),
            extra: vec![Extra::Timestamp],
        }
    }

    /// The same with `event_extra_params` (Cyrus's option: a space-separated list of the
    /// parameters added where they apply); an unknown name is an error naming it. The list
    /// replaces the default: an empty one turns `timestamp` off too.
    pub fn with_extra_params(mut self, list: &str) -> Result<RenderContext, String> {
        let mut extra = Vec::new();
        for word in list.split_whitespace() {
            let known = EXTRA_NAMES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word));
            match known {
                Some((_, Some(e))) => extra.push(*e),
                Some((_, None)) => {}
                None => {
                    let names: Vec<&str> = EXTRA_NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "event_extra_params: unknown parameter {word:?} (allowed: {})",
                        names.join(" ")
                    ));
                }
            }
        }
        self.extra = extra;
        Ok(self)
    }

    fn has(&self, extra: Extra) -> bool {
        self.extra.contains(&extra)
    }
}

/// The event as one JSON object.
pub fn render(event: &Event, ctx: &RenderContext) -> Map<String, Value> {
    let kind = event.kind;
    let mut out = Map::new();
    out.insert("event".into(), Value::from(kind.name()));
    if ctx.has(Extra::Timestamp) {
        out.insert("timestamp".into(), Value::from(timestamp(event.time)));
    }
    if ctx.has(Extra::Service) {
        let service = match (&event.origin, kind) {
            (Some(origin), _) => Some(origin.service),
            (None, EventKind::MessageNew) => Some("lmtp"),
            (None, _) => None,
        };
        if let Some(service) = service {
            out.insert("service".into(), Value::from(service));
        }
    }
    if let Some(origin) = &event.origin {
        addresses(&mut out, origin, kind, ctx);
    }
    if kind == EventKind::MailboxRename {
        if let Some(old) = &event.old_mailbox {
            out.insert("oldMailboxID".into(), Value::from(mailbox_url(old, ctx)));
        }
    }
    if is_mailbox_event(kind) {
        // RFC 5423: "A URI describing the mailbox" (Cyrus 3 now sends its uniqueid here).
        if let Some(mailbox) = &event.mailbox {
            out.insert("mailboxID".into(), Value::from(mailbox_url(mailbox, ctx)));
        }
    }
    out.insert("uri".into(), Value::from(uri(event, ctx)));
    counts(&mut out, event, ctx);
    if !event.uids.is_empty() && !is_new_message(kind) {
        out.insert("uidset".into(), Value::from(uidset(&event.uids)));
    }
    message_params(&mut out, event, ctx);
    if matches!(kind, EventKind::FlagsSet | EventKind::FlagsClear) {
        out.insert("flagNames".into(), Value::from(event.flags.join(" ")));
    }
    out.insert("pid".into(), Value::from(ctx.pid));
    if let Some(acl) = &event.acl {
        out.insert("aclSubject".into(), Value::from(acl.subject.as_str()));
        out.insert("aclRights".into(), Value::from(acl.rights.as_str()));
    }
    if let Some(user) = &event.user {
        out.insert("user".into(), Value::from(user.as_str()));
    }
    if kind == EventKind::MessageNew {
        darius_new_mail(&mut out, event, ctx);
    }
    out
}

/// MessageNew and MessageAppend: about one new message, named by `uri`'s `;UID=`.
fn is_new_message(kind: EventKind) -> bool {
    matches!(kind, EventKind::MessageNew | EventKind::MessageAppend)
}

/// The events RFC 5423 says "affect mailboxes" and that carry `mailboxID`.
fn is_mailbox_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::MailboxCreate
            | EventKind::MailboxDelete
            | EventKind::MailboxRename
            | EventKind::MailboxSubscribe
            | EventKind::MailboxUnSubscribe
            | EventKind::AclChange
    )
}

fn is_quota_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::QuotaExceed | EventKind::QuotaWithin | EventKind::QuotaChange
    )
}

/// `serverDomain`/`serverPort` on Login and Logout (as Cyrus); `clientIP`/`clientPort` there
/// too (RFC 5423 includes them with client actions; Cyrus only with `clientAddress`), and on
/// every event a client caused with `clientAddress`; `vnd.cmu.sessionId` when asked for.
fn addresses(out: &mut Map<String, Value>, origin: &Origin, kind: EventKind, ctx: &RenderContext) {
    let access = matches!(kind, EventKind::Login | EventKind::Logout);
    if access {
        if let Some(server) = origin.server {
            out.insert("serverDomain".into(), Value::from(server.ip().to_string()));
            out.insert("serverPort".into(), Value::from(server.port()));
        }
    }
    if access || ctx.has(Extra::ClientAddress) {
        if let Some(client) = origin.client {
            out.insert("clientIP".into(), Value::from(client.ip().to_string()));
            out.insert("clientPort".into(), Value::from(client.port()));
        }
    }
    if ctx.has(Extra::SessionId) {
        if let Some(id) = &origin.session_id {
            out.insert("vnd.cmu.sessionId".into(), Value::from(id.as_str()));
        }
    }
}

/// The mailbox counts and the quota parameters.
fn counts(out: &mut Map<String, Value>, event: &Event, ctx: &RenderContext) {
    let kind = event.kind;
    if let (Some(modseq), true) = (event.modseq, ctx.has(Extra::Modseq)) {
        // RFC 5423: "May be included with any notification referring to one message".
        if event.uids.len() == 1 {
            out.insert("modseq".into(), Value::from(modseq));
        }
    }
    if let Some(quota) = &event.quota {
        if let Some(limit) = quota.storage_limit_kib {
            out.insert("diskQuota".into(), Value::from(limit));
        }
        let used_wanted = kind != EventKind::QuotaChange || ctx.has(Extra::DiskUsed);
        if let (Some(used), true) = (quota.storage_used_kib, used_wanted) {
            out.insert("diskUsed".into(), Value::from(used));
        }
        if let Some(limit) = quota.messages_limit {
            out.insert("maxMessages".into(), Value::from(limit));
            if let Some(used) = quota.messages_used {
                out.insert("messages".into(), Value::from(used));
            }
        }
    } else if let (Some(messages), true) = (event.messages, ctx.has(Extra::Messages)) {
        out.insert("messages".into(), Value::from(messages));
    }
    if is_quota_event(kind) {
        return;
    }
    if let (Some(unseen), true) = (event.unseen, ctx.has(Extra::UnseenMessages)) {
        out.insert("vnd.cmu.unseenMessages".into(), Value::from(unseen));
    }
    if let (Some(next), true) = (event.uidnext, ctx.has(Extra::Uidnext)) {
        out.insert("uidnext".into(), Value::from(next.get()));
    }
}

/// What MessageNew and MessageAppend say of the message: `vnd.cmu.midset`, `flagNames`,
/// `messageSize` (always on MessageNew, for webhook receivers; else with `messageSize`),
/// `vnd.cmu.envelope`.
fn message_params(out: &mut Map<String, Value>, event: &Event, ctx: &RenderContext) {
    if !is_new_message(event.kind) {
        return;
    }
    let message = event.message.clone().unwrap_or_default();
    if ctx.has(Extra::Midset) {
        let id = message.message_id.as_deref().unwrap_or("NIL");
        out.insert("vnd.cmu.midset".into(), Value::from(vec![id]));
    }
    if ctx.has(Extra::FlagNames) && !event.flags.is_empty() {
        out.insert("flagNames".into(), Value::from(event.flags.join(" ")));
    }
    if event.message.is_some()
        && (event.kind == EventKind::MessageNew || ctx.has(Extra::MessageSize))
    {
        out.insert("messageSize".into(), Value::from(message.size));
    }
    if let (Some(envelope), true) = (&message.envelope, ctx.has(Extra::Envelope)) {
        out.insert("vnd.cmu.envelope".into(), Value::from(envelope.as_str()));
    }
}

/// MessageNew's own additions, so that one object tells a receiver everything about the new
/// message: the mailbox in its owner's view, the UID, the envelope sender (`""` for `<>`),
/// and the decoded Subject and the From field, when the message has them.
fn darius_new_mail(out: &mut Map<String, Value>, event: &Event, ctx: &RenderContext) {
    if let Some(mailbox) = &event.mailbox {
        let view = ctx.namespace.owner_view(&mailbox.name);
        out.insert("vnd.darius.mailbox".into(), Value::from(view));
    }
    if let Some(uid) = event.uids.first() {
        out.insert("vnd.darius.uid".into(), Value::from(uid.get()));
    }
    let message = event.message.clone().unwrap_or_default();
    let sender = message.envelope_from.unwrap_or_default();
    out.insert("vnd.darius.sender".into(), Value::from(sender));
    if let Some(subject) = message.subject {
        out.insert("vnd.darius.subject".into(), Value::from(subject));
    }
    if let Some(from) = message.from {
        out.insert("vnd.darius.from".into(), Value::from(from));
    }
}

/// The event's `uri` (RFC 5423: "included in all notifications"), as Cyrus forms it: the
/// server alone for Login and Logout; the quota root for Quota*; else the mailbox with its
/// UIDVALIDITY, and `/;UID=` for the one message of MessageNew and MessageAppend.
fn uri(event: &Event, ctx: &RenderContext) -> String {
    if let (Some(quota), true) = (&event.quota, is_quota_event(event.kind)) {
        let root = MailboxRef {
            name: quota.root.clone(),
            uidvalidity: None,
        };
        return mailbox_url(&root, ctx);
    }
    let Some(mailbox) = &event.mailbox else {
        return format!("imap://{}", ctx.servername);
    };
    let mut url = mailbox_url(mailbox, ctx);
    if let (true, Some(uid)) = (is_new_message(event.kind), event.uids.first()) {
        url.push_str(&format!("/;UID={}", uid.get()));
    }
    url
}

/// `imap://server/mailbox;UIDVALIDITY=n` (RFC 5092 §6), the name in the administrator's view.
fn mailbox_url(mailbox: &MailboxRef, ctx: &RenderContext) -> String {
    let name = ctx.namespace.admin_view(&mailbox.name);
    let mut url = format!(
        "imap://{}/{}",
        ctx.servername,
        url_escape(&mutf7_to_utf8(&name))
    );
    if let Some(v) = mailbox.uidvalidity {
        url.push_str(&format!(";UIDVALIDITY={}", v.get()));
    }
    url
}

/// RFC 5092 `enc-mailbox`: `bchar`s as they are, every other octet of the UTF-8 name as
/// `%XX`.
fn url_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        let plain = b.is_ascii_alphanumeric() || b"-._~!$'()*+,&=:@/".contains(&b);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A mailbox name in modified UTF-7 (RFC 3501 §5.1.3) as UTF-8, as RFC 5092 URLs carry
/// names; a malformed shift sequence is kept as written.
fn mutf7_to_utf8(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(end) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            match decode_modified_base64(encoded) {
                Some(text) => out.push_str(&text),
                None => out.push_str(&rest[amp..amp + end + 2]),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Modified BASE64 (`,` for `/`, no padding) of UTF-16BE, as text.
fn decode_modified_base64(encoded: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut units: Vec<u16> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    for c in encoded.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b',' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push(((bits >> nbits) & 0xff) as u8);
        }
    }
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    for pair in bytes.chunks_exact(2) {
        units.push(u16::from_be_bytes([pair[0], pair[1]]));
    }
    String::from_utf16(&units).ok()
}

/// RFC 5423 `uidset`: UIDs as an IMAP sequence set, runs as ranges (`1:3,5`).
pub fn uidset(uids: &[Uid]) -> String {
    types::uid_set(uids)
}

/// Cyrus's `timestamp`: ISO 8601 with milliseconds, in UTC, which Cyrus writes `Z`
/// (`2026-12-07T06:00:00.123Z`).
pub fn timestamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn uids(list: &[u32]) -> Vec<Uid> {
        list.iter().filter_map(|&n| Uid::new(n)).collect()
    }

    #[test]
    fn uidset_joins_runs_into_ranges() {
        assert_eq!(uidset(&uids(&[1, 2, 3, 5])), "1:3,5");
        assert_eq!(uidset(&uids(&[7])), "7");
        assert_eq!(uidset(&uids(&[9, 4, 5, 11, 10])), "4:5,9:11");
        assert_eq!(uidset(&[]), "");
    }

    #[test]
    fn timestamp_is_iso8601_with_milliseconds_in_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_623_200_123);
        assert_eq!(timestamp(t), "2026-12-07T06:00:00.123Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn mailbox_names_become_utf8_and_escaped_in_urls() {
        assert_eq!(mutf7_to_utf8("user.fred.&AOk-t&AOk-"), "user.fred.été");
        assert_eq!(mutf7_to_utf8("a&-b"), "a&b");
        assert_eq!(mutf7_to_utf8("broken&AOk"), "broken&AOk");
        assert_eq!(url_escape("user.fred.My Mail"), "user.fred.My%20Mail");
        assert_eq!(url_escape("été"), "%C3%A9t%C3%A9");
    }

    #[test]
    fn unknown_extra_params_are_refused_by_name() {
        let ctx = RenderContext::new("mx".into(), Namespace::new(false));
        let err = ctx
            .clone()
            .with_extra_params("timestamp uidnxt")
            .err()
            .unwrap_or_default();
        assert!(err.contains("\"uidnxt\""), "{err}");
        let ok = ctx.with_extra_params("vnd.cmu.midset  messages bodyStructure");
        assert!(ok.is_ok_and(|c| c.has(Extra::Midset) && !c.has(Extra::Timestamp)));
    }
}
