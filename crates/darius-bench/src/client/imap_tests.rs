//! The client's wire behaviour, checked against a scripted peer on an in-memory pipe: what it
//! writes, when it waits, and how it reads literals that arrive in pieces.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

const T: Duration = Duration::from_secs(5);

async fn read_exactly(server: &mut DuplexStream, n: usize) -> String {
    let mut buf = vec![0; n];
    server.read_exact(&mut buf).await.unwrap();
    String::from_utf8(buf).unwrap()
}

async fn client_with(greeting: &str) -> (ImapClient, DuplexStream) {
    let (near, mut far) = tokio::io::duplex(1 << 16);
    far.write_all(greeting.as_bytes()).await.unwrap();
    let client = ImapClient::greeted(Box::new(near), T).await.unwrap();
    (client, far)
}

#[tokio::test]
async fn synchronizing_literal_waits_for_continuation() {
    let (mut c, mut server) = client_with("* OK [CAPABILITY IMAP4rev1] hi\r\n").await;
    let script = tokio::spawn(async move {
        let head = read_exactly(&mut server, "b1 APPEND \"INBOX\" (\\Seen) {5}\r\n".len()).await;
        assert_eq!(head, "b1 APPEND \"INBOX\" (\\Seen) {5}\r\n");
        // Nothing more may arrive before the continuation.
        let early = tokio::time::timeout(Duration::from_millis(100), server.read_u8()).await;
        assert!(early.is_err(), "literal sent before '+'");
        server.write_all(b"+ go ahead\r\n").await.unwrap();
        assert_eq!(read_exactly(&mut server, 7).await, "hello\r\n");
        server
            .write_all(b"* 3 EXISTS\r\nb1 OK [APPENDUID 9 3] done\r\n")
            .await
            .unwrap();
    });
    let done = c.append("INBOX", "\\Seen", b"hello").await.unwrap();
    script.await.unwrap();
    assert!(done.is_ok());
    assert_eq!(done.code.unwrap().args, vec!["9", "3"]);
    assert_eq!(done.untagged, vec![Untagged::Exists(3)]);
}

#[tokio::test]
async fn literal_plus_sends_everything_at_once() {
    let (mut c, mut server) = client_with("* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n").await;
    let script = tokio::spawn(async move {
        let want = "b1 APPEND \"x\" {3+}\r\nabc\r\n";
        assert_eq!(read_exactly(&mut server, want.len()).await, want);
        server.write_all(b"b1 OK done\r\n").await.unwrap();
    });
    assert!(c.append("x", "", b"abc").await.unwrap().is_ok());
    script.await.unwrap();
}

#[tokio::test]
async fn server_literal_split_across_writes_is_read_whole() {
    let (mut c, mut server) = client_with("* OK hi\r\n").await;
    let script = tokio::spawn(async move {
        read_exactly(&mut server, "b1 FETCH 1 (BODY[])\r\n".len()).await;
        for piece in [
            "* 1 FETCH (BODY[] {10}\r\n",
            "12345",
            "\r\n789 UID 4)\r\n",
            "b1 OK\r\n",
        ] {
            server.write_all(piece.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let done = c.command("FETCH 1 (BODY[])").await.unwrap();
    script.await.unwrap();
    let Untagged::Fetch { attrs, .. } = &done.untagged[0] else {
        panic!("{:?}", done.untagged)
    };
    assert_eq!(attrs.body.as_deref(), Some(&b"12345\r\n789"[..]));
    assert_eq!(attrs.uid, Some(4));
}

#[tokio::test]
async fn wrong_tag_and_bye_are_errors() {
    let (mut c, mut server) = client_with("* OK hi\r\n").await;
    server.write_all(b"zz OK what\r\n").await.unwrap();
    assert!(matches!(
        c.command("NOOP").await,
        Err(ClientError::Malformed(_))
    ));
    server.write_all(b"* BYE going away\r\n").await.unwrap();
    assert!(matches!(c.command("NOOP").await, Err(ClientError::Bye(_))));
}

#[tokio::test]
async fn silence_is_a_timeout() {
    let (near, mut far) = tokio::io::duplex(1024);
    far.write_all(b"* OK hi\r\n").await.unwrap();
    let mut c = ImapClient::greeted(Box::new(near), Duration::from_millis(50))
        .await
        .unwrap();
    assert!(matches!(c.command("NOOP").await, Err(ClientError::Timeout)));
}

#[test]
fn quoting_escapes_quotes_and_backslashes() {
    assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
}

#[tokio::test]
async fn received_counts_every_response_byte_literals_included() {
    let greeting = "* OK [CAPABILITY IMAP4rev1] hi\r\n";
    let (mut c, mut server) = client_with(greeting).await;
    assert_eq!(c.received(), greeting.len() as u64);
    let reply = "* 1 FETCH (UID 4 BODY[] {5}\r\nhello)\r\nb1 OK done\r\n";
    let script = tokio::spawn(async move {
        let _ = read_exactly(&mut server, "b1 FETCH 1 BODY[]\r\n".len()).await;
        server.write_all(reply.as_bytes()).await.unwrap();
        server
    });
    let done = c.command("FETCH 1 BODY[]").await.unwrap();
    assert!(done.is_ok());
    assert_eq!(c.received(), (greeting.len() + reply.len()) as u64);
    drop(script.await.unwrap());
}

/// Reads one CRLF-terminated line the client wrote.
async fn read_line(server: &mut DuplexStream) -> String {
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        line.push(server.read_u8().await.unwrap());
    }
    String::from_utf8(line).unwrap()
}

#[tokio::test]
async fn authenticate_with_sasl_ir_answers_each_challenge_decoded() {
    let (mut c, mut server) = client_with("* OK [CAPABILITY IMAP4rev1 SASL-IR] hi\r\n").await;
    let script = tokio::spawn(async move {
        // "first" on the command line, "second" answered to the challenge "ping".
        assert_eq!(
            read_line(&mut server).await,
            "b1 AUTHENTICATE X-TEST Zmlyc3Q=\r\n"
        );
        server.write_all(b"+ cGluZw==\r\n").await.unwrap();
        assert_eq!(read_line(&mut server).await, "c2Vjb25k\r\n");
        // Success data as a last challenge, answered empty.
        server.write_all(b"+ ZG9uZQ==\r\n").await.unwrap();
        assert_eq!(read_line(&mut server).await, "\r\n");
        server
            .write_all(b"b1 OK [CAPABILITY IMAP4rev1] in\r\n")
            .await
            .unwrap();
    });
    let mut seen = Vec::new();
    let done = c
        .authenticate("X-TEST", b"first", |challenge| {
            seen.push(challenge.to_vec());
            Ok(if challenge == b"ping" {
                b"second".to_vec()
            } else {
                Vec::new()
            })
        })
        .await
        .unwrap();
    script.await.unwrap();
    assert!(done.is_ok());
    assert_eq!(seen, vec![b"ping".to_vec(), b"done".to_vec()]);
}

#[tokio::test]
async fn authenticate_without_sasl_ir_sends_the_initial_response_after_the_first_plus() {
    let (mut c, mut server) = client_with("* OK [CAPABILITY IMAP4rev1] hi\r\n").await;
    let script = tokio::spawn(async move {
        assert_eq!(read_line(&mut server).await, "b1 AUTHENTICATE PLAIN\r\n");
        server.write_all(b"+ \r\n").await.unwrap();
        assert_eq!(read_line(&mut server).await, "AGEAYg==\r\n");
        server
            .write_all(b"b1 NO [UNAVAILABLE] try later\r\n")
            .await
            .unwrap();
    });
    let done = c
        .authenticate("PLAIN", b"\0a\0b", |_| Err("no second challenge".into()))
        .await
        .unwrap();
    script.await.unwrap();
    assert_eq!(done.status, Status::No);
    assert_eq!(done.code.unwrap().name, "UNAVAILABLE");
}

#[tokio::test]
async fn authenticate_cancels_with_a_star_when_the_responder_gives_up() {
    let (mut c, mut server) = client_with("* OK [CAPABILITY SASL-IR] hi\r\n").await;
    let script = tokio::spawn(async move {
        assert_eq!(read_line(&mut server).await, "b1 AUTHENTICATE X =\r\n");
        server.write_all(b"+ not*base64\r\n").await.unwrap();
        assert_eq!(read_line(&mut server).await, "*\r\n");
        server.write_all(b"b1 BAD cancelled\r\n").await.unwrap();
    });
    let err = c.authenticate("X", b"", |_| Ok(Vec::new())).await;
    script.await.unwrap();
    assert!(
        matches!(&err, Err(ClientError::Malformed(m)) if m.contains("not base64")),
        "{err:?}"
    );
}

#[tokio::test]
async fn pipeline_sends_a_window_at_once_and_pairs_completions_in_order() {
    let (mut c, mut server) = client_with("* OK hi\r\n").await;
    let commands: Vec<String> = (0..5).map(|i| format!("CREATE \"q.{i}\"")).collect();
    let script = tokio::spawn(async move {
        // The first window of two arrives whole before any answer is sent.
        let want = "b1 CREATE \"q.0\"\r\nb2 CREATE \"q.1\"\r\n";
        assert_eq!(read_exactly(&mut server, want.len()).await, want);
        // Nothing of the next window before the first is answered.
        let early = tokio::time::timeout(Duration::from_millis(100), server.read_u8()).await;
        assert!(early.is_err(), "next window sent before the completions");
        server
            .write_all(b"b1 OK done\r\nb2 NO [ALREADYEXISTS] exists\r\n")
            .await
            .unwrap();
        let want = "b3 CREATE \"q.2\"\r\nb4 CREATE \"q.3\"\r\n";
        assert_eq!(read_exactly(&mut server, want.len()).await, want);
        server.write_all(b"b3 OK\r\nb4 OK\r\n").await.unwrap();
        assert_eq!(read_line(&mut server).await, "b5 CREATE \"q.4\"\r\n");
        server.write_all(b"b5 BAD no\r\n").await.unwrap();
    });
    let done = c.pipeline(&commands, 2).await.unwrap();
    script.await.unwrap();
    let statuses: Vec<Status> = done.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        vec![Status::Ok, Status::No, Status::Ok, Status::Ok, Status::Bad]
    );
    assert_eq!(done[1].code.as_ref().unwrap().name, "ALREADYEXISTS");
}

#[tokio::test]
async fn pipeline_completions_out_of_order_are_malformed() {
    let (mut c, mut server) = client_with("* OK hi\r\n").await;
    let commands = vec!["NOOP".to_owned(), "NOOP".to_owned()];
    let script = tokio::spawn(async move {
        read_exactly(&mut server, "b1 NOOP\r\nb2 NOOP\r\n".len()).await;
        server.write_all(b"b2 OK\r\nb1 OK\r\n").await.unwrap();
        server
    });
    assert!(matches!(
        c.pipeline(&commands, 8).await,
        Err(ClientError::Malformed(_))
    ));
    drop(script.await.unwrap());
}
