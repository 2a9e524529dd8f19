//! Reply encoding (RFC 5321 §4.2, RFC 2034 §4).

use lmtp_proto::{codes, Reply};

fn encoded(reply: &Reply) -> String {
    String::from_utf8(reply.to_bytes()).expect("replies are UTF-8")
}

#[test]
fn one_line_with_enhanced_code() {
    assert_eq!(
        encoded(&Reply::new(250, codes::OK, "ok")),
        "250 2.0.0 ok\r\n"
    );
}

#[test]
fn empty_enhanced_code_means_none() {
    assert_eq!(
        encoded(&Reply::new(354, "", "go ahead")),
        "354 go ahead\r\n"
    );
    assert_eq!(Reply::new(354, "", "x").enhanced, None);
}

#[test]
fn multiline_repeats_the_enhanced_code_on_every_line() {
    let reply = Reply::multiline(
        250,
        Some("2.0.0"),
        vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
    );
    assert_eq!(
        encoded(&reply),
        "250-2.0.0 a\r\n250-2.0.0 b\r\n250 2.0.0 c\r\n"
    );
}

#[test]
fn lhlo_capability_list_without_enhanced_code() {
    let lines = [
        "mx.example",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(
        encoded(&Reply::multiline(250, None, lines)),
        "250-mx.example\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n"
    );
}

#[test]
fn cr_and_lf_in_text_cannot_split_the_reply() {
    assert_eq!(
        encoded(&Reply::new(550, "5.1.1", "no\r\n250 such\ruser\n")),
        "550 5.1.1 no250 suchuser\r\n"
    );
    assert_eq!(
        encoded(&Reply::multiline(
            250,
            Some("2.0.0\r\n"),
            vec!["x\n".to_owned(), "y".to_owned()]
        )),
        "250-2.0.0 x\r\n250 2.0.0 y\r\n"
    );
}

#[test]
fn empty_text_and_empty_line_list() {
    assert_eq!(encoded(&Reply::new(250, "", "")), "250\r\n");
    assert_eq!(encoded(&Reply::new(250, "2.0.0", "")), "250 2.0.0\r\n");
    assert_eq!(encoded(&Reply::multiline(221, None, vec![])), "221\r\n");
    assert_eq!(
        encoded(&Reply::multiline(
            250,
            None,
            vec![String::new(), "x".to_owned()]
        )),
        "250-\r\n250 x\r\n"
    );
}

#[test]
fn encode_appends_to_existing_output() {
    let mut out = b"250 2.1.5 ok\r\n".to_vec();
    Reply::new(452, codes::MAILBOX_FULL_TEMPORARY, "over quota").encode(&mut out);
    assert_eq!(out, b"250 2.1.5 ok\r\n452 4.2.2 over quota\r\n");
}

#[test]
fn positive_replies() {
    assert!(Reply::new(250, "", "").is_positive());
    assert!(Reply::new(354, "", "").is_positive());
    assert!(!Reply::new(451, "", "").is_positive());
    assert!(!Reply::new(550, "", "").is_positive());
}
