//! Python's poplib, a client nobody here wrote, against the POP3 server: every RFC 1939 command
//! over plain POP3, after STLS and over POP3S, CAPA in each, RETR and TOP byte for byte against
//! IMAP's view and what LMTP delivered (lines that start with `.` included, one message of
//! 1.6 MB among them), UIDL as UIDVALIDITY.UID, QUIT's expunge and RETR's `\Seen`;
//! LOGIN-DELAY with `popminpoll` (`tests/interop/pop3_poplib.py`).
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod pop3_support;

use common::Server;

/// Runs the script against `server` with alice's maildrop; `messages` are what was delivered.
fn run(server: &Server, messages: &[Vec<u8>], env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    for (i, m) in messages.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:04}")), m).unwrap();
    }
    let (pop3, pop3s) = (server.pop3_port.to_string(), server.pop3s_port.to_string());
    let cert = server.cert_path().display().to_string();
    let messages_dir = dir.path().display().to_string();
    let mut all = vec![
        ("POP3_PORT", pop3.as_str()),
        ("POP3S_PORT", pop3s.as_str()),
        ("CERT", cert.as_str()),
        ("POP3_USER", "alice"),
        ("POP3_PASSWORD", "pw-alice"),
        ("MESSAGES_DIR", messages_dir.as_str()),
    ];
    all.extend_from_slice(env);
    common::run_python(server, "pop3_poplib.py", &all);
}

#[test]
fn poplib_over_plain_pop3_stls_and_pop3s() {
    let server = Server::start();
    server.add_user("alice", "pw-alice");
    let mut messages = pop3_support::messages("poplib", "alice", 8);
    messages.insert(3, pop3_support::large_message("poplib", "alice"));
    pop3_support::deliver(&server, "alice", &messages);
    run(&server, &messages, &[]);
}

#[test]
fn poplib_sees_login_delay_with_popminpoll() {
    let server = Server::start_with("popminpoll: 1\n");
    server.add_user("alice", "pw-alice");
    run(
        &server,
        &[],
        &[("LOGIN_DELAY", "60"), ("MODE", "login-delay")],
    );
}
