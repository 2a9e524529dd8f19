//! Identity rules of a login: which authenticated identities may log in, and as which user id
//! (`loginrealms`, the `krb.equiv` map, the local realm, virtual domains). Pure apart from
//! reading the map file (through the `krb5` authorization mechanism's reader, `authz/krb5.rs`).
//!
//! The rules, in Cyrus's order (its `canonify_userid` through the `krb5` auth module, then the
//! cross-realm check of its proxy policy):
//!
//! 1. a Kerberos principal is first mapped through the `krb.equiv` file (`bovik@REMOTE.COM
//!    bovik`): a mapped principal logs in as its local name, whatever its realm;
//! 2. otherwise it is canonicalised as the `krb5` mechanism does: `name/instance@REALM` becomes
//!    `name.instance@REALM`, and the local realm (`krb5_realm`) is left out: `bovik@LOCAL`
//!    logs in as `bovik`;
//! 3. an identity still carrying a realm (`bovik@OTHER.ORG`) may log in, as `bovik@OTHER.ORG`
//!    (Cyrus keeps a non-local user id with its realm, making it a different user from
//!    `bovik`), only when that realm is listed in `loginrealms` (compared without regard to
//!    case, as Cyrus does); any other realm is refused.
//!
//! User ids from password mechanisms (LOGIN, PLAIN, SCRAM): with `auth_mech: krb5` they are
//! principals and follow the same rules (Cyrus canonicalises every login through its auth
//! module). With `auth_mech: unix` they are kept as typed, no realm stripped (as Cyrus), and
//! `loginrealms` does not apply: the rules are for Kerberos identities, and `user@domain` is
//! an ordinary user id here (`darius user import-sasldb` makes one of each user of another
//! realm). Cyrus without `virtdomains` would refuse such an id unless its realm is listed.
//!
//! With virtual domains on (`virtdomains: userid` or `on`, see [`types::Domains`]) the part
//! after the last `@` is the user's domain, and every identity comes out canonical: the domain
//! lower-cased, the default domain left out (`alice@EXAMPLE.ORG` is `alice` when
//! `defaultdomain` is `example.org`, `Bob@One.Example` is `Bob@one.example`), and an identity
//! whose domain part is not a domain name refused. A user id typed without a domain takes the
//! connection's [`ServerDomain`] (`virtdomains: on`). A Kerberos principal's realm becomes its
//! domain after steps 1 and 2 (`bob@ONE.EXAMPLE` is `bob@one.example`, as Cyrus reads a realm
//! as a domain), and step 3 does not apply: any realm that is a domain name may log in. The
//! password database keys users by this canonical name, so it is also the name whose
//! password, SCRAM or CRAM-MD5 secret is looked up.
//!
//! The built-in identifiers (`anyone`, `anonymous`) never come out as a login's identity.

use std::path::PathBuf;
use std::sync::Arc;

use types::Domains;

use crate::authz::{Authorizer, Krb5, Mechanism};
use crate::server_domain::{ReverseLookup, ServerDomain};

/// Why an identity may not log in (for the log; the client hears a generic failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0:?} is not a valid identity")]
    Malformed(String),
    #[error("{0:?} is reserved and cannot log in")]
    Reserved(String),
    #[error("cross-realm login of {identity:?} refused: {realm} is not in loginrealms")]
    Realm { identity: String, realm: String },
    /// Virtual domains on: the part after the last `@` is not a domain name (or nothing comes
    /// before it).
    #[error("{0:?} is not a user id of a domain: what follows its last @ must be a domain name")]
    Domain(String),
}

/// The configuration's identity rules (`krb5_realm`, `krb5_equiv_file`, `loginrealms`,
/// `auth_mech`, `virtdomains` and `defaultdomain`).
#[derive(Debug)]
pub struct LoginIdentity {
    principals: Krb5,
    login_realms: Vec<String>,
    userids_are_principals: bool,
    domains: Domains,
    /// Names the server address a client reached (`virtdomains: on`); `None` names none.
    reverse_lookup: Option<Arc<dyn ReverseLookup>>,
}

impl LoginIdentity {
    /// `local_realm`: `krb5_realm`; `equiv_file`: the `krb.equiv` map; `login_realms`:
    /// `loginrealms`; `mechanism`: `auth_mech`, which decides how user ids from password
    /// mechanisms are read; `domains`: the virtual-domain settings.
    pub fn new(
        local_realm: Option<String>,
        equiv_file: Option<PathBuf>,
        login_realms: Vec<String>,
        mechanism: Mechanism,
        domains: Domains,
    ) -> LoginIdentity {
        LoginIdentity {
            principals: Krb5::new(local_realm, equiv_file),
            login_realms,
            userids_are_principals: mechanism == Mechanism::Krb5,
            domains,
            reverse_lookup: None,
        }
    }

    /// Names server addresses with `lookup`, for the [`ServerDomain`] of connections under
    /// `virtdomains: on` (without one, such a login without a domain is in the default domain).
    pub fn with_reverse_lookup(mut self, lookup: Arc<dyn ReverseLookup>) -> LoginIdentity {
        self.reverse_lookup = Some(lookup);
        self
    }

    /// The virtual-domain settings the rules apply.
    pub fn domains(&self) -> &Domains {
        &self.domains
    }

    pub(crate) fn reverse_lookup(&self) -> Option<&Arc<dyn ReverseLookup>> {
        self.reverse_lookup.as_ref()
    }

    /// The user id an authenticated Kerberos principal (GSSAPI) logs in as, on a connection
    /// whose server address gives `at`.
    pub fn canonicalise(&self, principal: &str, at: &ServerDomain) -> Result<String, Refused> {
        let canonical = self
            .principals
            .canonicalise(principal)
            .ok_or_else(|| Refused::Malformed(principal.to_string()))?;
        if canonical == "anyone" || canonical == "anonymous" {
            return Err(Refused::Reserved(principal.to_string()));
        }
        if !self.domains.enabled() {
            return self.check_realm(canonical);
        }
        // Only a name typed without a realm takes the server's domain: a principal mapped to
        // a bare local name, or one of the local realm, is in the default domain.
        let typed_bare = !principal.contains('@');
        self.in_domain(&canonical, typed_bare, at)
    }

    /// The user id a password mechanism's authenticated identity (LOGIN, PLAIN, SCRAM, …)
    /// logs in as, on a connection whose server address gives `at`.
    pub fn canonicalise_userid(&self, userid: &str, at: &ServerDomain) -> Result<String, Refused> {
        if self.userids_are_principals {
            return self.canonicalise(userid, at);
        }
        if userid.is_empty() {
            return Err(Refused::Malformed(userid.to_string()));
        }
        if !self.domains.enabled() {
            return Ok(userid.to_string());
        }
        self.in_domain(userid, true, at)
    }

    /// The canonical form of `identity` with virtual domains on: its domain lower-cased (the
    /// default domain left out), or, written without one, `at`'s domain when `typed_bare`.
    fn in_domain(
        &self,
        identity: &str,
        typed_bare: bool,
        at: &ServerDomain,
    ) -> Result<String, Refused> {
        // `user@domain`, or Cyrus's `user%domain`.
        if identity.contains(['@', '%']) {
            return self
                .domains
                .canonical_userid(identity)
                .ok_or_else(|| Refused::Domain(identity.to_string()));
        }
        let domain = at.domain().filter(|_| typed_bare);
        Ok(Domains::qualify(identity, domain))
    }

    /// Cyrus's cross-realm check: the part after the first `@`, if any, must be a listed realm.
    fn check_realm(&self, identity: String) -> Result<String, Refused> {
        let Some((_, realm)) = identity.split_once('@') else {
            return Ok(identity);
        };
        if self
            .login_realms
            .iter()
            .any(|listed| listed.eq_ignore_ascii_case(realm))
        {
            return Ok(identity);
        }
        Err(Refused::Realm {
            realm: realm.to_string(),
            identity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(realms: &[&str], equiv: Option<PathBuf>, mechanism: Mechanism) -> LoginIdentity {
        LoginIdentity::new(
            Some("CMU.EDU".into()),
            equiv,
            realms.iter().map(|r| r.to_string()).collect(),
            mechanism,
            Domains::off(),
        )
    }

    /// No domain from the server's address.
    const BARE: ServerDomain = ServerDomain::NONE;

    fn realm_refusal(identity: &str, realm: &str) -> Result<String, Refused> {
        Err(Refused::Realm {
            identity: identity.into(),
            realm: realm.into(),
        })
    }

    #[test]
    fn the_local_realm_is_left_out() {
        let r = rules(&[], None, Mechanism::Krb5);
        assert_eq!(r.canonicalise("bovik@CMU.EDU", &BARE), Ok("bovik".into()));
        assert_eq!(r.canonicalise("bovik", &BARE), Ok("bovik".into()));
        assert_eq!(
            r.canonicalise("bovik/admin@CMU.EDU", &BARE),
            Ok("bovik.admin".into())
        );
    }

    #[test]
    fn a_listed_realm_keeps_its_name_and_others_are_refused() {
        let r = rules(&["FOO.COM"], None, Mechanism::Krb5);
        assert_eq!(
            r.canonicalise("bovik@FOO.COM", &BARE),
            Ok("bovik@FOO.COM".into())
        );
        assert_eq!(
            r.canonicalise("bovik/admin@FOO.COM", &BARE),
            Ok("bovik.admin@FOO.COM".into())
        );
        assert_eq!(
            rules(&["foo.com"], None, Mechanism::Krb5).canonicalise("bovik@FOO.COM", &BARE),
            Ok("bovik@FOO.COM".into()),
            "realms compare without regard to case, as in Cyrus"
        );
        assert_eq!(
            r.canonicalise("bovik@BAR.ORG", &BARE),
            realm_refusal("bovik@BAR.ORG", "BAR.ORG")
        );
        assert_eq!(
            rules(&[], None, Mechanism::Krb5).canonicalise("bovik@FOO.COM", &BARE),
            realm_refusal("bovik@FOO.COM", "FOO.COM")
        );
    }

    #[test]
    fn the_equiv_map_applies_before_the_realm_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("krb.equiv");
        std::fs::write(&path, "bovik@REMOTE.COM bovik\nadmin/root@CMU.EDU root\n").unwrap();
        let r = rules(&[], Some(path), Mechanism::Krb5);
        assert_eq!(
            r.canonicalise("bovik@REMOTE.COM", &BARE),
            Ok("bovik".into())
        );
        assert_eq!(
            r.canonicalise("admin/root@CMU.EDU", &BARE),
            Ok("root".into())
        );
        assert_eq!(
            r.canonicalise("other@REMOTE.COM", &BARE),
            realm_refusal("other@REMOTE.COM", "REMOTE.COM")
        );
    }

    #[test]
    fn malformed_and_reserved_identities_are_refused() {
        let r = rules(&["FOO.COM"], None, Mechanism::Krb5);
        for bad in [
            "",
            "a@b@c",
            "@FOO.COM",
            "a/b/c",
            "group:staff",
            "white space",
        ] {
            assert_eq!(
                r.canonicalise(bad, &BARE),
                Err(Refused::Malformed(bad.into()))
            );
        }
        for reserved in ["anonymous", "anyone", "Anybody"] {
            assert_eq!(
                r.canonicalise(reserved, &BARE),
                Err(Refused::Reserved(reserved.into()))
            );
        }
    }

    #[test]
    fn user_ids_under_unix_are_kept_as_typed() {
        let r = rules(&[], None, Mechanism::Unix);
        for id in ["alice", "alice@EXAMPLE.ORG", "alice@CMU.EDU"] {
            assert_eq!(r.canonicalise_userid(id, &BARE), Ok(id.into()));
        }
        assert_eq!(
            r.canonicalise_userid("", &BARE),
            Err(Refused::Malformed("".into()))
        );
        // A GSSAPI principal is a Kerberos identity whatever `auth_mech` says.
        assert_eq!(r.canonicalise("alice@CMU.EDU", &BARE), Ok("alice".into()));
        assert_eq!(
            r.canonicalise("alice@EXAMPLE.ORG", &BARE),
            realm_refusal("alice@EXAMPLE.ORG", "EXAMPLE.ORG")
        );
    }

    #[test]
    fn user_ids_under_krb5_are_principals() {
        let r = rules(&[], None, Mechanism::Krb5);
        assert_eq!(
            r.canonicalise_userid("alice@CMU.EDU", &BARE),
            Ok("alice".into())
        );
        assert_eq!(
            r.canonicalise_userid("alice@EXAMPLE.ORG", &BARE),
            realm_refusal("alice@EXAMPLE.ORG", "EXAMPLE.ORG")
        );
    }

    /// Virtual domains on, `defaultdomain: example.org`, the local realm CMU.EDU.
    fn domain_rules(mechanism: Mechanism, equiv: Option<PathBuf>) -> LoginIdentity {
        let domains = Domains {
            mode: types::DomainMode::Userid,
            default_domain: Some("example.org".into()),
            local_names: vec!["mail.example.org".into()],
        };
        LoginIdentity::new(
            Some("CMU.EDU".into()),
            equiv,
            Vec::new(),
            mechanism,
            domains,
        )
    }

    fn domain_refusal(identity: &str) -> Result<String, Refused> {
        Err(Refused::Domain(identity.into()))
    }

    #[test]
    fn with_domains_on_user_ids_come_out_canonical() {
        let r = domain_rules(Mechanism::Unix, None);
        let canonical = |id: &str| r.canonicalise_userid(id, &BARE);
        assert_eq!(canonical("alice"), Ok("alice".into()));
        assert_eq!(canonical("alice@EXAMPLE.org"), Ok("alice".into()));
        assert_eq!(canonical("alice@Mail.Example.Org"), Ok("alice".into()));
        assert_eq!(canonical("Bob@One.Example"), Ok("Bob@one.example".into()));
        assert_eq!(
            canonical("bob@x@One.Example"),
            Ok("bob@x@one.example".into()),
            "the domain is what follows the last @"
        );
        for bad in [
            "bob@two_example",
            "bob@",
            "@one.example",
            "bob@one..example",
        ] {
            assert_eq!(canonical(bad), domain_refusal(bad), "{bad}");
        }
        assert_eq!(canonical(""), Err(Refused::Malformed("".into())));
        // A bare user id takes the server address's domain, a qualified one keeps its own.
        let at = ServerDomain(Some("two.example".into()));
        assert_eq!(
            r.canonicalise_userid("alice", &at),
            Ok("alice@two.example".into())
        );
        assert_eq!(
            r.canonicalise_userid("alice@example.org", &at),
            Ok("alice".into())
        );
    }

    #[test]
    fn with_domains_on_a_foreign_realm_is_a_domain_and_loginrealms_does_not_apply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("krb.equiv");
        std::fs::write(
            &path,
            "bovik@REMOTE.COM bovik\ncarol@PARTNER.NET carol@one.example\n",
        )
        .unwrap();
        let r = domain_rules(Mechanism::Unix, Some(path));
        let gssapi = |principal: &str| r.canonicalise(principal, &BARE);
        assert_eq!(gssapi("bob@CMU.EDU"), Ok("bob".into()), "the local realm");
        assert_eq!(gssapi("bob@ONE.EXAMPLE"), Ok("bob@one.example".into()));
        assert_eq!(
            gssapi("bob@EXAMPLE.ORG"),
            Ok("bob".into()),
            "the default domain"
        );
        assert_eq!(
            gssapi("bob/admin@One.Example"),
            Ok("bob.admin@one.example".into())
        );
        assert_eq!(
            gssapi("bovik@REMOTE.COM"),
            Ok("bovik".into()),
            "krb.equiv first"
        );
        assert_eq!(gssapi("carol@PARTNER.NET"), Ok("carol@one.example".into()));
        assert_eq!(gssapi("eve@BAD_REALM"), domain_refusal("eve@BAD_REALM"));
        assert_eq!(gssapi("anonymous@CMU.EDU").ok(), None);
        // A principal carries its realm: the server address's domain never replaces it.
        let at = ServerDomain(Some("two.example".into()));
        assert_eq!(r.canonicalise("bob@CMU.EDU", &at), Ok("bob".into()));
        // Under `auth_mech: krb5` password user ids are principals, read the same way.
        let krb5 = domain_rules(Mechanism::Krb5, None);
        assert_eq!(
            krb5.canonicalise_userid("bob@ONE.EXAMPLE", &BARE),
            Ok("bob@one.example".into())
        );
        assert_eq!(
            krb5.canonicalise_userid("bob@CMU.EDU", &at),
            Ok("bob".into())
        );
        assert_eq!(
            krb5.canonicalise_userid("bob", &at),
            Ok("bob@two.example".into())
        );
    }

    proptest::proptest! {
        /// Whatever an identity looks like: no panic, an accepted Kerberos identity keeps a
        /// realm only when that realm is listed, and a unix user id is kept as typed.
        #[test]
        fn only_listed_realms_come_out(id in "[a-zA-Z0-9@/._ -]{0,40}") {
            for mechanism in [Mechanism::Krb5, Mechanism::Unix] {
                let r = rules(&["FOO.COM"], None, mechanism);
                let mut answers = vec![r.canonicalise(&id, &BARE)];
                if mechanism == Mechanism::Krb5 {
                    answers.push(r.canonicalise_userid(&id, &BARE));
                } else {
                    let kept = r.canonicalise_userid(&id, &BARE);
                    proptest::prop_assert!(kept.is_err() || kept.as_deref() == Ok(id.as_str()));
                }
                for user in answers.into_iter().flatten() {
                    proptest::prop_assert!(!user.is_empty());
                    if let Some((_, realm)) = user.split_once('@') {
                        proptest::prop_assert!(realm.eq_ignore_ascii_case("FOO.COM"));
                    }
                }
            }
        }

        /// With domains on, whatever comes out is canonical: canonicalising it again gives it
        /// back, and a domain, if any, is a lower-case domain name other than the default.
        #[test]
        fn with_domains_on_only_canonical_names_come_out(id in "[a-zA-Z0-9@/._ -]{0,40}") {
            for mechanism in [Mechanism::Krb5, Mechanism::Unix] {
                let r = domain_rules(mechanism, None);
                let answers = [r.canonicalise(&id, &BARE), r.canonicalise_userid(&id, &BARE)];
                for user in answers.into_iter().flatten() {
                    let domains = r.domains();
                    let again = domains.canonical_userid(&user);
                    proptest::prop_assert_eq!(again.as_deref(), Some(user.as_str()));
                    if let Some((_, domain)) = user.rsplit_once('@') {
                        proptest::prop_assert!(types::domain::is_domain_name(domain));
                        proptest::prop_assert_eq!(domain.to_ascii_lowercase(), domain);
                        proptest::prop_assert!(!domains.is_default(domain));
                    }
                }
            }
        }
    }
}
