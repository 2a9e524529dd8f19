//! Python's smtplib.LMTP (tests/interop/lmtp_transaction.py) against the real server: one
//! transaction whose recipients get every kind of answer — delivered, unknown user (550
//! 5.1.1), over quota (452 4.2.2), a shared mailbox without `p` (550 5.7.1), `+detail` with and
//! without `p`, a shared mailbox through `postuser` — with one reply per accepted recipient
//! after the data; a pipelined BDAT transaction; AUTH PLAIN after STARTTLS. Each copy is read
//! back over IMAP with imaplib, byte for byte.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn smtplib_transaction_with_every_recipient_outcome_bdat_and_auth() {
    let server = common::Server::start_with("postuser: bb\nlmtp_auth: 1\nauth_failure_delay: 0\n");
    for user in ["admin", "alice", "bob", "dana"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let cert = server.cert_path().display().to_string();
    common::run_python(&server, "lmtp_transaction.py", &[("CERT", &cert)]);
}
