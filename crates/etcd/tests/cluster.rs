//! A three-member cluster on 127.0.0.11–13: the client and its watch go on through the other
//! members when the one in use dies (a follower or the leader) or stalls.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use etcd::testing::EtcdCluster;
use etcd::{Client, Compare, Op, PutRequest, RangeRequest, Txn, WatchEvent, WatchRequest, Watcher};

/// Which member the client uses, and what happens to it.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// A follower is killed.
    KillFollower,
    /// The leader is killed.
    KillLeader,
    /// A follower stops answering with its connections open (SIGSTOP).
    StallFollower,
}

/// Revisions delivered by `watcher` until `last`, within `limit`.
async fn revisions_until(watcher: &mut Watcher, last: i64, limit: Duration) -> Vec<i64> {
    let mut seen = Vec::new();
    let collect = async {
        while seen.last() != Some(&last) {
            match watcher.next().await.unwrap() {
                WatchEvent::Events { events, .. } => {
                    seen.extend(events.iter().map(|e| e.kv.mod_revision));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    tokio::time::timeout(limit, collect)
        .await
        .unwrap_or_else(|_| panic!("revisions up to {last} did not all come: {seen:?}"));
    seen
}

/// Uses one member of three for requests and a watch, takes it away as `loss` says, and
/// checks that reads, writes, a transaction and the watch go on through the others.
async fn the_cluster_survives(loss: Loss) {
    let Some(mut cluster) = EtcdCluster::three().await else {
        return;
    };
    let leader = cluster.leader().await.unwrap();
    let victim = match loss {
        Loss::KillLeader => leader,
        Loss::KillFollower | Loss::StallFollower => (leader + 1) % 3,
    };
    // The victim first: the client starts at the first endpoint.
    let mut config = cluster.client_config();
    config.endpoints.rotate_left(victim);
    let client = Client::new(config).unwrap();
    let start = client.put(b"m/0", b"first", None).await.unwrap().revision;
    let in_use = client.current_endpoint();
    assert_eq!(in_use, cluster.authority(victim));
    let mut watcher = client
        .watch(WatchRequest::prefix(b"m/").from_revision(start))
        .await
        .unwrap();
    assert_eq!(watcher.endpoint().as_deref(), Some(in_use.as_str()));
    assert_eq!(
        revisions_until(&mut watcher, start, Duration::from_secs(5)).await,
        [start]
    );
    match loss {
        Loss::KillFollower | Loss::KillLeader => cluster.kill(victim),
        Loss::StallFollower => cluster.pause(victim),
    }

    let second = client.put(b"m/1", b"second", None).await.unwrap().revision;
    assert_ne!(client.current_endpoint(), in_use);
    assert_eq!(client.get(b"m/0").await.unwrap().unwrap().value, b"first");
    let swapped = client
        .txn(Txn {
            compare: vec![Compare::value_is(b"m/1", b"second")],
            success: vec![Op::Put(PutRequest::new(b"m/1", b"third"))],
            failure: vec![],
        })
        .await
        .unwrap();
    assert!(swapped.succeeded);

    // A stalled member is only noticed by the idle check.
    let limit = etcd::IDLE_CHECK + Duration::from_secs(15);
    let seen = revisions_until(&mut watcher, swapped.revision, limit).await;
    assert_eq!(seen, [second, swapped.revision]);
    assert_ne!(watcher.endpoint().as_deref(), Some(in_use.as_str()));
    assert!(watcher.connected());
    assert_eq!(watcher.resumptions(), 1);

    // The member comes back and catches up.
    match loss {
        Loss::KillFollower | Loss::KillLeader => cluster.restart(victim).await,
        Loss::StallFollower => cluster.resume(victim),
    }
    // Its own copy is read (serializable): what is checked is that the member has the
    // change, not that it can reach the leader.
    let only_victim = cluster.member_client(victim);
    let mut last = String::from("no answer yet");
    let caught_up = async {
        loop {
            let read = RangeRequest {
                serializable: true,
                ..RangeRequest::key(b"m/1")
            };
            match only_victim.range(read).await {
                Ok(answer) if answer.kvs.first().is_some_and(|kv| kv.value == b"third") => return,
                Ok(answer) => last = format!("{:?}", answer.kvs),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), caught_up)
        .await
        .is_err()
    {
        panic!(
            "member {victim} did not catch up; last read: {last}; its log ends:\n{}",
            cluster.log_tail(victim)
        );
    }
}

#[tokio::test]
async fn killing_the_follower_in_use_is_survived() {
    the_cluster_survives(Loss::KillFollower).await;
}

#[tokio::test]
async fn killing_the_leader_in_use_is_survived() {
    the_cluster_survives(Loss::KillLeader).await;
}

#[tokio::test]
async fn a_stalled_member_in_use_is_left_for_the_others() {
    the_cluster_survives(Loss::StallFollower).await;
}
