use std::net::Ipv4Addr;

use super::*;
use crate::oauth::tests::{fixture_verifier, token_valid_now};

fn logins(dir: &std::path::Path, mech_list: &[Mechanism]) -> SaslLogins {
    let db = Arc::new(PasswordDb::open(dir).unwrap());
    let config = SaslConfig {
        mech_list: mech_list.to_vec(),
        ..SaslConfig::default()
    };
    SaslLogins::new(db, config)
}

fn channel(plaintext_ok: bool) -> SaslChannel {
    SaslChannel {
        protocol: crate::Protocol::Imap,
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        plaintext_ok,
        channel_bindings: Vec::new(),
        external_identity: None,
        kerberos: None,
        server_domain: ServerDomain::NONE,
    }
}

const OAUTH: [Mechanism; 2] = [Mechanism::OAuthBearer, Mechanism::XOAuth2];

#[test]
fn oauth_mechanisms_are_offered_only_with_a_token_verifier_and_plaintext_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let without = logins(dir.path(), &[]);
    for m in OAUTH {
        assert!(!without.offered(&channel(true)).contains(&m));
        let refusal = without.start(m.name(), &channel(true)).err();
        assert_eq!(refusal, Some(StartRefusal::Unsupported));
    }
    let with = without.with_token_verifier(Arc::new(fixture_verifier()));
    for m in OAUTH {
        assert!(with.offered(&channel(true)).contains(&m));
        assert!(!with.offered(&channel(false)).contains(&m));
        let refusal = with.start(m.name(), &channel(false)).err();
        assert_eq!(refusal, Some(StartRefusal::NeedsTls));
    }
}

#[test]
fn sasl_mech_list_can_leave_oauth_out() {
    let dir = tempfile::tempdir().unwrap();
    let plain_only =
        logins(dir.path(), &[Mechanism::Plain]).with_token_verifier(Arc::new(fixture_verifier()));
    assert_eq!(plain_only.offered(&channel(true)), vec![Mechanism::Plain]);
}

#[test]
fn anonymous_is_offered_but_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(PasswordDb::open(dir.path()).unwrap());
    let config = SaslConfig {
        mech_list: vec![Mechanism::Plain, Mechanism::Anonymous],
        allow_anonymous: true,
        ..SaslConfig::default()
    };
    let logins = SaslLogins::new(db, config);
    assert!(logins
        .offered(&channel(true))
        .contains(&Mechanism::Anonymous));
    assert_eq!(
        logins.offered_except_anonymous(&channel(true)),
        vec!["PLAIN"]
    );
}

#[tokio::test]
async fn a_plain_connection_has_no_channel_bindings_nor_certificate_identity() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    let channel = SaslChannel::new(
        &Transport::Plain(server),
        ChannelSettings {
            protocol: crate::Protocol::Pop3,
            peer: peer.ip(),
            plaintext_ok: false,
            client_identity: Some(ClientIdentity::CommonName),
            server_end_point: Some(b"end point"),
            kerberos: None,
        },
    );
    assert!(channel.channel_bindings.is_empty());
    assert_eq!(channel.external_identity, None);
    assert_eq!(channel.protocol, crate::Protocol::Pop3);
    assert_eq!(channel.peer, peer.ip());
    assert!(!channel.plaintext_ok);
}

#[tokio::test]
async fn an_oauthbearer_exchange_logs_in_as_the_tokens_user() {
    let dir = tempfile::tempdir().unwrap();
    let logins = logins(dir.path(), &[]).with_token_verifier(Arc::new(fixture_verifier()));
    let mut exchange = logins.start("oauthbearer", &channel(true)).unwrap();
    let message = format!("n,,\x01auth=Bearer {}\x01\x01", token_valid_now("carol"));
    let step = exchange
        .step(Secret::new(message.into_bytes()))
        .await
        .unwrap();
    let Step::Done(success) = step else {
        panic!("{step:?}");
    };
    assert_eq!(
        logins.authorize(&ServerDomain::NONE, exchange.mechanism(), &success),
        Authorization::User {
            user: "carol".into(),
            authcid: "carol".into()
        }
    );
    // A bad token: the error challenge, then the failure.
    let mut exchange = logins.start("OAUTHBEARER", &channel(true)).unwrap();
    let message = "n,,\x01auth=Bearer not.a.jwt\x01\x01".as_bytes().to_vec();
    let step = exchange.step(Secret::new(message)).await.unwrap();
    assert!(matches!(step, Step::Challenge(_)), "{step:?}");
    let step = exchange.step(Secret::new(vec![1])).await.unwrap();
    assert!(matches!(step, Step::Failed(_)), "{step:?}");
}

/// GSSAPI needs the server's Kerberos credentials, which this build or this connection
/// lacks: never offered, never started.
#[test]
fn gssapi_is_offered_only_with_kerberos_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let logins = logins(dir.path(), &[]);
    assert!(!logins.offered(&channel(true)).contains(&Mechanism::Gssapi));
    let refusal = logins.start("GSSAPI", &channel(true)).err();
    assert_eq!(refusal, Some(StartRefusal::Unsupported));
}

/// A GSSAPI principal goes through the Kerberos identity rules even under `auth_mech:
/// unix`, where a password mechanism's `bob@CMU.EDU` would be kept as typed.
#[test]
fn gssapi_principals_follow_the_kerberos_identity_rules() {
    let dir = tempfile::tempdir().unwrap();
    let equiv = dir.path().join("krb.equiv");
    std::fs::write(&equiv, "bovik@REMOTE.COM bovik\n").unwrap();
    let identity = crate::identity::LoginIdentity::new(
        Some("CMU.EDU".into()),
        Some(equiv),
        vec!["PARTNER.ORG".into()],
        crate::authz::Mechanism::Unix,
        types::Domains::off(),
    );
    let db = Arc::new(
        PasswordDb::open(dir.path())
            .unwrap()
            .with_identity(identity),
    );
    let logins = SaslLogins::new(db, SaslConfig::default());
    let success = |authcid: &str, authzid: Option<&str>| Success {
        authcid: authcid.into(),
        authzid: authzid.map(Into::into),
        additional_data: None,
        trace: None,
    };
    let user = |name: &str| Authorization::User {
        user: name.into(),
        authcid: name.into(),
    };
    let gssapi = |authcid, authzid| {
        logins.authorize(
            &ServerDomain::NONE,
            Mechanism::Gssapi,
            &success(authcid, authzid),
        )
    };
    assert_eq!(gssapi("bob@CMU.EDU", None), user("bob"));
    assert_eq!(gssapi("bob@CMU.EDU", Some("bob")), user("bob"));
    assert_eq!(gssapi("bovik@REMOTE.COM", None), user("bovik"));
    assert_eq!(gssapi("carol@PARTNER.ORG", None), user("carol@PARTNER.ORG"));
    assert_eq!(gssapi("eve@ELSEWHERE.NET", None), Authorization::Refused);
    assert_eq!(gssapi("bob@CMU.EDU", Some("alice")), Authorization::Refused);
    // The same identity from a password mechanism is a user id, kept as typed.
    let plain = logins.authorize(
        &ServerDomain::NONE,
        Mechanism::Plain,
        &success("bob@CMU.EDU", None),
    );
    assert_eq!(plain, user("bob@CMU.EDU"));
}

/// `defaultdomain: example.org`, domains taken from user ids; `admins: admin
/// Postmaster@One.Example`, `proxyservers: relay@two.example`, `loginuseacl` on; users `alice`
/// and `bob@one.example` (password `pw`).
fn domain_logins(dir: &std::path::Path) -> SaslLogins {
    let domains = types::Domains {
        mode: types::DomainMode::Userid,
        default_domain: Some("example.org".into()),
        local_names: Vec::new(),
    };
    let identity = crate::identity::LoginIdentity::new(
        None,
        None,
        Vec::new(),
        crate::authz::Mechanism::Unix,
        domains,
    );
    let db = Arc::new(
        PasswordDb::open(dir)
            .unwrap()
            .with_identity(identity)
            .with_secrets(crate::SecretPolicy {
                cram_md5: true,
                ..crate::SecretPolicy::default()
            }),
    );
    for user in ["alice", "bob@one.example"] {
        db.add_user(user, &Secret::new("pw".to_string())).unwrap();
    }
    let config = SaslConfig {
        mech_list: vec![Mechanism::Plain, Mechanism::ScramSha256, Mechanism::CramMd5],
        admins: vec!["admin".into(), "Postmaster@One.Example".into()].into(),
        proxy_servers: vec!["relay@two.example".into()],
        login_use_acl: true,
        ..SaslConfig::default()
    };
    SaslLogins::new(db, config)
}

/// A PLAIN exchange as `authcid` with `password` on `channel`: whom it logs in as.
async fn plain_login(
    logins: &SaslLogins,
    channel: &SaslChannel,
    authcid: &str,
    password: &str,
) -> Option<String> {
    let mut exchange = logins.start("PLAIN", channel).unwrap();
    let message = sasl::client::plain(None, authcid, password).unwrap();
    let Step::Done(success) = exchange.step(message).await.unwrap() else {
        return None;
    };
    let at = exchange.server_domain().clone();
    match logins.authorize(&at, exchange.mechanism(), &success) {
        Authorization::User { user, .. } => Some(user),
        other => panic!("{authcid}: {other:?}"),
    }
}

#[tokio::test]
async fn with_domains_plain_checks_and_logs_in_the_canonical_user() {
    let dir = tempfile::tempdir().unwrap();
    let logins = domain_logins(dir.path());
    let here = channel(true);
    let login = |authcid: &'static str, password: &'static str| {
        let (logins, here) = (&logins, &here);
        async move { plain_login(logins, here, authcid, password).await }
    };
    assert_eq!(login("alice", "pw").await.as_deref(), Some("alice"));
    assert_eq!(
        login("alice@EXAMPLE.org", "pw").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        login("bob@One.Example", "pw").await.as_deref(),
        Some("bob@one.example")
    );
    for refused in [
        "bob",
        "bob@two.example",
        "bob@one_example",
        "alice@one.example",
    ] {
        assert_eq!(login(refused, "pw").await, None, "{refused}");
    }
    assert_eq!(login("bob@one.example", "wrong").await, None);
    // Typed without a domain on an address of one.example: a user of one.example.
    let there = channel(true).with_server_domain(ServerDomain(Some("one.example".into())));
    assert_eq!(
        plain_login(&logins, &there, "bob", "pw").await.as_deref(),
        Some("bob@one.example")
    );
    assert_eq!(
        plain_login(&logins, &there, "alice@example.org", "pw")
            .await
            .as_deref(),
        Some("alice")
    );
    assert_eq!(plain_login(&logins, &there, "alice", "pw").await, None);
}

/// A SCRAM-SHA-256 exchange as `authcid` with password `pw`: whom it proves.
async fn scram_login(logins: &SaslLogins, authcid: &str) -> Option<String> {
    let mut client =
        sasl::client::ScramClient::new(sasl::ScramHash::Sha256, authcid, None).unwrap();
    let mut exchange = logins.start("SCRAM-SHA-256", &channel(true)).unwrap();
    let first = Secret::new(client.client_first());
    let Step::Challenge(server_first) = exchange.step(first).await.unwrap() else {
        panic!("no server-first message for {authcid}");
    };
    let last = client.respond(&server_first, b"pw").unwrap();
    match exchange.step(Secret::new(last)).await.unwrap() {
        Step::Done(success) => Some(success.authcid),
        _ => None,
    }
}

#[tokio::test]
async fn with_domains_scram_and_cram_md5_find_the_canonical_users_secrets() {
    use hmac::Mac;
    let dir = tempfile::tempdir().unwrap();
    let logins = domain_logins(dir.path());
    assert!(scram_login(&logins, "bob@One.Example").await.is_some());
    assert!(scram_login(&logins, "alice@EXAMPLE.ORG").await.is_some());
    // The local part is the user's own, in its case; a user of no domain has none.
    for unknown in ["BOB@one.example", "bob", "bob@one_example"] {
        assert_eq!(scram_login(&logins, unknown).await, None, "{unknown}");
    }
    // CRAM-MD5 reads the secret stored under the canonical name too.
    let mut exchange = logins.start("CRAM-MD5", &channel(true)).unwrap();
    let Step::Challenge(challenge) = exchange.start() else {
        panic!("no CRAM-MD5 challenge");
    };
    let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(b"pw").unwrap();
    mac.update(&challenge);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = format!("bob@ONE.example {digest}").into_bytes();
    let Step::Done(success) = exchange.step(Secret::new(response)).await.unwrap() else {
        panic!("CRAM-MD5 as bob@ONE.example failed");
    };
    assert_eq!(
        logins.authorize(&ServerDomain::NONE, Mechanism::CramMd5, &success),
        Authorization::User {
            user: "bob@one.example".into(),
            authcid: "bob@one.example".into(),
        }
    );
}

#[test]
fn with_domains_an_identity_of_a_domain_acts_only_within_it() {
    let dir = tempfile::tempdir().unwrap();
    let logins = domain_logins(dir.path());
    let act = |authcid: &str, authzid: &str| {
        let success = Success {
            authcid: authcid.into(),
            authzid: Some(authzid.into()),
            additional_data: None,
            trace: None,
        };
        logins.authorize(&ServerDomain::NONE, Mechanism::Plain, &success)
    };
    let acts = |authcid: &str, user: &str| Authorization::User {
        user: user.into(),
        authcid: authcid.into(),
    };
    // A global admin (listed without a domain, or with the default one) acts for anyone.
    assert_eq!(
        act("admin", "carol@Two.Example"),
        acts("admin", "carol@two.example")
    );
    assert_eq!(act("admin@example.org", "alice"), acts("admin", "alice"));
    // A domain admin (its domain listed in any case) acts for its own domain's users only.
    assert_eq!(
        act("Postmaster@one.example", "carol@ONE.EXAMPLE"),
        acts("Postmaster@one.example", "carol@one.example")
    );
    assert_eq!(
        act("postmaster@one.example", "carol@one.example"),
        Authorization::NeedsAcl {
            user: "carol@one.example".into(),
            authcid: "postmaster@one.example".into(),
        },
        "the local part is compared as written: not the listed admin"
    );
    for elsewhere in ["carol@two.example", "alice", "alice@example.org"] {
        assert_eq!(
            act("Postmaster@one.example", elsewhere),
            Authorization::Refused,
            "{elsewhere}"
        );
    }
    // A proxy server of a domain, the same.
    assert_eq!(
        act("relay@two.example", "dave@two.example"),
        acts("relay@two.example", "dave@two.example")
    );
    assert_eq!(
        act("relay@two.example", "bob@one.example"),
        Authorization::Refused
    );
    // loginuseacl: the a right is asked about only within the user's own domain.
    assert_eq!(
        act("bob@one.example", "carol@one.example"),
        Authorization::NeedsAcl {
            user: "carol@one.example".into(),
            authcid: "bob@one.example".into(),
        }
    );
    assert_eq!(act("bob@one.example", "alice"), Authorization::Refused);
    assert_eq!(act("alice", "bob@one.example"), Authorization::Refused);
    // A malformed domain on either side is refused before anything else.
    assert_eq!(act("admin", "carol@two_example"), Authorization::Refused);
    assert_eq!(act("admin@bad_domain", "alice"), Authorization::Refused);
}

#[test]
fn with_domains_off_listed_identities_compare_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(PasswordDb::open(dir.path()).unwrap());
    let config = SaslConfig {
        admins: vec!["postmaster@one.example".into()].into(),
        ..SaslConfig::default()
    };
    let logins = SaslLogins::new(db, config);
    let act = |authcid: &str, authzid: &str| {
        let success = Success {
            authcid: authcid.into(),
            authzid: Some(authzid.into()),
            additional_data: None,
            trace: None,
        };
        logins.authorize(&ServerDomain::NONE, Mechanism::Plain, &success)
    };
    // No domains: `postmaster@one.example` is an ordinary administrator of everyone.
    assert_eq!(
        act("postmaster@one.example", "alice@Two.Example"),
        Authorization::User {
            user: "alice@Two.Example".into(),
            authcid: "postmaster@one.example".into(),
        }
    );
    assert_eq!(
        act("postmaster@ONE.EXAMPLE", "alice"),
        Authorization::Refused
    );
}
