//! Every enforcement point of RFC 4314 §4 (issue 11, ACL item 6), as a table: one row per
//! (command, right it needs), run for each kind of identity — the mailbox's owner, another user,
//! a member of a group (`auth_groups_file`), an administrator (`admins`) and anonymous — with an
//! ACL that grants everything but that right (refused, or filtered for STORE), the same without
//! `l` as well (refused exactly as a missing mailbox is: the answer, minus its tag, is compared
//! with the answer for a name that was never created), and with the right (done).
//!
//! The owner keeps `l a` on their hierarchy and administrators `l a` everywhere whatever the ACL
//! says, and administrators create, delete and rename without `k`/`x`: for them those rows are
//! done either way. Anonymous has no INBOX and so no subscriptions (the LSUB row skips it), and
//! creates nothing (CREATE and RENAME refuse it a new name even with `k`).
#![allow(clippy::unwrap_used)]

mod acl_cases;
mod common;
mod imap_support;

use acl_cases::{
    expected, Acl, Case, Op, Outcome, Path, Place, Rights, Who, World, ADMIN, ALICE, ANONYMOUS,
    BOB, CAROL,
};

/// One enforcement point: what `op` needs (`right`) and what else a success takes (`also`: `r`
/// to select the mailbox first, the other half of MOVE's `t e`).
struct Row {
    op: Op,
    right: &'static str,
    also: &'static str,
    path: Path,
}

const fn row(op: Op, right: &'static str, also: &'static str) -> Row {
    Row {
        op,
        right,
        also,
        path: Path::AclFirst,
    }
}

/// FETCH, SEARCH and COPY need `r` on the selected mailbox, which SELECT already needed: these
/// rows select with every right and then lose `r` (the session is closed at its next command).
const fn after_select(op: Op) -> Row {
    Row {
        op,
        right: "r",
        also: "",
        path: Path::SelectFirst,
    }
}

/// MYRIGHTS needs any right at all: its "without" is no right, its "with" a single `p`.
const ANY: &str = "";

const ROWS: &[Row] = &[
    row(Op::List, "l", ""),
    row(Op::Lsub, "l", ""),
    row(Op::Status, "r", ""),
    row(Op::Select, "r", ""),
    row(Op::Examine, "r", ""),
    after_select(Op::Fetch),
    after_select(Op::Search),
    after_select(Op::CopyFrom),
    row(Op::StoreSeen, "s", "r"),
    row(Op::StoreDeleted, "t", "r"),
    row(Op::StoreFlagged, "w", "r"),
    row(Op::Expunge, "e", "r"),
    row(Op::Close, "e", "r"),
    row(Op::Append, "i", ""),
    row(Op::CopyTo, "i", ""),
    row(Op::MoveTo, "i", ""),
    row(Op::MoveFrom, "t", "re"),
    row(Op::MoveFrom, "e", "rt"),
    row(Op::CreateChild, "k", ""),
    row(Op::CreateExisting, "l", ""),
    row(Op::Delete, "x", ""),
    row(Op::RenameFrom, "x", ""),
    row(Op::RenameTo, "k", ""),
    row(Op::GetAcl, "a", ""),
    row(Op::SetAcl, "a", ""),
    row(Op::DeleteAcl, "a", ""),
    row(Op::ListRights, "a", ""),
    row(Op::MyRights, ANY, ""),
];

/// The identity kinds and the ACL entry that names each.
const IDENTITIES: &[(&str, Who, &str)] = &[
    ("owner", ALICE, "alice"),
    ("other user", BOB, "bob"),
    ("group member", CAROL, "group:squad"),
    ("administrator", ADMIN, "admin"),
    ("anonymous", ANONYMOUS, "anonymous"),
];

impl Row {
    /// (variant name, the identity's rights in it).
    fn variants(&self) -> Vec<(&'static str, Rights)> {
        if self.right == ANY {
            return vec![
                ("without any right", Rights::NONE),
                ("with one right", Rights::parse("p")),
            ];
        }
        let right = Rights::parse(self.right);
        let without = Rights::ALL.minus(right);
        let mut variants = vec![("without it", without)];
        if self.right != "l" {
            variants.push(("without it and l", without.minus(Rights::parse("l"))));
        }
        variants.push(("with it", right.union(Rights::parse(self.also))));
        variants
    }

    fn name(&self) -> String {
        let right = if self.right == ANY { "any" } else { self.right };
        format!("{:?} needs {right}", self.op)
    }
}

/// What the anonymous identity is refused whatever its rights, as in Cyrus: a new mailbox name
/// (CREATE, either end of these RENAMEs: the source's new name is one) and `\Seen`, of which
/// no state is kept for it.
fn anonymous_never(op: Op) -> bool {
    matches!(
        op,
        Op::CreateChild | Op::RenameFrom | Op::RenameTo | Op::StoreSeen
    )
}

/// The ACL of a case: the identity's entry, and the owner's full entry beside it (the owner's
/// own is the identity's entry when the owner is the one tested).
fn acl_for(entry: &str, rights: Rights) -> Acl {
    let mut acl = Acl::new();
    acl.insert("alice".to_string(), Rights::ALL);
    acl.remove(entry);
    if !rights.is_empty() {
        acl.insert(entry.to_string(), rights);
    }
    acl
}

#[test]
fn every_enforcement_point_refuses_without_its_right_and_hides_what_cannot_be_seen() {
    let mut world = World::start();
    let mut failures = Vec::new();
    let mut cases = 0;
    for row in ROWS {
        for &(kind, who, entry) in IDENTITIES {
            if row.op == Op::Lsub && who == ANONYMOUS {
                continue;
            }
            for (variant, rights) in row.variants() {
                let case = Case {
                    place: Place::Alice,
                    acl: acl_for(entry, rights),
                    who,
                    op: row.op,
                    path: row.path,
                };
                // The table states what "with the right" means: the operation is done (CREATE
                // of an existing, visible name: `[ALREADYEXISTS]`), except what anonymous may
                // never do.
                if variant == "with it" || variant == "with one right" {
                    let model = acl_cases::model_rights(&case.acl, who, case.place);
                    let want = expected(row.op, model, who, row.path);
                    let done = match who == ANONYMOUS && anonymous_never(row.op) {
                        true => want == Outcome::NoPerm,
                        false => matches!(want, Outcome::Done | Outcome::AlreadyExists),
                    };
                    assert!(
                        done,
                        "row {}: {variant} for {kind} expects {want:?}",
                        row.name()
                    );
                }
                cases += 1;
                if let Err(e) = world.check(&case) {
                    failures.push(format!("row {} / {kind} / {variant}:\n{e}", row.name()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
