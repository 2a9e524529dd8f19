//! Identity rules of a login: which authenticated identities may log in, and as which user id
//! (`loginrealms`, the `krb.equiv` map, the local realm). Pure apart from reading the map file
//! (through the `krb5` authorization mechanism's reader, `authz/krb5.rs`).
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
//! The built-in identifiers (`anyone`, `anonymous`) never come out as a login's identity.

use std::path::PathBuf;

use crate::authz::{Authorizer, Krb5, Mechanism};

/// Why an identity may not log in (for the log; the client hears a generic failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0:?} is not a valid identity")]
    Malformed(String),
    #[error("{0:?} is reserved and cannot log in")]
    Reserved(String),
    #[error("cross-realm login of {identity:?} refused: {realm} is not in loginrealms")]
    Realm { identity: String, realm: String },
}

/// The configuration's identity rules (`krb5_realm`, `krb5_equiv_file`, `loginrealms`,
/// `auth_mech`).
#[derive(Debug)]
pub struct LoginIdentity {
    principals: Krb5,
    login_realms: Vec<String>,
    userids_are_principals: bool,
}

impl LoginIdentity {
    /// `local_realm`: `krb5_realm`; `equiv_file`: the `krb.equiv` map; `login_realms`:
    /// `loginrealms`; `mechanism`: `auth_mech`, which decides how user ids from password
    /// mechanisms are read.
    pub fn new(
        local_realm: Option<String>,
        equiv_file: Option<PathBuf>,
        login_realms: Vec<String>,
        mechanism: Mechanism,
    ) -> LoginIdentity {
        LoginIdentity {
            principals: Krb5::new(local_realm, equiv_file),
            login_realms,
            userids_are_principals: mechanism == Mechanism::Krb5,
        }
    }

    /// The user id an authenticated Kerberos principal (GSSAPI) logs in as.
    pub fn canonicalise(&self, principal: &str) -> Result<String, Refused> {
        let canonical = self
            .principals
            .canonicalise(principal)
            .ok_or_else(|| Refused::Malformed(principal.to_string()))?;
        if canonical == "anyone" || canonical == "anonymous" {
            return Err(Refused::Reserved(principal.to_string()));
        }
        self.check_realm(canonical)
    }

    /// The user id a password mechanism's authenticated identity (LOGIN, PLAIN, SCRAM, …)
    /// logs in as.
    pub fn canonicalise_userid(&self, userid: &str) -> Result<String, Refused> {
        if self.userids_are_principals {
            return self.canonicalise(userid);
        }
        if userid.is_empty() {
            return Err(Refused::Malformed(userid.to_string()));
        }
        Ok(userid.to_string())
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
        )
    }

    fn realm_refusal(identity: &str, realm: &str) -> Result<String, Refused> {
        Err(Refused::Realm {
            identity: identity.into(),
            realm: realm.into(),
        })
    }

    #[test]
    fn the_local_realm_is_left_out() {
        let r = rules(&[], None, Mechanism::Krb5);
        assert_eq!(r.canonicalise("bovik@CMU.EDU"), Ok("bovik".into()));
        assert_eq!(r.canonicalise("bovik"), Ok("bovik".into()));
        assert_eq!(
            r.canonicalise("bovik/admin@CMU.EDU"),
            Ok("bovik.admin".into())
        );
    }

    #[test]
    fn a_listed_realm_keeps_its_name_and_others_are_refused() {
        let r = rules(&["FOO.COM"], None, Mechanism::Krb5);
        assert_eq!(r.canonicalise("bovik@FOO.COM"), Ok("bovik@FOO.COM".into()));
        assert_eq!(
            r.canonicalise("bovik/admin@FOO.COM"),
            Ok("bovik.admin@FOO.COM".into())
        );
        assert_eq!(
            rules(&["foo.com"], None, Mechanism::Krb5).canonicalise("bovik@FOO.COM"),
            Ok("bovik@FOO.COM".into()),
            "realms compare without regard to case, as in Cyrus"
        );
        assert_eq!(
            r.canonicalise("bovik@BAR.ORG"),
            realm_refusal("bovik@BAR.ORG", "BAR.ORG")
        );
        assert_eq!(
            rules(&[], None, Mechanism::Krb5).canonicalise("bovik@FOO.COM"),
            realm_refusal("bovik@FOO.COM", "FOO.COM")
        );
    }

    #[test]
    fn the_equiv_map_applies_before_the_realm_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("krb.equiv");
        std::fs::write(&path, "bovik@REMOTE.COM bovik\nadmin/root@CMU.EDU root\n").unwrap();
        let r = rules(&[], Some(path), Mechanism::Krb5);
        assert_eq!(r.canonicalise("bovik@REMOTE.COM"), Ok("bovik".into()));
        assert_eq!(r.canonicalise("admin/root@CMU.EDU"), Ok("root".into()));
        assert_eq!(
            r.canonicalise("other@REMOTE.COM"),
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
            assert_eq!(r.canonicalise(bad), Err(Refused::Malformed(bad.into())));
        }
        for reserved in ["anonymous", "anyone", "Anybody"] {
            assert_eq!(
                r.canonicalise(reserved),
                Err(Refused::Reserved(reserved.into()))
            );
        }
    }

    #[test]
    fn user_ids_under_unix_are_kept_as_typed() {
        let r = rules(&[], None, Mechanism::Unix);
        for id in ["alice", "alice@EXAMPLE.ORG", "alice@CMU.EDU"] {
            assert_eq!(r.canonicalise_userid(id), Ok(id.into()));
        }
        assert_eq!(
            r.canonicalise_userid(""),
            Err(Refused::Malformed("".into()))
        );
        // A GSSAPI principal is a Kerberos identity whatever `auth_mech` says.
        assert_eq!(r.canonicalise("alice@CMU.EDU"), Ok("alice".into()));
        assert_eq!(
            r.canonicalise("alice@EXAMPLE.ORG"),
            realm_refusal("alice@EXAMPLE.ORG", "EXAMPLE.ORG")
        );
    }

    #[test]
    fn user_ids_under_krb5_are_principals() {
        let r = rules(&[], None, Mechanism::Krb5);
        assert_eq!(r.canonicalise_userid("alice@CMU.EDU"), Ok("alice".into()));
        assert_eq!(
            r.canonicalise_userid("alice@EXAMPLE.ORG"),
            realm_refusal("alice@EXAMPLE.ORG", "EXAMPLE.ORG")
        );
    }

    proptest::proptest! {
        /// Whatever an identity looks like: no panic, an accepted Kerberos identity keeps a
        /// realm only when that realm is listed, and a unix user id is kept as typed.
        #[test]
        fn only_listed_realms_come_out(id in "[a-zA-Z0-9@/._ -]{0,40}") {
            for mechanism in [Mechanism::Krb5, Mechanism::Unix] {
                let r = rules(&["FOO.COM"], None, mechanism);
                let mut answers = vec![r.canonicalise(&id)];
                if mechanism == Mechanism::Krb5 {
                    answers.push(r.canonicalise_userid(&id));
                } else {
                    let kept = r.canonicalise_userid(&id);
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
    }
}
