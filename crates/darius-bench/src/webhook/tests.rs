use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::event::{self, normalize, BodyError, Parsed};
use super::http::{parse_head, response, Head, HeadError, Persistence, MAX_HEAD};
use super::join::{join, Arrivals, Delivered, Joined, MAX_TIMES};
use super::receiver::{Receiver, MAX_BODY};

// --- request heads ---

#[test]
fn post_with_content_length_keeps_the_connection() {
    let req = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ncontent-length: 12\r\n\r\n{\"a\":1}";
    let head = parse_head(req).unwrap().unwrap();
    assert_eq!(
        head,
        Head {
            method: "POST".into(),
            target: "/hook".into(),
            len: req.len() - 7,
            content_length: 12,
            persistence: Persistence::KeepAlive,
            expects_continue: false,
        }
    );
}

#[test]
fn a_head_in_pieces_is_incomplete_until_its_blank_line() {
    let req = b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n";
    for cut in 0..req.len() {
        assert_eq!(parse_head(&req[..cut]), Ok(None), "cut at {cut}");
    }
    assert!(parse_head(req).unwrap().is_some());
}

#[test]
fn connection_close_and_http_1_0_persistence() {
    let close = parse_head(b"POST / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(close.unwrap().persistence, Persistence::Close);
    let old = parse_head(b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert_eq!(old.unwrap().persistence, Persistence::Close);
    let old_kept = parse_head(b"POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
    assert_eq!(old_kept.unwrap().persistence, Persistence::KeepAlive);
    // Keep-alive is HTTP/1.0's word: in 1.1 it changes nothing, and `close` wins in a list.
    let list = parse_head(b"POST / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").unwrap();
    assert_eq!(list.unwrap().persistence, Persistence::Close);
}

#[test]
fn no_content_length_means_no_body_and_expect_is_seen() {
    let head = parse_head(b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(head.content_length, 0);
    assert!(head.expects_continue);
}

#[test]
fn refused_heads_and_their_statuses() {
    let cases: &[(&[u8], u16)] = &[
        (b"POST /\r\n\r\n", 400),
        (b"POST / HTTP/2\r\n\r\n", 400),
        (b"POST  / HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
        (b"POST / HTTP/1.1\r\nX: \xff\r\n\r\n", 400),
    ];
    for (req, code) in cases {
        let err = parse_head(req).unwrap_err();
        assert_eq!(err.status().0, *code, "{}", String::from_utf8_lossy(req));
    }
    // Equal repeated lengths are one length.
    let twice = parse_head(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(twice.unwrap().unwrap().content_length, 3);
}

#[test]
fn an_endless_head_is_refused_once_past_the_limit() {
    let mut req = b"POST / HTTP/1.1\r\n".to_vec();
    while req.len() <= MAX_HEAD {
        req.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(parse_head(&req), Err(HeadError::TooLong));
    req.extend_from_slice(b"\r\n");
    assert_eq!(parse_head(&req), Err(HeadError::TooLong));
}

#[test]
fn responses_say_their_framing() {
    let ok = String::from_utf8(response(204, "No Content", Persistence::KeepAlive)).unwrap();
    assert_eq!(
        ok,
        "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"
    );
    let bad = String::from_utf8(response(413, "Content Too Large", Persistence::Close)).unwrap();
    assert_eq!(
        bad,
        "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

// --- notification bodies ---

#[test]
fn message_new_gives_its_midset_without_angle_brackets() {
    let body = br#"{"event":"MessageNew","user":"user1","vnd.cmu.midset":["<a.1@x>"," b@y "],"vnd.darius.uid":7,"vnd.darius.mailbox":"INBOX"}"#;
    let parsed = event::parse(body).unwrap();
    assert_eq!(
        parsed.message_ids,
        vec!["a.1@x".to_owned(), "b@y".to_owned()]
    );
    assert_eq!(parsed.other_events, 0);
    assert_eq!(parsed.without_midset, 0);
}

#[test]
fn an_array_of_events_counts_the_other_kinds() {
    let body = br#"[{"event":"MessageNew","vnd.cmu.midset":["<m1@x>"]},
                   {"event":"FlagsSet","vnd.cmu.midset":["<m2@x>"]},
                   {"event":"MessageNew","vnd.cmu.midset":["<m3@x>"]}]"#;
    let parsed = event::parse(body).unwrap();
    assert_eq!(
        parsed.message_ids,
        vec!["m1@x".to_owned(), "m3@x".to_owned()]
    );
    assert_eq!(parsed.other_events, 1);
}

#[test]
fn message_new_without_a_usable_midset_is_counted() {
    for body in [
        &br#"{"event":"MessageNew"}"#[..],
        br#"{"event":"MessageNew","vnd.cmu.midset":[]}"#,
        br#"{"event":"MessageNew","vnd.cmu.midset":"<a@b>"}"#,
        br#"{"event":"MessageNew","vnd.cmu.midset":[12]}"#,
        br#"{"event":"MessageNew","vnd.cmu.midset":["<>"]}"#,
    ] {
        let parsed = event::parse(body).unwrap();
        assert_eq!(
            parsed.without_midset,
            1,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert!(parsed.message_ids.is_empty());
    }
    // One good member of two still names that message.
    let half = event::parse(br#"{"event":"MessageNew","vnd.cmu.midset":["<a@b>",3]}"#).unwrap();
    assert_eq!(half.message_ids, vec!["a@b".to_owned()]);
    assert_eq!(half.without_midset, 1);
}

#[test]
fn bodies_that_are_no_event_are_errors() {
    assert!(matches!(
        event::parse(b"not json"),
        Err(BodyError::NotJson(_))
    ));
    assert!(matches!(event::parse(b""), Err(BodyError::NotJson(_))));
    assert_eq!(event::parse(b"42"), Err(BodyError::NotAnEvent));
    assert_eq!(event::parse(b"[1]"), Err(BodyError::NotAnEvent));
    assert_eq!(event::parse(b"[]"), Ok(Parsed::default()));
}

#[test]
fn normalize_strips_brackets_and_blanks_only() {
    assert_eq!(normalize("<a@b>"), "a@b");
    assert_eq!(normalize("  <a@b>\t"), "a@b");
    assert_eq!(normalize("a@b"), "a@b");
    assert_eq!(normalize("<a b@c>"), "a b@c");
    assert_eq!(normalize("<>"), "");
}

// --- the join ---

fn delivered(id: &str, replied: Instant, notifications: u32) -> Delivered {
    Delivered {
        message_id: id.to_owned(),
        replied,
        notifications,
    }
}

fn arrivals(list: &[(&str, &[Instant])]) -> HashMap<String, Arrivals> {
    let mut map: HashMap<String, Arrivals> = HashMap::new();
    for (id, times) in list {
        for t in *times {
            map.entry((*id).to_owned()).or_default().add(*t);
        }
    }
    map
}

#[test]
fn latency_runs_from_the_last_reply_to_the_notification() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let d = [delivered("a", t0, 1), delivered("b", t0 + ms(10), 1)];
    let got = arrivals(&[("a", &[t0 + ms(3)]), ("b", &[t0 + ms(17)])]);
    let j = join(&d, &got);
    assert_eq!(
        j,
        Joined {
            expected: 2,
            received: 2,
            latencies_us: vec![3000, 7000],
            ..Joined::default()
        }
    );
}

#[test]
fn missing_duplicate_unexpected_and_early_notifications() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let d = [
        delivered("once", t0, 1),
        delivered("twice", t0, 1),
        delivered("never", t0, 1),
        delivered("early", t0 + ms(50), 1),
    ];
    let got = arrivals(&[
        ("once", &[t0 + ms(1)]),
        ("twice", &[t0 + ms(9), t0 + ms(2)]),
        ("early", &[t0 + ms(40)]),
        ("stranger", &[t0, t0]),
    ]);
    let j = join(&d, &got);
    assert_eq!(j.expected, 4);
    assert_eq!(j.received, 3);
    assert_eq!(j.missing, 1);
    assert_eq!(j.duplicates, 1);
    assert_eq!(j.unexpected, 2);
    assert_eq!(j.early, 1);
    // The earliest of a duplicate pair is the one timed.
    assert_eq!(j.latencies_us, vec![0, 1000, 2000]);
}

#[test]
fn each_recipient_owes_a_notification() {
    let t0 = Instant::now();
    let d = [delivered("multi", t0, 3)];
    let two = arrivals(&[("multi", &[t0, t0])]);
    let j = join(&d, &two);
    assert_eq!(
        (j.expected, j.received, j.missing, j.duplicates),
        (3, 2, 1, 0)
    );
    let four = arrivals(&[("multi", &[t0, t0, t0, t0])]);
    let j = join(&d, &four);
    assert_eq!((j.received, j.missing, j.duplicates), (3, 0, 1));
}

#[test]
fn percentiles_join_the_latencies_of_every_message() {
    let t0 = Instant::now();
    let mut d = Vec::new();
    let mut got: HashMap<String, Arrivals> = HashMap::new();
    // Message k (1..=100) is notified k ms after its reply; the list is out of order.
    for k in (1..=100u64).rev() {
        let id = format!("m{k}");
        d.push(delivered(&id, t0, 1));
        got.entry(id)
            .or_default()
            .add(t0 + Duration::from_millis(k));
    }
    let mut m = BTreeMap::new();
    join(&d, &got).metrics(&mut m);
    assert_eq!(m["webhook_latency_p50_ms"], 50.0);
    assert_eq!(m["webhook_latency_p90_ms"], 90.0);
    assert_eq!(m["webhook_latency_p99_ms"], 99.0);
    assert_eq!(m["webhook_latency_max_ms"], 100.0);
    assert_eq!(m["webhook_received"], 100.0);
    assert_eq!(m["webhook_missing"], 0.0);
}

#[test]
fn arrivals_keep_a_bounded_number_of_times() {
    let mut a = Arrivals::default();
    let t = Instant::now();
    for _ in 0..MAX_TIMES * 3 {
        a.add(t);
    }
    assert_eq!(a.count, (MAX_TIMES * 3) as u64);
    assert_eq!(a.times.len(), MAX_TIMES);
}

// --- the receiver over a real socket ---

/// Sends `request` and reads one response head; answers its status code.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> u16 {
    stream.write_all(request).await.unwrap();
    read_status(stream).await
}

async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).unwrap();
    assert!(text.starts_with("HTTP/1.1 "), "{text}");
    text[9..12].parse().unwrap()
}

fn post(body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST /mail HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn message_new(id: &str) -> String {
    format!(
        r#"{{"event":"MessageNew","user":"user1","vnd.cmu.midset":["{id}"],"vnd.darius.uid":1,"vnd.darius.mailbox":"INBOX"}}"#
    )
}

/// True once the peer has closed the connection (reads end without data).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await,
        Ok(Ok(0))
    )
}

#[tokio::test]
async fn receiver_records_posts_over_real_connections() {
    let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
    let addr = receiver.local_addr();
    let start = Instant::now();

    // Two requests pipelined on one keep-alive connection, then one that is no event.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let mut two = post(&message_new("<m1@bench>"), "");
    two.extend(post(&message_new("<m2@bench>"), ""));
    c.write_all(&two).await.unwrap();
    assert_eq!(read_status(&mut c).await, 204);
    assert_eq!(read_status(&mut c).await, 204);
    assert_eq!(exchange(&mut c, &post("{oops", "")).await, 400);
    // A duplicate, then `Connection: close` is honoured.
    assert_eq!(
        exchange(
            &mut c,
            &post(&message_new("m1@bench"), "Connection: close\r\n")
        )
        .await,
        204
    );
    assert!(closed(&mut c).await);

    // Expect: 100-continue gets its 100 before the body is sent.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let body = message_new("<m3@bench>");
    let req = post(&body, "Expect: 100-continue\r\n");
    let head_len = req.len() - body.len();
    assert_eq!(exchange(&mut c, &req[..head_len]).await, 100);
    assert_eq!(exchange(&mut c, &req[head_len..]).await, 204);

    // Not a POST; a body over the limit: refused and closed.
    let mut c = TcpStream::connect(addr).await.unwrap();
    assert_eq!(exchange(&mut c, b"GET / HTTP/1.1\r\n\r\n").await, 405);
    assert!(closed(&mut c).await);
    let mut c = TcpStream::connect(addr).await.unwrap();
    let big = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    assert_eq!(exchange(&mut c, big.as_bytes()).await, 413);
    assert!(closed(&mut c).await);

    let d = [
        delivered("m1@bench", start, 1),
        delivered("m2@bench", start, 1),
        delivered("m3@bench", start, 1),
        delivered("m4@bench", start, 1),
    ];
    let mut m = BTreeMap::new();
    let j = receiver
        .finish(&d, Duration::from_millis(200), &mut m)
        .await;
    assert_eq!((j.expected, j.received, j.missing), (4, 3, 1));
    assert_eq!((j.duplicates, j.unexpected, j.early), (1, 0, 0));
    assert_eq!(j.latencies_us.len(), 3);
    assert_eq!(m["webhook_requests"], 7.0);
    assert_eq!(m["webhook_bad_requests"], 3.0);
    assert_eq!(m["webhook_missing"], 1.0);
    // m4 never came: the whole grace period was waited.
    assert!(m["webhook_wait_seconds"] >= 0.2);
    // Finished: the port no longer answers.
    let mut late = TcpStream::connect(addr).await;
    if let Ok(s) = &mut late {
        assert!(closed(s).await);
    }
}

#[tokio::test]
async fn notifications_arriving_during_the_grace_period_count() {
    let receiver = Receiver::start("127.0.0.1:0").await.unwrap();
    let addr = receiver.local_addr();
    let replied = Instant::now();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        exchange(&mut c, &post(&message_new("<slow@bench>"), "")).await
    });
    let mut m = BTreeMap::new();
    let d = [delivered("slow@bench", replied, 1)];
    let j = receiver.finish(&d, Duration::from_secs(30), &mut m).await;
    assert_eq!(late.await.unwrap(), 204);
    assert_eq!((j.received, j.missing), (1, 0));
    assert!(j.latencies_us[0] >= 300_000, "{:?}", j.latencies_us);
}
