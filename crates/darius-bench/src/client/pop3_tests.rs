use super::*;
use pop3_proto::DotStuffer;
use proptest::prelude::*;

/// The server side: `body` dot-stuffed and terminated, as `pop3_proto::DotStuffer` sends RETR.
fn stuffed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = DotStuffer::new();
    d.feed(body, &mut out);
    d.finish(&mut out);
    out
}

/// Reads `wire` in pieces of `chunk` bytes; the body and how much was consumed.
fn read(wire: &[u8], chunk: usize, max: usize) -> Result<(Vec<u8>, usize), TooLarge> {
    let mut r = MultiLine::new(max);
    let mut used = 0;
    for piece in wire.chunks(chunk.max(1)) {
        used += r.feed(piece)?;
        if r.is_done() {
            return Ok((r.into_body(), used));
        }
    }
    panic!("no terminator in {:?}", String::from_utf8_lossy(wire));
}

#[test]
fn dots_are_unstuffed_and_the_terminator_ends_the_body() {
    let wire = b"..a\r\nb.\r\n...\r\n.x\r\n.\r\n+OK next\r\n";
    for chunk in [1, 2, 3, 5, 100] {
        let (body, used) = read(wire, chunk, 1 << 20).unwrap();
        assert_eq!(body, b".a\r\nb.\r\n..\r\nx\r\n", "chunk {chunk}");
        assert_eq!(
            &wire[used..],
            b"+OK next\r\n",
            "the next response is left alone"
        );
    }
    assert_eq!(read(b".\r\n", 1, 0).unwrap().0, b"");
}

#[test]
fn a_body_over_the_limit_is_refused_before_it_is_held() {
    let wire = stuffed(&b"0123456789\r\n".repeat(100));
    assert_eq!(read(&wire, 7, 1199).unwrap_err(), TooLarge(1199));
    assert_eq!(read(&wire, 7, 1200).unwrap().0.len(), 1200);
    // One endless line: refused as it grows, not at its end.
    let mut r = MultiLine::new(64);
    let mut refused = false;
    for _ in 0..100 {
        if r.feed(&[b'a'; 16]).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused);
}

#[test]
fn stat_and_scan_listings_are_read() {
    assert_eq!(parse_stat("2 320"), Some((2, 320)));
    assert_eq!(parse_stat("2 320 octets"), Some((2, 320)));
    assert_eq!(parse_stat("two 320"), None);
    assert_eq!(parse_stat("2"), None);
    assert_eq!(
        parse_scan_listing(b"1 120\r\n2 200\r\n"),
        Some(vec![120, 200])
    );
    assert_eq!(parse_scan_listing(b""), Some(vec![]));
    assert_eq!(parse_scan_listing(b"1 120\r\n3 200\r\n"), None, "a gap");
    assert_eq!(parse_scan_listing(b"1 x\r\n"), None);
}

proptest! {
    /// Whatever the body (CRLF lines, dots anywhere) and however the bytes arrive, the reader
    /// gives back exactly what the server's dot-stuffer was given.
    #[test]
    fn the_reader_undoes_the_servers_dot_stuffing(
        lines in proptest::collection::vec("[.a-z]{0,6}", 0..20),
        chunk in 1usize..40,
    ) {
        let body: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
        let mut wire = stuffed(&body);
        let len = wire.len();
        wire.extend_from_slice(b"+OK\r\n");
        let (got, used) = read(&wire, chunk, body.len()).unwrap();
        prop_assert_eq!(got, body);
        prop_assert_eq!(used, len);
    }
}
