//! What the ACL enforcement tests share (`imap_acl_enforcement.rs`: a row per enforcement point of
//! RFC 4314 §4, run for every kind of identity; `imap_acl_property.rs`: random ACLs): one server
//! with users, groups (`auth_groups_file`), an administrator and anonymous login; a fixture that
//! makes a fresh mailbox holding exactly a given ACL; each operation of the table, run over IMAP
//! and classified by the server's answer; and a small model, independent of the server's code, of
//! the rights an identity holds and of the answer each operation must then get.
//!
//! The model (issue 11; RFC 4314 §2, §4): rights = the union of the entries that apply (the user,
//! their groups, `anyone`, and `anonymous` for the unauthenticated) minus the union of the
//! negative entries that apply, plus `l a` for administrators everywhere and for a user on their
//! own hierarchy. Without its right an operation is refused: `NO [NOPERM]` where the identity may
//! `l`-see the mailbox, and otherwise exactly the answer a missing mailbox gets, which
//! [`World::check`] compares line by line (minus the tag) with the answer for a name that was
//! never created. Administrators create, delete and rename without `k`/`x` (Cyrus reserves that
//! management to them and never refuses it). The anonymous identity, as in Cyrus, creates no
//! mailbox (nor a RENAME's new name) whatever `k` it holds, and keeps no `\Seen`: its `s`
//! changes nothing, though MYRIGHTS shows it.
#![allow(dead_code, clippy::unwrap_used)]

mod world;

use std::collections::BTreeMap;
use std::fmt;

pub use world::World;

/// RFC 4314 §2.1's rights (with RFC 5464's `n`), in the order the server shows them.
pub const LETTERS: &str = "lrswipkxtean";

/// A set of rights, as the model computes them (not the server's type: the model must not share
/// the code it checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rights(u16);

impl Rights {
    pub const NONE: Rights = Rights(0);
    pub const ALL: Rights = Rights((1 << 12) - 1);

    /// `None` when a letter is not one of [`LETTERS`].
    pub fn try_parse(text: &str) -> Option<Rights> {
        let mut bits = 0;
        for c in text.chars() {
            bits |= 1 << LETTERS.find(c)?;
        }
        Some(Rights(bits))
    }

    /// Rights as ACL and MYRIGHTS responses show them: the virtual `c` and `d` (RFC 4314
    /// §2.1.1) beside the rest, present exactly when one of their members (`k x`, `t e`) is;
    /// `None` when they are not, or for an unknown letter.
    pub fn parse_shown(text: &str) -> Option<Rights> {
        let rights = Rights::try_parse(&text.replace(['c', 'd'], ""))?;
        let c = text.contains('c') == rights.has_any("kx");
        let d = text.contains('d') == rights.has_any("te");
        (c && d).then_some(rights)
    }

    pub fn parse(text: &str) -> Rights {
        Rights::try_parse(text).unwrap_or_else(|| panic!("{text:?} is not a set of rights"))
    }

    /// Every subset is a value: `bits` beyond the twelve rights are dropped.
    pub fn from_bits(bits: u64) -> Rights {
        Rights((bits & u64::from(Rights::ALL.0)) as u16)
    }

    pub fn has(self, right: char) -> bool {
        LETTERS.find(right).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn has_all(self, rights: &str) -> bool {
        rights.chars().all(|c| self.has(c))
    }

    pub fn has_any(self, rights: &str) -> bool {
        rights.chars().any(|c| self.has(c))
    }

    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    pub fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = LETTERS.chars().filter(|&c| self.has(c)).collect();
        f.write_str(if text.is_empty() { "(none)" } else { &text })
    }
}

/// Who runs an operation: how they log in and what the ACL's identifiers see of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Who {
    pub login: &'static str,
    /// Their groups in the `auth_groups_file` [`World::start`] writes.
    pub groups: &'static [&'static str],
    /// Listed in `admins`.
    pub admin: bool,
}

impl Who {
    pub fn is_anonymous(self) -> bool {
        self == ANONYMOUS
    }
}

/// Owns `user.alice.*`, where [`Place::Alice`] mailboxes are made.
pub const ALICE: Who = Who {
    login: "alice",
    groups: &[],
    admin: false,
};
pub const BOB: Who = Who {
    login: "bob",
    groups: &[],
    admin: false,
};
/// In group `squad`.
pub const CAROL: Who = Who {
    login: "carol",
    groups: &["squad"],
    admin: false,
};
/// In groups `squad` and `crew`.
pub const DAVE: Who = Who {
    login: "dave",
    groups: &["squad", "crew"],
    admin: false,
};
/// In `admins` (the test server's configuration names `admin`).
pub const ADMIN: Who = Who {
    login: "admin",
    groups: &[],
    admin: true,
};
/// `LOGIN anonymous <anything>` with `allowanonymouslogin: yes`.
pub const ANONYMOUS: Who = Who {
    login: "anonymous",
    groups: &[],
    admin: false,
};

/// Where a case's mailbox lives: in alice's hierarchy (`user.alice.cN`, `INBOX.cN` to alice) or
/// at the top level outside `user` (`shared.cN`, made by the administrator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Alice,
    Shared,
}

impl Place {
    fn root(self) -> &'static str {
        match self {
            Place::Alice => "user.alice",
            Place::Shared => "shared",
        }
    }

    /// The mailbox every identity may use fully there: a COPY/MOVE target, RENAME's other end.
    fn open(self) -> String {
        format!("{}.open", self.root())
    }

    /// A mailbox every identity but anonymous subscribed to, then deleted: what LSUB of a
    /// subscribed name that no longer exists answers is compared with.
    fn gone(self) -> String {
        format!("{}.gone", self.root())
    }
}

/// An ACL as the model holds it: identifier (`-` first for a negative entry) → rights; no entry
/// has empty rights.
pub type Acl = BTreeMap<String, Rights>;

/// Whether the entry `identifier` (negative or not) applies to `who` (RFC 4314 §2; issue 11:
/// `anyone` is everyone, anonymous included; `anonymous` only the unauthenticated; groups and
/// userids never the anonymous identity).
fn applies(identifier: &str, who: Who) -> bool {
    let id = identifier.strip_prefix('-').unwrap_or(identifier);
    match (id, id.strip_prefix("group:")) {
        ("anyone", _) => true,
        ("anonymous", _) => who.is_anonymous(),
        (_, Some(group)) => !who.is_anonymous() && who.groups.contains(&group),
        (user, None) => !who.is_anonymous() && user == who.login,
    }
}

/// `who`'s rights on a mailbox at `place` whose ACL is `acl`.
pub fn model_rights(acl: &Acl, who: Who, place: Place) -> Rights {
    let (mut granted, mut denied) = (Rights::NONE, Rights::NONE);
    for (identifier, rights) in acl {
        if !applies(identifier, who) {
            continue;
        }
        if identifier.starts_with('-') {
            denied = denied.union(*rights);
        } else {
            granted = granted.union(*rights);
        }
    }
    let owner = place == Place::Alice && who == ALICE;
    let implicit = if who.admin || owner {
        Rights::parse("la")
    } else {
        Rights::NONE
    };
    granted.minus(denied).union(implicit)
}

/// The operations of RFC 4314 §4's table (and RFC 6851's MOVE), each on the case's mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    List,
    Lsub,
    Status,
    Select,
    Examine,
    Fetch,
    Search,
    /// COPY from the case's mailbox (selected) to the open one.
    CopyFrom,
    StoreSeen,
    StoreDeleted,
    StoreFlagged,
    Expunge,
    /// CLOSE, which expunges on the way only with `e`.
    Close,
    Append,
    /// COPY from the open source mailbox into the case's mailbox.
    CopyTo,
    MoveTo,
    /// MOVE from the case's mailbox (selected) to the open one.
    MoveFrom,
    /// CREATE of a child of the case's mailbox.
    CreateChild,
    /// CREATE of the case's mailbox itself, which exists.
    CreateExisting,
    Delete,
    /// RENAME of the case's mailbox to below the open one.
    RenameFrom,
    /// RENAME of a mailbox below the open one to below the case's mailbox.
    RenameTo,
    GetAcl,
    SetAcl,
    DeleteAcl,
    ListRights,
    MyRights,
}

pub const OPS: &[Op] = &[
    Op::List,
    Op::Lsub,
    Op::Status,
    Op::Select,
    Op::Examine,
    Op::Fetch,
    Op::Search,
    Op::CopyFrom,
    Op::StoreSeen,
    Op::StoreDeleted,
    Op::StoreFlagged,
    Op::Expunge,
    Op::Close,
    Op::Append,
    Op::CopyTo,
    Op::MoveTo,
    Op::MoveFrom,
    Op::CreateChild,
    Op::CreateExisting,
    Op::Delete,
    Op::RenameFrom,
    Op::RenameTo,
    Op::GetAcl,
    Op::SetAcl,
    Op::DeleteAcl,
    Op::ListRights,
    Op::MyRights,
];

impl Op {
    /// Operations on the case's mailbox once selected: SELECT comes first.
    pub fn on_selected(self) -> bool {
        matches!(
            self,
            Op::Fetch
                | Op::Search
                | Op::CopyFrom
                | Op::StoreSeen
                | Op::StoreDeleted
                | Op::StoreFlagged
                | Op::Expunge
                | Op::Close
                | Op::MoveFrom
        )
    }

    /// Creation, deletion and renaming, which administrators may do without the right.
    fn is_management(self) -> bool {
        matches!(
            self,
            Op::CreateChild | Op::CreateExisting | Op::Delete | Op::RenameFrom | Op::RenameTo
        )
    }

    /// The command, with `{box}` for the case's mailbox and `{open}` for the open one (as the
    /// identity names them) and `{n}` for the case's number.
    fn command(self) -> &'static str {
        match self {
            Op::List => "LIST \"\" {box}",
            Op::Lsub => "LSUB \"\" {box}",
            Op::Status => "STATUS {box} (MESSAGES)",
            Op::Select => "SELECT {box}",
            Op::Examine => "EXAMINE {box}",
            Op::Fetch => "FETCH 1 (UID FLAGS)",
            Op::Search => "SEARCH ALL",
            Op::CopyFrom => "COPY 1 {open}",
            Op::StoreSeen => "STORE 1 +FLAGS (\\Seen)",
            Op::StoreDeleted => "STORE 1 +FLAGS (\\Deleted)",
            Op::StoreFlagged => "STORE 1 +FLAGS (\\Flagged)",
            Op::Expunge => "EXPUNGE",
            Op::Close => "CLOSE",
            Op::Append => "APPEND {box} {25+}\r\nSubject: appended\r\n\r\nhi\r\n",
            Op::CopyTo => "COPY 1 {box}",
            Op::MoveTo => "MOVE 1 {box}",
            Op::MoveFrom => "MOVE 1 {open}",
            Op::CreateChild => "CREATE {box}.k",
            Op::CreateExisting => "CREATE {box}",
            Op::Delete => "DELETE {box}",
            Op::RenameFrom => "RENAME {box} {open}.r{n}",
            Op::RenameTo => "RENAME {open}.m{n} {box}.moved",
            Op::GetAcl => "GETACL {box}",
            Op::SetAcl => "SETACL {box} zed lr",
            Op::DeleteAcl => "DELETEACL {box} zed",
            Op::ListRights => "LISTRIGHTS {box} zed",
            Op::MyRights => "MYRIGHTS {box}",
        }
    }

    /// The flag a STORE asks for and the right it needs (RFC 4314 §4).
    fn store_flag(self) -> Option<(&'static str, char)> {
        match self {
            Op::StoreSeen => Some(("\\Seen", 's')),
            Op::StoreDeleted => Some(("\\Deleted", 't')),
            Op::StoreFlagged => Some(("\\Flagged", 'w')),
            _ => None,
        }
    }
}

/// For an operation on a selected mailbox: whether the ACL is in place before SELECT, or is
/// changed while the mailbox is selected with every right (the change reaches the session at
/// its next command: RFC 4314 §4 is checked again then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    AclFirst,
    SelectFirst,
}

/// What the server's answer amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done, and its effect shows in the answer (the LIST line, the EXPUNGE, the flag...).
    Done,
    /// A STORE answered OK but left the flag out (RFC 4314 §4: filtered, not refused); a CLOSE
    /// closed without expunging.
    Filtered,
    /// `NO [NOPERM]`.
    NoPerm,
    /// As for a mailbox that does not exist: `NO [NONEXISTENT]`, `NO [TRYCREATE]`, no LIST line,
    /// `\Noselect` in LSUB.
    Missing,
    /// `NO [READ-ONLY]`, which no operation here should get: without the rights that change
    /// state SELECT is read-only, but the operation then lacks its right, which answers first.
    ReadOnly,
    /// `NO [ALREADYEXISTS]`.
    AlreadyExists,
    /// `* BYE [NOPERM]`, alone, and the connection closed: the selected mailbox's `r` was
    /// revoked, and the command did not run.
    Closed,
    /// Anything else (BAD, another code, a missing effect).
    Unexpected,
}

/// The answer the model expects for `op` by `who` holding `rights` on the case's mailbox.
pub fn expected(op: Op, rights: Rights, who: Who, path: Path) -> Outcome {
    let refused = if rights.has('l') {
        Outcome::NoPerm
    } else {
        Outcome::Missing
    };
    let allow = |ok: bool| if ok { Outcome::Done } else { refused };
    let manage = |right: char| who.admin || rights.has(right);
    match op {
        Op::List | Op::Lsub => allow(rights.has('l')),
        Op::Status | Op::Select | Op::Examine => allow(rights.has('r')),
        Op::Append | Op::CopyTo | Op::MoveTo => allow(rights.has('i')),
        Op::Delete => allow(manage('x')),
        // The new name below the open mailbox is refused to anonymous, which creates nothing.
        Op::RenameFrom if who.is_anonymous() && rights.has('x') => Outcome::NoPerm,
        Op::RenameFrom => allow(manage('x')),
        // `k` on the parent; its visibility does not matter, nothing about it is revealed.
        Op::CreateChild | Op::RenameTo if who.is_anonymous() => Outcome::NoPerm,
        Op::CreateChild | Op::RenameTo if manage('k') => Outcome::Done,
        Op::CreateChild | Op::RenameTo => Outcome::NoPerm,
        Op::CreateExisting if rights.has('l') => Outcome::AlreadyExists,
        Op::CreateExisting => Outcome::NoPerm,
        Op::GetAcl | Op::SetAcl | Op::DeleteAcl | Op::ListRights => allow(rights.has('a')),
        Op::MyRights => allow(!rights.is_empty()),
        Op::Fetch
        | Op::Search
        | Op::CopyFrom
        | Op::StoreSeen
        | Op::StoreDeleted
        | Op::StoreFlagged
        | Op::Expunge
        | Op::Close
        | Op::MoveFrom => on_selected(op, acting(rights, who), path, refused),
    }
}

/// The rights that decide what `who` may change: no `\Seen` is ever kept for anonymous, so its
/// `s` changes nothing (MYRIGHTS still shows it).
fn acting(rights: Rights, who: Who) -> Rights {
    match who.is_anonymous() {
        true => rights.minus(Rights::parse("s")),
        false => rights,
    }
}

/// An operation on the selected mailbox. SELECT without any right that changes state is
/// read-only (RFC 4314 §4), but each operation lacks its own right then too, and the rights
/// answer first: `NO [NOPERM]`, never `[READ-ONLY]`.
fn on_selected(op: Op, rights: Rights, path: Path, refused: Outcome) -> Outcome {
    if !rights.has('r') {
        return match path {
            Path::AclFirst => refused,
            Path::SelectFirst => Outcome::Closed,
        };
    }
    match (op, op.store_flag()) {
        (Op::Fetch | Op::Search | Op::CopyFrom, _) => Outcome::Done,
        (Op::Close, _) if rights.has('e') => Outcome::Done,
        (Op::Close, _) => Outcome::Filtered,
        (_, Some(_)) if !rights.has_any("swt") => Outcome::NoPerm,
        (_, Some((_, right))) if rights.has(right) => Outcome::Done,
        (_, Some(_)) => Outcome::Filtered,
        (Op::Expunge, None) if rights.has('e') => Outcome::Done,
        (Op::MoveFrom, None) if rights.has_all("te") => Outcome::Done,
        _ => Outcome::NoPerm,
    }
}

/// One operation by one identity on a fresh mailbox holding exactly `acl`.
#[derive(Clone, Debug)]
pub struct Case {
    pub place: Place,
    pub acl: Acl,
    pub who: Who,
    pub op: Op,
    pub path: Path,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let acl: Vec<String> = self.acl.iter().map(|(i, r)| format!("{i} {r}")).collect();
        write!(
            f,
            "{} runs {:?} ({:?}) on a {:?} mailbox with ACL [{}]",
            self.who.login,
            self.op,
            self.path,
            self.place,
            acl.join(", ")
        )
    }
}
