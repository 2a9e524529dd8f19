//! A property of the whole server (issue 11): for random ACLs — entries for users, `group:`,
//! `anyone` and `anonymous`, negative entries, random subsets of `lrswipkxtean` — on a mailbox in
//! a user's hierarchy or a shared one, and a random operation of RFC 4314 §4's table by a random
//! identity, the IMAP answer is the one the rights computed by an independent model call for: no
//! operation succeeds without its right, every operation with its right succeeds, and a mailbox
//! the identity cannot see answers exactly as a missing one.
//!
//! The cases come from a seeded generator; the seed is printed, and `DARIUS_SEED=<seed>` replays
//! a run. Operations on a selected mailbox run with the ACL set before SELECT, or changed while
//! selected with every right (the change reaches the session at its next command).
#![allow(clippy::unwrap_used)]

mod acl_cases;
mod common;
mod imap_support;

use acl_cases::{Acl, Case, Op, Path, Place, Rights, Who, World, OPS};
use common::Rng;

/// Enough to meet every operation with most kinds of ACL; a few seconds on a debug build.
/// `DARIUS_ACL_CASES` asks for a longer run.
const CASES: usize = 200;

fn cases() -> usize {
    std::env::var("DARIUS_ACL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES)
}

const WHO: &[Who] = &[
    acl_cases::ALICE,
    acl_cases::BOB,
    acl_cases::CAROL,
    acl_cases::DAVE,
    acl_cases::ADMIN,
    acl_cases::ANONYMOUS,
];

const IDENTIFIERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "dave",
    "admin",
    "group:squad",
    "group:crew",
    "anyone",
    "anonymous",
];

/// Up to five entries; a negative entry one time in three. Positive entries hold each right
/// with odds 2/3 and negative ones 1/4, so that operations are often allowed and negative
/// entries take away a few rights rather than all.
fn random_acl(rng: &mut Rng) -> Acl {
    let mut acl = Acl::new();
    for _ in 0..rng.below(6) {
        let negative = rng.one_in(3);
        let mut bits = 0;
        for i in 0..acl_cases::LETTERS.len() {
            let on = if negative {
                rng.one_in(4)
            } else {
                !rng.one_in(3)
            };
            bits |= u64::from(on) << i;
        }
        let rights = Rights::from_bits(bits);
        let identifier = rng.pick(IDENTIFIERS);
        let identifier = match negative {
            true => format!("-{identifier}"),
            false => identifier.to_string(),
        };
        if !rights.is_empty() {
            acl.insert(identifier, rights);
        }
    }
    acl
}

fn random_case(rng: &mut Rng) -> Case {
    let who = *rng.pick(WHO);
    let op = loop {
        let op = *rng.pick(OPS);
        // Anonymous has no INBOX, so no subscriptions to list.
        if !(op == Op::Lsub && who.is_anonymous()) {
            break op;
        }
    };
    Case {
        place: *rng.pick(&[Place::Alice, Place::Shared]),
        acl: random_acl(rng),
        who,
        op,
        path: *rng.pick(&[Path::AclFirst, Path::SelectFirst]),
    }
}

#[test]
fn imap_answers_follow_the_rights_of_random_acls() {
    let seed = common::seed();
    eprintln!("seed {seed} (DARIUS_SEED={seed} replays this run)");
    let mut rng = Rng::new(seed);
    let mut world = World::start();
    for i in 0..cases() {
        let case = random_case(&mut rng);
        if let Err(e) = world.check(&case) {
            panic!("case {i} of seed {seed} (replay with DARIUS_SEED={seed}):\n{e}");
        }
    }
}
