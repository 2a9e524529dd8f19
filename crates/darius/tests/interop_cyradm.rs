//! Debian's `cyradm` (cyrus-admin) against `darius serve`: an administrator's scripted session
//! on a pseudo-terminal (tests/interop/cyradm_session.py) — mailboxes for users and shared ones
//! on two partitions, list, rename (also onto another partition, and a user moved by renaming
//! their INBOX to itself), ACLs with a negative entry, a user deleted with their whole
//! hierarchy, quotas set and listed (`sq`, `lq`, `lqr`) and enforced, `info` refused and `xfer` refused outside a Murder — checked over IMAP as the
//! users. Skipped without cyradm unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn cyradm_administers_mailboxes_on_two_partitions() {
    if !common::have("cyradm") {
        return;
    }
    let second = tempfile::tempdir().unwrap();
    let server =
        common::Server::start_with(&format!("partition-second: {}\n", second.path().display()));
    for user in ["admin", "dave", "erin"] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let path = second.path().display().to_string();
    common::run_python(
        &server,
        "cyradm_session.py",
        &[("ADMIN_PASSWORD", "pw-admin"), ("SECOND_PARTITION", &path)],
    );
}
