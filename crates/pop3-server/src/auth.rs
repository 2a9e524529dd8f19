//! The AUTHORIZATION state (RFC 1939 §4): USER and PASS where plaintext passwords are allowed
//! (TLS, loopback, `allowplaintext`, as for IMAP LOGIN), APOP where the password database keeps
//! the secret it needs (`allowapop`), SASL AUTH (RFC 5034) with the mechanisms and policy of
//! `auth::sasl_login` that IMAP uses (GSSAPI as `pop/servername`), and STLS (RFC 2595).
//!
//! Every failure is answered `-ERR [AUTH]` (RFC 3206 §5) after the delay the login penalty
//! sets, the same for an unknown user and a wrong password; a host refused by the throttle or
//! a password check that could not run gets `[SYS/TEMP]`. After `auth_max_failures` failures
//! the session is closed. Once the credentials are proved, the session takes the user's
//! INBOX (module `maildrop`).

use std::sync::Arc;

use auth::sasl_login::{ChannelSettings, LoginAs, SaslChannel, StartRefusal};
use auth::server_domain::ServerDomain;
use auth::{LoginAttempt, LoginCheck};
use mailservice::{Operation, ServiceError, ANONYMOUS};
use pop3_proto::{
    encode_challenge, parse_auth_response, AuthResponse, Command, LineFramer, LineResult, RespCode,
    Response, SaslData,
};
use sasl::{Mechanism, Step, Success};
use types::Secret;

use crate::maildrop::Maildrop;
use crate::session::{Flow, Session, State};

/// How an attempt to log in ended.
enum Outcome {
    /// Credentials proved for this user, by this mechanism.
    User(String, &'static str),
    /// Answered; the session goes on (or closes, as the flow says).
    Answered(Flow),
}

impl Session {
    /// A command in the AUTHORIZATION state; `pending_user` is what an immediately preceding
    /// USER named.
    pub(crate) async fn authorization(
        &mut self,
        command: Command,
        pending_user: Option<String>,
    ) -> Flow {
        let outcome = match command {
            Command::User { name } => return self.user(name),
            Command::Pass { password } => match pending_user {
                Some(user) => self.pass(user, password).await,
                None => {
                    self.respond(Response::err("Send USER first"));
                    return Flow::Continue;
                }
            },
            Command::Apop { name, digest } => self.apop(name, digest).await,
            Command::Auth {
                mechanism: None, ..
            } => {
                let mechanisms: Vec<String> = self
                    .sasl_mechanisms()
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                self.multiline(
                    Response::ok("List of supported mechanisms follows"),
                    &mechanisms,
                );
                return Flow::Continue;
            }
            Command::Auth {
                mechanism: Some(mechanism),
                initial,
            } => self.sasl_exchange(&mechanism, initial).await,
            Command::Stls => return self.stls().await,
            _ => {
                self.respond(Response::err("Log in first"));
                return Flow::Continue;
            }
        };
        match outcome {
            Outcome::User(user, mechanism) => self.open_maildrop(&user, mechanism).await,
            Outcome::Answered(flow) => flow,
        }
    }

    fn user(&mut self, name: String) -> Flow {
        if !self.plaintext_allowed() {
            self.respond(
                Response::err("USER/PASS is disabled without TLS; use STLS")
                    .with_code(RespCode::Auth),
            );
            return Flow::Continue;
        }
        self.state = State::Authorization { user: Some(name) };
        self.respond(Response::ok("Send your password"));
        Flow::Continue
    }

    async fn pass(&mut self, user: String, password: Secret<String>) -> Outcome {
        if !self.plaintext_allowed() {
            self.respond(
                Response::err("USER/PASS is disabled without TLS; use STLS")
                    .with_code(RespCode::Auth),
            );
            return Outcome::Answered(Flow::Continue);
        }
        // As an ACL identifier `anonymous` is nobody's login, and it owns no maildrop.
        if user.eq_ignore_ascii_case(ANONYMOUS) {
            return self
                .failed(Some(&user), "USER", "anonymous POP3 login")
                .await;
        }
        let server_domain = self.login_domain().await;
        let attempt = LoginAttempt {
            protocol: auth::Protocol::Pop3,
            peer: self.conn.info.peer.ip(),
            name: &user,
            server_domain: &server_domain,
        };
        let passwords = Arc::clone(&self.server.passwords);
        let checked = passwords.check_login(attempt, password).await;
        self.password_checked(user, checked, "USER").await
    }

    /// APOP (RFC 1939 §7): offered only when the greeting carried a timestamp.
    async fn apop(&mut self, name: String, digest: String) -> Outcome {
        let Some(timestamp) = self.apop_timestamp.clone() else {
            self.respond(Response::err("APOP is not offered here"));
            return Outcome::Answered(Flow::Continue);
        };
        let server_domain = self.login_domain().await;
        let attempt = LoginAttempt {
            protocol: auth::Protocol::Pop3,
            peer: self.conn.info.peer.ip(),
            name: &name,
            server_domain: &server_domain,
        };
        let passwords = Arc::clone(&self.server.passwords);
        let checked = passwords.check_apop(attempt, &timestamp, &digest).await;
        self.password_checked(name, checked, "APOP").await
    }

    /// The end of a password check (USER/PASS, APOP) of what the client typed as `user`: a
    /// success logs in the canonical user id the check names.
    async fn password_checked(
        &mut self,
        user: String,
        checked: Result<LoginCheck, auth::AuthError>,
        mechanism: &'static str,
    ) -> Outcome {
        match checked {
            Ok(LoginCheck::Valid(canonical)) => Outcome::User(canonical, mechanism),
            Ok(LoginCheck::Invalid) => {
                self.failed(Some(&user), mechanism, "wrong credentials")
                    .await
            }
            Ok(LoginCheck::Throttled) => {
                self.refused("Too many failed logins from your address; try later")
            }
            Ok(LoginCheck::Busy) => self.refused("Too many logins at once; try again shortly"),
            Err(e) => {
                tracing::error!(severity = "err", "POP3 password check for {user}: {e}");
                self.respond(
                    Response::err("Authentication is unavailable; try later")
                        .with_code(RespCode::SysTemp),
                );
                Outcome::Answered(Flow::Continue)
            }
        }
    }

    /// A failed login: logged with its reason, answered generically after the penalty; the
    /// session is closed after too many.
    async fn failed(&mut self, user: Option<&str>, mechanism: &str, why: &str) -> Outcome {
        let peer = self.conn.info.peer.to_string();
        let shown = user.unwrap_or("");
        tracing::info!(
            severity = "notice",
            peer,
            mechanism,
            "badlogin: {peer} {mechanism} [{shown}] POP3 authentication failure: {why}"
        );
        let delay = self
            .server
            .config
            .login_penalty
            .failed(self.conn.info.peer.ip(), user);
        tokio::time::sleep(delay).await;
        self.login_failures += 1;
        self.respond(Response::err("Authentication failed").with_code(RespCode::Auth));
        Outcome::Answered(self.too_many_failures())
    }

    /// A login answered without a check (throttled host, full hashing queue): at once, but it
    /// counts towards the session's failures.
    fn refused(&mut self, text: &str) -> Outcome {
        self.login_failures += 1;
        self.respond(Response::err(text).with_code(RespCode::SysTemp));
        Outcome::Answered(self.too_many_failures())
    }

    fn too_many_failures(&mut self) -> Flow {
        if self.login_failures < self.server.config.max_login_failures {
            return Flow::Continue;
        }
        tracing::warn!(
            severity = "warning",
            "{}: too many failed POP3 logins, disconnecting",
            self.conn.info.peer
        );
        self.respond(Response::err("Too many failed logins, closing connection"));
        Flow::Close
    }

    /// What SASL may offer this connection.
    fn sasl_channel(&self) -> SaslChannel {
        let config = &self.server.config;
        SaslChannel::new(
            &self.conn.transport,
            ChannelSettings {
                protocol: auth::Protocol::Pop3,
                peer: self.conn.info.peer.ip(),
                plaintext_ok: self.plaintext_allowed(),
                client_identity: Some(config.tls_client_identity),
                server_end_point: None,
                kerberos: config.kerberos.as_ref(),
            },
        )
    }

    /// The SASL mechanisms CAPA and `AUTH` list. ANONYMOUS is not among them: an anonymous
    /// identity has no maildrop.
    pub(crate) fn sasl_mechanisms(&self) -> Vec<&'static str> {
        self.server
            .sasl
            .offered_except_anonymous(&self.sasl_channel())
    }

    /// `AUTH mechanism [initial-response]`, run to its end.
    async fn sasl_exchange(&mut self, name: &str, initial: Option<SaslData>) -> Outcome {
        if name.eq_ignore_ascii_case(Mechanism::Anonymous.name()) {
            self.respond(Response::err("Unsupported authentication mechanism"));
            return Outcome::Answered(Flow::Continue);
        }
        let channel = self
            .sasl_channel()
            .with_server_domain(self.login_domain().await);
        let sasl = Arc::clone(&self.server.sasl);
        let mut exchange = match sasl.start(name, &channel) {
            Ok(exchange) => exchange,
            Err(StartRefusal::Unsupported) => {
                self.respond(Response::err("Unsupported authentication mechanism"));
                return Outcome::Answered(Flow::Continue);
            }
            Err(StartRefusal::NeedsTls) => {
                self.respond(
                    Response::err("This mechanism needs TLS; use STLS").with_code(RespCode::Auth),
                );
                return Outcome::Answered(Flow::Continue);
            }
            Err(StartRefusal::Throttled) => {
                return self.refused("Too many failed logins from your address; try later")
            }
        };
        let mech = exchange.mechanism();
        let mut step = match initial {
            Some(data) => exchange.step(data).await,
            None => Ok(exchange.start()),
        };
        loop {
            match step {
                Err(_busy) => return self.refused("Too many logins at once; try again shortly"),
                Ok(Step::Challenge(data)) => match self.sasl_response(&data).await {
                    Ok(response) => step = exchange.step(response).await,
                    Err(outcome) => return outcome,
                },
                Ok(Step::Done(success)) => {
                    if let Some(data) = success.additional_data.clone() {
                        // RFC 5034 §4: additional data with success goes out as one more
                        // challenge, which the client answers with an empty response.
                        match self.sasl_response(&data).await {
                            Ok(ack) if ack.expose().is_empty() => {}
                            Ok(_) => {
                                let user = success.authcid.clone();
                                return self
                                    .failed(Some(&user), mech.name(), "non-empty final response")
                                    .await;
                            }
                            Err(outcome) => return outcome,
                        }
                    }
                    let at = exchange.server_domain().clone();
                    return self.sasl_authorized(&at, mech, success).await;
                }
                Ok(Step::Failed(failure)) => {
                    if failure.is_unavailable() {
                        tracing::error!(severity = "err", "POP3 {mech} authentication: {failure}");
                        self.respond(
                            Response::err("Authentication is unavailable; try later")
                                .with_code(RespCode::SysTemp),
                        );
                        return Outcome::Answered(Flow::Continue);
                    }
                    let user = exchange.user();
                    return self
                        .failed(user.as_deref(), mech.name(), &failure.to_string())
                        .await;
                }
            }
        }
    }

    /// Sends a challenge and reads the client's answer: a line of base64 (RFC 5034 §4), longer
    /// than a command line may be but bounded (`MAX_AUTH_LINE`).
    async fn sasl_response(&mut self, challenge: &[u8]) -> Result<SaslData, Outcome> {
        encode_challenge(challenge, &mut self.conn.out);
        let mut framer = LineFramer::new(pop3_proto::MAX_AUTH_LINE);
        loop {
            match framer.take_line(&mut self.conn.input) {
                LineResult::Line(line) => {
                    return match parse_auth_response(&line) {
                        AuthResponse::Data(data) => Ok(data),
                        AuthResponse::Cancel => {
                            self.respond(Response::err("Authentication cancelled"));
                            Err(Outcome::Answered(Flow::Continue))
                        }
                        AuthResponse::Bad => {
                            self.respond(Response::err(
                                "Response is not base64; authentication aborted",
                            ));
                            Err(Outcome::Answered(Flow::Continue))
                        }
                    };
                }
                LineResult::TooLong => {
                    self.respond(Response::err("Line too long, authentication aborted"));
                    return Err(Outcome::Answered(Flow::Continue));
                }
                LineResult::Incomplete => {}
            }
            if self.conn.flush().await.is_err() {
                return Err(Outcome::Answered(Flow::Close));
            }
            if let Err(stop) = self.read_more().await {
                self.conn.stopped(stop);
                return Err(Outcome::Answered(Flow::Close));
            }
        }
    }

    /// The credentials were proved: decide whom the client acts as, identities typed without
    /// a domain taking `at`'s (ANONYMOUS has no maildrop, so it is refused like an identity
    /// the client may not act as).
    async fn sasl_authorized(
        &mut self,
        at: &ServerDomain,
        mech: Mechanism,
        success: Success,
    ) -> Outcome {
        let service = self.server.service.clone();
        let peer = self.conn.info.peer.to_string();
        let decided = self
            .server
            .sasl
            .login_at(at, mech, &success, &peer, |authcid, user| async move {
                service.administers_inbox_of(&authcid, &user).await
            })
            .await;
        match decided {
            LoginAs::User(user) => Outcome::User(user, mech.name()),
            LoginAs::Refused { authcid, asked } => {
                self.refused_authorization(mech, &authcid, &asked).await
            }
            LoginAs::Anonymous => {
                let asked = success.authzid.clone().unwrap_or_default();
                self.refused_authorization(mech, &success.authcid, &asked)
                    .await
            }
        }
    }

    async fn refused_authorization(
        &mut self,
        mech: Mechanism,
        authcid: &str,
        asked: &str,
    ) -> Outcome {
        self.server.sasl.failed(self.conn.info.peer.ip());
        let why = format!("may not act as {asked:?}");
        self.failed(Some(authcid), mech.name(), &why).await
    }

    /// STLS (RFC 2595 §4): only before login, on a plain connection of a server with TLS.
    async fn stls(&mut self) -> Flow {
        let Some(tls) = self.server.config.tls.clone() else {
            self.respond(Response::err("STLS is not available"));
            return Flow::Continue;
        };
        if self.conn.transport.is_tls() {
            self.respond(Response::err("TLS is already active"));
            return Flow::Continue;
        }
        self.respond(Response::ok("Begin TLS negotiation"));
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        // RFC 2595 §4: whatever was pipelined after STLS is discarded.
        self.conn.input.clear();
        self.framer = LineFramer::new(pop3_proto::MAX_COMMAND_LINE);
        match self.conn.transport.start_tls(tls).await {
            Ok(()) => Flow::Continue,
            Err(e) => {
                tracing::warn!(severity = "warning", "{}: STLS: {e}", self.conn.info.peer);
                Flow::Close
            }
        }
    }

    /// The credentials are proved: lock the user's INBOX and read its messages (RFC 1939 §4);
    /// in a Murder, an INBOX on another server is served from there (module `proxy`). A
    /// maildrop that cannot be had leaves the session in the AUTHORIZATION state.
    async fn open_maildrop(&mut self, user: &str, mechanism: &'static str) -> Flow {
        let service = self.server.service.clone();
        let identity = service.identity(user).with_origin(self.origin());
        let login = identity.clone();
        let Some(inbox) = identity.inbox() else {
            self.respond(Response::err("No maildrop for this user").with_code(RespCode::SysPerm));
            return Flow::Continue;
        };
        let authorized = service
            .blocking(move |s| {
                let mailbox = s.authorize_internal(&identity, inbox, Operation::Read)?;
                let remote = s.remote_of(&mailbox)?.map(|remote| {
                    let backend = s.cluster().and_then(|c| c.backend(&remote.server));
                    (remote.server, backend)
                });
                Ok((mailbox, remote))
            })
            .await;
        let mailbox = match authorized {
            Ok((_, Some((server, backend)))) => {
                // Another server holds the INBOX: the session is served from there.
                return self
                    .proxy_to_backend(user, mechanism, &server, backend)
                    .await;
            }
            Ok((mailbox, None)) => mailbox,
            Err(ServiceError::NoSuchMailbox | ServiceError::PermissionDenied) => {
                tracing::info!("{}: POP3 login of {user}: no INBOX", self.conn.info.peer);
                self.respond(
                    Response::err("Unable to locate maildrop").with_code(RespCode::SysPerm),
                );
                return Flow::Continue;
            }
            Err(e) => {
                tracing::error!(severity = "err", "POP3 login of {user}: {e}");
                self.respond(
                    Response::err("Unable to open maildrop; try later")
                        .with_code(RespCode::SysTemp),
                );
                return Flow::Continue;
            }
        };
        let Some(claim) = service.claim_maildrop(mailbox) else {
            tracing::info!(
                "{}: POP3 login of {user} refused: another POP3 session holds the maildrop",
                self.conn.info.peer
            );
            self.respond(
                Response::err(
                    "Unable to lock maildrop: another POP3 session of this user is active",
                )
                .with_code(RespCode::InUse),
            );
            return Flow::Continue;
        };
        if !self.server.poll_allowed(user) {
            let minutes = self.server.config.min_poll.as_secs().div_ceil(60);
            self.respond(
                Response::err(format!("Logins must be at least {minutes} minute(s) apart"))
                    .with_code(RespCode::LoginDelay),
            );
            return Flow::Continue;
        }
        let use_imap_flags = self.server.config.use_imap_flags;
        let maildrop = match Maildrop::load(&service, claim, user, use_imap_flags).await {
            Ok(maildrop) => maildrop,
            Err(e) => {
                tracing::error!(severity = "err", "POP3 login of {user}: reading INBOX: {e}");
                self.respond(
                    Response::err("Unable to read maildrop; try later")
                        .with_code(RespCode::SysTemp),
                );
                return Flow::Continue;
            }
        };
        let peer = self.conn.info.peer.to_string();
        auth::log_authentication(auth::AuthOutcome::Success, user, &peer, mechanism);
        self.proc.update(Some(user), Some("INBOX"));
        self.conn.telemetry =
            net::telemetry::Telemetry::open(&self.server.config.config_directory, user, &self.id)
                .await;
        let (count, size) = maildrop.totals();
        service.report_login(&login);
        self.logged_in = Some(login);
        self.state = State::Transaction(Box::new(maildrop));
        self.respond(Response::ok(format!(
            "Mailbox locked and ready: {count} messages ({size} octets)"
        )));
        Flow::Continue
    }
}
