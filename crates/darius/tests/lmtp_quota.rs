//! Cyrus's quota rule for delivery over LMTP, with Python's smtplib.LMTP
//! (tests/interop/lmtp_quota.py): the first message past the limit is accepted, the next gets
//! `452 4.2.2` at RCPT while other recipients are delivered; with `lmtp_strict_quota` a message
//! that would pass the limit gets `452 4.2.2` after DATA.
#![allow(clippy::unwrap_used)]

mod common;

fn run(extra: &str, strict: &str) {
    let server = common::Server::start_with(extra);
    for u in ["admin", "dana", "erik"] {
        server.add_user(u, &format!("pw-{u}"));
    }
    common::run_python(&server, "lmtp_quota.py", &[("STRICT", strict)]);
}

#[test]
fn delivery_goes_on_until_the_root_is_over_then_waits_with_452() {
    run("", "0");
}

#[test]
fn strict_delivery_refuses_what_would_pass_the_limit_after_data() {
    run("lmtp_strict_quota: 1\n", "1");
}
