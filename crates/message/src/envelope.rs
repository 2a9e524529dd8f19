//! ENVELOPE (RFC 3501 §7.4.2 / RFC 9051 §7.5.2) from a header block.
//!
//! Values are sent raw: RFC 2047 encoded words stay encoded (neither reference server decodes
//! them here), unfolding removes CR/LF only (RFC 5322 §2.2.3), and the last occurrence of a
//! repeated field wins, as in both reference servers.

use crate::address::{parse_list, Address};
use crate::header::{last, unfold, Field};
use crate::imapstr::{nstring, string};

/// Appends the ENVELOPE of the message whose header fields are `fields`.
pub(crate) fn write(out: &mut Vec<u8>, fields: &[Field<'_>]) {
    // A field that is present but empty is "" (as both reference servers send it); NIL means
    // absent.
    let text = |name: &str| last(fields, name).map(unfold);
    let addrs = |name: &str| {
        last(fields, name)
            .map(|v| parse_list(&unfold(v)))
            .unwrap_or_default()
    };

    out.push(b'(');
    nstring(out, text("date").as_deref());
    out.push(b' ');
    nstring(out, text("subject").as_deref());
    let from = addrs("from");
    // RFC 3501 §7.4.2: a missing or empty Sender / Reply-To defaults to From.
    let mut sender = addrs("sender");
    if sender.is_empty() {
        sender = from.clone();
    }
    let mut reply_to = addrs("reply-to");
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    for list in [
        &from,
        &sender,
        &reply_to,
        &addrs("to"),
        &addrs("cc"),
        &addrs("bcc"),
    ] {
        out.push(b' ');
        address_list(out, list);
    }
    out.push(b' ');
    nstring(out, text("in-reply-to").as_deref());
    out.push(b' ');
    nstring(out, text("message-id").as_deref());
    out.push(b')');
}

/// `"(" 1*address ")" / nil`.
fn address_list(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        nstring(out, a.name.as_deref());
        out.push(b' ');
        nstring(out, a.adl.as_deref());
        out.push(b' ');
        nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        match &a.host {
            Some(h) => string(out, h),
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b')');
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::fields;

    #[test]
    fn sender_and_reply_to_default_to_from() {
        let h = b"From: A <a@x.org>\r\nSender:\r\nSubject: s\r\n\r\n";
        let mut out = Vec::new();
        write(&mut out, &fields(h));
        let a = "((\"A\" NIL \"a\" \"x.org\"))";
        let want = format!("(NIL \"s\" {a} {a} {a} NIL NIL NIL NIL NIL)");
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
