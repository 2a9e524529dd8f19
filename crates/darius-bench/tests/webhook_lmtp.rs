//! `lmtp --webhook-listen` end to end, over real sockets: the test plays a mail server that
//! accepts every LMTP delivery and, after its replies, POSTs one `MessageNew` event per
//! recipient to the receiver darius-bench runs — except that it never notifies one message and
//! notifies another twice. The report must count exactly that.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The delivery (0-based, over all connections) whose notifications are never sent.
const SILENT: u64 = 4;
/// The delivery whose first recipient's notification is sent twice.
const REPEATED: u64 = 6;
/// How long after its replies the fake server notifies.
const NOTIFY_DELAY: std::time::Duration = std::time::Duration::from_millis(30);

/// A port nobody listens on right now (the receiver binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POSTs `body` on `hook` and checks the receiver's `204`.
fn post(hook: &mut BufReader<TcpStream>, body: &str) {
    let req = format!(
        "POST /mail HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    hook.get_mut().write_all(req.as_bytes()).unwrap();
    let mut status = String::new();
    hook.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 204"), "{status:?}");
    loop {
        let mut line = String::new();
        hook.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
}

/// One LMTP connection of the fake server; `counter` numbers deliveries over all of them.
fn lmtp_session(stream: TcpStream, hook_port: u16, counter: &AtomicU64) {
    // Replies go out at once (Nagle would hold the second 250 back behind a delayed ACK).
    stream.set_nodelay(true).unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut input = BufReader::new(stream);
    let mut hook: Option<BufReader<TcpStream>> = None;
    let mut rcpts: Vec<String> = Vec::new();
    out.write_all(b"220 fake LMTP\r\n").unwrap();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).unwrap() == 0 {
            return;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "LHLO" => out.write_all(b"250-fake\r\n250 PIPELINING\r\n").unwrap(),
            "MAIL" => {
                rcpts.clear();
                out.write_all(b"250 2.1.0 ok\r\n").unwrap();
            }
            "RCPT" => {
                rcpts.push(line.trim_end().to_owned());
                out.write_all(b"250 2.1.5 ok\r\n").unwrap();
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n").unwrap();
                let id = read_message_id(&mut input);
                out.write_all("250 2.0.0 stored\r\n".repeat(rcpts.len()).as_bytes())
                    .unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n == SILENT {
                    continue;
                }
                std::thread::sleep(NOTIFY_DELAY);
                let hook = hook.get_or_insert_with(|| {
                    let s = TcpStream::connect(("127.0.0.1", hook_port)).unwrap();
                    s.set_nodelay(true).unwrap();
                    BufReader::new(s)
                });
                let event = format!(
                    r#"{{"event":"MessageNew","user":"u","vnd.cmu.midset":["{id}"],"vnd.darius.uid":{n},"vnd.darius.mailbox":"INBOX"}}"#
                );
                for _ in &rcpts {
                    post(hook, &event);
                }
                if n == REPEATED {
                    post(hook, &event);
                }
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n").unwrap();
                return;
            }
            _ => out.write_all(b"500 what\r\n").unwrap(),
        }
    }
}

/// Reads a message up to its `.` line; answers its Message-ID header field's value.
fn read_message_id(input: &mut BufReader<TcpStream>) -> String {
    let mut id = None;
    let mut in_header = true;
    loop {
        let mut line = Vec::new();
        input.read_until(b'\n', &mut line).unwrap();
        if line == b".\r\n" {
            return id.unwrap();
        }
        if line == b"\r\n" {
            in_header = false;
        }
        let text = String::from_utf8_lossy(&line);
        if in_header {
            if let Some(v) = text.strip_prefix("Message-ID: ") {
                id = Some(v.trim().to_owned());
            }
        }
    }
}

#[test]
fn lmtp_run_reports_missing_duplicate_and_latency_of_notifications() {
    let lmtp = TcpListener::bind("127.0.0.1:0").unwrap();
    let lmtp_port = lmtp.local_addr().unwrap().port();
    let hook_port = free_port();
    let counter = Arc::new(AtomicU64::new(0));
    let server = {
        let counter = counter.clone();
        std::thread::spawn(move || {
            let sessions: Vec<_> = (0..2)
                .map(|_| {
                    let (stream, _) = lmtp.accept().unwrap();
                    let counter = counter.clone();
                    std::thread::spawn(move || lmtp_session(stream, hook_port, &counter))
                })
                .collect();
            for s in sessions {
                s.join().unwrap();
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_darius-bench"))
        .args(["--lmtp-port", &lmtp_port.to_string()])
        .args([
            "--users",
            "3",
            "--clients",
            "2",
            "--ops",
            "20",
            "--duration",
            "60",
        ])
        .args(["--pool", "5", "--json"])
        .arg(&json)
        .args(["lmtp", "--rcpts", "2"])
        .args(["--webhook-listen", &format!("127.0.0.1:{hook_port}")])
        .args(["--webhook-grace", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "darius-bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.join().unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let m = &report["metrics"];
    assert_eq!(report["ops"][0]["op"], "deliver");
    assert_eq!(report["ops"][0]["count"], 20, "{report:#}");
    // Two distinct recipients per message: 40 owed, the silent message's 2 missing.
    assert_eq!(m["webhook_expected"], 40.0, "{report:#}");
    assert_eq!(m["webhook_received"], 38.0);
    assert_eq!(m["webhook_missing"], 2.0);
    assert_eq!(m["webhook_duplicates"], 1.0);
    assert_eq!(m["webhook_unexpected"], 0.0);
    assert_eq!(m["webhook_requests"], 39.0);
    assert_eq!(m["webhook_bad_requests"], 0.0);
    // Timed from the last reply: at least the fake's delay for most (a client task scheduled
    // late could see its reply after the notification, so half the delay is the bound).
    let p50 = m["webhook_latency_p50_ms"].as_f64().unwrap();
    assert!(p50 >= NOTIFY_DELAY.as_secs_f64() * 500.0, "{report:#}");
    assert!(m["webhook_latency_p99_ms"].as_f64().unwrap() >= p50);
    // The missing ones were waited for, the whole grace period.
    assert!(m["webhook_wait_seconds"].as_f64().unwrap() >= 1.0);
    assert_eq!(
        report["params"]["webhook_listen"],
        format!("127.0.0.1:{hook_port}")
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("webhook_missing: 2.000"), "{table}");
}
