use super::*;

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    assert_eq!(message(42, 7), message(42, 7));
    assert_ne!(message(42, 7), message(43, 7));
    assert_ne!(message(42, 7), message(42, 8));
}

#[test]
fn sizes_stay_between_2_and_60_kb() {
    for i in 0..400 {
        let n = message(1, i).len();
        assert!((2048..=61440 + 4096).contains(&n), "message {i}: {n} bytes");
    }
}

#[test]
fn line_ends_are_crlf_and_lines_are_short() {
    for i in 0..100 {
        let m = message(5, i);
        for (j, w) in m.windows(2).enumerate() {
            assert!(!(w[1] == b'\n' && w[0] != b'\r'), "bare LF in {i} at {j}");
        }
        let text = String::from_utf8_lossy(&m);
        assert!(
            text.split("\r\n").all(|l| l.len() <= 998),
            "long line in {i}"
        );
    }
}

#[test]
fn mime_mix_is_present() {
    let (mut plain, mut alt, mut mixed, mut fwd) = (0, 0, 0, 0);
    for i in 0..500 {
        let m = String::from_utf8_lossy(&message(9, i)).into_owned();
        if m.contains("message/rfc822") {
            fwd += 1;
        } else if m.contains("multipart/alternative") {
            alt += 1;
        } else if m.contains("multipart/mixed") {
            mixed += 1;
        } else {
            plain += 1;
        }
        assert!(m.contains(&format!("Message-ID: {}\r\n", message_id(9, i))));
        assert!(!m.contains(ABSENT_WORD));
    }
    for (kind, n) in [
        ("plain", plain),
        ("alt", alt),
        ("mixed", mixed),
        ("fwd", fwd),
    ] {
        assert!(n > 20, "{kind}: only {n} of 500");
    }
}

#[test]
fn encoded_words_and_replies_occur() {
    let all: String = (0..200)
        .map(|i| String::from_utf8_lossy(&message(3, i)).into_owned())
        .collect();
    assert!(all.contains("=?utf-8?B?"));
    assert!(all.contains("In-Reply-To: <"));
    assert!(all.contains("Content-Transfer-Encoding: quoted-printable"));
    assert!(all.contains("Content-Transfer-Encoding: base64"));
}

#[test]
fn mbox_output_quotes_from_lines() {
    let mut out = Vec::new();
    write_mbox(1, 3, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("From MAILER-DAEMON").count(), 3);
    assert!(!text.contains('\r'));
}

#[test]
fn unique_ids_differ_and_keep_the_rest() {
    let m = message(4, 2);
    let a = with_unique_id(&m, &delivery_tag(77, 1));
    let b = with_unique_id(&m, &delivery_tag(77, 2));
    assert_ne!(a, b);
    assert_eq!(a.len(), m.len() + "4d-1.".len());
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains("\r\nMessage-ID: <4d-1.2."));
}

#[test]
fn every_delivery_has_its_own_message_id_in_the_header() {
    let mut seen = std::collections::HashSet::new();
    for n in 0..200 {
        // Pool message n mod 50: the same message delivered again gets another Message-ID.
        let m = with_unique_id(&message(4, n % 50), &delivery_tag(77, n));
        let id = message_id_of(&m).unwrap();
        let original = message_id(4, n % 50);
        assert_eq!(id, format!("<{}.{}", delivery_tag(77, n), &original[1..]));
        assert!(seen.insert(id.to_owned()), "{id} twice");
    }
    // Forwarded messages carry another Message-ID in their body: the header's is the one.
    let fwd = (0..300)
        .map(|i| message(42, i))
        .find(|m| String::from_utf8_lossy(m).contains("Message-ID: <fwd"))
        .unwrap();
    assert!(!message_id_of(&fwd).unwrap().starts_with("<fwd"));
    assert_eq!(
        message_id_of(b"Subject: x\r\nFrom: y\r\n\r\nMessage-ID: <body@x>\r\n"),
        None
    );
}

#[test]
fn header_fields_are_seven_bit() {
    for i in 0..300 {
        let m = message(42, i);
        let end = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        assert!(m[..end].is_ascii(), "8-bit header in message {i}");
    }
}
