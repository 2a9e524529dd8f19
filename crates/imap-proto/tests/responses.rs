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
