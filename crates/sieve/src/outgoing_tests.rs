use super::*;

const NOW: i64 = 1_700_000_000;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

fn env<'a>(from: &'a str, to: &'a str) -> Envelope<'a> {
    Envelope {
        from,
        to,
        auth: None,
    }
}

fn vacation() -> Vacation {
    Vacation {
        period: 7 * 86_400,
        subject: None,
        from: None,
        addresses: Vec::new(),
        mime: false,
        handle: "h".to_string(),
        reason: "I am away until Monday.".to_string(),
        fcc: None,
    }
}

fn notify(method: &str) -> Notify {
    Notify {
        method: method.to_string(),
        from: None,
        importance: 2,
        options: Vec::new(),
        message: None,
        fcc: None,
    }
}

const PLAIN: &str = "From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.com>\r\n\
Subject: Lunch?\r\n\
Message-ID: <m1@example.org>\r\n\
\r\n\
Shall we?\r\n";

fn with(extra: &str) -> String {
    format!("{extra}\r\n{PLAIN}")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The unfolded value of the first field `name` of `message`.
fn header_of(message: &[u8], name: &str) -> Option<String> {
    first(&fields(message), name).map(str::to_string)
}

// --- vacation_refusal ---

#[test]
fn a_plain_message_to_the_owner_gets_a_reply() {
    let e = env("alice@example.org", "bob@example.com");
    assert_eq!(
        vacation_refusal(PLAIN.as_bytes(), &e, &vacation(), &[]),
        None
    );
}

#[test]
fn null_or_missing_sender_is_refused() {
    for from in ["", "<>", "  "] {
        let e = env(from, "bob@example.com");
        assert_eq!(
            vacation_refusal(PLAIN.as_bytes(), &e, &vacation(), &[]),
            Some("null-sender"),
            "{from:?}"
        );
    }
}

#[test]
fn auto_submitted_other_than_no_is_refused() {
    let e = env("alice@example.org", "bob@example.com");
    for v in [
        "auto-replied",
        "auto-generated; owner-email=x@y",
        "Auto-Notified",
    ] {
        let m = with(&format!("Auto-Submitted: {v}"));
        assert_eq!(
            vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
            Some("auto-submitted"),
            "{v}"
        );
    }
    let m = with("Auto-Submitted: No");
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
}

#[test]
fn list_and_bulk_markers_are_refused() {
    let e = env("alice@example.org", "bob@example.com");
    for f in [
        "List-Id: <l.example.org>",
        "List-Help: <mailto:l-help@example.org>",
        "List-Subscribe: <mailto:x@y>",
        "LIST-UNSUBSCRIBE: <mailto:x@y>",
        "List-Post: NO",
        "List-Owner: <mailto:x@y>",
        "List-Archive: <http://x>",
    ] {
        let m = with(f);
        assert_eq!(
            vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
            Some("mailing-list"),
            "{f}"
        );
    }
    for p in ["bulk", "List", " junk "] {
        let m = with(&format!("Precedence: {p}"));
        assert_eq!(
            vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
            Some("bulk")
        );
    }
    let m = with("Precedence: first-class");
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
    let m = with("X-Auto-Response-Suppress: DR, OOF");
    assert_eq!(
        vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
        Some("suppressed")
    );
    let m = with("X-Auto-Response-Suppress: DR");
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
}

#[test]
fn the_owner_himself_is_refused() {
    let m = "From: bob@example.com\r\nTo: bob@example.com\r\n\r\nx";
    let e = env("Bob+x@Example.COM", "bob@example.com");
    assert_eq!(
        vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
        Some("own-message")
    );
    let mut v = vacation();
    v.addresses = vec!["robert@example.net".to_string()];
    let e = env("robert@example.net", "bob@example.com");
    assert_eq!(
        vacation_refusal(m.as_bytes(), &e, &v, &[]),
        Some("own-message")
    );
}

#[test]
fn system_senders_are_refused() {
    for s in [
        "MAILER-DAEMON@example.org",
        "listserv@example.org",
        "Majordomo@example.org",
        "owner-list@example.org",
        "list-request@example.org",
    ] {
        let e = env(s, "bob@example.com");
        assert_eq!(
            vacation_refusal(PLAIN.as_bytes(), &e, &vacation(), &[]),
            Some("system-sender"),
            "{s}"
        );
    }
}

#[test]
fn the_owner_must_be_a_visible_recipient() {
    let e = env("alice@example.org", "bob@example.com");
    let m = "From: alice@example.org\r\nTo: team@example.com\r\nSubject: x\r\n\r\n";
    assert_eq!(
        vacation_refusal(m.as_bytes(), &e, &vacation(), &[]),
        Some("not-addressed")
    );
    // Through :addresses, the known list, Cc, Resent-To, with detail and case ignored.
    let mut v = vacation();
    v.addresses = vec!["team@example.com".to_string()];
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &v, &[]), None);
    assert_eq!(
        vacation_refusal(m.as_bytes(), &e, &vacation(), &["Team@Example.com"]),
        None
    );
    let m = "From: a@example.org\r\nTo: x@y\r\nCc: \"B\" <BOB+lists@example.com>, c@d\r\n\r\n";
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
    let m = "From: a@example.org\r\nTo: x@y\r\nResent-To: group: bob@example.com;\r\n\r\n";
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
    // A folded To field.
    let m = "From: a@example.org\r\nTo: x@y,\r\n  bob@example.com\r\n\r\n";
    assert_eq!(vacation_refusal(m.as_bytes(), &e, &vacation(), &[]), None);
}

// --- tracking key ---

#[test]
fn tracking_keys_are_stable_hashes_of_their_parts() {
    let k = vacation_tracking_key("bob@example.com", "alice@example.org", "h");
    assert_eq!(k.len(), 40);
    assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        k,
        vacation_tracking_key("Bob@Example.com", "ALICE@example.org", "h")
    );
    assert_ne!(
        k,
        vacation_tracking_key("bob@example.com", "alice@example.org", "h2")
    );
    assert_ne!(
        k,
        vacation_tracking_key("bob@example.com", "carol@example.org", "h")
    );
    // The separator keeps ("ab", "c") apart from ("a", "bc").
    assert_ne!(
        vacation_tracking_key("ab", "c", "h"),
        vacation_tracking_key("a", "bc", "h")
    );
}

// --- vacation_reply ---

#[test]
fn the_reply_has_the_fields_rfc_5230_asks_for() {
    let e = env("alice@example.org", "bob@example.com");
    let m = "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: Lunch?\r\n\
             Message-ID: <m1@example.org>\r\nReferences: <m0@example.org>\r\n\r\nbody";
    let reply = vacation_reply(m.as_bytes(), &e, &vacation(), "mx.example.com", now());
    assert_eq!(header_of(&reply, "From").unwrap(), "<bob@example.com>");
    assert_eq!(header_of(&reply, "To").unwrap(), "<alice@example.org>");
    assert_eq!(header_of(&reply, "Subject").unwrap(), "Auto: Lunch?");
    assert_eq!(
        header_of(&reply, "In-Reply-To").unwrap(),
        "<m1@example.org>"
    );
    assert_eq!(
        header_of(&reply, "References").unwrap(),
        "<m0@example.org> <m1@example.org>"
    );
    assert_eq!(
        header_of(&reply, "Auto-Submitted").unwrap(),
        "auto-replied (vacation)"
    );
    assert_eq!(header_of(&reply, "MIME-Version").unwrap(), "1.0");
    assert_eq!(
        header_of(&reply, "Content-Type").unwrap(),
        "text/plain; charset=utf-8"
    );
    let id = header_of(&reply, "Message-ID").unwrap();
    assert!(
        id.starts_with('<') && id.ends_with("@mx.example.com>"),
        "{id}"
    );
    assert!(header_of(&reply, "Date").unwrap().contains("2023"));
    let (_, body) = split_message(&reply);
    assert_eq!(text(body), "I am away until Monday.\r\n");
    // A second reply gets another Message-ID.
    let again = vacation_reply(m.as_bytes(), &e, &vacation(), "mx.example.com", now());
    assert_ne!(header_of(&again, "Message-ID").unwrap(), id);
}

#[test]
fn explicit_subject_and_from_win_and_controls_are_removed() {
    let e = env("alice@example.org", "bob@example.com");
    let mut v = vacation();
    v.subject = Some("Away\r\nBcc: victim@example.net".to_string());
    v.from = Some("Bob <bob@example.com>".to_string());
    let reply = vacation_reply(PLAIN.as_bytes(), &e, &v, "h", now());
    assert_eq!(header_of(&reply, "From").unwrap(), "Bob <bob@example.com>");
    assert!(header_of(&reply, "Bcc").is_none(), "no injected field");
    assert!(header_of(&reply, "Subject").unwrap().starts_with("Away"));
}

#[test]
fn encoded_subjects_are_decoded_and_encoded_again() {
    let e = env("alice@example.org", "bob@example.com");
    let m = "From: a@example.org\r\nTo: bob@example.com\r\n\
             Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\r\n";
    let reply = vacation_reply(m.as_bytes(), &e, &vacation(), "h", now());
    let subject = header_of(&reply, "Subject").unwrap();
    assert_eq!(subject, "=?utf-8?Q?Auto:_Gr=C3=BC=C3=9Fe?=");
    assert_eq!(decoded(&subject), "Auto: Grüße");
    // No subject at all.
    let m = "From: a@example.org\r\nTo: bob@example.com\r\n\r\n";
    let reply = vacation_reply(m.as_bytes(), &e, &vacation(), "h", now());
    assert_eq!(header_of(&reply, "Subject").unwrap(), "Automated reply");
}

#[test]
fn long_subjects_and_reasons_are_cut() {
    let e = env("alice@example.org", "bob@example.com");
    let m = format!(
        "From: a@example.org\r\nTo: bob@example.com\r\nSubject: {}\r\n\r\n",
        "é".repeat(5000)
    );
    let mut v = vacation();
    v.reason = "x".repeat(MAX_REASON * 2);
    let reply = vacation_reply(m.as_bytes(), &e, &v, "h", now());
    let subject = decoded(&header_of(&reply, "Subject").unwrap());
    assert_eq!(subject.chars().count(), MAX_SUBJECT);
    for line in text(&reply).split("\r\n") {
        assert!(line.len() <= 998, "line of {}", line.len());
    }
    assert!(reply.len() < MAX_REASON + MAX_REASON / 10 + 4096);
}

#[test]
fn non_ascii_reasons_are_quoted_printable() {
    let e = env("alice@example.org", "bob@example.com");
    let mut v = vacation();
    v.reason = "Je suis absent = été.\nA bientôt ".to_string();
    let reply = vacation_reply(PLAIN.as_bytes(), &e, &v, "h", now());
    let (_, body) = split_message(&reply);
    assert_eq!(
        text(body),
        "Je suis absent =3D =C3=A9t=C3=A9.\r\nA bient=C3=B4t=20\r\n"
    );
    assert_eq!(
        header_of(&reply, "Content-Transfer-Encoding").unwrap(),
        "quoted-printable"
    );
}

#[test]
fn a_mime_reason_is_the_body_entity() {
    let e = env("alice@example.org", "bob@example.com");
    let mut v = vacation();
    v.mime = true;
    v.reason = "Content-Type: text/html; charset=utf-8\n\n<p>Away</p>\n".to_string();
    let reply = vacation_reply(PLAIN.as_bytes(), &e, &v, "h", now());
    assert_eq!(
        header_of(&reply, "Content-Type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(
        fields(&reply)
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case("content-type"))
            .count(),
        1
    );
    let (_, body) = split_message(&reply);
    assert_eq!(text(body), "<p>Away</p>\r\n");
}

// --- reject ---

#[test]
fn the_bounce_is_an_mdn_with_three_parts() {
    let e = env("alice@example.org", "bob@example.com");
    let bounce =
        reject_bounce(PLAIN.as_bytes(), &e, "No thanks.", "mx.example.com", now()).unwrap();
    let all = text(&bounce);
    assert_eq!(header_of(&bounce, "To").unwrap(), "<alice@example.org>");
    assert_eq!(
        header_of(&bounce, "Auto-Submitted").unwrap(),
        "auto-replied (rejected)"
    );
    let ct = header_of(&bounce, "Content-Type").unwrap();
    assert!(ct.starts_with("multipart/report; report-type=disposition-notification;"));
    let boundary = ct
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert_eq!(all.matches(&format!("--{boundary}\r\n")).count(), 3);
    assert!(all.ends_with(&format!("--{boundary}--\r\n")));
    assert!(all.contains("No thanks."));
    assert!(all.contains("Reporting-UA: mx.example.com; Darius Sieve\r\n"));
    assert!(all.contains("Final-Recipient: rfc822; bob@example.com\r\n"));
    assert!(all.contains("Original-Message-ID: <m1@example.org>\r\n"));
    assert!(all.contains("Disposition: automatic-action/MDN-sent-automatically; deleted\r\n"));
    assert!(all.contains("Content-Type: text/rfc822-headers\r\n\r\nFrom: Alice"));
    assert!(!all.contains("Shall we?"), "the body is not quoted");
}

#[test]
fn no_bounce_to_the_null_sender_and_the_quoted_header_is_bounded() {
    assert!(reject_bounce(PLAIN.as_bytes(), &env("", "b@x"), "r", "h", now()).is_none());
    let mut m = String::from("From: a@example.org\r\n");
    while m.len() < MAX_QUOTED_HEADER * 2 {
        m.push_str("X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    m.push_str("\r\nbody");
    let bounce =
        reject_bounce(m.as_bytes(), &env("a@example.org", "b@x"), "r", "h", now()).unwrap();
    assert!(bounce.len() < MAX_QUOTED_HEADER + 4096);
    assert!(text(&bounce).contains("X-Filler: 0123456789012345678901234567890123456789\r\n\r\n--"));
}

// --- mailto ---

#[test]
fn mailto_uris_of_rfc_6068_and_rfc_5436_parse() {
    let m = parse_mailto("mailto:alm@example.com").unwrap();
    assert_eq!(m.to, ["alm@example.com"]);
    let m = parse_mailto("mailto:infobot@example.com?subject=current-issue").unwrap();
    assert_eq!(m.subject.as_deref(), Some("current-issue"));
    let m = parse_mailto("mailto:?to=addr1@an.example,addr2@an.example").unwrap();
    assert_eq!(m.to, ["addr1@an.example", "addr2@an.example"]);
    let m = parse_mailto("mailto:addr1@an.example?to=addr2@an.example").unwrap();
    assert_eq!(m.to, ["addr1@an.example", "addr2@an.example"]);
    let m = parse_mailto("mailto:joe@example.com?cc=bob@example.com&body=hello").unwrap();
    assert_eq!(m.cc, ["bob@example.com"]);
    assert_eq!(m.body.as_deref(), Some("hello"));
    let m = parse_mailto("mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E")
        .unwrap();
    assert_eq!(
        m.headers,
        [(
            "In-Reply-To".to_string(),
            "<3469A91.D10AF4C@example.com>".to_string()
        )]
    );
    let m = parse_mailto("mailto:%22not%40me%22@example.org").unwrap();
    assert_eq!(m.to, ["\"not@me\"@example.org"]);
    let m = parse_mailto("mailto:user@example.org?subject=caf%C3%A9").unwrap();
    assert_eq!(m.subject.as_deref(), Some("café"));
    // RFC 5436 §2.3: unsafe fields from the URI are dropped.
    let m = parse_mailto(
        "mailto:a@example.org?from=evil@x&sender=e@x&received=x&auto-submitted=no&return-path=x",
    )
    .unwrap();
    assert!(m.headers.is_empty());
}

#[test]
fn bad_mailto_uris_are_refused() {
    for uri in [
        "",
        "mailto:",
        "http://example.org",
        "mailto:nobody",
        "mailto:a@b?to=%ZZ",
        "mailto:a@b%FF",
        "mailto:a b@c",
        "mailto:?subject=x",
        "mailto:a@b\r\nx",
    ] {
        assert!(!mailto_is_valid(uri), "{uri:?}");
    }
    assert!(mailto_is_valid("MAILTO:a@example.org"));
    let many = format!(
        "mailto:?to={}",
        vec!["a@b.example"; MAX_MAILTO_RECIPIENTS + 1].join(",")
    );
    assert_eq!(parse_mailto(&many), Err("too-many-recipients"));
    let long = format!("mailto:a@b?body={}", "x".repeat(MAX_MAILTO));
    assert_eq!(parse_mailto(&long), Err("too-long"));
}

#[test]
fn the_notification_message() {
    let e = env("alice@example.org", "bob@example.com");
    let mut n = notify(
        "mailto:alm@example.com?cc=c@example.com&bcc=hidden@example.com&subject=hi&from=evil@x",
    );
    n.importance = 1;
    let out = notify_mailto(PLAIN.as_bytes(), &e, &n, "mx", now()).unwrap();
    assert_eq!(out.sender, "", "sent from <>");
    assert_eq!(
        out.recipients,
        ["alm@example.com", "c@example.com", "hidden@example.com"]
    );
    let m = &out.message;
    assert_eq!(header_of(m, "From").unwrap(), "<bob@example.com>");
    assert_eq!(header_of(m, "To").unwrap(), "<alm@example.com>");
    assert_eq!(header_of(m, "Cc").unwrap(), "<c@example.com>");
    assert!(header_of(m, "Bcc").is_none());
    assert_eq!(header_of(m, "Subject").unwrap(), "hi");
    assert_eq!(header_of(m, "Auto-Submitted").unwrap(), "auto-notified");
    assert_eq!(header_of(m, "Importance").unwrap(), "high");
    assert!(!text(m).contains("evil"));
    let (_, body) = split_message(m);
    assert!(
        text(body).contains("Alice <alice@example.org>"),
        "{}",
        text(body)
    );

    // :message wins for the subject; the default subject names the original.
    let mut n = notify("mailto:alm@example.com");
    n.message = Some("[SIEVE] urgent".to_string());
    n.from = Some("sieve@example.com".to_string());
    let out = notify_mailto(PLAIN.as_bytes(), &e, &n, "mx", now()).unwrap();
    assert_eq!(
        header_of(&out.message, "Subject").unwrap(),
        "[SIEVE] urgent"
    );
    assert_eq!(
        header_of(&out.message, "From").unwrap(),
        "<sieve@example.com>"
    );
    let out = notify_mailto(
        PLAIN.as_bytes(),
        &e,
        &notify("mailto:alm@example.com"),
        "mx",
        now(),
    )
    .unwrap();
    assert_eq!(
        header_of(&out.message, "Subject").unwrap(),
        "[SIEVE] Alice <alice@example.org>: Lunch?"
    );
}

#[test]
fn no_notification_about_an_auto_submitted_message_or_with_a_bad_uri() {
    let e = env("alice@example.org", "bob@example.com");
    let m = with("Auto-Submitted: auto-generated");
    assert_eq!(
        notify_mailto(
            m.as_bytes(),
            &e,
            &notify("mailto:alm@example.com"),
            "mx",
            now()
        ),
        Err("auto-submitted")
    );
    assert!(notify_mailto(PLAIN.as_bytes(), &e, &notify("xmpp:a@b"), "mx", now()).is_err());
}

// --- redirect ---

#[test]
fn redirected_messages_carry_the_trace_and_loops_are_seen() {
    let (header, body) = split_message(PLAIN.as_bytes());
    let out = redirect_message(header, body, "bob@example.com");
    assert!(text(&out).starts_with("X-Sieve-Redirected-By: <bob@example.com>\r\nFrom: Alice"));
    assert!(text(&out).ends_with("\r\n\r\nShall we?\r\n"));
    assert!(redirect_loops(&out, "bob@example.com"));
    assert!(redirect_loops(&out, "BOB+x@example.com"));
    assert!(!redirect_loops(&out, "carol@example.com"));
    assert!(!redirect_loops(PLAIN.as_bytes(), "bob@example.com"));
    // A header given without its blank line still gets one before the body.
    let out = redirect_message(b"Subject: x", b"body", "b@c");
    assert_eq!(
        text(&out),
        "X-Sieve-Redirected-By: <b@c>\r\nSubject: x\r\n\r\nbody"
    );
}

#[test]
fn nothing_panics_on_hostile_bytes() {
    let e = env("a@b", "c@d");
    for raw in [
        &b""[..],
        b"\r\n",
        b":\r\n",
        b" folded first\r\n",
        b"\xff\xfe: \xff\r\n\r\n",
        b"Subject: =?utf-8?B?////?=\r\n",
        b"To: @,@@,<>,\"\r\n",
    ] {
        let _ = vacation_refusal(raw, &e, &vacation(), &[]);
        let _ = vacation_reply(raw, &e, &vacation(), "h", now());
        let _ = reject_bounce(raw, &e, "r", "h", now());
        let _ = notify_mailto(raw, &e, &notify("mailto:x@y"), "h", now());
        let _ = redirect_loops(raw, "a@b");
    }
}
