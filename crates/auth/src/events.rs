//! Authentication events, logged the way Cyrus logs them: at syslog severity NOTICE (the
//! `severity` field is read by the syslog sink), with the user, the peer and the mechanism, and
//! never the secret.

/// How an authentication attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Success,
    Failure,
}

/// Logs one authentication attempt. `peer` is the client's address or a description such as
/// `admin-socket`; `mechanism` is the SASL mechanism or `LOGIN`.
pub fn log_authentication(outcome: AuthOutcome, user: &str, peer: &str, mechanism: &str) {
    match outcome {
        AuthOutcome::Success => tracing::info!(
            severity = "notice",
            user,
            peer,
            mechanism,
            "login: {peer} {user} {mechanism} User logged in"
        ),
        AuthOutcome::Failure => tracing::info!(
            severity = "notice",
            user,
            peer,
            mechanism,
            "badlogin: {peer} {mechanism} [{user}] authentication failure"
        ),
    }
}
