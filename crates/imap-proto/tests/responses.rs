//! Known-answer tests for the response encoder: value → bytes, from the examples of RFC 3501
//! §7/§8, RFC 9051 §7 and the extension RFCs. The same table feeds the imap-codec round trip in
//! `differential.rs`.
#![allow(clippy::unwrap_used)]

mod support;

use imap_proto::MailboxEncoding;

#[test]
fn rfc_examples_encode_byte_exactly() {
    for (response, expected) in support::responses::table() {
        let bytes = response.to_bytes(MailboxEncoding::ModifiedUtf7);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&expected),
            "{response:?}"
        );
    }
}

#[test]
fn utf8_mode_quotes_utf8_names_and_utf7_mode_encodes_them() {
    use imap_proto::command::Mailbox;
    use imap_proto::response::{Data, ListItem, MailboxAttr, Response};
    let list = Response::Data(Data::List(ListItem {
        attributes: vec![MailboxAttr::HasNoChildren],
        delimiter: Some('/'),
        mailbox: Mailbox::Other("Entwürfe".into()),
        extended: vec![],
    }));
    assert_eq!(
        list.to_bytes(MailboxEncoding::ModifiedUtf7),
        b"* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\n"
    );
    assert_eq!(
        list.to_bytes(MailboxEncoding::Utf8),
        "* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\n".as_bytes()
    );
}

#[test]
fn fetch_writer_with_streamed_literals_matches_encode() {
    use imap_proto::command::{Section, SectionText};
    use imap_proto::response::{BodyLabel, Data, FetchItem, FetchWriter, LiteralKind, Response};
    use types::Uid;
    let body = vec![b'x'; 5000];
    let binary = b"a\0b".repeat(400);
    let section = Section {
        part: vec![1],
        text: Some(SectionText::HeaderFields(vec!["From".into(), "a b".into()])),
    };
    let items = vec![
        FetchItem::Uid(Uid::new(9).unwrap()),
        FetchItem::BodySection {
            section: section.clone(),
            origin: Some(7),
            data: Some(body.clone()),
        },
        FetchItem::Binary {
            part: vec![2],
            data: Some(binary.clone()),
        },
        FetchItem::Rfc822(Some(b"small".to_vec())),
    ];
    let whole = Response::Data(Data::Fetch {
        seq: 3,
        items: items.clone(),
    });
    for encoding in [MailboxEncoding::ModifiedUtf7, MailboxEncoding::Utf8] {
        let mut out = Vec::new();
        let mut w = FetchWriter::begin(&mut out, 3, encoding);
        w.item(&mut out, &items[0]);
        let label = BodyLabel::Section {
            section: &section,
            origin: Some(7),
        };
        w.literal(&mut out, label, body.len() as u64, LiteralKind::Literal);
        out.extend_from_slice(&body);
        let label = BodyLabel::Binary { part: &[2] };
        w.literal(&mut out, label, binary.len() as u64, LiteralKind::Literal8);
        out.extend_from_slice(&binary);
        w.body(&mut out, BodyLabel::Rfc822, Some(b"small"));
        w.end(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&whole.to_bytes(encoding))
        );
    }
}

#[test]
fn rfc_example_responses_parse_back() {
    use imap_proto::parse_response;
    use imap_proto::response::Response;
    for (response, bytes) in support::responses::table() {
        let parsed = parse_response(&bytes, MailboxEncoding::ModifiedUtf7)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&bytes)));
        assert_eq!(
            parsed.to_bytes(MailboxEncoding::ModifiedUtf7),
            bytes,
            "{parsed:?}"
        );
        let normalised =
            matches!(&response, Response::Status(s) if s.text.is_empty() || s.text.contains('\n'));
        if !normalised {
            assert_eq!(parsed, response, "{}", String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn response_len_finds_response_boundaries_across_literals() {
    use imap_proto::response_len;
    let stream = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\na OK done\r\n";
    assert_eq!(response_len(stream), Some(31));
    assert_eq!(response_len(&stream[31..]), Some(11));
    for cut in 0..31 {
        assert_eq!(response_len(&stream[..cut]), None, "cut at {cut}");
    }
}

#[test]
fn response_line_literal_reads_the_literal_a_line_announces() {
    use imap_proto::response_line_literal;
    assert_eq!(response_line_literal(b"* 1 FETCH (BODY[] {5}\r\n"), Some(5));
    assert_eq!(
        response_line_literal(b"* 1 FETCH (BINARY[] ~{12}\r\n"),
        Some(12)
    );
    assert_eq!(response_line_literal(b"* 1 FETCH (BODY[] {5}"), Some(5));
    assert_eq!(response_line_literal(b"* OK done {5} later\r\n"), None);
    assert_eq!(response_line_literal(b"* OK {}\r\n"), None);
    assert_eq!(response_line_literal(b"* OK {x5}\r\n"), None);
    assert_eq!(response_line_literal(b"c)\r\n"), None);
}

#[test]
fn status_text_is_7bit_unless_utf8_is_on() {
    use imap_proto::response::{Response, StatusKind, StatusResponse};
    let r = Response::Status(StatusResponse::untagged(
        StatusKind::No,
        "Postfach „Entwürfe“ fehlt",
    ));
    assert_eq!(
        r.to_bytes(MailboxEncoding::ModifiedUtf7),
        b"* NO Postfach ?Entw?rfe? fehlt\r\n"
    );
    assert_eq!(
        r.to_bytes(MailboxEncoding::Utf8),
        "* NO Postfach „Entwürfe“ fehlt\r\n".as_bytes()
    );
}
