//! POP3 on the wire (RFC 1939, RFC 2449, RFC 3206, RFC 5034): every command in every state,
//! pipelining, bounds on bad input, and the maildrop rules: one session per user (`[IN-USE]`),
//! IMAP expunges refused while a POP3 session holds the INBOX, DELE + QUIT expunging durably, a
//! dropped connection expunging nothing, `popuseimapflags`, `popminpoll` and `popexpiretime`.
//! Real clients (poplib, fetchmail, getmail, mpop, pop3test) are in `pop3_clients.rs` and
//! `pop3_poplib.rs`.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod pop3_support;

use base64::Engine as _;
use common::Server;
use imap_support::{last, HANG};
use pop3_support::Client as Pop;

/// A message whose lines test dot-stuffing: a lone `.`, `..`, a leading dot, and a last line
/// that is only a dot. CRLF throughout.
fn message(n: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@pop3.test>\r\n\r\n\
         body {n} line 1\r\n.\r\n..\r\n.leading\r\nline 5\r\nline 6\r\n.\r\n"
    )
    .into_bytes()
}

/// LMTP-delivers `count` messages to `user`: `message(0)`, `message(1)`, …
fn fill(server: &Server, user: &str, count: usize) {
    fill_from(server, user, 0, count);
}

/// LMTP-delivers `message(first)` … to `user` (distinct Message-IDs: duplicate suppression
/// would drop a second copy).
fn fill_from(server: &Server, user: &str, first: usize, count: usize) {
    for n in first..first + count {
        let mut stuffed = Vec::new();
        for line in message(n).split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                stuffed.push(b'.');
            }
            stuffed.extend_from_slice(line);
        }
        let replies = lmtp_support::deliver(server.lmtp_port, &[user], &stuffed);
        assert!(replies[0].starts_with("250"), "{replies:?}");
    }
}

fn server_with(extra: &str, users: &[&str]) -> Server {
    let server = Server::start_with(extra);
    for user in users {
        server.add_user(user, &format!("pw-{user}"));
    }
    server
}

#[test]
fn every_command_in_every_state() {
    let server = server_with("", &["alice"]);
    fill(&server, "alice", 3);
    let mut pop = Pop::connect(server.pop3_port);

    // AUTHORIZATION: CAPA (RFC 2449) offers USER (loopback), SASL, STLS, the response codes.
    let capa = pop.lines("CAPA");
    for wanted in [
        "TOP",
        "UIDL",
        "USER",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "STLS",
        "EXPIRE NEVER",
    ] {
        assert!(capa.iter().any(|c| c == wanted), "{wanted} in {capa:?}");
    }
    assert!(
        capa.iter()
            .any(|c| c.starts_with("SASL ") && c.contains("PLAIN")),
        "{capa:?}"
    );
    assert!(
        capa.iter().any(|c| c.starts_with("IMPLEMENTATION ")),
        "{capa:?}"
    );
    assert!(
        !capa.iter().any(|c| c.starts_with("LOGIN-DELAY")),
        "{capa:?}"
    );
    // Nothing of the TRANSACTION state yet.
    for command in [
        "STAT", "LIST", "UIDL", "RETR 1", "TOP 1 0", "DELE 1", "RSET", "NOOP",
    ] {
        pop.err(command);
    }
    pop.err("PASS pw-alice"); // no USER before it
    pop.ok("USER alice");
    pop.err("STAT");
    pop.err("PASS pw-alice"); // USER is for the very next command only
    pop.ok("USER alice");
    let wrong = pop.err("PASS wrong");
    assert!(wrong.starts_with("-ERR [AUTH]"), "{wrong}");
    pop.ok("USER alice");
    let ready = pop.ok("PASS pw-alice");
    assert!(ready.contains("3 messages"), "{ready}");

    // TRANSACTION.
    let stat = pop.ok("STAT");
    let parts: Vec<&str> = stat.split(' ').collect();
    assert_eq!(parts[1], "3", "{stat}");
    let total: u64 = parts[2].parse().unwrap();
    let list = pop.lines("LIST");
    assert_eq!(list.len(), 3, "{list:?}");
    let sizes: Vec<u64> = list
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), total);
    assert_eq!(pop.ok("LIST 2"), format!("+OK 2 {}", sizes[1]));
    pop.err("LIST 4");
    pop.err("LIST 0");
    pop.err("LIST x");
    let uidl = pop.lines("UIDL");
    assert_eq!(uidl.len(), 3);
    let ids: Vec<&str> = uidl.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
    let uidvalidity = ids[0].split('.').next().unwrap();
    assert_eq!(
        ids,
        [1, 2, 3].map(|uid| format!("{uidvalidity}.{uid}")),
        "UIDL is UIDVALIDITY.UID"
    );
    assert_eq!(pop.ok("UIDL 3"), format!("+OK 3 {}", ids[2]));

    // RETR: byte-exact, dot-stuffed on the wire, the size LIST gave.
    let status = pop.ok("RETR 1");
    assert_eq!(status, format!("+OK {} octets", sizes[0]));
    let retrieved = pop.raw_body();
    assert_eq!(retrieved.len() as u64, sizes[0]);
    assert!(
        retrieved.ends_with(&message(0)),
        "{}",
        String::from_utf8_lossy(&retrieved)
    );
    // TOP: the header, the blank line, then the first lines of the body.
    pop.ok("TOP 2 0");
    let top = String::from_utf8(pop.raw_body()).unwrap();
    assert!(top.ends_with("Message-ID: <1@pop3.test>\r\n\r\n"), "{top}");
    pop.ok("TOP 2 3");
    let top = String::from_utf8(pop.raw_body()).unwrap();
    assert!(
        top.ends_with("\r\n\r\nbody 1 line 1\r\n.\r\n..\r\n"),
        "{top:?}"
    );
    pop.ok("TOP 2 4294967295");
    assert!(pop.raw_body().ends_with(&message(1)));
    pop.err("TOP 2");
    pop.err("RETR 9");

    // DELE marks; a marked message is gone for every command until RSET.
    pop.ok("DELE 2");
    pop.err("DELE 2");
    pop.err("RETR 2");
    pop.err("LIST 2");
    pop.err("TOP 2 0");
    pop.err("UIDL 2");
    assert_eq!(pop.lines("LIST").len(), 2);
    assert_eq!(pop.ok("STAT"), format!("+OK 2 {}", total - sizes[1]));
    let reset = pop.ok("RSET");
    assert!(reset.contains("3 messages"), "{reset}");
    assert_eq!(pop.ok("STAT"), stat);
    pop.ok("NOOP");
    // CAPA after login no longer offers the ways in.
    let capa = pop.lines("CAPA");
    assert!(
        !capa
            .iter()
            .any(|c| c == "USER" || c == "STLS" || c.starts_with("SASL")),
        "{capa:?}"
    );
    pop.err("USER alice");
    pop.err("STLS");
    pop.err("AUTH PLAIN");
    pop.err("FROB");

    // UPDATE: QUIT expunges the marked messages.
    pop.ok("DELE 1");
    pop.ok("DELE 3");
    let bye = pop.ok("QUIT");
    assert!(bye.contains("1 messages left"), "{bye}");
    assert!(pop.closed());
    let mut pop = Pop::login(server.pop3_port, "alice", "pw-alice");
    assert_eq!(pop.lines("UIDL"), [format!("1 {}", ids[1])]);
    pop.ok("QUIT");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = server_with("", &["bob"]);
    fill(&server, "bob", 2);
    let mut pop = Pop::connect(server.pop3_port);
    assert!(pop.send(b"USER bob\r\nPASS pw-bob\r\nSTAT\r\nLIST\r\nRETR 2\r\nNOOP\r\nQUIT\r\n"));
    assert!(pop.line().unwrap_or_default().starts_with("+OK"));
    assert!(pop.line().unwrap_or_default().starts_with("+OK"));
    assert!(pop.line().unwrap_or_default().starts_with("+OK 2 "));
    assert!(pop.line().unwrap_or_default().starts_with("+OK"));
    let scan = String::from_utf8(pop.raw_body()).unwrap();
    assert_eq!(scan.lines().count(), 2, "{scan}");
    assert!(pop.line().unwrap_or_default().starts_with("+OK"));
    assert!(pop.raw_body().ends_with(&message(1)));
    assert_eq!(pop.line().unwrap_or_default(), "+OK");
    assert!(pop.line().unwrap_or_default().starts_with("+OK"));
    assert!(pop.closed());
}

#[test]
fn a_dropped_connection_expunges_nothing_and_quit_does() {
    let server = server_with("", &["carol"]);
    fill(&server, "carol", 4);
    let mut pop = Pop::login(server.pop3_port, "carol", "pw-carol");
    for n in 1..=4 {
        pop.ok(&format!("DELE {n}"));
    }
    drop(pop); // no QUIT: RFC 1939 §6, nothing enters the UPDATE state
    let mut pop = login_when_released(server.pop3_port, "carol");
    assert_eq!(pop.ok("STAT").split(' ').nth(1), Some("4"));
    pop.ok("DELE 1");
    pop.ok("QUIT");
    let mut pop = Pop::login(server.pop3_port, "carol", "pw-carol");
    assert_eq!(pop.ok("STAT").split(' ').nth(1), Some("3"));
}

/// Logs in once the previous session of `user`, just dropped, has let its maildrop go (the
/// server notices the closed connection on its own time).
fn login_when_released(port: u16, user: &str) -> Pop {
    let deadline = std::time::Instant::now() + HANG;
    loop {
        let mut pop = Pop::connect(port);
        pop.ok(&format!("USER {user}"));
        let reply = pop.cmd(&format!("PASS pw-{user}"));
        if reply.starts_with("+OK") {
            return pop;
        }
        assert!(reply.starts_with("-ERR [IN-USE]"), "{reply}");
        assert!(
            std::time::Instant::now() < deadline,
            "the maildrop was never released"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn one_pop3_session_per_user() {
    let server = server_with("", &["dave", "erin"]);
    fill(&server, "dave", 1);
    let mut first = Pop::login(server.pop3_port, "dave", "pw-dave");
    let mut second = Pop::connect(server.pop3_port);
    second.ok("USER dave");
    let refused = second.err("PASS pw-dave");
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");
    // The refused session is still in the AUTHORIZATION state; another user logs in fine.
    second.ok("USER erin");
    second.ok("PASS pw-erin");
    second.ok("QUIT");
    // Through SASL too.
    let mut third = Pop::connect(server.pop3_port);
    let plain = base64::engine::general_purpose::STANDARD.encode(b"\0dave\0pw-dave");
    let refused = third.err(&format!("AUTH PLAIN {plain}"));
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");
    first.ok("QUIT");
    third.ok(&format!("AUTH PLAIN {plain}"));
    third.ok("QUIT");
}

#[test]
fn imap_expunge_is_refused_while_pop3_holds_the_inbox() {
    let server = server_with("", &["frank"]);
    fill(&server, "frank", 3);
    let mut imap = imap_support::Client::login(server.imap_port, "frank");
    let r = imap.cmd("s1", "SELECT INBOX");
    assert!(last(&r).starts_with("s1 OK"), "{r:?}");
    let mut pop = Pop::login(server.pop3_port, "frank", "pw-frank");
    // Flags still change.
    let r = imap.cmd("f1", "STORE 1 +FLAGS (\\Deleted \\Flagged)");
    assert!(last(&r).starts_with("f1 OK"), "{r:?}");
    for command in ["EXPUNGE", "UID EXPUNGE 1", "MOVE 2 INBOX.Trash"] {
        if command.starts_with("MOVE") {
            let r = imap.cmd("c0", "CREATE INBOX.Trash");
            assert!(last(&r).starts_with("c0 OK"), "{r:?}");
        }
        let r = imap.cmd("x1", command);
        let reply = last(&r);
        assert!(reply.starts_with("x1 NO [INUSE]"), "{command}: {r:?}");
        assert!(reply.contains("POP3"), "names the reason: {reply}");
    }
    // APPEND and LMTP delivery still work; the POP3 session does not see the new mail.
    let mut r = imap.cmd("a1", "APPEND INBOX {14+}\r\nSubject: x\r\n\r\n");
    assert!(last(&r).starts_with("a1 OK"), "{r:?}");
    fill_from(&server, "frank", 3, 1);
    assert_eq!(pop.ok("STAT").split(' ').nth(1), Some("3"));
    r.extend(imap.cmd("n1", "NOOP"));
    assert!(r.iter().any(|l| l.starts_with("* 5 EXISTS")), "{r:?}");
    // CLOSE would expunge: it closes the mailbox and says why nothing was expunged.
    let r = imap.cmd("c1", "CLOSE");
    assert!(last(&r).starts_with("c1 NO [INUSE]"), "{r:?}");
    // The POP3 session itself expunges what it marked.
    pop.ok("DELE 3");
    pop.ok("QUIT");
    let r = imap.cmd("s2", "SELECT INBOX");
    assert!(r.iter().any(|l| l.starts_with("* 4 EXISTS")), "{r:?}");
    // Once the POP3 session ended, IMAP expunges again.
    let r = imap.cmd("x2", "EXPUNGE");
    assert!(last(&r).starts_with("x2 OK"), "{r:?}");
    assert!(r.iter().any(|l| l == "* 1 EXPUNGE\r\n"), "{r:?}");
}

#[test]
fn retrieved_messages_become_seen_and_deleted_ones_are_hidden() {
    let server = server_with("", &["gina"]);
    fill(&server, "gina", 3);
    imap_support::run_ok(
        server.imap_port,
        "gina",
        &["SELECT INBOX", "STORE 3 +FLAGS (\\Deleted)"],
    );
    let mut pop = Pop::login(server.pop3_port, "gina", "pw-gina");
    assert_eq!(
        pop.lines("LIST").len(),
        2,
        "the \\Deleted message is not offered"
    );
    pop.ok("RETR 1");
    pop.raw_body();
    pop.ok("TOP 2 0");
    pop.raw_body();
    pop.ok("QUIT");
    let r = imap_support::run_ok(
        server.imap_port,
        "gina",
        &["SELECT INBOX", "FETCH 1:2 FLAGS"],
    );
    let flags: Vec<&String> = r.iter().filter(|l| l.contains("FETCH (FLAGS")).collect();
    assert!(flags[0].contains("\\Seen"), "RETR marks \\Seen: {flags:?}");
    assert!(!flags[1].contains("\\Seen"), "TOP does not: {flags:?}");
}

#[test]
fn popuseimapflags_off_leaves_flags_alone() {
    let server = server_with("popuseimapflags: 0\n", &["hank"]);
    fill(&server, "hank", 2);
    imap_support::run_ok(
        server.imap_port,
        "hank",
        &["SELECT INBOX", "STORE 2 +FLAGS (\\Deleted)"],
    );
    let mut pop = Pop::login(server.pop3_port, "hank", "pw-hank");
    assert_eq!(
        pop.lines("LIST").len(),
        2,
        "\\Deleted messages are offered too"
    );
    pop.ok("RETR 1");
    pop.raw_body();
    pop.ok("QUIT");
    let r = imap_support::run_ok(server.imap_port, "hank", &["SELECT INBOX", "FETCH 1 FLAGS"]);
    assert!(r.iter().any(|l| l == "* 1 FETCH (FLAGS ())\r\n"), "{r:?}");
}

#[test]
fn login_delay_and_expire_zero() {
    let server = server_with("popminpoll: 1\npopexpiretime: 0\n", &["iris"]);
    fill(&server, "iris", 3);
    let mut pop = Pop::connect(server.pop3_port);
    let capa = pop.lines("CAPA");
    assert!(capa.iter().any(|c| c == "LOGIN-DELAY 60"), "{capa:?}");
    assert!(capa.iter().any(|c| c == "EXPIRE 0"), "{capa:?}");
    pop.ok("USER iris");
    pop.ok("PASS pw-iris");
    pop.ok("RETR 2");
    pop.raw_body();
    pop.ok("QUIT");
    let mut again = Pop::connect(server.pop3_port);
    again.ok("USER iris");
    let delayed = again.err("PASS pw-iris");
    assert!(delayed.starts_with("-ERR [LOGIN-DELAY]"), "{delayed}");
    // EXPIRE 0: the retrieved message was deleted at QUIT.
    let r = imap_support::run_ok(server.imap_port, "iris", &["SELECT INBOX"]);
    assert!(r.iter().any(|l| l.starts_with("* 2 EXISTS")), "{r:?}");
}

#[test]
fn sasl_auth_exchanges() {
    let server = server_with("", &["jack"]);
    fill(&server, "jack", 1);
    let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
    let mut pop = Pop::connect(server.pop3_port);
    let mechanisms = pop.lines("AUTH");
    assert!(mechanisms.iter().any(|m| m == "PLAIN"), "{mechanisms:?}");
    assert!(
        !mechanisms.iter().any(|m| m == "ANONYMOUS"),
        "{mechanisms:?}"
    );
    pop.err("AUTH FROB");
    pop.err("AUTH ANONYMOUS");
    // Without an initial response: an empty challenge, then the response line.
    assert_eq!(pop.cmd("AUTH PLAIN"), "+ ");
    assert!(pop.cmd("*").starts_with("-ERR"), "cancelled");
    assert_eq!(pop.cmd("AUTH PLAIN"), "+ ");
    assert!(pop.cmd("not base64!").starts_with("-ERR"));
    assert_eq!(pop.cmd("AUTH PLAIN"), "+ ");
    let wrong = pop.cmd(&b64(b"\0jack\0nope"));
    assert!(wrong.starts_with("-ERR [AUTH]"), "{wrong}");
    // LOGIN: two challenges.
    let user_prompt = pop.cmd("AUTH LOGIN");
    assert!(user_prompt.starts_with("+ "), "{user_prompt}");
    let pass_prompt = pop.cmd(&b64(b"jack"));
    assert!(pass_prompt.starts_with("+ "), "{pass_prompt}");
    let ok = pop.cmd(&b64(b"pw-jack"));
    assert!(ok.starts_with("+OK"), "{ok}");
    assert_eq!(pop.ok("STAT").split(' ').nth(1), Some("1"));
    pop.ok("QUIT");
}

#[test]
fn bad_input_is_bounded() {
    let server = server_with("", &["kate"]);
    let mut pop = Pop::connect(server.pop3_port);
    // A line over 255 octets is refused and skipped; the session goes on.
    pop.err(&format!("USER {}", "x".repeat(10_000)));
    pop.ok("CAPA");
    pop.raw_body();
    // Too many failed logins close the session (auth_max_failures, default 3).
    for _ in 0..2 {
        pop.ok("USER kate");
        pop.err("PASS wrong");
    }
    pop.ok("USER kate");
    pop.err("PASS wrong");
    assert!(
        pop.line().unwrap_or_default().starts_with("-ERR"),
        "the session says why it ends"
    );
    assert!(pop.closed());
    // Unknown commands in a row close the session too.
    let mut pop = Pop::connect(server.pop3_port);
    assert!(pop.send(&b"XYZZY\r\n".repeat(25)));
    let mut replies = Vec::new();
    loop {
        let reply = pop.line().unwrap_or_default();
        if reply.is_empty() {
            break;
        }
        replies.push(reply);
    }
    assert_eq!(replies.len(), 21, "20 refusals, then goodbye: {replies:?}");
    assert!(replies.iter().all(|r| r.starts_with("-ERR")), "{replies:?}");
}

#[test]
fn session_files_and_telemetry() {
    let server = server_with("", &["lena"]);
    fill(&server, "lena", 1);
    let log_dir = server.config_dir().join("log/lena");
    std::fs::create_dir_all(&log_dir).unwrap();
    let mut pop = Pop::login(server.pop3_port, "lena", "pw-lena");
    pop.ok("STAT");
    // While the session lasts, `proc/` names its host, user and mailbox.
    let proc_dir = server.config_dir().join("proc");
    let deadline = std::time::Instant::now() + HANG;
    let line = loop {
        let found = std::fs::read_dir(&proc_dir)
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|text| text.contains("\tlena\t"));
        if let Some(line) = found {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no session file for lena"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(line, "127.0.0.1\tlena\tINBOX\n", "as IMAP writes them");
    pop.ok("QUIT");
    assert!(pop.closed());
    // Telemetry: what followed the login, both ways, and never the password.
    let deadline = std::time::Instant::now() + HANG;
    loop {
        let text: String = std::fs::read_dir(&log_dir)
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        if text.contains("QUIT") && text.contains("signing off") {
            assert!(text.contains("STAT"), "{text}");
            assert!(!text.contains("pw-lena"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "telemetry: {text}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// APOP (RFC 1939 §7) only with `allowapop`: the greeting then carries a timestamp, and the
/// digest of timestamp and password logs in a user whose password was stored with the option
/// on.
#[test]
fn apop_only_where_the_password_is_kept() {
    use md5::Digest as _;
    let digest = |timestamp: &str, password: &str| {
        let sum = md5::Md5::digest(format!("{timestamp}{password}").as_bytes());
        sum.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let server = server_with("", &["mike"]);
    let mut pop = Pop::connect(server.pop3_port);
    pop.err(&format!("APOP mike {}", digest("<1.2@x>", "pw-mike")));
    drop(pop);
    let greeting = Pop::greeted;
    let (_, line) = greeting(server.pop3_port);
    assert!(
        !line.contains('<'),
        "no APOP timestamp without allowapop: {line}"
    );

    let server = server_with("allowapop: 1\n", &["nina"]);
    fill(&server, "nina", 1);
    let (mut pop, line) = greeting(server.pop3_port);
    let start = line.find('<').expect("a timestamp in the greeting");
    let timestamp = &line[start..=line[start..].find('>').unwrap() + start];
    let wrong = pop.err(&format!("APOP nina {}", digest(timestamp, "wrong")));
    assert!(wrong.starts_with("-ERR [AUTH]"), "{wrong}");
    let ok = pop.ok(&format!("APOP nina {}", digest(timestamp, "pw-nina")));
    assert!(ok.contains("1 messages"), "{ok}");
    pop.ok("QUIT");
    // Each connection has a timestamp of its own: an old digest does not log in again.
    let (mut pop, line) = greeting(server.pop3_port);
    assert!(!line.contains(timestamp), "{line}");
    let replayed = pop.err(&format!("APOP nina {}", digest(timestamp, "pw-nina")));
    assert!(replayed.starts_with("-ERR [AUTH]"), "{replayed}");
}

/// Quotas: POP3 adds nothing, and what QUIT expunges frees the quota root's usage.
#[test]
fn quit_frees_quota_usage() {
    let server = server_with("", &["admin", "olga"]);
    let quota = |imap: &mut imap_support::Client| {
        let r = imap.cmd("q", "GETQUOTA user.olga");
        assert!(last(&r).starts_with("q OK"), "{r:?}");
        r.into_iter()
            .find(|l| l.starts_with("* QUOTA"))
            .unwrap()
            .trim_end()
            .to_string()
    };
    let mut admin = imap_support::Client::login(server.imap_port, "admin");
    let r = admin.cmd("s", "SETQUOTA user.olga (STORAGE 1000 MESSAGE 10)");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    fill(&server, "olga", 3);
    let before = quota(&mut admin);
    assert!(before.contains("MESSAGE 3 10"), "{before}");
    let mut pop = Pop::login(server.pop3_port, "olga", "pw-olga");
    pop.ok("RETR 1");
    pop.raw_body();
    assert_eq!(quota(&mut admin), before, "reading changes no usage");
    pop.ok("DELE 1");
    pop.ok("DELE 2");
    pop.ok("QUIT");
    let after = quota(&mut admin);
    assert!(after.contains("MESSAGE 1 10"), "{after}");
    let storage = |line: &str| -> u64 {
        let rest = line.split("STORAGE ").nth(1).unwrap();
        rest.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(storage(&after) <= storage(&before), "{before} → {after}");
}

/// The machine's own address on its way to the documentation network, when it has one that
/// is not loopback (a client there is no loopback client).
fn outside_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback()).then_some(ip)
}

/// USER/PASS and PLAIN only where IMAP would allow LOGIN: not in the clear from a client that
/// is not on loopback (unless `allowplaintext`), and after STLS again.
#[test]
fn plaintext_logins_need_tls_off_loopback() {
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED: this machine has no address but loopback");
        return;
    };
    let server = server_with("listen_pop3: 0.0.0.0:0\n", &["pia"]);
    let mut pop = Pop::connect_to(ip, server.pop3_port);
    let capa = pop.lines("CAPA");
    assert!(!capa.iter().any(|c| c == "USER"), "{capa:?}");
    let sasl = capa
        .iter()
        .find(|c| c.starts_with("SASL"))
        .cloned()
        .unwrap_or_default();
    assert!(
        !sasl.contains("PLAIN") && sasl.contains("SCRAM-SHA-256"),
        "{capa:?}"
    );
    assert!(capa.iter().any(|c| c == "STLS"), "{capa:?}");
    let refused = pop.err("USER pia");
    assert!(
        refused.starts_with("-ERR [AUTH]") && refused.contains("STLS"),
        "{refused}"
    );
    let plain = base64::engine::general_purpose::STANDARD.encode(b"\0pia\0pw-pia");
    pop.err(&format!("AUTH PLAIN {plain}"));
    pop.ok("QUIT");

    let server = server_with("listen_pop3: 0.0.0.0:0\nallowplaintext: 1\n", &["pia"]);
    let mut pop = Pop::connect_to(ip, server.pop3_port);
    pop.ok("USER pia");
    pop.ok("PASS pw-pia");
    pop.ok("QUIT");
}
