//! IMAP over real sockets with Python's imaplib (scripts in tests/interop/): every command of
//! the IMAP issue, as a client library nobody here wrote sends and reads them.
#![allow(clippy::unwrap_used)]

mod common;

fn server_with_users() -> common::Server {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    server.add_user("admin", "pw-admin");
    server
}

#[test]
fn imaplib_session_commands() {
    let server = server_with_users();
    common::run_python(&server, "imaplib_session.py", &[("ADMIN_PW", "pw-admin")]);
}

#[test]
fn imaplib_message_commands() {
    let server = server_with_users();
    common::run_python(&server, "imaplib_messages.py", &[]);
}

#[test]
fn imaps_and_starttls() {
    let server = server_with_users();
    let cert = server.cert_path().display().to_string();
    common::run_python(&server, "imaplib_tls.py", &[("CERT", &cert)]);
}
