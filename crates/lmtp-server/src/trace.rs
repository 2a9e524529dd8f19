//! The trace fields a delivery adds in front of the message (RFC 5321 §4.4): `Return-Path`
//! with the envelope sender, and a `Received` field naming the client, this server and the
//! protocol (RFC 3848: LMTP, LMTPS over TLS, LMTPA / LMTPSA after AUTH). Also the Message-ID
//! for the delivery log.

use lmtp_proto::Address;

pub(crate) struct TraceInfo<'a> {
    pub from: Option<&'a Address>,
    pub lhlo: &'a str,
    pub peer: &'a str,
    pub servername: &'a str,
    pub tls: bool,
    /// The session authenticated (LMTP AUTH).
    pub authenticated: bool,
    pub id: &'a str,
    /// The single recipient, named in a `for` clause; none with several (privacy).
    pub for_rcpt: Option<&'a str>,
    pub unix_time: i64,
}

pub(crate) fn trace_fields(t: &TraceInfo<'_>) -> Vec<u8> {
    let from = t.from.map(Address::to_string_form).unwrap_or_default();
    let with = match (t.tls, t.authenticated) {
        (false, false) => "LMTP",
        (true, false) => "LMTPS",
        (false, true) => "LMTPA",
        (true, true) => "LMTPSA",
    };
    let date = types::civil::rfc5322_date(t.unix_time);
    let for_clause = t
        .for_rcpt
        .map(|r| format!("\r\n\tfor <{}>", clean(r)))
        .unwrap_or_default();
    format!(
        "Return-Path: <{}>\r\nReceived: from {} ({})\r\n\tby {} (Darius) with {with} id {}{for_clause};\r\n\t{date}\r\n",
        clean(&from),
        clean(t.lhlo),
        clean(t.peer),
        clean(t.servername),
        clean(t.id),
    )
    .into_bytes()
}

/// The length of the `Return-Path` field at the front of `trace` (what [`trace_fields`]
/// wrote), line end included; 0 when there is none.
pub(crate) fn return_path_len(trace: &[u8]) -> u64 {
    if !trace.starts_with(b"Return-Path:") {
        return 0;
    }
    trace
        .iter()
        .position(|&b| b == b'\n')
        .map_or(0, |lf| lf as u64 + 1)
}

/// Keeps header fields one line each whatever the client sent.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The Message-ID field's value of a header block (unfolded, trimmed), for the delivery log.
pub(crate) fn message_id(message: &[u8]) -> Option<String> {
    let mut lines = message.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"message-id")
        {
            continue;
        }
        let mut value = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek() {
            if !next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                break;
            }
            let next = next.strip_suffix(b"\r").unwrap_or(next);
            value.extend_from_slice(next);
            lines.next();
        }
        let value = String::from_utf8_lossy(value.trim_ascii()).into_owned();
        return (!value.is_empty()).then_some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_fields_are_one_logical_line_each_and_name_the_protocol() {
        let from = Address {
            local: "bounce".into(),
            domain: Some("example.org".into()),
        };
        let t = TraceInfo {
            from: Some(&from),
            lhlo: "mx\r\nX-Evil: 1",
            peer: "[127.0.0.1]",
            servername: "mail.test",
            tls: true,
            authenticated: false,
            id: "lmtp-1-2",
            for_rcpt: Some("alice@mail.test"),
            unix_time: 0,
        };
        let fields = trace_fields(&t);
        assert_eq!(
            return_path_len(&fields),
            "Return-Path: <bounce@example.org>\r\n".len() as u64
        );
        let text = String::from_utf8(fields).unwrap();
        assert_eq!(
            text,
            "Return-Path: <bounce@example.org>\r\nReceived: from mx  X-Evil: 1 ([127.0.0.1])\r\n\tby mail.test (Darius) with LMTPS id lmtp-1-2\r\n\tfor <alice@mail.test>;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n"
        );
        let null = TraceInfo {
            from: None,
            tls: false,
            for_rcpt: None,
            ..t
        };
        let text = String::from_utf8(trace_fields(&null)).unwrap();
        assert!(text.starts_with("Return-Path: <>\r\n"), "{text}");
        assert!(text.contains("with LMTP id lmtp-1-2;"), "{text}");
        for (tls, with) in [(false, "LMTPA"), (true, "LMTPSA")] {
            let authenticated = TraceInfo {
                tls,
                authenticated: true,
                ..t
            };
            let text = String::from_utf8(trace_fields(&authenticated)).unwrap();
            assert!(text.contains(&format!(" with {with} id")), "{text}");
        }
    }

    #[test]
    fn message_id_is_found_unfolded_in_the_header_only() {
        let m = b"Subject: x\r\nmessage-ID:\r\n <a@b>\r\n\r\nMessage-ID: <body@x>\r\n";
        assert_eq!(message_id(m).as_deref(), Some("<a@b>"));
        assert_eq!(message_id(b"Subject: x\r\n\r\nMessage-ID: <no>\r\n"), None);
        assert_eq!(
            message_id(b"Message-Id: <c@d>\n\nbody"),
            Some("<c@d>".into())
        );
    }
}
