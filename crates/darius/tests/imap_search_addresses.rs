//! SEARCH FROM / TO / CC / BCC over a real socket on addresses written with comments, folding,
//! obsolete spacing, groups, routes and encoded display names (RFC 3501 §6.4.4, RFC 5322 §3.4
//! and §4.4): the parsed address is found as well as the text as written. The headers are the
//! tricky address cases of the shared MIME corpus (`address-comments`, `address-named-group-
//! members`, `address-invalid-garbage`, `rfc2047-iso-8859-1-from`), the outside compliance
//! run's `<user-from (comment)@ (comment) domain.org>`, and RFC 2047 display names (compared
//! decoded, as Cyrus and Dovecot compare them).
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

/// The messages, in order: message N of the mailbox is `MESSAGES[N - 1]`.
const MESSAGES: &[&str] = &[
    // 1: the compliance run's case.
    "From: <user-from (comment)@ (comment) domain.org>\r\nTo: x@y.org\r\n",
    // 2: corpus address-comments.
    "From: john@example.com (John (the) Doe)\r\n\
     To: (leading) bob (x) @ (y) example.net (trailing), <carol(c)@example.com>\r\n",
    // 3: corpus address-named-group-members.
    "From: alice@example.org\r\n\
     To: Team Blue: \"Bob B.\" <bob@example.net>, carol@example.com; , dave@example.com\r\n\
     Cc: Nobody:;\r\n",
    // 4: corpus rfc2047-iso-8859-1-from.
    "From: =?iso-8859-1?Q?Andr=E9_P=E9rez?= <andre@example.fr>\r\nTo: bob@example.net\r\n",
    // 5: RFC 5322 §4.4 obs-local-part / obs-domain spacing, folding inside an address,
    //    comments around the @.
    "From: john . doe @ example . org\r\n\
     Cc: Carol\r\n <carol @\r\n example.com>\r\n\
     Bcc: <secret(x)@(y)example.com>\r\n",
    // 6: corpus address-invalid-garbage (unclosed angle bracket).
    "From: <broken@example.org\r\nTo: @, bob@example.net,, ,\r\nCc: a@b@c\r\n",
    // 7: a quoted display name with a comma, an obs-route.
    "From: \"Doe, John\" <jd@x.org>\r\nTo: <@route.net:joe@c.net>\r\n",
    // 8: an encoded display name before an address with a comment in it.
    "From: =?iso-8859-1?Q?Andr=E9?= <andre (x) @ example.fr>\r\n",
];

fn mailbox(server: &common::Server) -> Client {
    let mut c = Client::login(server.imap_port, "alice");
    for (i, header) in MESSAGES.iter().enumerate() {
        let message = format!("{header}Subject: m{}\r\n\r\nbody\r\n", i + 1);
        c.send(format!("a{i} APPEND INBOX {{{}+}}\r\n{message}\r\n", message.len()).as_bytes());
        let r = c.until(&format!("a{i}"));
        assert!(last(&r).contains("OK"), "{r:?}");
    }
    let r = c.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    c
}

/// The message numbers `SEARCH <criteria>` answers.
fn search(c: &mut Client, criteria: &str) -> Vec<u32> {
    let r = c.cmd("q", &format!("SEARCH {criteria}"));
    assert!(last(&r).starts_with("q OK"), "{criteria}: {r:?}");
    let line = r.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    line["* SEARCH".len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn address_keys_find_the_parsed_address_as_well_as_the_text() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = mailbox(&server);
    let cases: &[(&str, &[u32])] = &[
        // Found only through the parsed address (the text has comments or spaces in it).
        ("FROM user-from@domain.org", &[1]),
        ("FROM USER-FROM@Domain.ORG", &[1]),
        ("FROM <user-from@domain.org>", &[1]),
        ("TO bob@example.net", &[2, 3, 4, 6]),
        ("TO carol@example.com", &[2, 3]),
        ("FROM john.doe@example.org", &[5]),
        ("FROM \"<john.doe@example.org>\"", &[5]),
        ("CC carol@example.com", &[5]),
        ("BCC secret@example.com", &[5]),
        // Group members, routes, display names.
        ("TO dave@example.com", &[3]),
        ("TO \"Team Blue\"", &[3]),
        ("CC nobody", &[3]),
        ("TO joe@c.net", &[7]),
        ("FROM \"Doe, John\"", &[7]),
        ("FROM jd@x.org", &[7]),
        ("FROM andre@example.fr", &[4, 8]),
        ("CHARSET UTF-8 FROM \"Andr\u{e9} P\u{e9}rez\"", &[4]),
        // The decoded display name and the parsed address in one needle.
        ("CHARSET UTF-8 FROM \"Andr\u{e9} <andre@example.fr>\"", &[8]),
        ("FROM broken@example.org", &[6]),
        // The text as written still counts: comments are text of the field (RFC 3501 §6.4.4).
        ("FROM \"(comment)\"", &[1]),
        ("FROM \"John (the) Doe\"", &[2]),
        ("TO \"(leading) bob\"", &[2]),
        // No false hits, and the keys combine.
        ("FROM nobody@domain.org", &[]),
        ("FROM user-from@domain.com", &[]),
        ("TO user-from@domain.org", &[]),
        ("NOT FROM user-from@domain.org", &[2, 3, 4, 5, 6, 7, 8]),
        ("OR TEXT no-such-text FROM user-from@domain.org", &[1]),
        ("TEXT body FROM user-from@domain.org", &[1]),
        ("FROM \"\"", &[1, 2, 3, 4, 5, 6, 7, 8]),
        ("BCC \"\"", &[5]),
    ];
    let mut wrong = Vec::new();
    for (criteria, want) in cases {
        let got = search(&mut c, criteria);
        if got != *want {
            wrong.push(format!("SEARCH {criteria}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
