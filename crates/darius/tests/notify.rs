//! Notifications end to end over real sockets: mail delivered over LMTP to a running server
//! reaches an HTTP receiver started by the test (`webhook`), a recording `sendmail`
//! (`mailto`), a program (`external`), and goes through a separate `darius notifyd` when
//! `notifysocket` is set. A dead receiver loses nothing; a full queue drops and counts; no
//! delivery ever waits.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod sieve_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::Value;

/// One POST the receiver took: its header block and its body as JSON.
#[derive(Clone, Debug)]
struct Post {
    head: String,
    body: Value,
}

/// A small HTTP server answering `200` to every POST and recording it.
struct Receiver {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `port` (0: any), recording into `posts`.
    fn start(port: u16, posts: Arc<Mutex<Vec<Post>>>) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, sink) = (Arc::clone(&stop), Arc::clone(&posts));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve_one(stream, &sink),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Receiver {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Closes the listener: connections are refused until a new receiver binds the port.
    fn kill(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// Reads one request, records it, answers 200.
fn serve_one(stream: TcpStream, sink: &Mutex<Vec<Post>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut writer = stream;
    writer
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    sink.lock().unwrap().push(Post {
        head,
        body: serde_json::from_slice(&body).unwrap(),
    });
}

/// Waits until `posts` holds `n`; all of them.
fn wait_posts(posts: &Mutex<Vec<Post>>, n: usize, server: &Server) -> Vec<Post> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = posts.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} POSTs arrived: {got:?}\n{}",
            got.len(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The webhook options for a receiver on `port`, retrying every second.
fn webhook_options(port: u16) -> String {
    format!(
        "notify_webhook_url: http://127.0.0.1:{port}/mail\n\
         notify_webhook_retry_min: 1\nnotify_webhook_retry_max: 1\n"
    )
}

/// One LMTP transaction from `from` to `user`; the recipient's reply.
fn deliver(server: &Server, from: &str, user: &str, subject: &str) -> String {
    let mut c = lmtp_support::Client::connect(server.lmtp_port);
    c.send(format!("LHLO x\r\nMAIL FROM:<{from}>\r\n").as_bytes());
    c.expect("250-");
    c.expect("250 2.1.0");
    c.send(format!("RCPT TO:<{user}@example.org>\r\n").as_bytes());
    c.expect("250 2.1.5");
    c.send(b"DATA\r\n");
    c.expect("354 ");
    c.send(
        format!(
            "From: <{from}>\r\nTo: <{user}@example.org>\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}.{user}@example.org>\r\n\r\nHello.\r\n.\r\n"
        )
        .as_bytes(),
    );
    c.reply()
}

/// A delivery, which must be acknowledged with 250 within a second (it never waits for a
/// notification).
fn deliver_at_once(server: &Server, user: &str, subject: &str) {
    let start = Instant::now();
    let reply = deliver(server, "s@example.org", user, subject);
    assert!(reply.starts_with("250 "), "{reply}\n{}", server.log());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "delivery took {:?}",
        start.elapsed()
    );
}

/// Which user the MessageNew notification `post` is about.
fn whose(post: &Post) -> &str {
    post.body["user"].as_str().unwrap()
}

/// A webhook POST of the MessageNew event of message `uid`, `subject`, from `s@example.org`
/// in `user`'s INBOX: the RFC 5423 fields and the ones that tell a receiver everything.
fn assert_message_new(post: &Post, user: &str, uid: u32, subject: &str) {
    assert!(
        post.head.starts_with("POST /mail HTTP/1.1\r\n"),
        "{}",
        post.head
    );
    assert!(
        post.head
            .to_ascii_lowercase()
            .contains("content-type: application/json\r\n"),
        "{}",
        post.head
    );
    let body = &post.body;
    assert_eq!(body["event"], "MessageNew", "{body}");
    assert_eq!(body["user"], user, "{body}");
    let uri = body["uri"].as_str().unwrap();
    assert!(uri.starts_with("imap://"), "{body}");
    assert!(
        uri.contains(&format!("/user.{user};UIDVALIDITY=")),
        "{body}"
    );
    assert!(uri.ends_with(&format!("/;UID={uid}")), "{body}");
    assert!(body["pid"].as_u64().is_some(), "{body}");
    assert!(body["timestamp"].as_str().is_some(), "{body}");
    assert!(body["messageSize"].as_u64().unwrap() > 50, "{body}");
    assert_eq!(body["vnd.darius.mailbox"], "INBOX", "{body}");
    assert_eq!(body["vnd.darius.uid"], uid, "{body}");
    assert_eq!(body["vnd.darius.sender"], "s@example.org", "{body}");
    assert_eq!(body["vnd.darius.subject"], subject, "{body}");
}

#[test]
fn webhook_gets_one_post_per_delivered_message() {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, Arc::clone(&posts));
    let server = Server::start_with(&format!(
        "mailnotifier: webhook\n{}",
        webhook_options(receiver.port)
    ));
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    deliver_at_once(&server, "alice", "one");
    deliver_at_once(&server, "bob", "two");
    let got = wait_posts(&posts, 2, &server);
    assert_message_new(&got[0], "alice", 1, "one");
    assert_message_new(&got[1], "bob", 1, "two");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(posts.lock().unwrap().len(), 2, "one POST per message");
    receiver.kill();
}

#[test]
fn webhook_receiver_down_for_a_while_loses_nothing_and_keeps_order() {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, Arc::clone(&posts));
    let port = receiver.port;
    let server = Server::start_with(&format!("mailnotifier: webhook\n{}", webhook_options(port)));
    let users = ["u1", "u2", "u3", "u4", "u5", "u6"];
    for user in users {
        server.add_user(user, "pw");
    }
    deliver_at_once(&server, "u1", "m");
    wait_posts(&posts, 1, &server);
    receiver.kill();
    for user in &users[1..] {
        deliver_at_once(&server, user, "m");
    }
    // Let the worker fail and back off at least once.
    assert!(server.logged("notify: webhook:"), "{}", server.log());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(posts.lock().unwrap().len(), 1);
    let receiver = Receiver::start(port, Arc::clone(&posts));
    let got = wait_posts(&posts, users.len(), &server);
    let order: Vec<&str> = got.iter().map(whose).collect();
    assert_eq!(order, users);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(posts.lock().unwrap().len(), users.len(), "no POST twice");
    receiver.kill();
}

#[test]
fn webhook_queue_survives_a_killed_server() {
    let port = common::free_port();
    let mut server =
        Server::start_with(&format!("mailnotifier: webhook\n{}", webhook_options(port)));
    let users = ["k1", "k2"];
    for user in users {
        server.add_user(user, "pw");
    }
    for user in users {
        deliver_at_once(&server, user, "m");
    }
    // Both are on disk once the worker reports them queued after a failed attempt.
    assert!(server.logged("; 2 queued, retrying"), "{}", server.log());
    server.kill_hard();
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(port, Arc::clone(&posts));
    server.restart();
    let got = wait_posts(&posts, 2, &server);
    let order: Vec<&str> = got.iter().map(whose).collect();
    assert_eq!(order, users);
    assert!(server.logged("notify: webhook: 2 notifications queued from before"));
    receiver.kill();
}

#[test]
fn webhook_full_queue_drops_and_counts_while_delivery_goes_on() {
    let port = common::free_port();
    let server = Server::start_with(&format!(
        "mailnotifier: webhook\nnotify_webhook_queue_max: 2\n{}",
        webhook_options(port)
    ));
    let users = ["q1", "q2", "q3", "q4", "q5"];
    for user in users {
        server.add_user(user, "pw");
    }
    for user in users {
        deliver_at_once(&server, user, "m");
    }
    assert!(
        server.logged("notification dropped (the webhook queue is full (notify_webhook_queue_max)); 1 dropped so far"),
        "{}",
        server.log()
    );
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(port, Arc::clone(&posts));
    let got = wait_posts(&posts, 2, &server);
    let order: Vec<&str> = got.iter().map(whose).collect();
    assert_eq!(order, ["q1", "q2"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        posts.lock().unwrap().len(),
        2,
        "the three beyond the queue were dropped"
    );
    receiver.kill();
}

#[test]
fn event_notifier_sends_the_chosen_groups_only() {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, Arc::clone(&posts));
    let server = Server::start_with(&format!(
        "event_notifier: webhook\nevent_groups: mailbox\n{}",
        webhook_options(receiver.port)
    ));
    server.add_user("carol", "pw");
    deliver_at_once(&server, "carol", "m");
    let got = wait_posts(&posts, 1, &server);
    let body = &got[0].body;
    assert_eq!(body["event"], "MailboxCreate", "{body}");
    assert!(
        body["uri"].as_str().unwrap().contains("/user.carol"),
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let events: Vec<String> = posts
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.body["event"].to_string())
        .collect();
    assert_eq!(
        events,
        ["\"MailboxCreate\""],
        "no MessageNew: not in event_groups"
    );
    receiver.kill();
}

/// A `sendmail` stub writing each call (arguments, then the message) into its own file under
/// `outbox`.
fn sendmail_stub(dir: &Path) -> (PathBuf, PathBuf) {
    let outbox = dir.join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    // Written aside and moved in whole: a mail in the outbox is always complete.
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).unwrap();
    let stub = dir.join("sendmail");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nf=$(mktemp {}/mail.XXXXXX)\necho \"$@\" > \"$f\"\ncat >> \"$f\"\nmv \"$f\" {}/\n",
            spool.display(),
            outbox.display()
        ),
    )
    .unwrap();
    executable(&stub);
    (stub, outbox)
}

fn executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file in `dir`, read.
fn files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// Uploads and activates `script` as `user`'s over ManageSieve (password `pw-USER`, as
/// `imap_support` logs in).
fn activate(server: &Server, user: &str, script: &str) {
    let password = format!("pw-{user}");
    let mut sieve = sieve_support::Client::login(server.sieve_port, "", user, &password);
    let reply = sieve.with_literal("PUTSCRIPT \"main\"", script.as_bytes());
    assert!(reply.ok(), "{reply:?}");
    assert!(sieve.cmd("SETACTIVE \"main\"").ok());
}

const NOTIFY_SCRIPT: &str = "require [\"enotify\"];\r\n\
notify :importance \"1\" :message \"mail for you\" \"mailto:alerts@example.net\";\r\n";

#[test]
fn sieve_mailto_notification_goes_through_sendmail_and_the_rate_limit_holds() {
    let stubdir = tempfile::tempdir().unwrap();
    let (stub, outbox) = sendmail_stub(stubdir.path());
    let server = Server::start_with(&format!(
        "sendmail: {}\nmailnotifier: log\nnotify_mailto_rate: 2\n",
        stub.display()
    ));
    server.add_user("bovik", "pw-bovik");
    activate(&server, "bovik", NOTIFY_SCRIPT);
    deliver_at_once(&server, "bovik", "first");
    deliver_at_once(&server, "bovik", "second");
    let deadline = Instant::now() + Duration::from_secs(30);
    while files(&outbox).len() < 2 {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // With the notifier running, a `mailto:` URI is a SIEVE-class notification for the
    // `mailto` method (sievenotifier unset), not a mail Sieve sends itself.
    assert!(
        server.logged("sieve: bovik: notification mailto:alerts@example.net queued"),
        "{}",
        server.log()
    );
    assert!(!server.log().contains("sieve: bovik: sent notification"));
    for mail in files(&outbox) {
        let (args, message) = mail.split_once('\n').unwrap();
        assert!(args.ends_with("alerts@example.net"), "{args}");
        assert!(
            message.contains("Auto-Submitted: auto-notified\r\n"),
            "{message}"
        );
        assert!(message.contains("Subject: mail for you\r\n"), "{message}");
    }
    deliver_at_once(&server, "bovik", "third");
    assert!(
        server.logged("notify: mailto: bovik sent 2 notifications within the hour; not sent"),
        "{}",
        server.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(files(&outbox).len(), 2, "the third is over the rate");
}

#[test]
fn sieve_notification_with_sievenotifier_webhook_is_posted() {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, Arc::clone(&posts));
    let server = Server::start_with(&format!(
        "sievenotifier: webhook\n{}",
        webhook_options(receiver.port)
    ));
    server.add_user("bovik", "pw-bovik");
    activate(&server, "bovik", NOTIFY_SCRIPT);
    deliver_at_once(&server, "bovik", "hello");
    let got = wait_posts(&posts, 1, &server);
    let body = &got[0].body;
    assert_eq!(body["event"], "SieveNotify", "{body}");
    assert_eq!(body["user"], "bovik", "{body}");
    assert_eq!(body["method"], "mailto:alerts@example.net", "{body}");
    assert_eq!(body["message"], "mail for you", "{body}");
    assert_eq!(body["importance"], 1, "{body}");
    receiver.kill();
}

#[test]
fn a_routed_sieve_notification_still_files_its_fcc_copy() {
    let stubdir = tempfile::tempdir().unwrap();
    let (stub, outbox) = sendmail_stub(stubdir.path());
    let server = Server::start_with(&format!(
        "sendmail: {}\nsievenotifier: mailto\n",
        stub.display()
    ));
    server.add_user("bovik", "pw-bovik");
    activate(
        &server,
        "bovik",
        "require [\"enotify\", \"fcc\", \"mailbox\"];\r\n\
         notify :fcc \"Notes\" :create :message \"filed\" \"mailto:alerts@example.net\";\r\n",
    );
    deliver_at_once(&server, "bovik", "hello");
    let deadline = Instant::now() + Duration::from_secs(30);
    while files(&outbox).is_empty() {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut imap = imap_support::Client::login(server.imap_port, "bovik");
    let selected = imap.cmd("s", "SELECT INBOX.Notes");
    assert!(
        imap_support::last(&selected).starts_with("s OK"),
        "{selected:?}\n{}",
        server.log()
    );
    let fetched = imap.cmd(
        "f",
        "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT AUTO-SUBMITTED)]",
    );
    assert!(
        fetched.iter().any(|l| l.starts_with("Subject: filed")),
        "{fetched:?}"
    );
    assert!(
        fetched
            .iter()
            .any(|l| l.starts_with("Auto-Submitted: auto-notified")),
        "{fetched:?}"
    );
}

#[test]
fn external_gets_the_json_and_a_program_past_its_timeout_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let program = dir.path().join("notified");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$@\" > {o}/args.$$\ncat > {o}/in.$$\n\
             case \"$*\" in *\"-u slow\"*) echo $$ > {o}/slowpid; exec sleep 60;; esac\n",
            o = out.display()
        ),
    )
    .unwrap();
    executable(&program);
    let server = Server::start_with(&format!(
        "mailnotifier: external\nnotify_external: {}\nnotify_external_timeout: 1\n",
        program.display()
    ));
    server.add_user("alice", "pw");
    server.add_user("slow", "pw");
    deliver_at_once(&server, "alice", "m");
    let deadline = Instant::now() + Duration::from_secs(30);
    let input = loop {
        let found: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("in."))
            .collect();
        if let Some(path) = found.first() {
            let text = std::fs::read_to_string(path).unwrap();
            if text.ends_with('\n') {
                break text;
            }
        }
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let json: Value = serde_json::from_str(input.trim_end()).unwrap();
    assert_eq!(json["event"], "MessageNew", "{json}");
    assert_eq!(json["user"], "alice", "{json}");
    assert_eq!(json["vnd.darius.sender"], "s@example.org", "{json}");
    let args = files(&out)
        .into_iter()
        .find(|t| t.starts_with("-c "))
        .unwrap();
    assert!(
        args.starts_with("-c MAIL -p normal -u alice -m user.alice"),
        "{args}"
    );

    deliver_at_once(&server, "slow", "m");
    assert!(
        server.logged("for slow killed after 1 s"),
        "{}",
        server.log()
    );
    let pid = std::fs::read_to_string(out.join("slowpid")).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_dir.exists() {
        assert!(Instant::now() < deadline, "the slow program still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn notifysocket_sends_through_a_separate_notifyd() {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, Arc::clone(&posts));
    let server = Server::start_with(&format!(
        "mailnotifier: webhook\nnotifysocket: {{base}}/notifyd.sock\n{}",
        webhook_options(receiver.port)
    ));
    server.add_user("alice", "pw");
    let socket = server.dir.path().join("notifyd.sock");
    // No notifyd yet: the notification is dropped and counted, the mail is not.
    deliver_at_once(&server, "alice", "early");
    assert!(server.logged("dropped so far"), "{}", server.log());
    let mut notifyd = server
        .darius(&["notifyd"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = notifyd.stderr.take().unwrap();
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log.lock().unwrap().contains("notifyd: listening") {
        assert!(Instant::now() < deadline, "{}", log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(socket.exists());
    deliver_at_once(&server, "alice", "late");
    let got = wait_posts(&posts, 1, &server);
    assert_message_new(&got[0], "alice", 2, "late");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(posts.lock().unwrap().len(), 1, "the early one was dropped");
    notifyd.kill().unwrap();
    notifyd.wait().unwrap();
    receiver.kill();
}
