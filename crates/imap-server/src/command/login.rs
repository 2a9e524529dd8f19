//! LOGIN (RFC 9051 §6.2.3), and the completion every plaintext authentication shares: the
//! plaintext policy, the password check (on the blocking pool: argon2 is slow by design), the
//! NOTICE log line, a delay after each failure and a disconnect after several, and
//! `maxlogins_per_user`.

use imap_proto::response::{Code, StatusKind};
use types::Secret;

use crate::command::Reply;
use crate::connection::Session;
use crate::state::State;

impl Session {
    pub(crate) async fn login(
        &mut self,
        user: &str,
        password: Secret<String>,
        mechanism: &str,
    ) -> Reply {
        let config = &self.server.config;
        if !self
            .info
            .plaintext_login_allowed(self.transport.is_tls(), config.allow_plaintext)
        {
            return Reply::no(
                Some(Code::PrivacyRequired),
                "Plaintext login is disabled without TLS; use STARTTLS",
            );
        }
        let passwords = std::sync::Arc::clone(&self.server.passwords);
        let name = user.to_string();
        let checked = tokio::task::spawn_blocking(move || passwords.verify(&name, &password)).await;
        let peer = self.info.peer.to_string();
        let valid = match checked {
            Ok(Ok(valid)) => valid,
            Ok(Err(e)) => {
                tracing::error!(severity = "err", "password check for {user}: {e}");
                return Reply::no(
                    Some(Code::Unavailable),
                    "Authentication is unavailable; try later",
                );
            }
            Err(e) => {
                tracing::error!(severity = "err", "password check for {user}: {e}");
                return Reply::no(Some(Code::ServerBug), "Authentication failed");
            }
        };
        if !valid {
            auth::log_authentication(auth::AuthOutcome::Failure, user, &peer, mechanism);
            return self.login_failed().await;
        }
        let Some(claim) = self.server.claim_login(user) else {
            tracing::warn!(
                severity = "warning",
                "{user}: maxlogins_per_user reached, login from {peer} refused"
            );
            return Reply::no(Some(Code::Limit), "Too many sessions for this user");
        };
        auth::log_authentication(auth::AuthOutcome::Success, user, &peer, mechanism);
        self.claim = Some(claim);
        let identity = self.server.service.identity(user);
        self.proc.update(Some(user), None);
        self.start_telemetry(user);
        self.state = State::Authenticated(identity);
        Reply::ok_code(Code::Capability(self.capabilities()), "Logged in")
    }

    async fn login_failed(&mut self) -> Reply {
        self.login_failures += 1;
        tokio::time::sleep(self.server.config.login_failure_delay).await;
        if self.login_failures >= self.server.config.max_login_failures {
            tracing::warn!(
                severity = "warning",
                "{}: too many failed logins, disconnecting",
                self.info.peer
            );
            self.out
                .untagged(StatusKind::Bye, None, "Too many failed logins");
            return Reply::no(Some(Code::AuthenticationFailed), "Authentication failed").closing();
        }
        Reply::no(Some(Code::AuthenticationFailed), "Authentication failed")
    }
}
