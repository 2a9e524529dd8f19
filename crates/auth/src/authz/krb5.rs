//! The `krb5` mechanism: identifiers are Kerberos principals. Accepted in the Kerberos 4 form
//! Cyrus's documentation uses, `name.instance@REALM`, and in the Kerberos 5 form
//! `name/instance@REALM`; the realm defaults to the local one (`krb5_realm`). The canonical
//! form is `name[.instance][@REALM]`, the realm left out when it is the local one (as Cyrus
//! maps a local principal to its local name). A `krb.equiv` file (lines `principal localname`)
//! maps principals to local names during canonicalisation.
//!
//! Wildcards, in ACL entries only: `*` in any part. `*` alone is every principal with no
//! instance in the local realm, `*.*@FOO.COM` every principal of FOO.COM, `*.*@*` every
//! Kerberos-authenticated identity. None matches `anonymous` (the service never asks).
//! There are no groups.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::watched::Watched;
use super::{bad_char, builtin};
use types::Authorizer;

/// A parsed principal; `realm: None` is the local realm.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Principal {
    name: String,
    instance: Option<String>,
    realm: Option<String>,
}

impl Principal {
    fn parse(text: &str, local_realm: Option<&str>) -> Option<Principal> {
        if text.is_empty()
            || text.len() > types::acl::MAX_IDENTIFIER_LEN
            || text.chars().any(bad_char)
        {
            return None;
        }
        let (head, realm) = match text.split_once('@') {
            Some((head, realm)) => (head, Some(realm)),
            None => (text, None),
        };
        let (name, instance) = match head.split_once(['/', '.']) {
            Some((name, instance)) => (name, Some(instance)),
            None => (head, None),
        };
        let part = |s: &str| !s.is_empty() && !s.contains(['@', '/', '.']);
        if !part(name) || !instance.is_none_or(part) || realm.is_some_and(str::is_empty) {
            return None;
        }
        if realm.is_some_and(|r| r.contains('@')) {
            return None;
        }
        let realm = realm.filter(|r| Some(*r) != local_realm);
        Some(Principal {
            name: name.to_string(),
            instance: instance.map(str::to_string),
            realm: realm.map(str::to_string),
        })
    }

    fn text(&self) -> String {
        let mut s = self.name.clone();
        if let Some(i) = &self.instance {
            s.push('.');
            s.push_str(i);
        }
        if let Some(r) = &self.realm {
            s.push('@');
            s.push_str(r);
        }
        s
    }

    /// Whether this pattern (`*` in any part) matches the principal `user`.
    fn matches(&self, user: &Principal) -> bool {
        let name = self.name == "*" || self.name == user.name;
        let instance = match (&self.instance, &user.instance) {
            (Some(p), _) if p == "*" => true,
            (p, u) => p == u,
        };
        let realm = match (&self.realm, &user.realm) {
            (Some(p), _) if p == "*" => true,
            (p, u) => p == u,
        };
        name && instance && realm
    }
}

/// Canonical principal → local name.
type EquivMap = BTreeMap<String, String>;

#[derive(Debug)]
pub struct Krb5 {
    realm: Option<String>,
    equiv: Option<Watched<EquivMap>>,
}

impl Krb5 {
    /// `realm`: `krb5_realm`; `equiv_file`: a `krb.equiv`-format identity map.
    pub fn new(realm: Option<String>, equiv_file: Option<PathBuf>) -> Krb5 {
        Krb5 {
            realm: realm.filter(|r| !r.is_empty()),
            equiv: equiv_file.map(|p| Watched::new(p, parse_equiv)),
        }
    }

    fn parse(&self, text: &str) -> Option<Principal> {
        Principal::parse(text, self.realm.as_deref())
    }
}

impl Authorizer for Krb5 {
    fn canonicalise(&self, identifier: &str) -> Option<String> {
        if let Some(b) = builtin(identifier) {
            return Some(b.to_string());
        }
        if identifier.starts_with("group:") {
            return None;
        }
        let principal = self.parse(identifier)?;
        // The map's keys are in the form the file wrote; compare canonical forms.
        if let Some(equiv) = &self.equiv {
            let map = equiv.get();
            let found = map
                .iter()
                .find(|(from, _)| self.parse(from).is_some_and(|p| p == principal));
            if let Some((_, local)) = found {
                return Some(local.clone());
            }
        }
        Some(principal.text())
    }

    fn groups(&self, _user: &str) -> Vec<String> {
        Vec::new()
    }

    fn has_patterns(&self) -> bool {
        true
    }

    fn user_matches(&self, entry: &str, user: &str) -> bool {
        if !entry.contains('*') {
            return entry == user;
        }
        match (self.parse(entry), self.parse(user)) {
            (Some(pattern), Some(user)) => pattern.matches(&user),
            _ => false,
        }
    }
}

/// `krb.equiv`: `principal localname` per line, `#` comments.
fn parse_equiv(text: &str) -> EquivMap {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let from = words.next()?;
            let to = words.next()?;
            Some((from.to_string(), to.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krb() -> Krb5 {
        Krb5::new(Some("CMU.EDU".into()), None)
    }

    #[test]
    fn both_principal_forms_canonicalise_alike() {
        let k = krb();
        assert_eq!(k.canonicalise("bovik").as_deref(), Some("bovik"));
        assert_eq!(k.canonicalise("bovik@CMU.EDU").as_deref(), Some("bovik"));
        assert_eq!(
            k.canonicalise("bovik/admin@CMU.EDU").as_deref(),
            Some("bovik.admin")
        );
        assert_eq!(
            k.canonicalise("bovik.admin").as_deref(),
            Some("bovik.admin")
        );
        assert_eq!(
            k.canonicalise("bovik/admin@FOO.COM").as_deref(),
            Some("bovik.admin@FOO.COM")
        );
        assert_eq!(
            k.canonicalise("bovik.admin@FOO.COM").as_deref(),
            Some("bovik.admin@FOO.COM")
        );
        assert_eq!(k.canonicalise("anyone").as_deref(), Some("anyone"));
        assert_eq!(k.canonicalise("group:staff"), None);
        assert_eq!(k.canonicalise("a@b@c"), None);
        assert_eq!(k.canonicalise("@FOO"), None);
        assert_eq!(k.canonicalise("a/b/c"), None);
    }

    #[test]
    fn wildcards_match_as_the_seed_describes() {
        let k = krb();
        let m = |p: &str, u: &str| {
            k.user_matches(&k.canonicalise(p).unwrap(), &k.canonicalise(u).unwrap())
        };
        assert!(m("*", "bovik"));
        assert!(!m("*", "bovik/admin"), "* is principals with no instance");
        assert!(!m("*", "bovik@FOO.COM"), "* is the local realm only");
        assert!(m("*.*@FOO.COM", "bovik@FOO.COM"));
        assert!(m("*.*@FOO.COM", "bovik/admin@FOO.COM"));
        assert!(!m("*.*@FOO.COM", "bovik"));
        assert!(m("*.*@*", "bovik"));
        assert!(m("*.*@*", "x/y@BAR.ORG"));
        assert!(m("bovik", "bovik@CMU.EDU"));
        assert!(!m("bovik", "bovik@FOO.COM"));
    }

    #[test]
    fn the_equiv_file_maps_principals_to_local_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("krb.equiv");
        std::fs::write(&path, "# map\nbovik/admin@FOO.COM   bovik\n").unwrap();
        let k = Krb5::new(Some("CMU.EDU".into()), Some(path));
        assert_eq!(
            k.canonicalise("bovik.admin@FOO.COM").as_deref(),
            Some("bovik")
        );
        assert_eq!(
            k.canonicalise("other@FOO.COM").as_deref(),
            Some("other@FOO.COM")
        );
    }

    #[test]
    fn without_a_local_realm_realms_are_kept() {
        let k = Krb5::new(None, None);
        assert_eq!(k.canonicalise("a@CMU.EDU").as_deref(), Some("a@CMU.EDU"));
        assert!(!k.user_matches("*", "a@CMU.EDU"));
        assert!(k.user_matches("*", "a"));
    }
}
