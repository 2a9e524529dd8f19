//! Keys, values, ranges, transactions and leases against a real etcd member over its
//! HTTP/JSON gateway.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use etcd::testing::EtcdCluster;
use etcd::{
    code, Client, Compare, DeleteRequest, Error, Op, OpResponse, PutRequest, RangeRequest, Txn,
};

/// A client of `cluster`.
fn client(cluster: &EtcdCluster) -> Client {
    Client::new(cluster.client_config()).unwrap()
}

/// Writes `count` keys `PREFIX%05d` = `vN`, a hundred per transaction.
async fn fill(client: &Client, prefix: &str, count: usize) {
    let keys: Vec<usize> = (0..count).collect();
    for batch in keys.chunks(100) {
        let txn = Txn {
            success: batch
                .iter()
                .map(|i| {
                    Op::Put(PutRequest::new(
                        format!("{prefix}{i:05}").as_bytes(),
                        format!("v{i}").as_bytes(),
                    ))
                })
                .collect(),
            ..Txn::default()
        };
        assert!(client.txn(txn).await.unwrap().succeeded);
    }
}

#[tokio::test]
async fn put_get_and_delete_round_trip_binary_keys() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    let key = b"bin\x00\xff/key";
    assert_eq!(client.get(key).await.unwrap(), None);
    let first = client.put(key, b"one\x00", None).await.unwrap();
    let kv = client.get(key).await.unwrap().unwrap();
    assert_eq!(
        (kv.key.as_slice(), kv.value.as_slice()),
        (&key[..], &b"one\x00"[..])
    );
    assert_eq!(
        (kv.version, kv.create_revision, kv.mod_revision),
        (1, first.revision, first.revision)
    );
    assert_eq!(kv.lease, None);

    let second = client
        .put_with(PutRequest {
            prev_kv: true,
            ..PutRequest::new(key, b"two")
        })
        .await
        .unwrap();
    assert_eq!(second.prev_kv.unwrap().value, b"one\x00");
    assert_eq!(second.header.revision, first.revision + 1);
    let kv = client.get(key).await.unwrap().unwrap();
    assert_eq!(
        (kv.version, kv.mod_revision, kv.value.as_slice()),
        (2, second.header.revision, &b"two"[..])
    );

    let deleted = client
        .delete_range(DeleteRequest::key(key).with_prev_kv())
        .await
        .unwrap();
    assert_eq!(deleted.deleted, 1);
    assert_eq!(deleted.prev_kvs[0].value, b"two");
    assert_eq!(client.get(key).await.unwrap(), None);
    assert_eq!(client.delete(key).await.unwrap().deleted, 0);

    for k in ["p/a", "p/b", "p/c", "q"] {
        client.put(k.as_bytes(), b"", None).await.unwrap();
    }
    assert_eq!(client.get(b"q").await.unwrap().unwrap().value, b"");
    assert_eq!(client.delete_prefix(b"p/").await.unwrap().deleted, 3);
    assert_eq!(
        client.range(RangeRequest::prefix(b"")).await.unwrap().count,
        1
    );
}

#[tokio::test]
async fn range_limits_and_pages_2500_keys_as_one_snapshot() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    fill(&client, "dir/", 2500).await;
    client
        .put(b"dir0", b"outside the prefix", None)
        .await
        .unwrap();

    let page = client
        .range(RangeRequest::prefix(b"dir/").limit(1000))
        .await
        .unwrap();
    assert_eq!((page.kvs.len(), page.more, page.count), (1000, true, 2500));
    assert_eq!(page.kvs[999].key, b"dir/00999");
    let keys = client
        .range(RangeRequest::prefix(b"dir/").keys_only().limit(3))
        .await
        .unwrap();
    assert!(keys
        .kvs
        .iter()
        .all(|kv| kv.value.is_empty() && !kv.key.is_empty()));

    let mut pages = client.range_prefix_all(b"dir/", 300);
    let mut seen = Vec::new();
    let mut first = true;
    while let Some(page) = pages.next().await.unwrap() {
        assert!(page.len() <= 300);
        seen.extend(page.into_iter().map(|kv| (kv.key, kv.value)));
        if first {
            // Writes after the first page must not show in the listing.
            first = false;
            client.put(b"dir/00000x", b"new", None).await.unwrap();
            client.delete(b"dir/02499").await.unwrap();
            client.put(b"dir/01000", b"changed", None).await.unwrap();
        }
    }
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..2500)
        .map(|i| {
            (
                format!("dir/{i:05}").into_bytes(),
                format!("v{i}").into_bytes(),
            )
        })
        .collect();
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "the listing is not the snapshot");
    assert!(pages.next().await.unwrap().is_none());
    assert!(pages.revision() > 0);

    let mut empty = client.range_prefix_all(b"nothing/", 10);
    assert!(empty.next().await.unwrap().is_none());
}

#[tokio::test]
async fn of_two_concurrent_creates_exactly_one_wins() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let a = client(&cluster);
    let b = client(&cluster);
    for round in 0..20 {
        let key = format!("owner/{round}");
        let create = |client: Client, who: &'static str| {
            let key = key.clone();
            async move {
                client
                    .txn(Txn {
                        compare: vec![Compare::absent(key.as_bytes())],
                        success: vec![Op::Put(PutRequest::new(key.as_bytes(), who.as_bytes()))],
                        failure: vec![Op::Get(RangeRequest::key(key.as_bytes()))],
                    })
                    .await
                    .unwrap()
            }
        };
        let (ra, rb) = tokio::join!(
            tokio::spawn(create(a.clone(), "a")),
            tokio::spawn(create(b.clone(), "b"))
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(
            ra.succeeded != rb.succeeded,
            "round {round}: {ra:?} / {rb:?}"
        );
        let (winner, loser) = if ra.succeeded { ("a", rb) } else { ("b", ra) };
        let OpResponse::Get(seen) = &loser.responses[0] else {
            panic!("{loser:?}");
        };
        assert_eq!(seen.kvs[0].value, winner.as_bytes());
        assert_eq!(
            a.get(key.as_bytes()).await.unwrap().unwrap().value,
            winner.as_bytes()
        );
    }
    // Compare-and-swap on the modification revision.
    let kv = a.get(b"owner/0").await.unwrap().unwrap();
    let swap = |revision| Txn {
        compare: vec![Compare::mod_revision_is(b"owner/0", revision)],
        success: vec![Op::Put(PutRequest::new(b"owner/0", b"c"))],
        failure: vec![],
    };
    assert!(a.txn(swap(kv.mod_revision)).await.unwrap().succeeded);
    assert!(!b.txn(swap(kv.mod_revision)).await.unwrap().succeeded);
}

#[tokio::test]
async fn a_lease_expires_without_keepalive_and_stays_with_it() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    let (lapsing, ttl) = client.lease_grant(2).await.unwrap();
    assert_eq!(ttl, 2);
    let (kept, _) = client.lease_grant(2).await.unwrap();
    client
        .put(b"lease/lapsing", b"x", Some(lapsing))
        .await
        .unwrap();
    client.put(b"lease/kept", b"x", Some(kept)).await.unwrap();
    assert_eq!(
        client.get(b"lease/kept").await.unwrap().unwrap().lease,
        Some(kept)
    );

    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(client.lease_keep_alive(kept).await.unwrap() > 0);
    }
    assert_eq!(
        client.get(b"lease/lapsing").await.unwrap(),
        None,
        "the lease expired"
    );
    assert_eq!(client.lease_keep_alive(lapsing).await.unwrap(), 0);
    assert!(
        client.get(b"lease/kept").await.unwrap().is_some(),
        "kept alive"
    );

    client.lease_revoke(kept).await.unwrap();
    assert_eq!(client.get(b"lease/kept").await.unwrap(), None);
    let err = client.lease_revoke(kept).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Etcd {
                code: code::NOT_FOUND,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn compacted_and_future_revisions_are_refused() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    let old = client.put(b"k", b"1", None).await.unwrap().revision;
    let new = client.put(b"k", b"2", None).await.unwrap().revision;
    assert_eq!(
        client
            .range(RangeRequest::key(b"k").revision(old))
            .await
            .unwrap()
            .kvs[0]
            .value,
        b"1"
    );
    client.compact(new).await.unwrap();
    let err = client
        .range(RangeRequest::key(b"k").revision(old))
        .await
        .unwrap_err();
    assert!(err.is_compacted(), "{err}");
    let err = client
        .range(RangeRequest::key(b"k").revision(new + 100))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Etcd {
                code: code::OUT_OF_RANGE,
                ..
            }
        ) && !err.is_compacted(),
        "{err}"
    );
    let status = client.status().await.unwrap();
    assert!(status.version.starts_with("3."), "{status:?}");
    assert_eq!(status.header.revision, new);
}

#[tokio::test]
async fn an_unreachable_cluster_is_unavailable() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = etcd::ClientConfig::new([format!("127.0.0.1:{port}")]);
    config.connect_timeout = Duration::from_millis(200);
    let client = Client::new(config).unwrap();
    let err = client.get(b"k").await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err}");
    let err = client.txn(Txn::default()).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(_)),
        "a refused connection is known unsent: {err}"
    );
}
