//! What a client is told: endpoints, TLS, credentials, timeouts; and the parsed endpoint.

use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::ServerName;
use types::Secret;

use crate::error::{Error, Result};

/// The port etcd serves clients on when an endpoint names none.
pub const DEFAULT_PORT: u16 = 2379;

/// How to reach an etcd cluster.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The members' client URLs: `host:port`, `http://host:port` or `https://host:port`
    /// (an IPv6 host in brackets). A bare `host:port` uses TLS exactly when `tls` is set.
    pub endpoints: Vec<String>,
    /// TLS to the members; required by `https://` endpoints.
    pub tls: Option<TlsConfig>,
    /// etcd's user and password, when the cluster has authentication enabled.
    pub auth: Option<Credentials>,
    /// How long one attempt of a request on one endpoint may take (writing it and reading
    /// the whole answer), before the client tries the next endpoint.
    pub request_timeout: Duration,
    /// How long connecting to one endpoint (TCP and the TLS handshake) may take.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// A configuration for `endpoints` without TLS or authentication, with a 5 s request
    /// timeout and a 2 s connect timeout.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> ClientConfig {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            tls: None,
            auth: None,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// TLS to etcd: the CA that signed the members' certificates and, when the members ask
/// for one (`--client-cert-auth`), the client's certificate and key.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// PEM file of the CA certificates the members' certificates must chain to.
    pub ca_file: PathBuf,
    /// PEM file of the client's certificate chain (with `key_file`).
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key (with `cert_file`).
    pub key_file: Option<PathBuf>,
}

/// An etcd user and its password.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The etcd user name.
    pub user: String,
    /// Its password; never logged.
    pub password: Secret<String>,
}

impl Credentials {
    /// The credentials of `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            password: Secret::new(password.into()),
        }
    }
}

/// One member's client URL, parsed.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// The host as given (an IPv6 address keeps its brackets) followed by `:port`: the
    /// address to connect to and the `Host` header.
    pub authority: String,
    /// Whether the member is spoken to over TLS.
    pub tls: bool,
    /// The name the member's certificate must carry.
    pub server_name: ServerName<'static>,
}

impl Endpoint {
    /// Parses `text` (`host:port`, `http://…`, `https://…`); a bare `host:port` uses TLS
    /// when `default_tls`.
    pub fn parse(text: &str, default_tls: bool) -> Result<Endpoint> {
        let bad = |why: &str| Error::Config(format!("endpoint {text:?}: {why}"));
        let trimmed = text.trim();
        let (tls, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some(_) => return Err(bad("the scheme must be http or https")),
            None => (default_tls, trimmed),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("expected host:port"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("expected host:port"))?;
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare_host.to_string())
            .map_err(|_| bad("the host is neither a DNS name nor an IP address"))?;
        Ok(Endpoint {
            authority: format!("{host}:{port}"),
            tls,
            server_name,
        })
    }
}

/// Splits `host:port` (or `[v6]:port`, or a host alone with the default port).
fn split_host_port(text: &str) -> Option<(&str, u16)> {
    if let Some(after) = text.strip_prefix('[') {
        let close = after.find(']')?;
        let host = &text[..close + 2];
        return match &after[close + 1..] {
            "" => Some((host, DEFAULT_PORT)),
            port => Some((host, port.strip_prefix(':')?.parse().ok()?)),
        };
    }
    match text.rsplit_once(':') {
        None => Some((text, DEFAULT_PORT)),
        Some((host, _)) if host.is_empty() || host.contains(':') => None,
        Some((host, port)) => Some((host, port.parse().ok()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_and_without_scheme() {
        let e = Endpoint::parse("127.0.0.1:2379", false).unwrap();
        assert_eq!((e.authority.as_str(), e.tls), ("127.0.0.1:2379", false));
        let e = Endpoint::parse("127.0.0.1:2379", true).unwrap();
        assert!(e.tls);
        let e = Endpoint::parse("https://etcd.example:2379/", false).unwrap();
        assert_eq!((e.authority.as_str(), e.tls), ("etcd.example:2379", true));
        let e = Endpoint::parse("HTTP://[::1]:23", true).unwrap();
        assert_eq!((e.authority.as_str(), e.tls), ("[::1]:23", false));
        let e = Endpoint::parse("etcd1", false).unwrap();
        assert_eq!(e.authority, "etcd1:2379");
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for text in [
            "",
            "ftp://h:1",
            "h:port",
            "h:99999",
            "http://h:1/v3",
            "user@h:1",
            ":1",
            "::1:5",
            "[::1",
            "[::1]x",
        ] {
            assert!(Endpoint::parse(text, false).is_err(), "{text:?}");
        }
    }
}
