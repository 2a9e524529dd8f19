use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use types::Secret;

use super::*;
use crate::authz::Mechanism;
use crate::identity::LoginIdentity;
use crate::login::LoginAttempt;
use crate::secrets::SecretPolicy;
use crate::server_domain::ServerDomain;
use crate::throttle::ThrottleConfig;
use sasl::decode_hex_digest as decode_digest;

/// RFC 1939 §7's example greeting timestamp and password.
const TIMESTAMP: &str = "<1896.697170952@dbc.mtview.ca.us>";
const PASSWORD: &str = "tanstaaf";
/// RFC 1939 §7: the digest of the two.
const DIGEST: &str = "c4c9334bac560ecc979e58001b3e22fb";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_string())
}

fn allowing_apop() -> SecretPolicy {
    SecretPolicy {
        apop: true,
        ..SecretPolicy::default()
    }
}

fn open(dir: &Path, policy: SecretPolicy) -> PasswordDb {
    PasswordDb::open(dir).unwrap().with_secrets(policy)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A POP3 login of `name` from `peer`, no domain from the server's address.
fn attempt<'a>(peer: &str, name: &'a str) -> LoginAttempt<'a> {
    LoginAttempt {
        protocol: crate::Protocol::Pop3,
        peer: peer.parse().unwrap(),
        name,
        server_domain: &ServerDomain::NONE,
    }
}

/// `check_apop` from `peer` with RFC 1939's timestamp.
fn apop(db: &Arc<PasswordDb>, peer: &str, name: &str, digest: &str) -> LoginCheck {
    runtime()
        .block_on(db.check_apop(attempt(peer, name), TIMESTAMP, digest))
        .unwrap()
}

/// A successful login as `user`.
fn valid(user: &str) -> LoginCheck {
    LoginCheck::Valid(user.to_string())
}

const HOST: &str = "192.0.2.1";

#[test]
fn rfc1939_example_digest() {
    let digest = apop_digest(TIMESTAMP.as_bytes(), PASSWORD.as_bytes());
    assert_eq!(hex(&digest), DIGEST);
}

#[test]
fn the_right_digest_logs_in_in_either_case_and_a_wrong_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(dir.path(), allowing_apop()));
    db.add_user("bob", &secret(PASSWORD)).unwrap();
    assert!(db.apop_enabled());
    assert!(db.stored_forms("bob").unwrap().unwrap().apop);
    assert_eq!(apop(&db, HOST, "bob", DIGEST), valid("bob"));
    assert_eq!(
        apop(&db, HOST, "bob", &DIGEST.to_ascii_uppercase()),
        valid("bob")
    );
    let wrong = hex(&apop_digest(TIMESTAMP.as_bytes(), b"tanstaag"));
    assert_eq!(apop(&db, HOST, "bob", &wrong), LoginCheck::Invalid);
    // Another greeting's timestamp: the digest of this one does not replay there.
    let other = "<1897.697170952@dbc.mtview.ca.us>";
    let replayed = runtime()
        .block_on(db.check_apop(attempt(HOST, "bob"), other, DIGEST))
        .unwrap();
    assert_eq!(replayed, LoginCheck::Invalid);
    for malformed in [
        "",
        "c4c9334b",
        &format!("{DIGEST}00"),
        &DIGEST.replace('c', "g"),
    ] {
        assert_eq!(
            apop(&db, HOST, "bob", malformed),
            LoginCheck::Invalid,
            "{malformed:?}"
        );
    }
}

#[test]
fn a_new_password_replaces_the_stored_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(dir.path(), allowing_apop()));
    db.add_user("bob", &secret("old password")).unwrap();
    assert_eq!(apop(&db, HOST, "bob", DIGEST), LoginCheck::Invalid);
    db.set_password("bob", &secret(PASSWORD)).unwrap();
    assert_eq!(apop(&db, HOST, "bob", DIGEST), valid("bob"));
}

#[test]
fn unknown_users_and_users_without_the_stored_password_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), SecretPolicy::default())
        .add_user("carol", &secret(PASSWORD))
        .unwrap();
    let db = Arc::new(open(dir.path(), allowing_apop()));
    assert!(!db.stored_forms("carol").unwrap().unwrap().apop);
    assert_eq!(apop(&db, HOST, "carol", DIGEST), LoginCheck::Invalid);
    assert_eq!(apop(&db, HOST, "nobody", DIGEST), LoginCheck::Invalid);
    // The empty password's digest, which stands in for a missing one, does not log in either.
    let empty = hex(&apop_digest(TIMESTAMP.as_bytes(), b""));
    assert_eq!(apop(&db, HOST, "carol", &empty), LoginCheck::Invalid);
    assert_eq!(apop(&db, HOST, "nobody", &empty), LoginCheck::Invalid);
}

#[test]
fn with_allowapop_off_nothing_is_stored_and_a_stored_password_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let off = Arc::new(open(dir.path(), SecretPolicy::default()));
    assert!(!off.apop_enabled());
    off.add_user("alice", &secret(PASSWORD)).unwrap();
    assert!(!off.stored_forms("alice").unwrap().unwrap().apop);
    assert_eq!(apop(&off, HOST, "alice", DIGEST), LoginCheck::Invalid);
    drop(off);
    let bytes = std::fs::read(dir.path().join(crate::password_db::FILE_NAME)).unwrap();
    let stored = crate::secrets::encode_apop(PASSWORD.as_bytes());
    let found = |bytes: &[u8], what: &[u8]| bytes.windows(what.len()).any(|w| w == what);
    assert!(!found(&bytes, PASSWORD.as_bytes()) && !found(&bytes, stored.as_bytes()));

    open(dir.path(), allowing_apop())
        .add_user("bob", &secret(PASSWORD))
        .unwrap();
    let off = Arc::new(open(dir.path(), SecretPolicy::default()));
    assert!(
        off.stored_forms("bob").unwrap().unwrap().apop,
        "still there"
    );
    assert_eq!(apop(&off, HOST, "bob", DIGEST), LoginCheck::Invalid);
    // A password set while off replaces the record, stored copy included.
    off.set_password("bob", &secret(PASSWORD)).unwrap();
    assert!(!off.stored_forms("bob").unwrap().unwrap().apop);
}

#[test]
fn failures_count_against_the_host_like_wrong_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        open(dir.path(), allowing_apop()).with_login_throttle(ThrottleConfig {
            max_failures: 3,
            window: Duration::from_secs(300),
            exempt: net::HostSet::default(),
        }),
    );
    db.add_user("bob", &secret(PASSWORD)).unwrap();
    let wrong = hex(&apop_digest(TIMESTAMP.as_bytes(), b"guess"));
    assert_eq!(apop(&db, HOST, "bob", &wrong), LoginCheck::Invalid);
    assert_eq!(apop(&db, HOST, "nobody", DIGEST), LoginCheck::Invalid);
    // A wrong password counts towards the same limit.
    let login = runtime().block_on(db.check_login(attempt(HOST, "bob"), secret("guess")));
    assert_eq!(login.unwrap(), LoginCheck::Invalid);
    assert_eq!(
        apop(&db, HOST, "bob", DIGEST),
        LoginCheck::Throttled,
        "not checked"
    );
    assert_eq!(apop(&db, "198.51.100.7", "bob", DIGEST), valid("bob"));
}

#[test]
fn the_user_checked_is_the_canonical_user_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        open(dir.path(), allowing_apop())
            .with_identity(LoginIdentity::new(
                Some("EXAMPLE.ORG".into()),
                None,
                Vec::new(),
                Mechanism::Krb5,
                types::Domains::off(),
            ))
            .with_login_throttle(ThrottleConfig {
                max_failures: 1,
                window: Duration::from_secs(300),
                exempt: net::HostSet::default(),
            }),
    );
    db.add_user("bob", &secret(PASSWORD)).unwrap();
    assert_eq!(apop(&db, HOST, "bob@EXAMPLE.ORG", DIGEST), valid("bob"));
    // Another realm, not in loginrealms: refused without a check, and counted.
    assert_eq!(
        apop(&db, HOST, "bob@OTHER.ORG", DIGEST),
        LoginCheck::Invalid
    );
    assert_eq!(apop(&db, HOST, "bob", DIGEST), LoginCheck::Throttled);
}

#[test]
fn with_domains_on_the_user_checked_is_the_canonical_user_id() {
    let dir = tempfile::tempdir().unwrap();
    let domains = types::Domains {
        mode: types::DomainMode::Userid,
        default_domain: Some("example.org".into()),
        local_names: Vec::new(),
    };
    let db = Arc::new(
        open(dir.path(), allowing_apop()).with_identity(LoginIdentity::new(
            None,
            None,
            Vec::new(),
            Mechanism::Unix,
            domains,
        )),
    );
    db.add_user("bob", &secret(PASSWORD)).unwrap();
    db.add_user("carol@one.example", &secret(PASSWORD)).unwrap();
    assert_eq!(apop(&db, HOST, "bob@Example.ORG", DIGEST), valid("bob"));
    assert_eq!(
        apop(&db, HOST, "carol@One.Example", DIGEST),
        valid("carol@one.example")
    );
    assert_eq!(apop(&db, HOST, "carol", DIGEST), LoginCheck::Invalid);
    assert_eq!(
        apop(&db, HOST, "bob@one_example", DIGEST),
        LoginCheck::Invalid
    );
}

#[test]
fn apop_works_only_where_the_password_database_is_filled() {
    let dir = tempfile::tempdir().unwrap();
    let files =
        crate::shadow::ShadowFiles::at(dir.path().join("passwd"), dir.path().join("shadow"));
    let shadow_only = || {
        open(dir.path(), allowing_apop()).with_sources(vec![PasswordSource::Shadow(files.clone())])
    };
    let db = Arc::new(shadow_only());
    db.add_user("bob", &secret(PASSWORD)).unwrap();
    assert!(!db.apop_enabled());
    assert_eq!(apop(&db, HOST, "bob", DIGEST), LoginCheck::Invalid);
    drop(db);
    let db = Arc::new(shadow_only().with_auto_transition(true));
    assert!(db.apop_enabled());
    assert_eq!(apop(&db, HOST, "bob", DIGEST), valid("bob"));
}

#[test]
fn auto_transition_stores_the_password_for_apop_at_a_right_plaintext_login() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), SecretPolicy::default())
        .add_user("bob", &secret(PASSWORD))
        .unwrap();
    let db = Arc::new(open(dir.path(), allowing_apop()).with_auto_transition(true));
    assert!(!db.check_sources("bob", &secret("wrong")).unwrap());
    assert_eq!(apop(&db, HOST, "bob", DIGEST), LoginCheck::Invalid);
    assert!(db.check_sources("bob", &secret(PASSWORD)).unwrap());
    assert!(db.stored_forms("bob").unwrap().unwrap().apop);
    assert_eq!(apop(&db, HOST, "bob", DIGEST), valid("bob"));
}

proptest! {
    #[test]
    fn digests_read_back_in_either_case(bytes in proptest::array::uniform16(any::<u8>())) {
        let lower = hex(&bytes);
        prop_assert_eq!(decode_digest(&lower), Some(bytes));
        prop_assert_eq!(decode_digest(&lower.to_ascii_uppercase()), Some(bytes));
    }

    #[test]
    fn only_32_hex_digits_are_a_digest(text in "[0-9a-fA-Fg-z +]{0,40}|\\PC{0,40}") {
        let is_digest = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
        prop_assert_eq!(decode_digest(&text).is_some(), is_digest);
    }
}
