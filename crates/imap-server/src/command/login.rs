//! LOGIN (RFC 9051 §6.2.3), and the completion every plaintext authentication shares: the
//! plaintext policy, the password check (`auth::PasswordDb::check_login`: of the canonical
//! user id the typed name stands for, on the hashing threads' bounded queue, never tokio's
//! blocking pool, and throttled per client host), the NOTICE log line, a delay after each
//! failure and a disconnect after several, and `maxlogins_per_user`.
//!
//! `LOGIN anonymous` is Cyrus's anonymous login (`allowanonymouslogin`): any password, none
//! checked, and the session is the anonymous identity (see [`Session::login_anonymous`]).

use auth::{LoginAttempt, LoginCheck};
use imap_proto::response::{Code, StatusKind};
use mailservice::ANONYMOUS;
use types::Secret;

use crate::command::Reply;
use crate::connection::Session;

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
        // As an ACL identifier, `anonymous` is the unauthenticated identity in any case
        // (RFC 4314 §2), never a user: no password of a user so named is ever checked.
        if user.eq_ignore_ascii_case(ANONYMOUS) {
            return self.login_anonymous(mechanism);
        }
        // The password checked is the canonical user id's (`alice@EXAMPLE.ORG` is `alice`
        // when that is the default domain; `user@LOCALREALM` is `user` under `auth_mech:
        // krb5`), and that is the user logged in.
        let server_domain = self.login_domain().await;
        let attempt = LoginAttempt {
            protocol: auth::Protocol::Imap,
            peer: self.info.peer.ip(),
            name: user,
            server_domain: &server_domain,
        };
        let passwords = std::sync::Arc::clone(&self.server.passwords);
        let checked = passwords.check_login(attempt, password).await;
        let canonical = match checked {
            Ok(LoginCheck::Valid(canonical)) => canonical,
            Ok(LoginCheck::Invalid) => {
                let peer = self.info.peer.to_string();
                auth::log_authentication(auth::AuthOutcome::Failure, user, &peer, mechanism);
                return self.login_failed(Some(user)).await;
            }
            // RFC 5530 §3: UNAVAILABLE, a temporary condition; the client may try later. The
            // throttle logged the host once; each refusal is not logged again.
            Ok(LoginCheck::Throttled) => {
                return self.login_refused("Too many failed logins from your address; try later")
            }
            Ok(LoginCheck::Busy) => {
                return self.login_refused("Too many logins at once; try again shortly")
            }
            Err(e) => {
                tracing::error!(severity = "err", "password check for {user}: {e}");
                return Reply::no(
                    Some(Code::Unavailable),
                    "Authentication is unavailable; try later",
                );
            }
        };
        self.logged_in(&canonical, mechanism)
    }

    /// Completes a login whose credentials (and authorization) were checked: the
    /// `maxlogins_per_user` claim, the NOTICE log line, the session's files and state.
    pub(crate) fn logged_in(&mut self, user: &str, mechanism: &str) -> Reply {
        let peer = self.info.peer.to_string();
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
        self.enter_authenticated(identity);
        Reply::ok_code(Code::Capability(self.capabilities()), "Logged in")
    }

    /// `LOGIN anonymous` with `allowanonymouslogin`: the anonymous identity, which owns no
    /// mailbox and to which only `anyone` and `anonymous` ACL entries apply. The password is
    /// neither checked nor logged (Cyrus logs it; it is often an address, but may be a
    /// secret typed by mistake). Refused when the option is off, as in Cyrus, and through
    /// AUTHENTICATE PLAIN: the SASL way in is the ANONYMOUS mechanism (offered with the same
    /// option). The plaintext rule was applied before, as to any LOGIN, so `LOGINDISABLED`
    /// stays true.
    pub(crate) fn login_anonymous(&mut self, mechanism: &str) -> Reply {
        let peer = self.info.peer.to_string();
        if !self.server.config.allow_anonymous_login
            || !(mechanism == "LOGIN" || mechanism == "ANONYMOUS")
        {
            tracing::info!(
                severity = "notice",
                "badlogin: {peer} {mechanism} anonymous login refused"
            );
            return Reply::no(
                Some(Code::AuthenticationFailed),
                "Anonymous login is not permitted",
            );
        }
        let Some(claim) = self.server.claim_login(ANONYMOUS) else {
            tracing::warn!(
                severity = "warning",
                "{ANONYMOUS}: maxlogins_per_user reached, login from {peer} refused"
            );
            return Reply::no(Some(Code::Limit), "Too many anonymous sessions");
        };
        auth::log_authentication(auth::AuthOutcome::Success, ANONYMOUS, &peer, mechanism);
        self.claim = Some(claim);
        self.proc.update(Some(ANONYMOUS), None);
        self.start_telemetry(ANONYMOUS);
        self.enter_authenticated(self.server.service.anonymous_identity());
        Reply::ok_code(
            Code::Capability(self.capabilities()),
            "Anonymous access granted",
        )
    }

    /// A login answered without a password check (throttled host, full hashing queue): at
    /// once, but it counts towards the session's failures like a wrong password.
    pub(crate) fn login_refused(&mut self, text: &str) -> Reply {
        self.login_failures += 1;
        if self.login_failures >= self.server.config.max_login_failures {
            self.out
                .untagged(StatusKind::Bye, None, "Too many failed logins");
            return Reply::no(Some(Code::Unavailable), text).closing();
        }
        Reply::no(Some(Code::Unavailable), text)
    }

    /// A failed authentication, answered after the penalty delay (see `auth::LoginPenalty`),
    /// which grows with the recent failures from this host and for `user`.
    pub(crate) async fn login_failed(&mut self, user: Option<&str>) -> Reply {
        self.login_failures += 1;
        let delay = self
            .server
            .config
            .login_penalty
            .failed(self.info.peer.ip(), user);
        tokio::time::sleep(delay).await;
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
