//! The DATA body: dot-unstuffing, end detection (also split inside the terminator), bare LF and
//! NUL reporting, the size limit, and a property test: dot-stuff → split anywhere → decode gives
//! back the original message.

use lmtp_proto::{dot_stuff, DataDecoder, DataStatus};
use proptest::prelude::*;

/// Decodes `input` fed in pieces of `chunk` bytes; returns (message, consumed, status, decoder).
fn decode_in_chunks(
    input: &[u8],
    chunk: usize,
    max: u64,
) -> (Vec<u8>, usize, DataStatus, DataDecoder) {
    let mut decoder = DataDecoder::new(max);
    let mut out = Vec::new();
    let mut used = 0;
    let mut status = DataStatus::More;
    while used < input.len() && status == DataStatus::More {
        let end = (used + chunk).min(input.len());
        let (n, s) = decoder.feed(&input[used..end], &mut out);
        used += n;
        status = s;
    }
    (out, used, status, decoder)
}

fn decode(input: &[u8]) -> (Vec<u8>, usize, DataStatus) {
    let (out, used, status, _) = decode_in_chunks(input, input.len().max(1), u64::MAX);
    (out, used, status)
}

#[test]
fn terminator_crlf_belongs_to_the_last_line() {
    assert_eq!(
        decode(b"a\r\n.\r\n"),
        (b"a\r\n".to_vec(), 6, DataStatus::Done)
    );
}

#[test]
fn lone_dot_first_line_is_an_empty_message() {
    assert_eq!(decode(b".\r\n"), (Vec::new(), 3, DataStatus::Done));
    assert_eq!(decode(b".\n"), (Vec::new(), 2, DataStatus::Done));
}

#[test]
fn leading_dots_are_unstuffed() {
    let (out, _, status) = decode(b"..\r\n...x\r\n.y\r\nz.\r\n.\r\n");
    assert_eq!(status, DataStatus::Done);
    assert_eq!(out, b".\r\n..x\r\ny\r\nz.\r\n");
}

#[test]
fn bytes_after_the_terminator_are_not_consumed() {
    let input = b"hi\r\n.\r\nQUIT\r\n";
    assert_eq!(decode(input), (b"hi\r\n".to_vec(), 7, DataStatus::Done));
}

#[test]
fn bare_lf_terminators_are_accepted_and_reported() {
    let mut decoder = DataDecoder::new(u64::MAX);
    let mut out = Vec::new();
    assert_eq!(decoder.feed(b"a\nb\n.\nX", &mut out), (6, DataStatus::Done));
    assert_eq!(out, b"a\nb\n");
    assert!(decoder.saw_bare_lf());

    let mut decoder = DataDecoder::new(u64::MAX);
    let mut out = Vec::new();
    assert_eq!(decoder.feed(b"a\r\n.\n", &mut out), (5, DataStatus::Done));
    assert!(decoder.saw_bare_lf(), "the terminator's own bare LF counts");
}

#[test]
fn crlf_body_reports_no_bare_lf_even_when_split_between_cr_and_lf() {
    let (out, _, status, decoder) = decode_in_chunks(b"a\r\nb\r\n.\r\n", 1, u64::MAX);
    assert_eq!(
        (out.as_slice(), status),
        (&b"a\r\nb\r\n"[..], DataStatus::Done)
    );
    assert!(!decoder.saw_bare_lf());
}

#[test]
fn nul_is_reported() {
    let (_, _, _, decoder) = decode_in_chunks(b"a\0b\r\n.\r\n", 2, u64::MAX);
    assert!(decoder.saw_nul());
    let (_, _, _, decoder) = decode_in_chunks(b"ab\r\n.\r\n", 2, u64::MAX);
    assert!(!decoder.saw_nul());
}

#[test]
fn dot_cr_not_followed_by_lf_is_a_stuffed_line() {
    assert_eq!(
        decode(b".\rx\r\n.\r\n").0,
        b"\rx\r\n".to_vec(),
        "RFC 5321 §4.5.2: the dot is dropped, the rest of the line kept"
    );
    assert_eq!(decode(b".\r\r\n.\r\n").0, b"\r\r\n".to_vec());
}

#[test]
fn dot_inside_a_line_or_after_bare_cr_is_not_special() {
    let (out, _, status) = decode(b"a\r.\r\nb\r\n.\r\n");
    assert_eq!(status, DataStatus::Done);
    assert_eq!(out, b"a\r.\r\nb\r\n");
}

#[test]
fn terminator_split_at_every_point() {
    let input = b"line one\r\n..two\r\n.\r\nNEXT";
    for chunk in 1..input.len() {
        let (out, used, status, _) = decode_in_chunks(input, chunk, u64::MAX);
        assert_eq!(out, b"line one\r\n.two\r\n", "chunk {chunk}");
        assert_eq!(
            (used, status),
            (input.len() - 4, DataStatus::Done),
            "chunk {chunk}"
        );
    }
}

#[test]
fn incomplete_body_consumes_everything_and_wants_more() {
    let mut decoder = DataDecoder::new(u64::MAX);
    let mut out = Vec::new();
    assert_eq!(decoder.feed(b"a\r\n.", &mut out), (4, DataStatus::More));
    assert!(!decoder.is_done());
    assert_eq!(decoder.feed(b"\r", &mut out), (1, DataStatus::More));
    assert_eq!(decoder.feed(b"\nrest", &mut out), (1, DataStatus::Done));
    assert!(decoder.is_done());
    assert_eq!(decoder.feed(b"more", &mut out), (0, DataStatus::Done));
    assert_eq!(out, b"a\r\n");
}

#[test]
fn over_the_limit_keeps_consuming_but_stops_appending() {
    let input = b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n";
    let (out, used, status, decoder) = decode_in_chunks(input, 5, 15);
    assert_eq!((used, status), (input.len() - 6, DataStatus::Done));
    assert!(decoder.too_big());
    assert_eq!(decoder.size(), 24);
    assert!(out.len() <= 15, "kept {} bytes", out.len());
}

#[test]
fn exactly_at_the_limit_is_not_too_big() {
    let (out, _, status, decoder) = decode_in_chunks(b"0123\r\n.\r\n", 3, 6);
    assert_eq!(status, DataStatus::Done);
    assert!(!decoder.too_big());
    assert_eq!(out, b"0123\r\n");
    assert_eq!(decoder.size(), 6);
}

#[test]
fn zero_limit_accepts_only_the_empty_message() {
    let (_, _, _, decoder) = decode_in_chunks(b".\r\n", 1, 0);
    assert!(!decoder.too_big());
    let (out, _, _, decoder) = decode_in_chunks(b"x\r\n.\r\n", 1, 0);
    assert!(decoder.too_big());
    assert!(out.is_empty());
}

#[test]
fn dot_stuff_examples() {
    let stuffed = |m: &[u8]| {
        let mut out = Vec::new();
        dot_stuff(m, &mut out);
        out
    };
    assert_eq!(stuffed(b""), b".\r\n");
    assert_eq!(stuffed(b"a\r\n"), b"a\r\n.\r\n");
    assert_eq!(stuffed(b".\r\n.x\n"), b"..\r\n..x\n.\r\n");
    assert_eq!(stuffed(b"no end"), b"no end\r\n.\r\n");
}

/// Messages built from lines that like to trip a decoder: dots, lone dots, CRs, bare LFs.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b".".to_vec()),
        Just(b"..".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b".\r\n".to_vec()),
        Just(b"\r\n.\r\n".to_vec()),
        Just(b"\n.\n".to_vec()),
        Just(b"\0".to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
        "[ -~]{0,20}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn stuff_split_decode_round_trips(msg in message(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8), tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut stream = Vec::new();
        dot_stuff(&msg, &mut stream);
        let body_len = stream.len();
        stream.extend_from_slice(&tail);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(stream.len());
        points.sort_unstable();

        let mut decoder = DataDecoder::new(u64::MAX);
        let mut out = Vec::new();
        let mut used = 0;
        let mut status = DataStatus::More;
        for end in points {
            if status == DataStatus::Done {
                break;
            }
            // Unconsumed bytes are offered again with the next piece, as a server's buffer would.
            let (n, s) = decoder.feed(&stream[used..end], &mut out);
            used += n;
            status = s;
        }
        prop_assert_eq!(status, DataStatus::Done);
        prop_assert_eq!(used, body_len);
        let mut expected = msg.clone();
        if !msg.is_empty() && !msg.ends_with(b"\n") {
            expected.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(decoder.size(), expected.len() as u64);
        prop_assert!(!decoder.too_big());
        prop_assert_eq!(decoder.saw_nul(), msg.contains(&0));
    }

    #[test]
    fn limit_never_exceeded_and_size_counts_everything(msg in message(), max in 0u64..64, chunk in 1usize..16) {
        let mut stream = Vec::new();
        dot_stuff(&msg, &mut stream);
        let (out, used, status, decoder) = decode_in_chunks(&stream, chunk, max);
        prop_assert_eq!((used, status), (stream.len(), DataStatus::Done));
        let (full, _, _) = decode(&stream);
        prop_assert_eq!(decoder.size(), full.len() as u64);
        prop_assert_eq!(decoder.too_big(), full.len() as u64 > max);
        prop_assert!(out.len() as u64 <= max);
        if !decoder.too_big() {
            prop_assert_eq!(out, full);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_does_not_matter(input in prop::collection::vec(any::<u8>(), 0..256), chunk in 1usize..9) {
        let (whole, whole_used, whole_status) = decode(&input);
        let (split, used, status, _) = decode_in_chunks(&input, chunk, u64::MAX);
        prop_assert_eq!((whole, whole_used, whole_status), (split, used, status));
    }
}
