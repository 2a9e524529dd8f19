//! The domain of the server address a client reached (`virtdomains: on`): Cyrus looks up the
//! name of the local end of the connection (`getnameinfo` with `NI_NAMEREQD`) and gives a login
//! typed without a domain the domain of that name (`imap.one.example` → `one.example`, see
//! [`types::Domains::domain_of_server_name`]), so that one server answering on several
//! addresses serves each address's domain to its users.
//!
//! The lookup itself is the caller's (a [`ReverseLookup`]: the binary asks the system's
//! resolver, tests a table), and runs on a blocking thread, once per connection
//! ([`ConnectionDomain`]) and only under `virtdomains: on`. A failed lookup, a name with no
//! domain, or the default domain's name leave the login in the default domain.
//!
//! Must not: resolve names itself (this crate calls no C), nor wait for a lookup on a runtime
//! thread.

use std::net::IpAddr;
use std::sync::Arc;

use types::DomainMode;

use crate::identity::LoginIdentity;

/// Names an address of this server: its host name, if it has one.
pub trait ReverseLookup: Send + Sync + std::fmt::Debug {
    /// The name `addr` resolves to, or `None` when it has none (or the lookup failed).
    /// Blocking: called on a blocking thread.
    fn host_name(&self, addr: IpAddr) -> Option<String>;
}

/// The domain a login typed without one takes on a connection; none (the default domain)
/// unless `virtdomains: on` found one for the server's address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerDomain(pub(crate) Option<String>);

impl ServerDomain {
    /// No domain from the server address: a login without one is in the default domain.
    pub const NONE: ServerDomain = ServerDomain(None);

    /// The domain, lower case and never the default domain.
    pub fn domain(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl LoginIdentity {
    /// The [`ServerDomain`] of a connection to the server's address `local`: under
    /// `virtdomains: on`, the domain of the name the reverse lookup gives it; else none at
    /// once, without a lookup. The lookup runs on tokio's blocking pool.
    pub async fn server_domain(&self, local: IpAddr) -> ServerDomain {
        if self.domains().mode != DomainMode::On {
            return ServerDomain::NONE;
        }
        let Some(lookup) = self.reverse_lookup().map(Arc::clone) else {
            return ServerDomain::NONE;
        };
        let name = tokio::task::spawn_blocking(move || lookup.host_name(local))
            .await
            .ok()
            .flatten();
        self.domain_of_name(local, name.as_deref())
    }

    /// The [`ServerDomain`] that `name`, the reverse name of `local` (`None`: it has none),
    /// gives; logged, since it decides which domain a connection's logins land in.
    pub fn domain_of_name(&self, local: IpAddr, name: Option<&str>) -> ServerDomain {
        let domain = name.and_then(|name| self.domains().domain_of_server_name(name));
        match (name, &domain) {
            (Some(name), Some(domain)) => {
                tracing::debug!("server address {local} is {name}: logins default to {domain}")
            }
            (Some(name), None) => tracing::debug!(
                "server address {local} is {name}: logins default to the default domain"
            ),
            (None, _) => tracing::debug!(
                "server address {local} has no name: logins default to the default domain"
            ),
        }
        ServerDomain(domain)
    }
}

/// A connection's [`ServerDomain`], looked up at its first login and kept for the rest.
#[derive(Debug)]
pub struct ConnectionDomain {
    /// The server's end of the connection.
    local: IpAddr,
    found: Option<ServerDomain>,
}

impl ConnectionDomain {
    /// For a connection whose server end is `local`; nothing is looked up yet.
    pub fn new(local: IpAddr) -> ConnectionDomain {
        ConnectionDomain { local, found: None }
    }

    /// The connection's server domain under `rules`: looked up the first time, then kept.
    pub async fn get(&mut self, rules: &LoginIdentity) -> ServerDomain {
        if let Some(found) = &self.found {
            return found.clone();
        }
        let found = rules.server_domain(self.local).await;
        self.found = Some(found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use types::Domains;

    use super::*;
    use crate::authz::Mechanism;

    /// A resolver answering from a table, counting the questions.
    #[derive(Debug, Default)]
    struct Table {
        names: HashMap<IpAddr, String>,
        asked: AtomicUsize,
    }

    impl ReverseLookup for Table {
        fn host_name(&self, addr: IpAddr) -> Option<String> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.names.get(&addr).cloned()
        }
    }

    fn addr(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn table() -> Arc<Table> {
        let names = [
            ("192.0.2.1", "imap.One.Example."),
            ("192.0.2.2", "mail.example.org"),
            ("192.0.2.3", "localhost"),
            ("2001:db8::7", "mx.two.example"),
        ];
        Arc::new(Table {
            names: names
                .iter()
                .map(|(a, n)| (addr(a), n.to_string()))
                .collect(),
            asked: AtomicUsize::new(0),
        })
    }

    fn rules(mode: DomainMode, lookup: &Arc<Table>) -> LoginIdentity {
        let domains = Domains {
            mode,
            default_domain: Some("example.org".into()),
            local_names: Vec::new(),
        };
        LoginIdentity::new(None, None, Vec::new(), Mechanism::Unix, domains)
            .with_reverse_lookup(Arc::clone(lookup) as Arc<dyn ReverseLookup>)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_server_address_names_the_domain_of_a_bare_login_in_mode_on() {
        let lookup = table();
        let on = rules(DomainMode::On, &lookup);
        let rt = runtime();
        let domain_at = |a: &str| rt.block_on(on.server_domain(addr(a)));
        assert_eq!(domain_at("192.0.2.1").domain(), Some("one.example"));
        assert_eq!(domain_at("2001:db8::7").domain(), Some("two.example"));
        // The default domain's own name, a name without a domain, no name at all.
        for none in ["192.0.2.2", "192.0.2.3", "198.51.100.9"] {
            assert_eq!(domain_at(none), ServerDomain::NONE, "{none}");
        }
        let at = domain_at("192.0.2.1");
        assert_eq!(
            on.canonicalise_userid("alice", &at).as_deref(),
            Ok("alice@one.example")
        );
        assert_eq!(
            on.canonicalise_userid("alice@Two.Example", &at).as_deref(),
            Ok("alice@two.example"),
            "a typed domain wins over the server's"
        );
        assert_eq!(
            on.canonicalise_userid("alice@example.org", &at).as_deref(),
            Ok("alice"),
            "the default domain typed stays the default domain"
        );
    }

    #[test]
    fn no_lookup_unless_mode_on_and_one_per_connection() {
        let lookup = table();
        let rt = runtime();
        for mode in [DomainMode::Off, DomainMode::Userid] {
            let r = rules(mode, &lookup);
            let found = rt.block_on(r.server_domain(addr("192.0.2.1")));
            assert_eq!(found, ServerDomain::NONE, "{mode:?}");
        }
        assert_eq!(lookup.asked.load(Ordering::SeqCst), 0);
        let on = rules(DomainMode::On, &lookup);
        let mut connection = ConnectionDomain::new(addr("192.0.2.1"));
        for _ in 0..3 {
            let found = rt.block_on(connection.get(&on));
            assert_eq!(found.domain(), Some("one.example"));
        }
        assert_eq!(lookup.asked.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_a_resolver_mode_on_leaves_the_default_domain() {
        let domains = Domains {
            mode: DomainMode::On,
            default_domain: Some("example.org".into()),
            local_names: Vec::new(),
        };
        let r = LoginIdentity::new(None, None, Vec::new(), Mechanism::Unix, domains);
        let found = runtime().block_on(r.server_domain(addr("192.0.2.1")));
        assert_eq!(found, ServerDomain::NONE);
    }
}
