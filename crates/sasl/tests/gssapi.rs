//! GSSAPI (RFC 4752) against a real MIT Kerberos realm: a KDC on loopback made for the run
//! (`crates/darius/tests/common/kdc.rs`), the server's keytab, and a client written with the
//! same GSS-API binding that initiates a Kerberos 5 context as a user of the realm. Skipped
//! with a note when Kerberos is not installed, unless DARIUS_REQUIRE_INTEROP=1.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

#[path = "../../darius/tests/common/kdc.rs"]
mod kdc;

use std::num::NonZeroU32;
use std::sync::Arc;

use kdc::{Kdc, HOST, OTHER_USER, PASSWORD, USER};
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL};
use proptest::prelude::*;
use sasl::{
    Authenticator, Credentials, FailureReason, KerberosError, KerberosService, Mechanism, Setup,
    Step, Success, Unavailable, UnknownUserDisguise,
};
use types::Secret;

/// GSSAPI needs no password source.
struct NoPasswords;

impl Credentials for NoPasswords {
    fn verify_plain(&self, _: &str, _: &Secret<String>) -> Result<bool, Unavailable> {
        Ok(false)
    }
}

/// The server side: an exchange with the acceptor credentials of `service/localhost`.
fn server(service: &str) -> Authenticator {
    let mut setup = Setup::new(
        Arc::new(NoPasswords),
        HOST,
        UnknownUserDisguise {
            key: Secret::new([3; 32]),
            iterations: NonZeroU32::MIN,
        },
    );
    setup.kerberos = Some(KerberosService::acquire(service, HOST).unwrap());
    Authenticator::new(Mechanism::Gssapi, setup).unwrap()
}

/// The client side: a Kerberos 5 context for `service@localhost`, as the user whose ticket is
/// in the realm's credential cache (`alice`), or as `user` with `password` when given.
fn client(service: &str, login: Option<(&str, &str)>) -> ClientCtx {
    let krb5 = OidSet::singleton(GSS_MECH_KRB5).unwrap();
    let credentials = match login {
        None => Cred::acquire(None, None, CredUsage::Initiate, Some(&krb5)).unwrap(),
        Some((user, password)) => {
            let name = Name::new(Kdc::principal(user).as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL));
            let name = name.unwrap();
            let usage = CredUsage::Initiate;
            Cred::acquire_with_password(Some(&name), password, None, usage, Some(&krb5)).unwrap()
        }
    };
    let target = format!("{service}@{HOST}");
    let target = Name::new(target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE)).unwrap();
    let flags = CtxFlags::GSS_C_MUTUAL_FLAG | CtxFlags::GSS_C_INTEG_FLAG;
    ClientCtx::new(Some(credentials), target, flags, Some(GSS_MECH_KRB5))
}

/// How the client answers the server's security-layer offer.
enum Answer<'a> {
    /// Wrapped, as RFC 4752 §3.1 says: the layer octet, three size octets, the authzid.
    Wrapped(&'a [u8]),
    /// The same bytes, not wrapped.
    Plain(&'a [u8]),
}

/// Runs the client's side of the exchange (RFC 4752 §3.1) against `server` from its first
/// context token on, and answers the server's last step.
fn run(server: &mut Authenticator, client: &mut ClientCtx, first: &[u8], answer: Answer) -> Step {
    let mut step = server.step(first);
    loop {
        let challenge = match step {
            Step::Challenge(challenge) => challenge,
            end => return end,
        };
        if !client.is_complete() {
            let token = client.step(Some(&challenge), None).unwrap();
            step = server.step(token.as_deref().unwrap_or_default());
            continue;
        }
        // The context is established: this is the wrapped offer, no layer, size 0.
        let offer = client.unwrap(&challenge).unwrap();
        assert_eq!(
            &*offer,
            &[1, 0, 0, 0],
            "the server offers no security layer"
        );
        return match answer {
            Answer::Wrapped(bytes) => server.step(&client.wrap(false, bytes).unwrap()),
            Answer::Plain(bytes) => server.step(bytes),
        };
    }
}

fn first_token(client: &mut ClientCtx) -> Vec<u8> {
    client.step(None, None).unwrap().unwrap().to_vec()
}

fn done(step: Step) -> Success {
    match step {
        Step::Done(success) => success,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failure(step: Step) -> FailureReason {
    match step {
        Step::Failed(failure) => failure.reason().clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn kerberos_user_is_authenticated_as_the_principal() {
    let Some(_kdc) = Kdc::shared() else { return };
    let mut server = server("imap");
    // RFC 4752 is client-first: without an initial response the server asks with an empty
    // challenge.
    assert_eq!(server.start(), Step::Challenge(Vec::new()));
    let mut client = client("imap", None);
    let first = first_token(&mut client);
    let success = done(run(
        &mut server,
        &mut client,
        &first,
        Answer::Wrapped(&[1, 0, 0, 0]),
    ));
    assert_eq!(success.authcid, Kdc::principal(USER));
    assert_eq!(success.authzid, None);
    assert_eq!(success.additional_data, None);
}

#[test]
fn initial_response_and_authorization_identity() {
    let Some(_kdc) = Kdc::shared() else { return };
    let mut server = server("imap");
    let mut client = client("imap", Some((OTHER_USER, &format!("{PASSWORD}-2"))));
    let first = first_token(&mut client);
    let answer = Answer::Wrapped(b"\x01\0\0\0alice");
    let success = done(run(&mut server, &mut client, &first, answer));
    assert_eq!(success.authcid, Kdc::principal(OTHER_USER));
    assert_eq!(success.authzid.as_deref(), Some("alice"));
}

#[test]
fn each_service_accepts_tickets_for_itself_only() {
    let Some(_kdc) = Kdc::shared() else { return };
    for service in ["pop", "sieve", "lmtp"] {
        let mut server = server(service);
        let mut client = client(service, None);
        let first = first_token(&mut client);
        let success = done(run(
            &mut server,
            &mut client,
            &first,
            Answer::Wrapped(&[1, 0, 0, 0]),
        ));
        assert_eq!(success.authcid, Kdc::principal(USER), "{service}");
    }
    // A valid ticket, for `pop/localhost`, shown to the IMAP service.
    let mut server = server("imap");
    let first = first_token(&mut client("pop", None));
    assert!(matches!(
        failure(server.step(&first)),
        FailureReason::Gssapi(_)
    ));
}

#[test]
fn a_service_whose_key_is_not_in_the_keytab_has_no_credentials() {
    let Some(_kdc) = Kdc::shared() else { return };
    let error = KerberosService::acquire(kdc::FOREIGN_SERVICE, HOST).unwrap_err();
    assert!(
        matches!(error, KerberosError::Credentials { .. }),
        "{error}"
    );
}

#[test]
fn a_security_layer_that_was_not_offered_is_refused() {
    let Some(_kdc) = Kdc::shared() else { return };
    for answer in [
        &b"\x02\0\x10\0"[..],
        b"\x04\0\x10\0",
        b"\x03\0\0\0",
        b"\0\0\0\0",
        b"\x01",
    ] {
        let mut server = server("imap");
        let mut client = client("imap", None);
        let first = first_token(&mut client);
        let step = run(&mut server, &mut client, &first, Answer::Wrapped(answer));
        assert!(
            matches!(failure(step), FailureReason::Malformed(_)),
            "{answer:?}"
        );
    }
}

#[test]
fn an_answer_that_is_not_wrapped_is_refused() {
    let Some(_kdc) = Kdc::shared() else { return };
    let mut server = server("imap");
    let mut client = client("imap", None);
    let first = first_token(&mut client);
    let step = run(
        &mut server,
        &mut client,
        &first,
        Answer::Plain(b"\x01\0\0\0"),
    );
    assert!(matches!(failure(step), FailureReason::Gssapi(_)));
}

#[test]
fn a_replayed_ticket_is_refused() {
    let Some(_kdc) = Kdc::shared() else { return };
    let mut client = client("imap", None);
    let first = first_token(&mut client);
    let answer = Answer::Wrapped(&[1, 0, 0, 0]);
    done(run(&mut server("imap"), &mut client, &first, answer));
    let step = server("imap").step(&first);
    assert!(
        matches!(failure(step), FailureReason::Gssapi(_)),
        "a replay"
    );
}

#[test]
fn the_exchange_runs_on_another_thread() {
    let Some(_kdc) = Kdc::shared() else { return };
    let mut client = client("imap", None);
    let first = first_token(&mut client);
    // A server steps an exchange on its hashing threads, one step per response.
    let mut server = std::thread::spawn(move || {
        let mut server = server("imap");
        assert_eq!(server.start(), Step::Challenge(Vec::new()));
        server
    })
    .join()
    .unwrap();
    let success = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                run(
                    &mut server,
                    &mut client,
                    &first,
                    Answer::Wrapped(&[1, 0, 0, 0]),
                )
            })
            .join()
            .unwrap()
    });
    assert_eq!(done(success).authcid, Kdc::principal(USER));
}

#[test]
fn tokens_are_bounded_by_the_gssapi_limit() {
    let Some(_kdc) = Kdc::shared() else { return };
    // Longer than other mechanisms take, within GSSAPI's bound: Kerberos judges it.
    let big = vec![0x60; sasl::MAX_RESPONSE_LEN + 1000];
    assert!(matches!(
        failure(server("imap").step(&big)),
        FailureReason::Gssapi(_)
    ));
    let huge = vec![0x60; sasl::MAX_GSSAPI_TOKEN_LEN + 1];
    assert_eq!(failure(server("imap").step(&huge)), FailureReason::TooLong);
    assert!(matches!(
        failure(server("imap").step(b"")),
        FailureReason::Malformed(_)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random bytes, and a real first token cut short or with one byte changed, never get
    /// past Kerberos, and the exchange ends there. The changed byte is in the last three
    /// quarters of the token, the ticket and the authenticator, which Kerberos protects; the
    /// token's header (its token ID, the AP-REQ's message type) is not, and MIT ignores some
    /// of it.
    #[test]
    fn damaged_and_random_tokens_are_refused(
        random in prop::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let Some(_kdc) = Kdc::shared() else { return Ok(()) };
        let first = first_token(&mut client("imap", None));
        let mut flipped = first.clone();
        let quarter = first.len() / 4;
        flipped[quarter + flip.index(first.len() - quarter)] ^= 0x5a;
        for token in [&random[..], &first[..cut.index(first.len())], &flipped] {
            let mut server = server("imap");
            prop_assert!(matches!(server.step(token), Step::Failed(_)));
            prop_assert!(matches!(server.step(&first), Step::Failed(_)), "ended");
        }
    }
}
