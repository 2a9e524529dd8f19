//! GSSAPI (RFC 4752): Kerberos 5 through the system's GSS-API library (MIT Kerberos), built
//! only with the `gssapi` cargo feature. Without it, [`KerberosService::acquire`] answers
//! [`KerberosError::NotBuilt`], so a server never offers the mechanism, and nothing links
//! Kerberos.
//!
//! The exchange (RFC 4752 §3.1): the client's security context tokens are accepted until the
//! context is established (at most [`MAX_CONTEXT_ROUNDS`] tokens, each at most
//! [`MAX_GSSAPI_TOKEN_LEN`] bytes); a last context token, if the library produced one, is sent
//! and answered by an empty response; then the server sends its security-layer offer, wrapped
//! (integrity only): "no security layer" (bit mask 1) and a maximum message size of 0, since
//! this server implements no layer. The client's wrapped answer must choose no security layer;
//! the rest of it is the authorization identity.
//!
//! The authentication identity is the context's source name, the client's principal as
//! `name@REALM` (`name/instance@REALM` for a service). It is returned raw: the server maps it to
//! a login identity (`krb.equiv`, `loginrealms`, `user@LOCALREALM` → `user`), not this crate.
//!
//! Server credentials are the service principal `SERVICE/HOST@REALM` read from the keytab that
//! Kerberos is configured with: the server names the keytab through `KRB5_KTNAME` before it
//! starts any thread (the safe binding offers no way to name a keytab per call). Accepting a
//! context reads the keytab and the replay cache: like a password check, a step runs on the
//! server's hashing threads, never on the async runtime.

use std::fmt;
use std::sync::Arc;

/// Most security context tokens the client may send before the context is established
/// (Kerberos 5 needs one; user-to-user two).
pub const MAX_CONTEXT_ROUNDS: usize = 4;
/// The longest GSSAPI token accepted, in bytes: Kerberos tickets that carry a Windows PAC
/// outgrow [`crate::MAX_RESPONSE_LEN`]; Windows bounds its tokens at 48,000 bytes.
pub const MAX_GSSAPI_TOKEN_LEN: usize = 64 * 1024;

/// The service part of a principal and a host name may not be longer than this.
const MAX_NAME_LEN: usize = 255;

/// RFC 4752 §3.3: the security layer bit masks.
#[cfg_attr(not(feature = "gssapi"), allow(dead_code))]
const NO_SECURITY_LAYER: u8 = 1;

/// Why the service's Kerberos credentials could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KerberosError {
    #[error("this build has no GSSAPI support (build with the `gssapi` feature)")]
    NotBuilt,
    #[error("not a usable service or host name: {0:?}")]
    BadName(String),
    #[error("Kerberos credentials for {principal}: {reason}")]
    Credentials { principal: String, reason: String },
}

/// The acceptor credentials of one service principal (`imap/HOST`), acquired once at start-up
/// and shared by every exchange (cheap to clone).
#[derive(Clone)]
pub struct KerberosService {
    inner: Arc<Acceptor>,
}

struct Acceptor {
    /// `SERVICE@HOST`, as the logs name it.
    principal: String,
    #[cfg(feature = "gssapi")]
    credentials: libgssapi::credential::Cred,
}

impl fmt::Debug for KerberosService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosService")
            .field("principal", &self.inner.principal)
            .finish()
    }
}

impl KerberosService {
    /// Acceptor credentials for the host-based service `service@host` (Kerberos principal
    /// `service/host@REALM`, the realm from the keytab's key): `imap`, `pop`, `sieve` or `lmtp`
    /// and the server's name. Fails when the keytab holds no key for it.
    pub fn acquire(service: &str, host: &str) -> Result<KerberosService, KerberosError> {
        for name in [service, host] {
            if name.is_empty()
                || name.len() > MAX_NAME_LEN
                || name.contains(['@', '/'])
                || name.chars().any(char::is_control)
            {
                return Err(KerberosError::BadName(name.to_string()));
            }
        }
        let principal = format!("{service}@{host}");
        #[cfg(feature = "gssapi")]
        {
            let credentials =
                accept::credentials(&principal).map_err(|e| KerberosError::Credentials {
                    principal: principal.clone(),
                    reason: e.to_string(),
                })?;
            Ok(KerberosService {
                inner: Arc::new(Acceptor {
                    principal,
                    credentials,
                }),
            })
        }
        #[cfg(not(feature = "gssapi"))]
        {
            let _ = principal;
            Err(KerberosError::NotBuilt)
        }
    }

    /// `SERVICE@HOST`.
    pub fn principal(&self) -> &str {
        &self.inner.principal
    }
}

/// The client's answer to the security-layer offer, unwrapped (RFC 4752 §3.1): one octet with
/// the chosen layer, three with the largest message it accepts, then the authorization
/// identity (UTF-8, possibly empty). Only "no security layer" is accepted, the one layer
/// offered; the size that follows it means nothing then and is not checked, as Cyrus SASL
/// does not check it either.
#[cfg_attr(not(feature = "gssapi"), allow(dead_code))]
pub(crate) fn layer_choice(message: &[u8]) -> Result<Option<String>, crate::FailureReason> {
    use crate::FailureReason;
    let (head, authzid) = match message.split_first_chunk::<4>() {
        Some(split) => split,
        None => return Err(FailureReason::Malformed("security layer answer too short")),
    };
    if head[0] != NO_SECURITY_LAYER {
        return Err(FailureReason::Malformed(
            "client chose a security layer that was not offered",
        ));
    }
    crate::field::authzid(authzid)
}

#[cfg(feature = "gssapi")]
pub(crate) use accept::Gssapi;

#[cfg(feature = "gssapi")]
mod accept {
    use libgssapi::context::{CtxFlags, SecurityContext, ServerCtx};
    use libgssapi::credential::{Cred, CredUsage};
    use libgssapi::name::Name;
    use libgssapi::oid::{OidSet, GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};

    use super::{layer_choice, KerberosService, MAX_CONTEXT_ROUNDS, NO_SECURITY_LAYER};
    use crate::{field, FailureReason, Step, Success};

    pub(super) fn credentials(principal: &str) -> Result<Cred, libgssapi::error::Error> {
        let krb5 = OidSet::singleton(GSS_MECH_KRB5)?;
        let name = Name::new(principal.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))?
            .canonicalize(Some(GSS_MECH_KRB5))?;
        Cred::acquire(Some(&name), None, CredUsage::Accept, Some(&krb5))
    }

    enum State {
        /// Accepting context tokens; how many were accepted.
        Context(usize),
        /// The last context token was sent; the client answers with an empty response.
        LastToken,
        /// The wrapped offer was sent; the client answers with its wrapped choice.
        Offer,
    }

    /// One GSSAPI exchange (server side).
    pub(crate) struct Gssapi {
        context: ServerCtx,
        state: State,
        /// The client's principal, once the context is established.
        principal: String,
    }

    fn gss_failure(error: libgssapi::error::Error) -> Step {
        FailureReason::Gssapi(error.to_string()).into()
    }

    impl Gssapi {
        pub(crate) fn new(service: &KerberosService) -> Gssapi {
            Gssapi {
                context: ServerCtx::new(Some(service.inner.credentials.clone())),
                state: State::Context(0),
                principal: String::new(),
            }
        }

        pub(crate) fn step(&mut self, response: &[u8]) -> Step {
            match self.state {
                State::Context(rounds) => self.accept(rounds + 1, response),
                State::LastToken if response.is_empty() => self.offer(),
                State::LastToken => {
                    FailureReason::Malformed("response to the last context token not empty").into()
                }
                State::Offer => self.choice(response),
            }
        }

        /// RFC 4752 §3.1: one security context token.
        fn accept(&mut self, rounds: usize, token: &[u8]) -> Step {
            if rounds > MAX_CONTEXT_ROUNDS {
                return FailureReason::Malformed("too many security context tokens").into();
            }
            if token.is_empty() {
                return FailureReason::Malformed("empty security context token").into();
            }
            self.state = State::Context(rounds);
            let output = match self.context.step(token, None) {
                Ok(output) => output.map(|t| t.to_vec()).unwrap_or_default(),
                Err(e) => return gss_failure(e),
            };
            if !self.context.is_complete() {
                return Step::Challenge(output);
            }
            if let Err(step) = self.established() {
                return step;
            }
            if output.is_empty() {
                self.offer()
            } else {
                self.state = State::LastToken;
                Step::Challenge(output)
            }
        }

        /// Checks the established context and keeps the client's principal.
        fn established(&mut self) -> Result<(), Step> {
            let info = self.context.info().map_err(gss_failure)?;
            if info.mechanism != GSS_MECH_KRB5 {
                return Err(FailureReason::Malformed("not a Kerberos 5 context").into());
            }
            // An anonymous Kerberos ticket proves no identity (RFC 6112).
            if info.flags.contains(CtxFlags::GSS_C_ANON_FLAG) {
                return Err(FailureReason::Malformed("anonymous Kerberos context").into());
            }
            // wrap() with integrity only needs it; RFC 4752 §3.1.
            if !info.flags.contains(CtxFlags::GSS_C_INTEG_FLAG) {
                return Err(FailureReason::Malformed("context without integrity").into());
            }
            let name = info.source_name.display_name().map_err(gss_failure)?;
            self.principal = field::non_empty_text(&name, "empty principal")
                .map_err(Step::from)?
                .to_string();
            Ok(())
        }

        /// RFC 4752 §3.1: the wrapped offer, no security layer and a maximum size of 0.
        fn offer(&mut self) -> Step {
            self.state = State::Offer;
            match self.context.wrap(false, &[NO_SECURITY_LAYER, 0, 0, 0]) {
                Ok(wrapped) => Step::Challenge(wrapped.to_vec()),
                Err(e) => gss_failure(e),
            }
        }

        fn choice(&mut self, response: &[u8]) -> Step {
            let message = match self.context.unwrap(response) {
                Ok(message) => message,
                Err(e) => return gss_failure(e),
            };
            match layer_choice(&message) {
                Ok(authzid) => Step::Done(Success {
                    authcid: std::mem::take(&mut self.principal),
                    authzid,
                    additional_data: None,
                    trace: None,
                }),
                Err(reason) => reason.into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FailureReason, MAX_FIELD_LEN};
    use proptest::prelude::*;

    #[test]
    fn no_layer_with_and_without_authzid() {
        assert_eq!(layer_choice(&[1, 0, 0, 0]), Ok(None));
        assert_eq!(layer_choice(b"\x01\0\0\0bob"), Ok(Some("bob".into())));
        // The size means nothing without a layer and is not checked.
        assert_eq!(layer_choice(b"\x01\xff\xff\xffbob"), Ok(Some("bob".into())));
    }

    #[test]
    fn layers_not_offered_are_refused() {
        for layer in [0u8, 2, 3, 4, 5, 7, 0xff] {
            assert!(matches!(
                layer_choice(&[layer, 0, 0x10, 0]),
                Err(FailureReason::Malformed(_))
            ));
        }
    }

    #[test]
    fn short_answers_and_bad_authzids_are_refused() {
        for short in [&b""[..], b"\x01", b"\x01\0\0"] {
            assert!(layer_choice(short).is_err());
        }
        assert_eq!(layer_choice(b"\x01\0\0\0\xff"), Err(FailureReason::NotUtf8));
        let mut long = vec![1, 0, 0, 0];
        long.resize(4 + MAX_FIELD_LEN + 1, b'a');
        assert_eq!(layer_choice(&long), Err(FailureReason::TooLong));
    }

    #[test]
    fn service_and_host_names_are_checked_before_kerberos_is_asked() {
        for (service, host) in [("", "h"), ("imap", ""), ("im/ap", "h"), ("imap", "a@b")] {
            assert!(matches!(
                KerberosService::acquire(service, host),
                Err(KerberosError::BadName(_))
            ));
        }
    }

    #[cfg(not(feature = "gssapi"))]
    #[test]
    fn without_the_feature_there_are_no_credentials() {
        assert_eq!(
            KerberosService::acquire("imap", "localhost").err(),
            Some(KerberosError::NotBuilt)
        );
    }

    proptest! {
        #[test]
        fn any_answer_parses_or_is_refused_and_no_layer_keeps_the_authzid(
            answer in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            match layer_choice(&answer) {
                Ok(authzid) => {
                    prop_assert_eq!(answer[0], NO_SECURITY_LAYER);
                    let expected = std::str::from_utf8(&answer[4..]).unwrap();
                    prop_assert_eq!(authzid.as_deref().unwrap_or(""), expected);
                }
                Err(_) => prop_assert!(answer.len() < 4 || answer[0] != 1 || std::str::from_utf8(&answer[4..]).is_err() || answer[4..].contains(&0)),
            }
        }
    }
}
