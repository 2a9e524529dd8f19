//! Watches against a real etcd member: order, resumption across a kill and restart,
//! compaction, progress notes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use etcd::testing::{EtcdCluster, MemberOptions};
use etcd::{Client, Event, EventKind, WatchEvent, WatchRequest, Watcher};

/// A client of `cluster`.
fn client(cluster: &EtcdCluster) -> Client {
    Client::new(cluster.client_config()).unwrap()
}

/// Events from `watcher` until one at `revision` or later has come, within 20 s.
async fn events_until(watcher: &mut Watcher, revision: i64) -> Vec<Event> {
    let mut events = Vec::new();
    let collect = async {
        loop {
            match watcher.next().await.unwrap() {
                WatchEvent::Events {
                    revision: last,
                    events: batch,
                } => {
                    assert_eq!(batch.last().unwrap().kv.mod_revision, last);
                    events.extend(batch);
                    if last >= revision {
                        return;
                    }
                }
                WatchEvent::Progress { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), collect)
        .await
        .unwrap_or_else(|_| panic!("events up to revision {revision} did not all come"));
    events
}

/// The revisions of `events`.
fn revisions(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.kv.mod_revision).collect()
}

#[tokio::test]
async fn a_watch_from_a_revision_sees_every_later_event_in_order() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    client.put(b"other", b"not watched", None).await.unwrap();
    let start = client.put(b"w/a", b"1", None).await.unwrap().revision;
    client.put(b"w/b", b"2", None).await.unwrap();
    client.delete(b"w/a").await.unwrap();
    let mut watcher = client
        .watch(
            WatchRequest::prefix(b"w/")
                .from_revision(start)
                .with_prev_kv(),
        )
        .await
        .unwrap();
    assert!(watcher.connected());
    let mut last = 0;
    for i in 0..10 {
        last = client
            .put(format!("w/{i}").as_bytes(), b"x", None)
            .await
            .unwrap()
            .revision;
        client
            .put(b"other", b"still not watched", None)
            .await
            .unwrap();
    }
    let events = events_until(&mut watcher, last).await;
    assert_eq!(events.len(), 13);
    assert_eq!(events[0].kv.key, b"w/a");
    assert_eq!(
        (events[1].kv.key.as_slice(), events[1].kv.value.as_slice()),
        (&b"w/b"[..], &b"2"[..])
    );
    assert_eq!(events[2].kind, EventKind::Delete);
    assert_eq!(events[2].prev_kv.as_ref().unwrap().value, b"1");
    assert!(events
        .iter()
        .filter(|e| e.kind == EventKind::Put)
        .all(|e| e.kv.key.starts_with(b"w/")));
    let revs = revisions(&events);
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
    assert_eq!(
        revs[3..],
        (0..10).map(|i| last - 18 + 2 * i).collect::<Vec<_>>()[..]
    );
    assert_eq!(watcher.next_revision(), last + 1);
}

#[tokio::test]
async fn a_watch_resumes_across_a_kill_and_restart_without_loss_or_duplicates() {
    let Some(mut cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    let start = client.status().await.unwrap().header.revision + 1;
    let mut watcher = client
        .watch(WatchRequest::prefix(b"r/").from_revision(start))
        .await
        .unwrap();
    let status = watcher.status();
    let mut last = 0;
    for i in 0..10 {
        last = client
            .put(format!("r/{i:02}").as_bytes(), b"before", None)
            .await
            .unwrap()
            .revision;
    }
    // Take only some of them, so the rest are in flight when the member dies.
    let mut events = events_until(&mut watcher, start + 4).await;
    cluster.kill(0);
    assert!(
        client.put(b"r/lost", b"", None).await.is_err(),
        "the only member is down"
    );
    cluster.restart(0).await;
    for i in 10..20 {
        last = client
            .put(format!("r/{i:02}").as_bytes(), b"after", None)
            .await
            .unwrap()
            .revision;
    }
    events.extend(events_until(&mut watcher, last).await);
    assert!(status.connected());
    assert_eq!(watcher.resumptions(), 1);
    let keys: Vec<String> = events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.kv.key).into_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("r/{i:02}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(revisions(&events), (start..=last).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_watch_started_now_resumes_from_where_it_was_after_a_restart() {
    let Some(mut cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    client.put(b"n/old", b"", None).await.unwrap();
    let mut watcher = client.watch(WatchRequest::key(b"n/k")).await.unwrap();
    let first = client.put(b"n/k", b"1", None).await.unwrap().revision;
    cluster.restart(0).await;
    let second = client.put(b"n/k", b"2", None).await.unwrap().revision;
    let events = events_until(&mut watcher, second).await;
    assert_eq!(watcher.resumptions(), 1);
    assert_eq!(revisions(&events), [first, second]);
    assert_eq!(events[1].kv.value, b"2");
}

#[tokio::test]
async fn a_watch_from_a_compacted_revision_reports_compacted() {
    let Some(cluster) = EtcdCluster::single().await else {
        return;
    };
    let client = client(&cluster);
    let old = client.put(b"c/a", b"1", None).await.unwrap().revision;
    let mut now = 0;
    for i in 0..5 {
        now = client
            .put(b"c/a", format!("{i}").as_bytes(), None)
            .await
            .unwrap()
            .revision;
    }
    client.compact(now).await.unwrap();
    let mut watcher = client
        .watch(WatchRequest::prefix(b"c/").from_revision(old))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        event,
        WatchEvent::Compacted {
            compact_revision: now
        }
    );
    assert_eq!(
        watcher.next().await.unwrap(),
        event,
        "nothing more after a compaction"
    );
    // From the compaction revision on, the watch works.
    let mut watcher = client
        .watch(WatchRequest::prefix(b"c/").from_revision(now))
        .await
        .unwrap();
    let events = events_until(&mut watcher, now).await;
    assert_eq!(events[0].kv.value, b"4");
}

#[tokio::test]
async fn progress_notes_come_while_nothing_changes() {
    let options = MemberOptions {
        extra_args: vec!["--experimental-watch-progress-notify-interval=300ms".into()],
        ..MemberOptions::default()
    };
    let Some(cluster) = EtcdCluster::single_with(options).await else {
        return;
    };
    let client = client(&cluster);
    let revision = client.put(b"elsewhere", b"", None).await.unwrap().revision;
    let mut watcher = client
        .watch(WatchRequest::prefix(b"quiet/").with_progress_notify())
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event, WatchEvent::Progress { revision });
    assert_eq!(watcher.next_revision(), revision + 1);
}
