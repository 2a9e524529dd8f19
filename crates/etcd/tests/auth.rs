//! Authentication against a real etcd member with auth enabled by `etcdctl`: a user with a
//! role on a prefix, a wrong password, an expired token.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use etcd::testing::{etcdctl, EtcdCluster, MemberOptions};
use etcd::{code, Client, Credentials, Error, EventKind, WatchEvent, WatchRequest};

/// Runs `etcdctl ARGS` against `cluster`, which must succeed.
fn ctl(cluster: &EtcdCluster, etcdctl: &std::path::Path, args: &[&str]) {
    let out = Command::new(etcdctl)
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", cluster.endpoint(0)))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client of `cluster` as `user` with `password`.
fn client_as(cluster: &EtcdCluster, user: &str, password: &str) -> Client {
    let mut config = cluster.client_config();
    config.auth = Some(Credentials::new(user, password));
    Client::new(config).unwrap()
}

#[tokio::test]
async fn a_user_with_a_role_works_and_a_wrong_password_is_refused() {
    let Some(etcdctl) = etcdctl() else {
        return;
    };
    // Tokens that expire after 2 s unused, so the test sees a renewal.
    let options = MemberOptions {
        extra_args: vec!["--auth-token-ttl=2".into()],
        ..MemberOptions::default()
    };
    let Some(cluster) = EtcdCluster::single_with(options).await else {
        return;
    };
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "root"],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "murder:s3cret"],
        &["role", "add", "directory"],
        &[
            "role",
            "grant-permission",
            "directory",
            "--prefix=true",
            "readwrite",
            "/murder/",
        ],
        &["user", "grant-role", "murder", "directory"],
        &["auth", "enable"],
    ] {
        ctl(&cluster, &etcdctl, args);
    }

    let client = client_as(&cluster, "murder", "s3cret");
    let put = client
        .put(b"/murder/mbox/user.ann", b"backend1", None)
        .await
        .unwrap();
    assert_eq!(
        client
            .get(b"/murder/mbox/user.ann")
            .await
            .unwrap()
            .unwrap()
            .value,
        b"backend1"
    );
    let err = client.put(b"/elsewhere", b"x", None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Etcd {
                code: code::PERMISSION_DENIED,
                ..
            }
        ),
        "{err}"
    );

    let mut watcher = client
        .watch(WatchRequest::prefix(b"/murder/").from_revision(put.revision))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .unwrap()
        .unwrap();
    let WatchEvent::Events { events, .. } = event else {
        panic!("{event:?}");
    };
    assert_eq!(
        (events[0].kind, events[0].kv.value.as_slice()),
        (EventKind::Put, &b"backend1"[..])
    );
    let err = client
        .watch(WatchRequest::prefix(b"/elsewhere"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Etcd {
                code: code::PERMISSION_DENIED,
                ..
            }
        ),
        "{err}"
    );

    // The token expires unused; the client authenticates again by itself.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        client
            .get(b"/murder/mbox/user.ann")
            .await
            .unwrap()
            .unwrap()
            .value,
        b"backend1"
    );
    let clone = client.clone();
    clone
        .put(b"/murder/mbox/user.bob", b"backend2", None)
        .await
        .unwrap();

    let err = client_as(&cluster, "murder", "wrong")
        .get(b"/murder/x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    let err = client_as(&cluster, "nobody", "s3cret")
        .get(b"/murder/x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    let err = client_as(&cluster, "murder", "wrong")
        .watch(WatchRequest::key(b"/murder/x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    let anonymous = Client::new(cluster.client_config()).unwrap();
    assert!(matches!(
        anonymous.get(b"/murder/x").await,
        Err(Error::Etcd { .. })
    ));
}
