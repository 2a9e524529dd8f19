//! The password database with its records in a real etcd (Debian's `etcd-server`, a private
//! member on loopback): two databases on one prefix behave as two servers of a Murder. What
//! one adds, changes or removes the other sees (changes within the watch's delay, well inside
//! the cache's TTL); two adding one name at once: exactly one wins; the records are the local
//! file's encoding; etcd out of reach is a temporary failure, never a wrong password.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::{AuthError, EtcdUsers, PasswordDb};
use types::Secret;

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_string())
}

/// A database of the users under `prefix`, as a server with `configdirectory` `dir` opens it;
/// `runtime` `None` for a tool's (its own runtime).
fn open(
    dir: &Path,
    endpoints: &[String],
    prefix: &str,
    runtime: Option<tokio::runtime::Handle>,
    ttl: Duration,
) -> PasswordDb {
    let client = etcd::Client::new(etcd::ClientConfig::new(endpoints.iter().cloned())).unwrap();
    PasswordDb::open_etcd(
        dir,
        EtcdUsers {
            client,
            prefix: prefix.to_string(),
            runtime,
        },
    )
    .unwrap()
    .with_cache_ttl(ttl)
}

/// Waits (up to 10 s) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_servers_share_the_users_and_see_each_others_changes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // An hour of cache: only the watch can make the second server see a change in time.
    let hour = Duration::from_secs(3600);
    let one = open(
        d1.path(),
        &endpoints,
        "/m1/",
        Some(runtime.handle().clone()),
        hour,
    );
    let two = open(d2.path(), &endpoints, "/m1", None, hour);
    one.add_user("ann", &secret("first")).unwrap();
    assert!(two.verify("ann", &secret("first")).unwrap());
    assert!(!two.verify("ann", &secret("wrong")).unwrap());
    assert!(!two.verify("bob", &secret("first")).unwrap());
    assert!(matches!(
        two.add_user("ann", &secret("other")),
        Err(AuthError::AlreadyExists(_))
    ));
    // The second server's verified "first" is dropped when the first changes the password.
    one.set_password("ann", &secret("second")).unwrap();
    eventually("the old password refused on the other server", || {
        !two.verify("ann", &secret("first")).unwrap()
    });
    assert!(two.verify("ann", &secret("second")).unwrap());
    // A user unknown a moment ago logs in as soon as it is added elsewhere.
    one.add_user("bob", &secret("pw")).unwrap();
    eventually("bob known to the other server", || {
        two.verify("bob", &secret("pw")).unwrap()
    });
    assert_eq!(two.list_users().unwrap(), ["ann", "bob"]);
    assert_eq!(one.list_users().unwrap(), two.list_users().unwrap());
    two.delete_user("ann").unwrap();
    eventually("ann refused on the first server", || {
        !one.verify("ann", &secret("second")).unwrap()
    });
    assert!(matches!(
        one.delete_user("ann"),
        Err(AuthError::NoSuchUser(_))
    ));
    assert!(matches!(
        one.set_password("ann", &secret("x")),
        Err(AuthError::NoSuchUser(_))
    ));
    assert_eq!(one.list_users().unwrap(), ["bob"]);
    // Another prefix is another Murder, and the local files were never made.
    let other = open(d1.path(), &endpoints, "/m2", None, hour);
    assert!(other.list_users().unwrap().is_empty());
    assert!(!d1.path().join(auth::PASSWORD_DB_FILE).exists());
    assert!(!d2.path().join(auth::PASSWORD_DB_FILE).exists());
}

#[test]
fn records_in_etcd_are_the_local_encoding_and_back_up_into_a_local_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        &etcd.endpoints(),
        "/enc",
        None,
        Duration::from_secs(60),
    );
    db.add_user("carol", &secret("plain-text-marker")).unwrap();
    let client = etcd::Client::new(etcd.client_config()).unwrap();
    let kv = runtime
        .block_on(client.get(b"/enc/users/carol"))
        .unwrap()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&kv.value).unwrap();
    assert!(record["argon2id"]
        .as_str()
        .unwrap()
        .starts_with("$argon2id$"));
    assert!(record["scram_sha256"].is_object(), "{record}");
    assert!(!kv.value.windows(17).any(|w| w == b"plain-text-marker"));
    // A backup's copy is a local database with the same users and passwords.
    let copy_dir = tempfile::tempdir().unwrap();
    db.copy_to(&copy_dir.path().join(auth::PASSWORD_DB_FILE))
        .unwrap();
    let copy = PasswordDb::open(copy_dir.path()).unwrap();
    assert_eq!(copy.list_users().unwrap(), ["carol"]);
    assert!(copy.verify("carol", &secret("plain-text-marker")).unwrap());
    assert_eq!(
        copy.stored_forms("carol").unwrap(),
        db.stored_forms("carol").unwrap()
    );
}

#[test]
fn two_servers_adding_one_name_at_once_exactly_one_wins() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let endpoints = etcd.endpoints();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ttl = Duration::from_secs(60);
    let one = Arc::new(open(d1.path(), &endpoints, "/race", None, ttl));
    let two = Arc::new(open(d2.path(), &endpoints, "/race", None, ttl));
    for round in 0..5 {
        let name = format!("racer{round}");
        let add = |db: &Arc<PasswordDb>, password: &'static str| {
            let (db, name) = (Arc::clone(db), name.clone());
            std::thread::spawn(move || db.add_user(&name, &secret(password)))
        };
        let (a, b) = (add(&one, "from-one"), add(&two, "from-two"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let won = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{a:?} / {b:?}");
        assert!(
            matches!(&a, Err(AuthError::AlreadyExists(_)))
                || matches!(&b, Err(AuthError::AlreadyExists(_))),
            "{a:?} / {b:?}"
        );
        let winner = if a.is_ok() { "from-one" } else { "from-two" };
        assert!(one.verify(&name, &secret(winner)).unwrap());
        assert!(two.verify(&name, &secret(winner)).unwrap());
    }
}

#[test]
fn etcd_out_of_reach_is_a_temporary_failure_not_a_wrong_password() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(mut etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        &etcd.endpoints(),
        "/down",
        Some(runtime.handle().clone()),
        Duration::from_secs(60),
    );
    db.add_user("dave", &secret("known")).unwrap();
    db.add_user("erin", &secret("never-read")).unwrap();
    assert!(db.verify("dave", &secret("known")).unwrap());
    etcd.kill(0);
    // A record read within the TTL still serves; one never read cannot be checked.
    assert!(db.verify("dave", &secret("known")).unwrap());
    assert!(matches!(
        db.verify("erin", &secret("never-read")),
        Err(AuthError::Unavailable(_))
    ));
    let refused = db.add_user("frank", &secret("x")).unwrap_err();
    assert!(matches!(refused, AuthError::Unavailable(_)), "{refused}");
    assert!(
        refused.to_string().contains("/down/users/"),
        "names where: {refused}"
    );
    assert!(matches!(
        db.set_password("dave", &secret("y")),
        Err(AuthError::Unavailable(_))
    ));
    assert!(matches!(db.list_users(), Err(AuthError::Unavailable(_))));
}

/// The database is synchronous; called by mistake on a runtime worker it must not panic
/// (blocking in place there would).
#[test]
fn calls_from_a_runtime_worker_do_not_panic() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(etcd) = runtime.block_on(etcd::testing::EtcdCluster::single()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(
        dir.path(),
        &etcd.endpoints(),
        "/worker",
        Some(runtime.handle().clone()),
        Duration::from_secs(60),
    ));
    let inside = Arc::clone(&db);
    let listed = runtime.block_on(async move {
        tokio::spawn(async move {
            inside.add_user("gina", &secret("pw")).unwrap();
            inside.list_users().unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(listed, ["gina"]);
}
