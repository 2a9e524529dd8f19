//! The `unix` mechanism (Cyrus's default): identifiers are userids and `group:NAME`; a user's
//! groups are those `/etc/group` lists them in, plus those of `auth_groups_file`, whose lines
//! read `group: member, member` (a sealed server's users are usually not system accounts).
//! Both files are read again when they change. Only the member lists count: a system
//! account's primary group (its `/etc/passwd` gid) is not looked up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::watched::Watched;
use super::{bad_char, builtin};
use types::Authorizer;

/// Group name → members.
type Groups = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug)]
pub struct Unix {
    etc_group: Option<Watched<Groups>>,
    groups_file: Option<Watched<Groups>>,
}

impl Unix {
    /// `etc_group`: the system group file (`/etc/group`, in its `name:x:gid:a,b` form);
    /// `groups_file`: `auth_groups_file`.
    pub fn new(etc_group: Option<PathBuf>, groups_file: Option<PathBuf>) -> Unix {
        Unix {
            etc_group: etc_group.map(|p| Watched::new(p, parse_etc_group)),
            groups_file: groups_file.map(|p| Watched::new(p, parse_groups_file)),
        }
    }

    fn sources(&self) -> impl Iterator<Item = &Watched<Groups>> {
        self.etc_group.iter().chain(self.groups_file.iter())
    }

    fn group_exists(&self, group: &str) -> bool {
        self.sources().any(|s| s.get().contains_key(group))
    }
}

impl Authorizer for Unix {
    /// `anyone`, `anonymous`, a userid as written (no case folding: logins are case-sensitive),
    /// or `group:NAME` for a group one of the files knows (Cyrus also refuses an unknown group).
    fn canonicalise(&self, identifier: &str) -> Option<String> {
        if let Some(b) = builtin(identifier) {
            return Some(b.to_string());
        }
        if identifier.is_empty()
            || identifier.len() > types::acl::MAX_IDENTIFIER_LEN
            || identifier.chars().any(|c| bad_char(c) || c == '*')
        {
            return None;
        }
        match identifier.strip_prefix("group:") {
            Some(group) if self.group_exists(group) => Some(identifier.to_string()),
            Some(_) => None,
            None => Some(identifier.to_string()),
        }
    }

    fn groups(&self, user: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        for source in self.sources() {
            let groups = source.get();
            found.extend(
                groups
                    .iter()
                    .filter(|(_, members)| members.contains(user))
                    .map(|(g, _)| g.clone()),
            );
        }
        found.into_iter().collect()
    }
}

/// `/etc/group`: `name:password:gid:member,member`; comments and malformed lines are skipped.
fn parse_etc_group(text: &str) -> Groups {
    let mut groups = Groups::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let fields: Vec<&str> = line.split(':').collect();
        let [name, _, _, members] = fields.as_slice() else {
            continue;
        };
        add(&mut groups, name, members.split(','));
    }
    groups
}

/// `auth_groups_file`: `group: member, member` (commas and/or white space between members);
/// `#` starts a comment; a group on several lines gathers all of them.
fn parse_groups_file(text: &str) -> Groups {
    let mut groups = Groups::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let Some((name, members)) = line.split_once(':') else {
            continue;
        };
        add(
            &mut groups,
            name,
            members.split(|c: char| c == ',' || c.is_whitespace()),
        );
    }
    groups
}

fn add<'a>(groups: &mut Groups, name: &str, members: impl Iterator<Item = &'a str>) {
    let name = name.trim();
    if name.is_empty() || name.chars().any(bad_char) {
        return;
    }
    let entry = groups.entry(name.to_string()).or_default();
    entry.extend(
        members
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path, etc: &str, groups: &str) -> Unix {
        std::fs::write(dir.join("group"), etc).unwrap();
        std::fs::write(dir.join("groups"), groups).unwrap();
        Unix::new(Some(dir.join("group")), Some(dir.join("groups")))
    }

    #[test]
    fn groups_come_from_etc_group_and_the_groups_file() {
        let dir = tempfile::tempdir().unwrap();
        let unix = files(
            dir.path(),
            "# system\nwheel:x:10:root,alice\nstaff:x:50:\nbroken line\n",
            "staff: alice, bob\n# comment\nboard: carol bob # trailing\n",
        );
        assert_eq!(unix.groups("alice"), ["staff", "wheel"]);
        assert_eq!(unix.groups("bob"), ["board", "staff"]);
        assert_eq!(unix.groups("carol"), ["board"]);
        assert!(unix.groups("dave").is_empty());
    }

    #[test]
    fn the_groups_file_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let unix = files(dir.path(), "", "staff: alice\n");
        assert_eq!(unix.groups("bob"), Vec::<String>::new());
        std::fs::write(dir.path().join("groups"), "staff: alice, bob\n").unwrap();
        assert_eq!(unix.groups("bob"), ["staff"]);
        std::fs::remove_file(dir.path().join("groups")).unwrap();
        assert!(
            unix.groups("alice").is_empty(),
            "a removed file has no groups"
        );
    }

    #[test]
    fn canonical_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let unix = files(dir.path(), "wheel:x:10:root\n", "staff: alice\n");
        assert_eq!(unix.canonicalise("Anybody").as_deref(), Some("anyone"));
        assert_eq!(unix.canonicalise("ANONYMOUS").as_deref(), Some("anonymous"));
        assert_eq!(unix.canonicalise("Fred").as_deref(), Some("Fred"));
        assert_eq!(
            unix.canonicalise("john.smith").as_deref(),
            Some("john.smith")
        );
        assert_eq!(
            unix.canonicalise("group:staff").as_deref(),
            Some("group:staff")
        );
        assert_eq!(
            unix.canonicalise("group:wheel").as_deref(),
            Some("group:wheel")
        );
        assert_eq!(unix.canonicalise("group:nosuch"), None);
        assert_eq!(unix.canonicalise(""), None);
        assert_eq!(unix.canonicalise("a b"), None);
        assert_eq!(unix.canonicalise("*"), None);
        assert!(unix.user_matches("fred", "fred") && !unix.user_matches("fred", "Fred"));
    }
}
