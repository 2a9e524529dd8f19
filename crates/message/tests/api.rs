//! Known answers for the public helpers: section numbering (RFC 3501 §6.4.5), BINARY decoding
//! (RFC 3516), RFC 2047 header decoding and SEARCH text extraction.
#![allow(clippy::unwrap_used)] // test code: a panic is a test failure

use message::{decode_body, decode_header_value, parse_date, scan, text_for_search, DecodeError};

/// The example structure of RFC 3501 §6.4.5 (BODY[<section>]).
fn rfc3501_example() -> Vec<u8> {
    let m = "Subject: example\r\nContent-Type: MULTIPART/MIXED; boundary=o\r\n\r\n\
--o\r\nContent-Type: text/plain\r\n\r\n1\r\n\
--o\r\nContent-Type: application/octet-stream\r\n\r\n2\r\n\
--o\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: three\r\nContent-Type: multipart/mixed; boundary=t\r\n\r\n\
--t\r\nContent-Type: text/plain\r\n\r\n3.1\r\n\
--t\r\nContent-Type: application/octet-stream\r\n\r\n3.2\r\n--t--\r\n\r\n\
--o\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n\
--f\r\nContent-Type: image/gif\r\n\r\n4.1\r\n\
--f\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: four-two\r\nContent-Type: multipart/mixed; boundary=g\r\n\r\n\
--g\r\nContent-Type: text/plain\r\n\r\n4.2.1\r\n\
--g\r\nContent-Type: multipart/alternative; boundary=h\r\n\r\n\
--h\r\nContent-Type: text/plain\r\n\r\n4.2.2.1\r\n\
--h\r\nContent-Type: text/richtext\r\n\r\n4.2.2.2\r\n--h--\r\n\r\n--g--\r\n\r\n--f--\r\n\r\n--o--\r\n";
    m.as_bytes().to_vec()
}

#[test]
fn rfc3501_section_numbering_example() {
    let raw = rfc3501_example();
    let cache = scan(&raw);
    let cases: &[(&[u32], &str, &str)] = &[
        (&[], "MULTIPART", "MIXED"),
        (&[1], "TEXT", "PLAIN"),
        (&[2], "APPLICATION", "OCTET-STREAM"),
        (&[3], "MESSAGE", "RFC822"),
        (&[3, 1], "TEXT", "PLAIN"),
        (&[3, 2], "APPLICATION", "OCTET-STREAM"),
        (&[4], "MULTIPART", "MIXED"),
        (&[4, 1], "IMAGE", "GIF"),
        (&[4, 2], "MESSAGE", "RFC822"),
        (&[4, 2, 1], "TEXT", "PLAIN"),
        (&[4, 2, 2], "MULTIPART", "ALTERNATIVE"),
        (&[4, 2, 2, 1], "TEXT", "PLAIN"),
        (&[4, 2, 2, 2], "TEXT", "RICHTEXT"),
    ];
    for (section, kind, subtype) in cases {
        let p = cache
            .part(section)
            .unwrap_or_else(|| panic!("no part {section:?}"));
        assert_eq!(
            (p.content_type.as_str(), p.subtype.as_str()),
            (*kind, *subtype),
            "{section:?}"
        );
        if kind == &"TEXT" && !section.is_empty() {
            let body = &raw[p.body_offset as usize..][..p.body_len as usize];
            let label: Vec<String> = section.iter().map(u32::to_string).collect();
            assert_eq!(body, label.join(".").as_bytes());
        }
    }
    // 3.HEADER / 3.TEXT are the embedded message's spans.
    let three = cache.part(&[3]).unwrap().message.as_deref().unwrap();
    let header = &raw[three.header_offset as usize..][..three.header_len as usize];
    assert!(header.starts_with(b"Subject: three\r\n") && header.ends_with(b"\r\n\r\n"));
    // 4.1.MIME is the part's own header.
    let gif = cache.part(&[4, 1]).unwrap();
    assert_eq!(
        &raw[gif.header_offset as usize..][..gif.header_len as usize],
        b"Content-Type: image/gif\r\n\r\n"
    );
    for missing in [&[0u32][..], &[5], &[1, 1], &[4, 3], &[4, 2, 2, 3]] {
        assert!(cache.part(missing).is_none(), "{missing:?}");
    }
}

#[test]
fn single_part_message_body_is_part_one() {
    let raw = b"Subject: s\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
    let cache = scan(raw);
    assert_eq!(cache.part(&[1]), cache.part(&[]));
    assert!(cache.part(&[2]).is_none());
    assert!(cache.part(&[1, 1]).is_none());
    assert_eq!(cache.header_len(), 12 + 26 + 2);
}

#[test]
fn binary_decodes_base64_and_quoted_printable_and_refuses_unknown() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n\
--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait=20\r\n\
--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
    let cache = scan(raw);
    assert_eq!(
        decode_body(raw, cache.part(&[1]).unwrap()).unwrap(),
        b"hello world"
    );
    assert_eq!(
        decode_body(raw, cache.part(&[2]).unwrap()).unwrap(),
        "café au lait ".as_bytes()
    );
    assert_eq!(
        decode_body(raw, cache.part(&[3]).unwrap()),
        Err(DecodeError::UnknownEncoding("X-UUENCODE".into()))
    );
    assert_eq!(
        decode_body(b"short", cache.part(&[1]).unwrap()),
        Err(DecodeError::OutOfRange)
    );
}

#[test]
fn rfc2047_words_decode_in_several_charsets() {
    let cases = [
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?windows-1252?Q?=80uro?=", "€uro"),
        ("=?shift_jis?B?g26DjQ==?=", "ハロ"),
        ("=?gb2312?B?1tDOxA==?=", "中文"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        ("plain =?iso-8859-1?q?caf=E9?=", "plain café"),
        ("raw UTF-8 Grüße", "raw UTF-8 Grüße"),
        ("folded\r\n line", "folded line"),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_header_value(raw.as_bytes()), want, "{raw}");
    }
}

#[test]
fn search_text_is_decoded_and_converted_to_utf8() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n\
--b\r\nContent-Type: text/html; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n8NLJ18XU\r\n\
--b\r\nContent-Type: image/png\r\n\r\nnot text\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner text\r\n--b--\r\n";
    let cache = scan(raw);
    let texts: Vec<String> = text_for_search(raw, &cache).collect();
    assert_eq!(texts, vec!["café", "Привет", "inner text"]);
}

#[test]
fn dates_for_sentbefore() {
    assert_eq!(
        parse_date("Tue, 05 Mar 2024 10:11:12 +0100"),
        Some((1_709_629_872, 60))
    );
    assert_eq!(parse_date("yesterday at noon, roughly"), None);
    // RFC 5322 Appendix A.5, unfolded: before the epoch, half-hour zone, comment.
    let a5 =
        "Thu,      13        Feb          1969      23:32               -0330 (Newfoundland Time)";
    assert_eq!(parse_date(a5), Some((-27_723_480, -210)));
}

#[test]
fn section_spans_follow_rfc3501() {
    let raw = rfc3501_example();
    let cache = scan(&raw);
    let text = |r: std::ops::Range<u64>| &raw[r.start as usize..r.end as usize];
    let top = cache.spans(&[]).unwrap();
    assert_eq!(top.whole, 0..raw.len() as u64);
    assert!(top.mime.is_none());
    assert!(text(top.header.unwrap()).starts_with(b"Subject: example\r\n"));
    assert!(text(top.text.unwrap()).starts_with(b"--o\r\n"));
    let three = cache.spans(&[3]).unwrap();
    assert_eq!(
        text(three.mime.unwrap()),
        b"Content-Type: message/rfc822\r\n\r\n"
    );
    assert!(text(three.header.unwrap()).starts_with(b"Subject: three\r\n"));
    assert!(text(three.text.unwrap()).starts_with(b"--t\r\n"));
    assert!(text(three.whole).starts_with(b"Subject: three\r\n"));
    let one = cache.spans(&[1]).unwrap();
    assert_eq!(text(one.whole), b"1");
    assert!(one.header.is_none() && one.text.is_none());
    assert!(cache.spans(&[9]).is_none());
}
