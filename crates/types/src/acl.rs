//! Access control lists, RFC 4314: the [`Rights`] letters, the [`Identifier`]s rights are
//! granted to, and an [`Acl`] as the ordered list of entries Cyrus keeps per mailbox.
//!
//! The stored form is Cyrus's, as its mailboxes database and `cyrus.header` hold it: one
//! `identifier<TAB>rights<TAB>` pair per entry, in order (`anyone\tlrs\tfred\tlwi\t`). The empty
//! string is the empty ACL (mailboxes created before ACLs existed store it; the service decides
//! what such a mailbox's ACL reads as). Deciding which entries apply to whom belongs to the
//! service layer, which knows the identity's groups; this module only holds the values.

use std::fmt;

/// A set of RFC 4314 rights (plus RFC 5464's `n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(u16);

/// Every right in Cyrus's display order, with its bit.
const LETTERS: [(char, u16); 12] = [
    ('l', 1),
    ('r', 1 << 1),
    ('s', 1 << 2),
    ('w', 1 << 3),
    ('i', 1 << 4),
    ('p', 1 << 5),
    ('k', 1 << 6),
    ('x', 1 << 7),
    ('t', 1 << 8),
    ('e', 1 << 9),
    ('a', 1 << 10),
    ('n', 1 << 11),
];

impl Rights {
    pub const NONE: Rights = Rights(0);
    /// `l`: the mailbox is visible to LIST and LSUB.
    pub const LOOKUP: Rights = Rights(1);
    /// `r`: SELECT, STATUS, FETCH, SEARCH, COPY from.
    pub const READ: Rights = Rights(1 << 1);
    /// `s`: keep `\Seen` across sessions.
    pub const SEEN: Rights = Rights(1 << 2);
    /// `w`: flags other than `\Seen` and `\Deleted`.
    pub const WRITE: Rights = Rights(1 << 3);
    /// `i`: APPEND, COPY/MOVE into.
    pub const INSERT: Rights = Rights(1 << 4);
    /// `p`: send mail to the submission address (LMTP delivery by a sender).
    pub const POST: Rights = Rights(1 << 5);
    /// `k`: create mailboxes below this one (and rename into it).
    pub const CREATE: Rights = Rights(1 << 6);
    /// `x`: delete the mailbox, rename it away.
    pub const DELETE_MAILBOX: Rights = Rights(1 << 7);
    /// `t`: set `\Deleted`.
    pub const DELETE_MESSAGES: Rights = Rights(1 << 8);
    /// `e`: EXPUNGE.
    pub const EXPUNGE: Rights = Rights(1 << 9);
    /// `a`: administer the ACL.
    pub const ADMIN: Rights = Rights(1 << 10);
    /// `n`: annotate messages (RFC 5464).
    pub const ANNOTATE: Rights = Rights(1 << 11);
    pub const ALL: Rights = Rights((1 << 12) - 1);

    pub fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any right of `other` is in this set.
    pub fn intersects(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    pub fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// The rights of one letter; RFC 4314 §2.1.1: the obsolete `c` stands for `k` and `x`, the
    /// obsolete `d` for `t` and `e` (what a server advertising `RIGHTS=kxte` must grant).
    pub fn from_letter(letter: char) -> Option<Rights> {
        match letter {
            'c' => Some(Rights::CREATE.union(Rights::DELETE_MAILBOX)),
            'd' => Some(Rights::DELETE_MESSAGES.union(Rights::EXPUNGE)),
            _ => LETTERS
                .iter()
                .find(|(l, _)| *l == letter)
                .map(|(_, bit)| Rights(*bit)),
        }
    }

    /// Each single right in the set, in display order.
    pub fn iter(self) -> impl Iterator<Item = Rights> {
        LETTERS
            .iter()
            .filter(move |(_, bit)| self.0 & bit != 0)
            .map(|(_, bit)| Rights(*bit))
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum AclError {
    /// A letter that names no right (RFC 4314 §3.1: SETACL then answers `BAD`).
    UnknownRight(char),
    BadIdentifier(String),
    /// A stored ACL whose pairs do not line up.
    Malformed,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclError::UnknownRight(c) => write!(f, "{c:?} is not a right (RFC 4314)"),
            AclError::BadIdentifier(why) => write!(f, "invalid identifier: {why}"),
            AclError::Malformed => f.write_str("stored ACL is not identifier/rights pairs"),
        }
    }
}

impl std::error::Error for AclError {}

impl TryFrom<&str> for Rights {
    type Error = AclError;

    /// Letters in any order, legacy `c` and `d` included; the empty string is no rights.
    fn try_from(letters: &str) -> Result<Rights, AclError> {
        letters.chars().try_fold(Rights::NONE, |acc, c| {
            Rights::from_letter(c)
                .map(|r| acc.union(r))
                .ok_or(AclError::UnknownRight(c))
        })
    }
}

/// Rights as ACL, MYRIGHTS and LISTRIGHTS responses show them (see [`Rights::shown`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown(Rights);

impl Rights {
    /// The rights as a response shows them: RFC 4314 §2.1.1 requires the virtual `c` whenever
    /// any of its members `k x` is present and `d` whenever any of `t e` is, so that RFC 2086
    /// clients keep working; they come after `e`, in Cyrus's order (`lrswipkxtecdan`). The
    /// stored form ([`Rights`]'s `Display`) never holds them.
    pub fn shown(self) -> Shown {
        Shown(self)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let create = Rights::CREATE.union(Rights::DELETE_MAILBOX);
        let delete = Rights::DELETE_MESSAGES.union(Rights::EXPUNGE);
        for (letter, bit) in LETTERS {
            if self.0 .0 & bit != 0 {
                write!(f, "{letter}")?;
            }
            if letter == 'e' {
                if self.0.intersects(create) {
                    f.write_str("c")?;
                }
                if self.0.intersects(delete) {
                    f.write_str("d")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Rights {
    /// Cyrus's order, `lrswipkxtean`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        LETTERS
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .try_for_each(|(letter, _)| write!(f, "{letter}"))
    }
}

/// Whom an entry is about (RFC 4314 §2; Cyrus's `group:` prefix).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A userid (or, with Kerberos, a principal or a wildcard pattern of principals).
    User(String),
    /// `group:NAME`.
    Group(String),
    /// Everyone, anonymous included.
    Anyone,
    /// Only the unauthenticated identity.
    Anonymous,
}

/// An ACL identifier: a principal, possibly negative (`-fred`: rights taken away, RFC 4314 §2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    pub principal: Principal,
    pub negative: bool,
}

/// Longest identifier accepted, in bytes (a userid with a realm, or a group name).
pub const MAX_IDENTIFIER_LEN: usize = 255;

impl TryFrom<&str> for Identifier {
    type Error = AclError;

    /// `anyone` (also Cyrus's `anybody`) and `anonymous` in any case, `group:NAME`, otherwise a
    /// userid; a leading `-` makes the identifier negative. Controls and white space are
    /// refused (the stored form separates with tabs).
    fn try_from(text: &str) -> Result<Identifier, AclError> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if rest.is_empty() {
            return Err(AclError::BadIdentifier("empty".into()));
        }
        if rest.len() > MAX_IDENTIFIER_LEN {
            return Err(AclError::BadIdentifier(format!(
                "longer than {MAX_IDENTIFIER_LEN} bytes"
            )));
        }
        if let Some(c) = rest.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(AclError::BadIdentifier(format!("{c:?} is not allowed")));
        }
        let principal =
            if rest.eq_ignore_ascii_case("anyone") || rest.eq_ignore_ascii_case("anybody") {
                Principal::Anyone
            } else if rest.eq_ignore_ascii_case("anonymous") {
                Principal::Anonymous
            } else if let Some(group) = rest.strip_prefix("group:") {
                if group.is_empty() {
                    return Err(AclError::BadIdentifier("empty group name".into()));
                }
                Principal::Group(group.to_string())
            } else {
                Principal::User(rest.to_string())
            };
        Ok(Identifier {
            principal,
            negative,
        })
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        match &self.principal {
            Principal::User(u) => f.write_str(u),
            Principal::Group(g) => write!(f, "group:{g}"),
            Principal::Anyone => f.write_str("anyone"),
            Principal::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// One entry of an ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclEntry {
    pub identifier: Identifier,
    pub rights: Rights,
}

/// How SETACL changes an entry (RFC 4314 §3.1): replace, or add/remove with `+`/`-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsChange {
    Replace(Rights),
    Add(Rights),
    Remove(Rights),
}

impl TryFrom<&str> for RightsChange {
    type Error = AclError;

    fn try_from(text: &str) -> Result<RightsChange, AclError> {
        if let Some(rest) = text.strip_prefix('+') {
            Ok(RightsChange::Add(Rights::try_from(rest)?))
        } else if let Some(rest) = text.strip_prefix('-') {
            Ok(RightsChange::Remove(Rights::try_from(rest)?))
        } else {
            Ok(RightsChange::Replace(Rights::try_from(text)?))
        }
    }
}

/// The stored form of an ACL emptied on purpose (see [`Acl::to_stored`]).
pub const EMPTY_STORED: &str = "anyone\t\t";

/// An ordered ACL with at most one entry per identifier (a positive and a negative entry for
/// the same principal are two identifiers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    entries: Vec<AclEntry>,
}

impl Acl {
    pub fn entries(&self) -> &[AclEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, identifier: &Identifier) -> Option<Rights> {
        self.entries
            .iter()
            .find(|e| &e.identifier == identifier)
            .map(|e| e.rights)
    }

    /// Applies a SETACL change. An entry left with no rights is removed (Cyrus does the same:
    /// an empty rights string deletes the identifier); a new one goes last.
    pub fn apply(&mut self, identifier: Identifier, change: RightsChange) {
        let old = self.get(&identifier).unwrap_or(Rights::NONE);
        let new = match change {
            RightsChange::Replace(r) => r,
            RightsChange::Add(r) => old.union(r),
            RightsChange::Remove(r) => old.minus(r),
        };
        match self
            .entries
            .iter_mut()
            .position(|e| e.identifier == identifier)
        {
            Some(i) if new.is_empty() => {
                self.entries.remove(i);
            }
            Some(i) => self.entries[i].rights = new,
            None if new.is_empty() => {}
            None => self.entries.push(AclEntry {
                identifier,
                rights: new,
            }),
        }
    }

    /// DELETEACL: removes the identifier's entry; whether there was one.
    pub fn remove(&mut self, identifier: &Identifier) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| &e.identifier != identifier);
        self.entries.len() != before
    }

    /// Reads the stored form (`identifier\trights\t…`, the final tab optional).
    pub fn from_stored(text: &str) -> Result<Acl, AclError> {
        let text = text.strip_suffix('\t').unwrap_or(text);
        if text.is_empty() {
            return Ok(Acl::default());
        }
        Acl::from_pairs(text.split('\t'))
    }

    /// An ACL from alternating identifier and rights words; a lone identifier is malformed.
    fn from_pairs<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<Acl, AclError> {
        let mut acl = Acl::default();
        while let Some(id) = words.next() {
            let rights = words.next().ok_or(AclError::Malformed)?;
            acl.apply(
                Identifier::try_from(id)?,
                RightsChange::Replace(Rights::try_from(rights)?),
            );
        }
        Ok(acl)
    }

    /// The stored form. The empty ACL is stored as `anyone` with no rights (`anyone\t\t`,
    /// which reads back as the empty ACL, in Cyrus too), so that an ACL emptied on purpose is
    /// told apart from the empty string of a mailbox stored before ACLs existed.
    pub fn to_stored(&self) -> String {
        if self.entries.is_empty() {
            return EMPTY_STORED.to_string();
        }
        self.entries
            .iter()
            .map(|e| format!("{}\t{}\t", e.identifier, e.rights))
            .collect()
    }
}

impl TryFrom<&str> for Acl {
    type Error = AclError;

    /// The `defaultacl` form: white-space separated identifier/rights pairs (`anyone lrs`).
    fn try_from(text: &str) -> Result<Acl, AclError> {
        Acl::from_pairs(text.split_whitespace())
    }
}

/// Pluggable authorization (Cyrus's `auth_mech`): what an identifier canonically is, which
/// groups a user is in, and whether a user entry of an ACL applies to a user. The trait lives
/// here, at the bottom, so that `mailservice` can decide with it while `auth` implements it:
/// the two are in the same layer and may not depend on each other.
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// The canonical form of an identifier a client or an administrator wrote (SETACL,
    /// DELETEACL, LISTRIGHTS), without the `-` of a negative entry; `None` when it names no
    /// valid identifier.
    fn canonicalise(&self, identifier: &str) -> Option<String>;

    /// The groups `user` belongs to, without the `group:` prefix.
    fn groups(&self, user: &str) -> Vec<String>;

    /// Whether the ACL entry for the (canonical) user identifier `entry` applies to the
    /// authenticated `user`; never called for the anonymous identity. Equality unless the
    /// mechanism knows patterns (Kerberos wildcards).
    fn user_matches(&self, entry: &str, user: &str) -> bool {
        entry == user
    }

    /// Whether an entry may apply to users other than the one it names (patterns): then the
    /// mailboxes shared with a user cannot be looked up by the user's name alone.
    fn has_patterns(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        Rights::try_from(s).unwrap()
    }

    fn id(s: &str) -> Identifier {
        Identifier::try_from(s).unwrap()
    }

    #[test]
    fn rights_display_in_cyrus_order_whatever_the_input_order() {
        assert_eq!(r("naetxkpiwsrl").to_string(), "lrswipkxtean");
        assert_eq!(Rights::ALL.to_string(), "lrswipkxtean");
        assert_eq!(r("").to_string(), "");
    }

    /// RFC 4314 §2.1.1: `c` is `k` and `x`, `d` is `t` and `e`.
    #[test]
    fn legacy_c_and_d_expand_rfc4314_2_1_1() {
        assert_eq!(r("lrc").to_string(), "lrkx");
        assert_eq!(r("d").to_string(), "te");
        assert_eq!(r("cd"), r("kxte"));
    }

    /// RFC 4314 §2.1.1: a response shows `c` when any of `k x` is held and `d` when any of
    /// `t e` is (the RFC's own example: `lrswikda` is shown `lrswikcdeta`, here in Cyrus's
    /// order). Where all of a virtual right's members are held, the shown form reads back as
    /// the same rights (`c` read as input stands for both `k` and `x`).
    #[test]
    fn responses_show_the_virtual_c_and_d_rights() {
        assert_eq!(r("lrswikda").shown().to_string(), "lrswiktecda");
        assert_eq!(r("lrk").shown().to_string(), "lrkc");
        assert_eq!(r("x").shown().to_string(), "xc");
        assert_eq!(r("lre").shown().to_string(), "lred");
        assert_eq!(r("lrs").shown().to_string(), "lrs");
        assert_eq!(Rights::ALL.shown().to_string(), "lrswipkxtecdan");
        assert_eq!(r("").shown().to_string(), "");
        for letters in ["lrswipkxtean", "lrkx", "te", "la"] {
            let rights = r(letters);
            assert_eq!(r(&rights.shown().to_string()), rights, "{letters}");
        }
    }

    #[test]
    fn unknown_right_letters_are_refused() {
        assert_eq!(Rights::try_from("lrz"), Err(AclError::UnknownRight('z')));
        assert_eq!(Rights::try_from("L"), Err(AclError::UnknownRight('L')));
        assert_eq!(Rights::try_from("0"), Err(AclError::UnknownRight('0')));
    }

    #[test]
    fn identifiers_name_their_kind() {
        assert_eq!(id("anyone").principal, Principal::Anyone);
        assert_eq!(id("Anybody").principal, Principal::Anyone);
        assert_eq!(id("ANONYMOUS").principal, Principal::Anonymous);
        assert_eq!(
            id("group:staff").principal,
            Principal::Group("staff".into())
        );
        let neg = id("-fred");
        assert!(neg.negative);
        assert_eq!(neg.principal, Principal::User("fred".into()));
        assert_eq!(neg.to_string(), "-fred");
        assert_eq!(id("-group:staff").to_string(), "-group:staff");
        assert!(Identifier::try_from("").is_err());
        assert!(Identifier::try_from("-").is_err());
        assert!(Identifier::try_from("group:").is_err());
        assert!(Identifier::try_from("a\tb").is_err());
        assert!(Identifier::try_from("a b").is_err());
        assert!(Identifier::try_from("x".repeat(256).as_str()).is_err());
    }

    /// RFC 4314 §3.1's SETACL example and its `+`/`-` modifiers.
    #[test]
    fn setacl_modifiers_add_remove_and_replace() {
        let mut acl = Acl::default();
        acl.apply(id("Fred"), RightsChange::try_from("rwipslxetad").unwrap());
        assert_eq!(acl.get(&id("Fred")), Some(r("lrswipxtea")));
        acl.apply(id("Fred"), RightsChange::try_from("-wx").unwrap());
        assert_eq!(acl.get(&id("Fred")), Some(r("lrsiptea")));
        acl.apply(id("Fred"), RightsChange::try_from("+k").unwrap());
        assert_eq!(acl.get(&id("Fred")).unwrap().to_string(), "lrsipktea");
        acl.apply(id("Fred"), RightsChange::try_from("").unwrap());
        assert_eq!(acl.get(&id("Fred")), None, "empty rights remove the entry");
        acl.apply(id("Fred"), RightsChange::try_from("-r").unwrap());
        assert!(acl.is_empty(), "removing from nothing adds nothing");
    }

    #[test]
    fn stored_form_round_trips_in_order() {
        let stored = "anyone\tlrsp\tfred\tlwi\t-anonymous\ts\t";
        let acl = Acl::from_stored(stored).unwrap();
        assert_eq!(acl.entries().len(), 3);
        assert_eq!(acl.entries()[2].identifier, id("-anonymous"));
        assert_eq!(acl.to_stored(), stored);
        assert_eq!(
            Acl::from_stored("anyone\tlrs").unwrap().to_stored(),
            "anyone\tlrs\t"
        );
    }

    #[test]
    fn stored_empty_forms_read_as_the_empty_acl() {
        assert!(Acl::from_stored("").unwrap().is_empty());
        assert_eq!(Acl::default().to_stored(), EMPTY_STORED);
        assert!(Acl::from_stored(EMPTY_STORED).unwrap().is_empty());
    }

    #[test]
    fn malformed_stored_acls_are_errors() {
        assert_eq!(Acl::from_stored("anyone"), Err(AclError::Malformed));
        assert_eq!(
            Acl::from_stored("anyone\tlq\t"),
            Err(AclError::UnknownRight('q'))
        );
    }

    #[test]
    fn defaultacl_form_is_whitespace_separated_pairs() {
        let acl = Acl::try_from("anyone lrs").unwrap();
        assert_eq!(acl.to_stored(), "anyone\tlrs\t");
        assert!(Acl::try_from("").unwrap().is_empty());
        assert_eq!(Acl::try_from("anyone"), Err(AclError::Malformed));
    }

    #[test]
    fn positive_and_negative_entries_are_distinct() {
        let acl = Acl::from_stored("fred\tlr\t-fred\tr\t").unwrap();
        assert_eq!(acl.get(&id("fred")), Some(r("lr")));
        assert_eq!(acl.get(&id("-fred")), Some(r("r")));
        let mut acl = acl;
        assert!(acl.remove(&id("-fred")));
        assert!(!acl.remove(&id("-fred")));
        assert_eq!(acl.to_stored(), "fred\tlr\t");
    }
}
