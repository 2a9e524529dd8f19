//! SASL logins (RFC 4422) for every protocol server: which mechanisms a connection is offered,
//! an exchange whose steps run on the hashing threads, and who a successful client may act as.
//!
//! The protocol servers own the framing (base64, `*` cancellation, continuation lines); this
//! module owns the policy, so IMAP, POP3, ManageSieve and LMTP offer and decide alike:
//! - mechanisms that carry the password itself (PLAIN, LOGIN) are offered only where plaintext
//!   is allowed (TLS, loopback, `allowplaintext`);
//! - the -PLUS mechanisms only on TLS connections, with the connection's channel bindings;
//! - EXTERNAL only with an identity established outside SASL (a verified client certificate);
//! - ANONYMOUS only with `allowanonymouslogin`;
//! - OAUTHBEARER and XOAUTH2 only when the server handed in a token verifier
//!   ([`SaslLogins::with_token_verifier`], e.g. [`crate::oauth::JwksVerifier`]), and, since a
//!   bearer token can be replayed by whoever sees it, only where plaintext is allowed;
//! - GSSAPI only with the service's Kerberos credentials ([`SaslChannel::kerberos`], which a
//!   build without the `gssapi` feature never has); its authentication identity, the client's
//!   principal, always goes through the Kerberos identity rules (`krb.equiv`, the local realm,
//!   `loginrealms`), whatever `auth_mech` says;
//! - CRAM-MD5 only when `sasl_mech_list` names it, since it needs a recoverable secret that is
//!   stored only then; every other default mechanism is offered when `sasl_mech_list` is empty;
//! - SCRAM and CRAM-MD5 only when the password database (`auxprop`) is a password source, as it
//!   alone keeps their secrets (or with `sasl_auto_transition`, which fills it from the others).
//!
//! An exchange is admitted like a LOGIN (the per-host failure throttle), each step that may touch
//! a password source runs on the bounded hashing queue, and a failed exchange counts against the
//! client's host. Authorization (RFC 4422 §3.4.1): a client acts as its own authentication
//! identity; asking for another is proxy authorization, allowed to administrators and to the
//! identities in `proxyservers`, and, with `loginuseacl`, to holders of the `a` right on the
//! target's INBOX (the server checks that, see [`Authorization::NeedsAcl`]). With virtual
//! domains, both identities are canonical user ids (the connection's server domain given to
//! those typed without one), and an identity of a domain acts only within its domain.

use std::net::IpAddr;
use std::sync::Arc;

use net::x509::ClientIdentity;
use net::Transport;
use sasl::{
    Authenticator, ChannelBinding, ChannelBindingType, Credentials, KerberosService, Mechanism,
    Setup, Step, Success, TokenVerifier, Unavailable,
};
use types::Secret;

use crate::login::Hashed;
use crate::password_db::{PasswordDb, PasswordSource};
use crate::server_domain::ServerDomain;
use crate::throttle::Admission;

/// The identity ANONYMOUS logs in as.
pub const ANONYMOUS: &str = "anonymous";

/// The SASL settings shared by every protocol server.
#[derive(Clone, Debug, Default)]
pub struct SaslConfig {
    /// `sasl_mech_list`; empty offers the defaults.
    pub mech_list: Vec<Mechanism>,
    /// `allowanonymouslogin`.
    pub allow_anonymous: bool,
    /// `servername`, for CRAM-MD5's challenge.
    pub hostname: String,
    /// `proxyservers`: identities that may act as any user.
    pub proxy_servers: Vec<String>,
    /// `admins`: may act as any user too (SIGHUP may change it).
    pub admins: types::LiveList,
    /// `loginuseacl`: the `a` right on a user's INBOX lets its holder log in as that user.
    pub login_use_acl: bool,
}

impl SaslConfig {
    /// Parses `sasl_mech_list` (white-space separated names, any case). DIGEST-MD5 and other
    /// mechanisms this server does not implement are an error, so a typo cannot silently leave
    /// a site without the mechanism it wanted.
    pub fn parse_mech_list<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Mechanism>, String> {
        let mut list = Vec::new();
        for name in names {
            let mech: Mechanism = name
                .parse()
                .map_err(|_| format!("sasl_mech_list: unsupported mechanism {name:?}"))?;
            if !list.contains(&mech) {
                list.push(mech);
            }
        }
        Ok(list)
    }
}

/// What a connection offers SASL: decided by the protocol server from its transport.
#[derive(Clone, Debug)]
pub struct SaslChannel {
    pub peer: IpAddr,
    /// Plaintext passwords may be sent here (TLS, loopback, or `allowplaintext`).
    pub plaintext_ok: bool,
    /// The TLS connection's channel bindings; empty without TLS.
    pub channel_bindings: Vec<ChannelBinding>,
    /// The identity a verified TLS client certificate gives, for EXTERNAL.
    pub external_identity: Option<String>,
    /// The protocol the exchange logs in to: PLAIN and LOGIN passwords checked through PAM
    /// use its service name (`imap`, `pop`, `sieve`), as a plaintext login of that protocol
    /// does.
    pub protocol: crate::Protocol,
    /// The protocol server's Kerberos credentials (`imap/servername` for IMAP, `pop/…`,
    /// `sieve/…`), for GSSAPI; `None` does not offer it.
    pub kerberos: Option<KerberosService>,
    /// The domain an identity without one takes on this connection (`virtdomains: on`, see
    /// [`SaslChannel::with_server_domain`]); none by default.
    pub server_domain: ServerDomain,
}

/// What a protocol server knows of a connection, besides its transport, that decides the
/// connection's [`SaslChannel`].
#[derive(Clone, Copy, Debug)]
pub struct ChannelSettings<'a> {
    pub protocol: crate::Protocol,
    pub peer: IpAddr,
    /// Plaintext passwords may be sent here (TLS, loopback, or `allowplaintext`).
    pub plaintext_ok: bool,
    /// Which part of a verified client certificate names the EXTERNAL identity
    /// (`tls_client_identity`); `None` takes no identity from a certificate.
    pub client_identity: Option<ClientIdentity>,
    /// The server certificate's `tls-server-end-point` binding data (RFC 5929 §4), offered
    /// after `tls-exporter` on TLS connections.
    pub server_end_point: Option<&'a [u8]>,
    /// The protocol server's Kerberos credentials, for GSSAPI.
    pub kerberos: Option<&'a KerberosService>,
}

impl SaslChannel {
    /// The channel of a connection over `transport`: on TLS, its channel bindings
    /// (`tls-exporter` on TLS 1.3, then `tls-server-end-point` when given) and the identity
    /// its verified client certificate names.
    pub fn new(transport: &Transport, settings: ChannelSettings<'_>) -> SaslChannel {
        let mut channel_bindings = Vec::new();
        if transport.is_tls() {
            let exporter = transport.tls_exporter().map(|data| ChannelBinding {
                kind: ChannelBindingType::TlsExporter,
                data,
            });
            let end_point = settings.server_end_point.map(|data| ChannelBinding {
                kind: ChannelBindingType::TlsServerEndPoint,
                data: data.to_vec(),
            });
            channel_bindings.extend(exporter.into_iter().chain(end_point));
        }
        let external_identity = settings.client_identity.and_then(|which| {
            let cert = transport.peer_certificate()?;
            net::x509::client_identity(cert, which)
        });
        SaslChannel {
            peer: settings.peer,
            plaintext_ok: settings.plaintext_ok,
            channel_bindings,
            external_identity,
            protocol: settings.protocol,
            kerberos: settings.kerberos.cloned(),
            server_domain: ServerDomain::NONE,
        }
    }

    /// The channel, with identities typed without a domain taking `domain` (the connection's
    /// [`crate::server_domain::ConnectionDomain`]).
    pub fn with_server_domain(mut self, domain: ServerDomain) -> SaslChannel {
        self.server_domain = domain;
        self
    }
}

/// Why an exchange did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefusal {
    /// Not a mechanism this server implements, or not one it offers (ever).
    Unsupported,
    /// Offered only with TLS (or where plaintext is allowed): `NO [PRIVACYREQUIRED]`.
    NeedsTls,
    /// The client's host failed too often lately: `NO [UNAVAILABLE]`.
    Throttled,
}

/// The SASL side of a server: its policy and the password sources its mechanisms consult.
pub struct SaslLogins {
    db: Arc<PasswordDb>,
    config: SaslConfig,
    /// Checks OAUTHBEARER and XOAUTH2 tokens; without one they are not offered.
    token_verifier: Option<Arc<dyn TokenVerifier>>,
}

impl SaslLogins {
    pub fn new(db: Arc<PasswordDb>, config: SaslConfig) -> SaslLogins {
        SaslLogins {
            db,
            config,
            token_verifier: None,
        }
    }

    /// Offers OAUTHBEARER and XOAUTH2 (where `sasl_mech_list` allows), checking their bearer
    /// tokens with `verifier`.
    pub fn with_token_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> SaslLogins {
        self.token_verifier = Some(verifier);
        self
    }

    pub fn config(&self) -> &SaslConfig {
        &self.config
    }

    /// The identity rules the exchanges' identities go through (and whose
    /// [`crate::identity::LoginIdentity::server_domain`] a connection asks once).
    pub fn login_identity(&self) -> &crate::identity::LoginIdentity {
        self.db.login_identity()
    }

    /// The mechanisms `channel` is offered, strongest first.
    pub fn offered(&self, channel: &SaslChannel) -> Vec<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .filter(|m| self.configured(*m) && self.available(*m, channel).is_ok())
            .collect()
    }

    /// The names of the mechanisms `channel` is offered, strongest first, ANONYMOUS left out:
    /// for the servers (POP3, ManageSieve, LMTP) where the anonymous identity has nothing to
    /// use.
    pub fn offered_except_anonymous(&self, channel: &SaslChannel) -> Vec<&'static str> {
        self.offered(channel)
            .into_iter()
            .filter(|m| *m != Mechanism::Anonymous)
            .map(Mechanism::name)
            .collect()
    }

    /// The mechanism is one this server offers, on some connection.
    fn configured(&self, mech: Mechanism) -> bool {
        if mech.sends_bearer_token() && self.token_verifier.is_none() {
            return false;
        }
        if needs_stored_secret(mech)
            && !self.db.auto_transition
            && !self
                .db
                .sources
                .iter()
                .any(|s| matches!(s, PasswordSource::Auxprop))
        {
            // Only the password database keeps SCRAM and CRAM-MD5 secrets: filled by
            // `darius user`, or by `sasl_auto_transition` from the other sources' logins.
            return false;
        }
        if self.config.mech_list.is_empty() {
            // CRAM-MD5 needs recoverable secrets, stored only when the list names it.
            mech != Mechanism::CramMd5
        } else {
            self.config.mech_list.contains(&mech)
        }
    }

    /// Whether `channel` may use `mech` (the mechanism being configured).
    fn available(&self, mech: Mechanism, channel: &SaslChannel) -> Result<(), StartRefusal> {
        match mech {
            m if (m.sends_password() || m.sends_bearer_token()) && !channel.plaintext_ok => {
                Err(StartRefusal::NeedsTls)
            }
            m if m.needs_channel_binding() && channel.channel_bindings.is_empty() => {
                Err(StartRefusal::NeedsTls)
            }
            Mechanism::External if channel.external_identity.is_none() => {
                Err(StartRefusal::Unsupported)
            }
            Mechanism::Anonymous if !self.config.allow_anonymous => Err(StartRefusal::Unsupported),
            m if m.needs_kerberos() && channel.kerberos.is_none() => Err(StartRefusal::Unsupported),
            _ => Ok(()),
        }
    }

    /// Starts an exchange of the mechanism the client named.
    pub fn start(&self, name: &str, channel: &SaslChannel) -> Result<Exchange, StartRefusal> {
        let mech: Mechanism = name.parse().map_err(|_| StartRefusal::Unsupported)?;
        if !self.configured(mech) {
            return Err(StartRefusal::Unsupported);
        }
        self.available(mech, channel)?;
        if self.db.throttle.admit(channel.peer) == Admission::Refused {
            return Err(StartRefusal::Throttled);
        }
        let sources = Arc::new(Sources {
            db: Arc::clone(&self.db),
            protocol: channel.protocol,
            server_domain: channel.server_domain.clone(),
            asked: std::sync::Mutex::new(None),
        });
        let mut setup = Setup::new(
            Arc::clone(&sources) as Arc<dyn Credentials>,
            self.config.hostname.clone(),
            self.db.unknown_user_disguise(),
        );
        // Without -PLUS on offer the bindings stay out, so that a client saying it could bind
        // ("y") is not taken for a downgrade (RFC 5802 §6).
        if self.configured(Mechanism::ScramSha256Plus) || self.configured(Mechanism::ScramSha1Plus)
        {
            setup.channel_bindings = channel.channel_bindings.clone();
        }
        setup.external_identity = channel.external_identity.clone();
        setup.token_verifier = self.token_verifier.clone();
        setup.kerberos = channel.kerberos.clone();
        let authenticator =
            Authenticator::new(mech, setup).map_err(|_| StartRefusal::Unsupported)?;
        Ok(Exchange {
            mechanism: mech,
            sources,
            authenticator: Some(authenticator),
            db: Arc::clone(&self.db),
            peer: channel.peer,
        })
    }

    /// [`SaslLogins::login_at`] on a connection whose server address gives no domain (LMTP).
    pub async fn login_as<F, Fut>(
        &self,
        mechanism: Mechanism,
        success: &Success,
        peer: &str,
        holds_admin: F,
    ) -> LoginAs
    where
        F: FnOnce(String, String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.login_at(&ServerDomain::NONE, mechanism, success, peer, holds_admin)
            .await
    }

    /// [`SaslLogins::authorize`] carried to its end, as every protocol needs it: where
    /// `loginuseacl` decides, `holds_admin(authcid, user)` answers whether `authcid` holds the
    /// `a` right on `user`'s INBOX (which only the mail service knows); a login as another
    /// user is logged at NOTICE with `peer`. Identities typed without a domain take `at`'s
    /// ([`Exchange::server_domain`]).
    pub async fn login_at<F, Fut>(
        &self,
        at: &ServerDomain,
        mechanism: Mechanism,
        success: &Success,
        peer: &str,
        holds_admin: F,
    ) -> LoginAs
    where
        F: FnOnce(String, String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        match self.authorize(at, mechanism, success) {
            Authorization::User { user, authcid } => {
                if user != authcid {
                    tracing::info!(
                        severity = "notice",
                        "{peer}: {authcid} authorized as {user} ({mechanism})"
                    );
                }
                LoginAs::User(user)
            }
            Authorization::NeedsAcl { user, authcid } => {
                if !holds_admin(authcid.clone(), user.clone()).await {
                    return LoginAs::Refused {
                        authcid,
                        asked: user,
                    };
                }
                tracing::info!(
                    severity = "notice",
                    "{peer}: {authcid} logged in as {user} by the a right on its INBOX ({mechanism})"
                );
                LoginAs::User(user)
            }
            Authorization::Anonymous => LoginAs::Anonymous,
            Authorization::Refused => LoginAs::Refused {
                authcid: success.authcid.clone(),
                asked: success.authzid.clone().unwrap_or_default(),
            },
        }
    }

    /// Who the client of a successful exchange is, and whom it may act as, on a connection
    /// whose server address gives `at`.
    ///
    /// Both identities first go through the login identity rules (`loginrealms`, the
    /// `krb.equiv` map, the local realm, virtual domains; see [`crate::identity`]): an
    /// identity from a realm not allowed, or with a malformed domain, is refused, and the
    /// canonical user id is the one logged in. Acting as another user (RFC 4422 §3.4.1) is
    /// decided on canonical names, see [`SaslLogins::may_act_for`].
    pub fn authorize(
        &self,
        at: &ServerDomain,
        mechanism: Mechanism,
        success: &Success,
    ) -> Authorization {
        if mechanism == Mechanism::Anonymous {
            // RFC 4505: the trace is logged by the caller and never trusted as an identity.
            return Authorization::Anonymous;
        }
        let rules = self.db.login_identity();
        let refused = |refused: crate::identity::Refused| {
            tracing::info!("{mechanism}: {refused}");
        };
        let canonical = |id: &str| rules.canonicalise_userid(id, at).map_err(refused).ok();
        // GSSAPI's authentication identity is a Kerberos principal whatever `auth_mech` says;
        // a password mechanism's is a user id.
        let authcid = match mechanism {
            Mechanism::Gssapi => rules
                .canonicalise(&success.authcid, at)
                .map_err(refused)
                .ok(),
            _ => canonical(&success.authcid),
        };
        let Some(authcid) = authcid else {
            return Authorization::Refused;
        };
        let target = match success.authzid.as_deref() {
            Some(authzid) => match canonical(authzid) {
                Some(target) => target,
                None => return Authorization::Refused,
            },
            None => authcid.clone(),
        };
        let (authcid, target) = (authcid.as_str(), target.as_str());
        // As an ACL identifier `anonymous` is the unauthenticated identity (RFC 4314 §2): no
        // user of that name proves anything, and nobody proxies as it.
        if authcid.eq_ignore_ascii_case(ANONYMOUS) || target.eq_ignore_ascii_case(ANONYMOUS) {
            return Authorization::Refused;
        }
        if target == authcid {
            return Authorization::User {
                user: authcid.to_string(),
                authcid: authcid.to_string(),
            };
        }
        if crate::validate_username(target).is_err() {
            return Authorization::Refused;
        }
        self.may_act_for(authcid, target)
    }

    /// Whether `authcid` may act as the different user `target` (both canonical): an
    /// administrator (`admins`) or a proxy server (`proxyservers`) may, and with `loginuseacl`
    /// a holder of the `a` right on `target`'s INBOX. With virtual domains, a listed identity
    /// of a domain (`postmaster@one.example`) acts only for users of its own domain, one of
    /// the default domain (`admin`) for anyone; and `loginuseacl` never crosses domains. The
    /// listed names are compared in their canonical form (`admin@EXAMPLE.ORG` is `admin`
    /// when `defaultdomain` is `example.org`).
    fn may_act_for(&self, authcid: &str, target: &str) -> Authorization {
        let domains = self.db.login_identity().domains();
        let own_domain = domains.domain_of(authcid);
        let in_reach = own_domain.is_none() || own_domain == domains.domain_of(target);
        if domains.lists(&self.config.admins.get(), authcid)
            || domains.lists(&self.config.proxy_servers, authcid)
        {
            if !in_reach {
                tracing::info!("{authcid} may not act for {target}: another domain");
                return Authorization::Refused;
            }
            return Authorization::User {
                user: target.to_string(),
                authcid: authcid.to_string(),
            };
        }
        if self.config.login_use_acl && own_domain == domains.domain_of(target) {
            return Authorization::NeedsAcl {
                user: target.to_string(),
                authcid: authcid.to_string(),
            };
        }
        Authorization::Refused
    }

    /// Counts a failed exchange against the client's host.
    pub fn failed(&self, peer: IpAddr) {
        self.db.throttle.failed(peer);
    }
}

/// The mechanism proves a secret stored for it in the password database (SCRAM, CRAM-MD5),
/// rather than the password a source checks.
fn needs_stored_secret(mech: Mechanism) -> bool {
    matches!(
        mech,
        Mechanism::ScramSha1
            | Mechanism::ScramSha1Plus
            | Mechanism::ScramSha256
            | Mechanism::ScramSha256Plus
            | Mechanism::CramMd5
    )
}

/// The outcome of [`SaslLogins::authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Log in as `user`; `authcid` proved its credentials (the same, unless proxying).
    User { user: String, authcid: String },
    /// The anonymous identity.
    Anonymous,
    /// Allowed only if `authcid` holds the `a` right on `user`'s INBOX (`loginuseacl`).
    NeedsAcl { user: String, authcid: String },
    /// The authentication identity may not act as the identity it asked for.
    Refused,
}

/// Whom a proved exchange logs in as ([`SaslLogins::login_as`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAs {
    User(String),
    /// The anonymous identity (ANONYMOUS): the protocol decides whether it has one.
    Anonymous,
    /// `authcid` proved its credentials but may not act as `asked`: a failed login.
    Refused {
        authcid: String,
        asked: String,
    },
}

/// One exchange in progress.
pub struct Exchange {
    mechanism: Mechanism,
    sources: Arc<Sources>,
    /// Away on the hashing threads while a step runs.
    authenticator: Option<Authenticator>,
    db: Arc<PasswordDb>,
    peer: IpAddr,
}

/// The hashing queue stayed full for as long as a login waits: answer `NO [UNAVAILABLE]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl Exchange {
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The domain identities typed without one take in this exchange (its channel's), for
    /// [`SaslLogins::login_at`].
    pub fn server_domain(&self) -> &ServerDomain {
        &self.sources.server_domain
    }

    /// The user whose credentials the exchange asked the password sources about, if it got
    /// that far: for the log and the per-user failure penalty.
    pub fn user(&self) -> Option<String> {
        self.sources.asked()
    }

    /// The server's first challenge, when the client sent no initial response.
    pub fn start(&mut self) -> Step {
        match self.authenticator.as_mut() {
            Some(auth) => auth.start(),
            None => Step::Failed(lost()),
        }
    }

    /// The client's next response, checked on the hashing threads (a step may verify a
    /// password hash or read the password database).
    pub async fn step(&mut self, response: Secret<Vec<u8>>) -> Result<Step, Busy> {
        let Some(mut auth) = self.authenticator.take() else {
            return Ok(Step::Failed(lost()));
        };
        let stepped = self
            .db
            .on_hashing_threads(move || {
                let step = auth.step(response.expose());
                (auth, step)
            })
            .await;
        match stepped {
            Err(_) | Ok(Hashed::Busy) => Err(Busy),
            Ok(Hashed::Done((auth, step))) => {
                self.authenticator = Some(auth);
                if matches!(step, Step::Failed(_)) {
                    self.db.throttle.failed(self.peer);
                }
                Ok(step)
            }
            Ok(Hashed::Lost) => Ok(Step::Failed(lost())),
        }
    }
}

/// A step's thread went away (it panicked): the exchange fails as "unavailable".
fn lost() -> sasl::Failure {
    sasl::Failure::unavailable("the authentication step did not complete".into())
}

/// The password sources, as the mechanisms see them; remembers whom it was asked about.
struct Sources {
    db: Arc<PasswordDb>,
    protocol: crate::Protocol,
    /// The channel's server domain, for identities typed without a domain.
    server_domain: ServerDomain,
    asked: std::sync::Mutex<Option<String>>,
}

impl Sources {
    fn ask(&self, authcid: &str) {
        *self.asked.lock().unwrap_or_else(|p| p.into_inner()) = Some(authcid.to_string());
    }

    fn asked(&self) -> Option<String> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The password database answers every mechanism (see `sasl_credentials.rs`).
impl Credentials for Sources {
    fn verify_plain(&self, authcid: &str, password: &Secret<String>) -> Result<bool, Unavailable> {
        self.ask(authcid);
        self.db
            .verify_plain_for(self.protocol, &self.server_domain, authcid, password)
    }

    fn scram(
        &self,
        authcid: &str,
        hash: sasl::ScramHash,
    ) -> Result<Option<sasl::ScramCredentials>, Unavailable> {
        self.ask(authcid);
        self.db.scram_at(&self.server_domain, authcid, hash)
    }

    fn cram_secret(&self, authcid: &str) -> Result<Option<sasl::CramMd5Secret>, Unavailable> {
        self.ask(authcid);
        self.db.cram_secret_at(&self.server_domain, authcid)
    }
}

#[cfg(test)]
mod tests;
