//! Debian's `cyradm` (cyrus-admin) against `darius serve` with virtual domains (issue 20): a
//! domain administrator (`admins: … postmaster@one.example`) creates users and sets quotas in
//! its own domain only, and a global administrator reaches every domain, in a scripted session
//! on a pseudo-terminal (tests/interop/cyradm_domains.py) checked over IMAP as the global
//! administrator and as the users. Skipped without cyradm unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)]

mod common;

/// Two domains besides the default one; `admin` administers all, `postmaster@one.example`
/// only one.example.
const DOMAINS: &str = "virtdomains: userid\ndefaultdomain: example.org\n\
                       admins: admin postmaster@one.example\n";

#[test]
fn cyradm_as_domain_admin_creates_users_and_sets_quotas_in_its_own_domain_only() {
    if !common::have("cyradm") {
        return;
    }
    let server = common::Server::start_with(DOMAINS);
    // carol@one.example is not here: cyradm makes her mailbox, the script her password.
    for user in [
        "admin",
        "postmaster@one.example",
        "alice@one.example",
        "bob@one.example",
        "alice@two.example",
    ] {
        server.add_user(user, &format!("pw-{user}"));
    }
    let conf = server.conf.display().to_string();
    common::run_python(
        &server,
        "cyradm_domains.py",
        &[("DARIUS", common::DARIUS), ("DARIUS_CONF", &conf)],
    );
}
