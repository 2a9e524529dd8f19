//! The index of which mailboxes' ACLs name an identifier: kept through create, SETACL, rename
//! and delete, and built when a database written before it is opened.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mailstore::{CreateOptions, FsyncPolicy, Store};

fn granted(s: &Store, ids: &[&str]) -> Vec<String> {
    s.mailboxes_granted_to(ids)
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect()
}

fn create_with_acl(s: &Store, n: &str, acl: &str) {
    let options = CreateOptions {
        acl: acl.to_string(),
        ..CreateOptions::default()
    };
    s.create_mailbox(&name(n), options).unwrap();
}

#[test]
fn the_index_follows_every_acl_change() {
    let (_d, s) = store();
    create_with_acl(&s, "shared.a", "anyone\tlrs\t");
    create_with_acl(&s, "shared.b", "bob\tlr\t-carol\tr\t");
    create_with_acl(&s, "user.bob", "bob\tlrswipkxtea\t");
    assert_eq!(granted(&s, &["bob"]), ["shared.b", "user.bob"]);
    assert_eq!(
        granted(&s, &["anyone", "bob"]),
        ["shared.a", "shared.b", "user.bob"]
    );
    assert!(
        granted(&s, &["carol"]).is_empty(),
        "negative entries grant nothing"
    );
    s.set_acl(&name("shared.b"), "group:staff\tlr\t").unwrap();
    assert_eq!(granted(&s, &["bob"]), ["user.bob"]);
    assert_eq!(granted(&s, &["group:staff"]), ["shared.b"]);
    s.rename_mailbox(&name("shared.b"), &name("shared.c"))
        .unwrap();
    assert_eq!(granted(&s, &["group:staff"]), ["shared.c"]);
    s.delete_mailbox(&name("shared.c")).unwrap();
    assert!(granted(&s, &["group:staff"]).is_empty());
}

#[test]
fn a_database_without_the_index_gets_it_built_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
        create_with_acl(&s, "shared.a", "anyone\tlrs\t");
        create_with_acl(&s, "shared.b", "bob\tlr\t");
    }
    // As a database written before the index existed.
    let path = dir.path().join("config").join(mailstore::MAILBOXES_DB_FILE);
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let table: redb::TableDefinition<(&str, &str), ()> =
            redb::TableDefinition::new("acl_identifiers");
        assert!(txn.delete_table(table).unwrap());
        txn.commit().unwrap();
    }
    let s = Store::open(config(&dir, FsyncPolicy::Never)).unwrap();
    assert_eq!(granted(&s, &["anyone", "bob"]), ["shared.a", "shared.b"]);
}
