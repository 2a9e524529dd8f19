//! AUTHENTICATE (RFC 5804 §2.1) with the mechanisms and policy of `auth::sasl_login` that
//! IMAP uses (PLAIN and LOGIN only where plaintext is allowed: TLS, loopback,
//! `allowplaintext`; GSSAPI as `sieve/servername`; the `sieve` PAM service), and STARTTLS
//! (§2.2).
//!
//! Every failure is answered `NO` after the delay the login penalty sets, the same for an
//! unknown user and a wrong password; a host refused by the throttle or a check that could not
//! run gets `NO (TRYLATER)`. After `auth_max_failures` failures the session is closed with
//! `BYE`. An authorization identity other than the authentication identity (an administrator
//! acting for a user) is decided by `SaslLogins::login_as`, as for IMAP and POP3.

use std::sync::Arc;

use auth::sasl_login::{ChannelSettings, LoginAs, SaslChannel, StartRefusal};
use auth::server_domain::ServerDomain;
use mailservice::ANONYMOUS;
use managesieve_proto::{
    encode_challenge, parse_auth_response, AuthResponse, CommandFramer, Frame, RespCode, Response,
    SaslData,
};
use sasl::{Mechanism, Step, Success};

use crate::session::{Flow, Session, State};

/// How an exchange ended, short of success.
enum Ended {
    /// Answered; the session goes on (or closes, as the flow says).
    Answered(Flow),
}

impl Session {
    /// What SASL may offer this connection.
    fn sasl_channel(&self) -> SaslChannel {
        let config = &self.server.config;
        SaslChannel::new(
            &self.conn.transport,
            ChannelSettings {
                protocol: auth::Protocol::ManageSieve,
                peer: self.conn.info.peer.ip(),
                plaintext_ok: self.plaintext_allowed(),
                client_identity: Some(config.tls_client_identity),
                server_end_point: None,
                kerberos: config.kerberos.as_ref(),
            },
        )
    }

    /// The mechanisms the SASL capability lists. ANONYMOUS is not among them: the anonymous
    /// identity owns no scripts.
    pub(crate) fn sasl_mechanisms(&self) -> Vec<&'static str> {
        self.server
            .sasl
            .offered_except_anonymous(&self.sasl_channel())
    }

    /// `AUTHENTICATE mechanism [initial-response]`, run to its end.
    pub(crate) async fn authenticate(&mut self, name: &str, initial: Option<SaslData>) -> Flow {
        if matches!(self.state, State::Authenticated(_)) {
            self.respond(Response::no("Already authenticated"));
            return Flow::Continue;
        }
        match self.sasl_exchange(name, initial).await {
            Ok((user, mechanism)) => self.authenticated(&user, mechanism).await,
            Err(Ended::Answered(flow)) => flow,
        }
    }

    async fn sasl_exchange(
        &mut self,
        name: &str,
        initial: Option<SaslData>,
    ) -> Result<(String, Mechanism), Ended> {
        if name.eq_ignore_ascii_case(Mechanism::Anonymous.name()) {
            self.respond(Response::no("Unsupported authentication mechanism"));
            return Err(Ended::Answered(Flow::Continue));
        }
        let channel = self
            .sasl_channel()
            .with_server_domain(self.login_domain().await);
        let sasl = Arc::clone(&self.server.sasl);
        let mut exchange = match sasl.start(name, &channel) {
            Ok(exchange) => exchange,
            Err(StartRefusal::Unsupported) => {
                self.respond(Response::no("Unsupported authentication mechanism"));
                return Err(Ended::Answered(Flow::Continue));
            }
            Err(StartRefusal::NeedsTls) => {
                self.respond(
                    Response::no("This mechanism needs TLS; use STARTTLS")
                        .with_code(RespCode::EncryptNeeded),
                );
                return Err(Ended::Answered(Flow::Continue));
            }
            Err(StartRefusal::Throttled) => {
                return Err(self.refused("Too many failed logins from your address; try later"))
            }
        };
        let mech = exchange.mechanism();
        let mut step = match initial {
            Some(data) => exchange.step(data).await,
            None => Ok(exchange.start()),
        };
        loop {
            match step {
                Err(_busy) => {
                    return Err(self.refused("Too many logins at once; try again shortly"))
                }
                Ok(Step::Challenge(data)) => {
                    let response = self.sasl_response(&data).await?;
                    step = exchange.step(response).await;
                }
                Ok(Step::Done(success)) => {
                    if let Some(data) = success.additional_data.clone() {
                        // RFC 5804 §2.1 allows the mechanism's last data as one more
                        // challenge, answered with an empty string, or in the `OK`'s SASL
                        // code; Cyrus's client library reads only the first.
                        let ack = self.sasl_response(&data).await?;
                        if !ack.expose().is_empty() {
                            let user = success.authcid.clone();
                            return Err(self
                                .failed(Some(&user), mech.name(), "non-empty final response")
                                .await);
                        }
                    }
                    let at = exchange.server_domain().clone();
                    let user = self.sasl_authorized(&at, mech, success).await?;
                    return Ok((user, mech));
                }
                Ok(Step::Failed(failure)) => {
                    if failure.is_unavailable() {
                        tracing::error!(
                            severity = "err",
                            "ManageSieve {mech} authentication: {failure}"
                        );
                        self.respond(
                            Response::no("Authentication is unavailable; try later")
                                .with_code(RespCode::TryLater),
                        );
                        return Err(Ended::Answered(Flow::Continue));
                    }
                    let user = exchange.user();
                    return Err(self
                        .failed(user.as_deref(), mech.name(), &failure.to_string())
                        .await);
                }
            }
        }
    }

    /// Sends a challenge and reads the client's answer: a string holding base64, or `"*"` to
    /// cancel (§2.1), framed within the session's bounds.
    async fn sasl_response(&mut self, challenge: &[u8]) -> Result<SaslData, Ended> {
        self.conn
            .out
            .extend_from_slice(&encode_challenge(challenge));
        loop {
            match self.framer.take_command(&mut self.conn.input) {
                Frame::Command(frame) => {
                    return match parse_auth_response(&frame) {
                        AuthResponse::Data(data) => Ok(data),
                        AuthResponse::Cancel => {
                            self.respond(Response::no("Authentication cancelled"));
                            Err(Ended::Answered(Flow::Continue))
                        }
                        AuthResponse::Bad => {
                            self.respond(Response::no(
                                "Response is not a base64 string; authentication aborted",
                            ));
                            Err(Ended::Answered(Flow::Continue))
                        }
                    };
                }
                Frame::Refused(why) => {
                    self.respond(Response::no(why.text()));
                    return Err(Ended::Answered(Flow::Continue));
                }
                Frame::Incomplete => {}
            }
            if self.conn.flush().await.is_err() {
                return Err(Ended::Answered(Flow::Close));
            }
            if let Err(stop) = self.read_more().await {
                self.conn.stopped(stop);
                return Err(Ended::Answered(Flow::Close));
            }
        }
    }

    /// The credentials were proved: decide whom the client acts as, identities typed without
    /// a domain taking `at`'s.
    async fn sasl_authorized(
        &mut self,
        at: &ServerDomain,
        mech: Mechanism,
        success: Success,
    ) -> Result<String, Ended> {
        let service = self.server.service.clone();
        let peer = self.conn.info.peer.to_string();
        let decided = self
            .server
            .sasl
            .login_at(at, mech, &success, &peer, |authcid, user| async move {
                service.administers_inbox_of(&authcid, &user).await
            })
            .await;
        let (authcid, asked) = match decided {
            LoginAs::User(user) if !user.eq_ignore_ascii_case(ANONYMOUS) => return Ok(user),
            LoginAs::User(user) => (success.authcid.clone(), user),
            LoginAs::Refused { authcid, asked } => (authcid, asked),
            LoginAs::Anonymous => (
                success.authcid.clone(),
                success.authzid.clone().unwrap_or_default(),
            ),
        };
        self.server.sasl.failed(self.conn.info.peer.ip());
        let why = format!("may not act as {asked:?}");
        Err(self.failed(Some(&authcid), mech.name(), &why).await)
    }

    /// A failed login: logged with its reason, answered generically after the penalty; the
    /// session is closed after too many.
    async fn failed(&mut self, user: Option<&str>, mechanism: &str, why: &str) -> Ended {
        let peer = self.conn.info.peer.to_string();
        let shown = user.unwrap_or("");
        tracing::info!(
            severity = "notice",
            peer,
            mechanism,
            "badlogin: {peer} {mechanism} [{shown}] ManageSieve authentication failure: {why}"
        );
        let delay = self
            .server
            .config
            .login_penalty
            .failed(self.conn.info.peer.ip(), user);
        tokio::time::sleep(delay).await;
        self.login_failures += 1;
        self.respond(Response::no("Authentication failed"));
        Ended::Answered(self.too_many_failures())
    }

    /// A login answered without a check (throttled host, full hashing queue): at once, but it
    /// counts towards the session's failures.
    fn refused(&mut self, text: &str) -> Ended {
        self.login_failures += 1;
        self.respond(Response::no(text).with_code(RespCode::TryLater));
        Ended::Answered(self.too_many_failures())
    }

    fn too_many_failures(&mut self) -> Flow {
        if self.login_failures < self.server.config.max_login_failures {
            return Flow::Continue;
        }
        tracing::warn!(
            severity = "warning",
            "{}: too many failed ManageSieve logins, disconnecting",
            self.conn.info.peer
        );
        self.respond(Response::bye("Too many failed logins, closing connection"));
        Flow::Close
    }

    /// The session now acts as `user`: logged like the other protocols' logins. In a Murder,
    /// a user whose INBOX another server holds is served from there (module `proxy`).
    async fn authenticated(&mut self, user: &str, mech: Mechanism) -> Flow {
        match self.home_server(user).await {
            Ok(None) => {}
            Ok(Some((server, backend))) => {
                return self.proxy_to_backend(user, mech, &server, backend).await;
            }
            Err(e) => {
                tracing::error!(severity = "err", "ManageSieve login of {user}: {e}");
                self.respond(
                    Response::no("Internal error; try later").with_code(RespCode::TryLater),
                );
                return Flow::Continue;
            }
        }
        let peer = self.conn.info.peer.to_string();
        auth::log_authentication(auth::AuthOutcome::Success, user, &peer, mech.name());
        self.proc.update(Some(user), None);
        let identity = self
            .server
            .service
            .identity(user)
            .with_origin(self.origin());
        self.server.service.report_login(&identity);
        self.state = State::Authenticated(identity);
        self.respond(Response::ok(""));
        self.conn.telemetry =
            net::telemetry::Telemetry::open(&self.server.config.config_directory, user, &self.id)
                .await;
        Flow::Continue
    }

    /// The server holding `user`'s INBOX when it is not this one, and how the directory says
    /// to reach it. A user with no INBOX anywhere keeps their scripts here.
    async fn home_server(
        &self,
        user: &str,
    ) -> Result<Option<(String, Option<mailservice::Backend>)>, mailservice::ServiceError> {
        let Some(inbox) = self.server.service.identity(user).inbox() else {
            return Ok(None);
        };
        self.server
            .service
            .blocking(move |s| {
                let remote = match s.remote_of_name(&inbox) {
                    Ok(remote) => remote,
                    Err(mailservice::ServiceError::NoSuchMailbox) => None,
                    Err(e) => return Err(e),
                };
                Ok(remote.map(|remote| {
                    let backend = s.cluster().and_then(|c| c.backend(&remote.server));
                    (remote.server, backend)
                }))
            })
            .await
    }

    /// STARTTLS (§2.2): only before authentication, on a plain connection of a server with
    /// TLS; the capabilities are sent again once TLS is up.
    pub(crate) async fn starttls(&mut self) -> Flow {
        let Some(tls) = self.server.config.tls.clone() else {
            self.respond(Response::no("STARTTLS is not available"));
            return Flow::Continue;
        };
        if self.conn.transport.is_tls() {
            self.respond(Response::no("TLS is already active"));
            return Flow::Continue;
        }
        if matches!(self.state, State::Authenticated(_)) {
            self.respond(Response::no(
                "STARTTLS is only allowed before authentication",
            ));
            return Flow::Continue;
        }
        self.respond(Response::ok("Begin TLS negotiation now"));
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        // Whatever was pipelined after STARTTLS is discarded (RFC 5804 §2.2 via RFC 3207's
        // reasoning: it came before the protection).
        self.conn.input.clear();
        self.framer = CommandFramer::new(self.server.limits());
        match self.conn.transport.start_tls(tls).await {
            Ok(()) => {
                self.capabilities();
                self.respond(Response::ok(""));
                Flow::Continue
            }
            Err(e) => {
                tracing::warn!(
                    severity = "warning",
                    "{}: STARTTLS: {e}",
                    self.conn.info.peer
                );
                Flow::Close
            }
        }
    }
}
