//! AUTH (RFC 4954) over LMTP, as Cyrus's lmtpd offers it: with `lmtp_auth`, on TLS connections
//! and the UNIX socket (a local process: its password does not cross a network), never on
//! plain TCP. The mechanisms, the failure throttle and who may act as whom are
//! `auth::sasl_login`'s, shared with IMAP; this module is the SMTP framing: `334` base64
//! challenges, `*` cancelling (`501`), `235 2.7.0` on success, one generic `535 5.7.8` for every
//! failed exchange after the login penalty (the reason goes to the log), `538 5.7.11` where
//! the mechanism needs encryption, `503` once authenticated or inside a transaction.
//!
//! After success the session delivers as the authenticated (authorized) user: their rights,
//! not `anonymous`'s, decide which `+detail` folders and shared mailboxes take mail. ANONYMOUS
//! is never offered: an unauthenticated session already delivers as `anonymous`.

use auth::sasl_login::{ChannelSettings, LoginAs, SaslChannel, StartRefusal};
use lmtp_proto::{auth::challenge, codes, AuthResponse, LineResult, Reply, SaslData};
use net::Transport;
use sasl::{Mechanism, Step, Success};
use types::Secret;

use super::{Flow, Session};

/// How one exchange ended.
enum Outcome {
    /// Logged in as this user.
    User(String),
    /// The reply says why not; the session goes on.
    Refused(Reply),
    /// The client left or stopped answering.
    Gone,
}

impl Session {
    /// What this connection may be offered: `None` on plain TCP, where AUTH is not offered.
    fn sasl_channel(&self) -> Option<SaslChannel> {
        if !self.transport.is_tls() && !matches!(self.transport, Transport::Unix(_)) {
            return None;
        }
        Some(SaslChannel::new(
            &self.transport,
            ChannelSettings {
                protocol: auth::Protocol::Imap,
                peer: self.peer_ip,
                plaintext_ok: true,
                client_identity: None,
                server_end_point: None,
                kerberos: None,
            },
        ))
    }

    /// The mechanisms LHLO advertises: none without `lmtp_auth`, on plain TCP, or once
    /// authenticated.
    pub(super) fn auth_mechanisms(&self) -> Vec<&'static str> {
        let (Some(auth), Some(channel)) = (&self.server.auth, self.sasl_channel()) else {
            return Vec::new();
        };
        if self.authenticated.is_some() {
            return Vec::new();
        }
        auth.sasl.offered_except_anonymous(&channel)
    }

    /// `AUTH mechanism [initial-response]`.
    pub(super) async fn auth(&mut self, mechanism: &str, initial: Option<SaslData>) -> Flow {
        let Some(max_failures) = self.server.auth.as_ref().map(|a| a.max_failures) else {
            self.reply(Reply::new(
                502,
                codes::INVALID_COMMAND,
                "AUTH command not implemented",
            ));
            return Flow::Continue;
        };
        let refusal = if self.authenticated.is_some() {
            Some("Already authenticated")
        } else if self.transaction.is_some() {
            // RFC 4954 §4: not during a mail transaction.
            Some("AUTH is not permitted during a mail transaction")
        } else {
            None
        };
        if let Some(text) = refusal {
            self.reply(Reply::new(503, codes::BAD_SEQUENCE, text));
            return Flow::Continue;
        }
        let outcome = self.exchange(mechanism, initial).await;
        match outcome {
            Outcome::User(user) => {
                self.identity = self.server.service.identity(&user);
                // From here the session is trusted as far as its user is, wherever it came
                // from: administrators and `proxyservers` may speak for others (MAIL AUTH=,
                // IGNOREQUOTA), like Cyrus's authenticated admins; anyone else may not. With
                // virtual domains entries are compared canonically, and only one of the default
                // domain speaks for every domain's recipients.
                let domains = self.server.service.domains();
                let proxy = domains.domain_of(&user).is_none()
                    && self
                        .server
                        .auth
                        .as_ref()
                        .is_some_and(|a| domains.lists(&a.sasl.config().proxy_servers, &user));
                self.trusted = self.identity.is_global_admin() || proxy;
                self.authenticated = Some(user);
                self.reply(Reply::new(235, "2.7.0", "Authentication successful"));
            }
            Outcome::Refused(reply) => {
                let failed = reply.code == 535;
                self.reply(reply);
                if failed {
                    self.auth_failures += 1;
                    if self.auth_failures >= max_failures {
                        tracing::warn!(
                            severity = "warning",
                            "{}: too many failed LMTP authentications, disconnecting",
                            self.peer
                        );
                        self.reply(Reply::new(
                            421,
                            "4.7.0",
                            "Too many failed authentications, closing connection",
                        ));
                        return Flow::Close;
                    }
                }
            }
            Outcome::Gone => return Flow::Close,
        }
        Flow::Continue
    }

    /// The SASL logins, when AUTH is offered at all.
    fn sasl(&self) -> Option<std::sync::Arc<auth::sasl_login::SaslLogins>> {
        self.server
            .auth
            .as_ref()
            .map(|a| std::sync::Arc::clone(&a.sasl))
    }

    /// Runs the SASL exchange to its end.
    async fn exchange(&mut self, name: &str, initial: Option<SaslData>) -> Outcome {
        let Some(channel) = self.sasl_channel() else {
            return Outcome::Refused(encryption_required());
        };
        let Some(sasl) = self.sasl() else {
            return Outcome::Refused(unrecognized());
        };
        if name == Mechanism::Anonymous.name() {
            return Outcome::Refused(unrecognized());
        }
        let mut exchange = match sasl.start(name, &channel) {
            Ok(exchange) => exchange,
            Err(StartRefusal::Unsupported) => return Outcome::Refused(unrecognized()),
            Err(StartRefusal::NeedsTls) => return Outcome::Refused(encryption_required()),
            Err(StartRefusal::Throttled) => {
                return Outcome::Refused(temporary(
                    "Too many failed logins from your address; try later",
                ))
            }
        };
        let mech = exchange.mechanism();
        let mut step = match initial {
            Some(data) => exchange.step(Secret::new(data.into_inner())).await,
            None => Ok(exchange.start()),
        };
        loop {
            match step {
                Err(_busy) => {
                    return Outcome::Refused(temporary(
                        "Too many logins at once; try again shortly",
                    ))
                }
                Ok(Step::Challenge(data)) => match self.response(&data).await {
                    Ok(response) => step = exchange.step(response).await,
                    Err(outcome) => return outcome,
                },
                Ok(Step::Done(success)) => {
                    if let Some(data) = success.additional_data.clone() {
                        // RFC 4954 §4: additional data with success goes out as one more
                        // challenge, which the client answers with an empty line.
                        match self.response(&data).await {
                            Ok(ack) if ack.expose().is_empty() => {}
                            Ok(_) => {
                                let user = Some(success.authcid.clone());
                                return self.failed(mech, user, "non-empty final response").await;
                            }
                            Err(outcome) => return outcome,
                        }
                    }
                    return self.authorized(mech, success).await;
                }
                Ok(Step::Failed(failure)) => {
                    if failure.is_unavailable() {
                        tracing::error!(severity = "err", "{mech} authentication: {failure}");
                        return Outcome::Refused(temporary(
                            "Authentication is unavailable; try later",
                        ));
                    }
                    return self
                        .failed(mech, exchange.user(), &failure.to_string())
                        .await;
                }
            }
        }
    }

    /// Sends a challenge and reads the client's response line.
    async fn response(&mut self, data: &[u8]) -> Result<Secret<Vec<u8>>, Outcome> {
        challenge(data, &mut self.out);
        loop {
            match self.framer.take_line(&mut self.input) {
                LineResult::Line(line) => {
                    return match lmtp_proto::auth::parse_auth_response(&line) {
                        Ok(AuthResponse::Data(data)) => Ok(Secret::new(data.into_inner())),
                        Ok(AuthResponse::Cancel) => Err(Outcome::Refused(Reply::new(
                            501,
                            "5.7.0",
                            "Authentication cancelled",
                        ))),
                        Err(e) => Err(Outcome::Refused(e.reply())),
                    };
                }
                LineResult::TooLong => {
                    return Err(Outcome::Refused(Reply::new(
                        500,
                        codes::SYNTAX_ERROR,
                        "Line too long, authentication aborted",
                    )))
                }
                LineResult::Incomplete => {}
            }
            if self.flush().await.is_err() {
                return Err(Outcome::Gone);
            }
            if let Err(stop) = self.read_more().await {
                self.stopped(stop);
                return Err(Outcome::Gone);
            }
        }
    }

    /// A failed exchange: logged with its reason, answered generically after the penalty.
    async fn failed(&mut self, mech: Mechanism, user: Option<String>, why: &str) -> Outcome {
        let shown = user.as_deref().unwrap_or("");
        tracing::info!(
            severity = "notice",
            mechanism = mech.name(),
            "badlogin: {} {mech} [{shown}] LMTP authentication failure: {why}",
            self.peer
        );
        if let Some(auth) = &self.server.auth {
            let delay = auth.penalty.failed(self.peer_ip, user.as_deref());
            tokio::time::sleep(delay).await;
        }
        Outcome::Refused(Reply::new(
            535,
            "5.7.8",
            "Authentication credentials invalid",
        ))
    }

    /// The credentials were proved: decide whom the client acts as (ANONYMOUS is never
    /// offered here: an unauthenticated session already delivers as `anonymous`).
    async fn authorized(&mut self, mech: Mechanism, success: Success) -> Outcome {
        let Some(sasl) = self.sasl() else {
            return Outcome::Refused(unrecognized());
        };
        let service = self.server.service.clone();
        let decided = sasl
            .login_as(mech, &success, &self.peer, |authcid, user| async move {
                service.administers_inbox_of(&authcid, &user).await
            })
            .await;
        match decided {
            LoginAs::User(user) => {
                auth::log_authentication(
                    auth::AuthOutcome::Success,
                    &user,
                    &self.peer,
                    mech.name(),
                );
                Outcome::User(user)
            }
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
        if let Some(auth) = &self.server.auth {
            auth.sasl.failed(self.peer_ip);
        }
        let why = format!("may not act as {asked:?}");
        self.failed(mech, Some(authcid.to_owned()), &why).await
    }
}

/// 504 5.5.4: a mechanism this server does not offer (RFC 4954 §4).
fn unrecognized() -> Reply {
    Reply::new(
        504,
        codes::INVALID_ARGUMENTS,
        "Unrecognized authentication type",
    )
}

/// 538 5.7.11: the mechanism needs an encrypted connection (RFC 4954 §6).
fn encryption_required() -> Reply {
    Reply::new(
        538,
        "5.7.11",
        "Encryption required for requested authentication mechanism",
    )
}

/// 454 4.7.0: try again later (RFC 4954 §6).
fn temporary(text: &str) -> Reply {
    Reply::new(454, "4.7.0", text)
}
