//! Mechanism names (RFC 4422 §3.1) and what each needs from the connection.

use std::fmt;
use std::str::FromStr;

/// A SASL mechanism this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616.
    Plain,
    /// draft-murchison-sasl-login.
    Login,
    /// RFC 2195.
    CramMd5,
    /// RFC 5802.
    ScramSha1,
    /// RFC 5802, with channel binding.
    ScramSha1Plus,
    /// RFC 7677.
    ScramSha256,
    /// RFC 7677, with channel binding.
    ScramSha256Plus,
    /// RFC 4505.
    Anonymous,
    /// RFC 4422 Appendix A.
    External,
    /// RFC 7628: an OAuth 2.0 bearer token.
    OAuthBearer,
    /// Google's XOAUTH2: an OAuth 2.0 bearer token, before RFC 7628.
    XOAuth2,
    /// RFC 4752 (Kerberos 5); implemented only with the `gssapi` cargo feature.
    Gssapi,
}

/// A mechanism name this crate does not implement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SASL mechanism")]
pub struct UnknownMechanism;

impl Mechanism {
    /// Every mechanism, strongest first (the order servers advertise them in).
    pub const ALL: [Mechanism; 12] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha1,
        Mechanism::Gssapi,
        Mechanism::CramMd5,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::External,
        Mechanism::Anonymous,
    ];

    /// The registered name (upper case, as advertised).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::Anonymous => "ANONYMOUS",
            Mechanism::External => "EXTERNAL",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::Gssapi => "GSSAPI",
        }
    }

    /// The client sends the password itself: offer only where plaintext is allowed.
    pub fn sends_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }

    /// The client sends a bearer token, which anyone who sees it can replay until it expires:
    /// like the password mechanisms, offer only where plaintext is allowed (TLS or loopback).
    /// Such a mechanism needs [`crate::Setup::token_verifier`].
    pub fn sends_bearer_token(self) -> bool {
        matches!(self, Mechanism::OAuthBearer | Mechanism::XOAuth2)
    }

    /// The longest response [`crate::Authenticator::step`] accepts for this mechanism (bearer
    /// tokens and Kerberos tickets may be large).
    pub fn max_response_len(self) -> usize {
        if self.sends_bearer_token() {
            crate::MAX_TOKEN_RESPONSE_LEN
        } else if self.needs_kerberos() {
            crate::MAX_GSSAPI_TOKEN_LEN
        } else {
            crate::MAX_RESPONSE_LEN
        }
    }

    /// A -PLUS mechanism: offer only with channel binding data for the connection.
    pub fn needs_channel_binding(self) -> bool {
        matches!(self, Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus)
    }

    /// GSSAPI: offer only with the service's Kerberos credentials ([`crate::Setup::kerberos`]),
    /// which a build without the `gssapi` feature never has.
    pub fn needs_kerberos(self) -> bool {
        matches!(self, Mechanism::Gssapi)
    }
}

impl FromStr for Mechanism {
    type Err = UnknownMechanism;

    /// Mechanism names are compared without regard to case, as IMAP's AUTHENTICATE does.
    fn from_str(name: &str) -> Result<Mechanism, UnknownMechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or(UnknownMechanism)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_without_regard_to_case() {
        for m in Mechanism::ALL {
            assert_eq!(m.name().parse::<Mechanism>(), Ok(m));
            assert_eq!(m.name().to_ascii_lowercase().parse::<Mechanism>(), Ok(m));
        }
        assert_eq!("DIGEST-MD5".parse::<Mechanism>(), Err(UnknownMechanism));
        assert_eq!(
            "SCRAM-SHA-256-PLUS ".parse::<Mechanism>(),
            Err(UnknownMechanism)
        );
    }
}
