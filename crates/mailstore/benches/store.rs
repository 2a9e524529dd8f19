//! Store benchmarks (criterion). Sizes come from environment variables so a quick run is
//! possible:
//! - `MAILSTORE_BENCH_APPEND` messages per append sample (default 1,000; 10 samples make the
//!   10,000-message mailbox), 4–60 KB each, fsync on;
//! - `MAILSTORE_BENCH_RECORDS` records in the big mailbox for the open/STATUS bench (default
//!   1,000,000), written straight into the index by `Store::bulk_load_records`;
//! - `MAILSTORE_BENCH_FETCH` messages whose ENVELOPE+FLAGS are fetched from the cache (10,000);
//! - `MAILSTORE_BENCH_QUOTA` messages per quota-append sample (default 500), 4–60 KB each, fsync
//!   off so that what the quota check costs is not hidden behind the disk.
#![allow(clippy::unwrap_used)] // benchmark setup

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mailstore::{
    AppendItem, CreateOptions, FsyncPolicy, QuotaLimits, QuotaPolicy, QuotaUsage, RecordFields,
    SeenSource, Store, StoreConfig, UidSelection,
};
use types::MailboxName;

fn env_count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(dir: &Path, fsync: FsyncPolicy) -> StoreConfig {
    let mut partitions = BTreeMap::new();
    partitions.insert("default".to_string(), dir.join("part"));
    let mut c = StoreConfig::new(dir.join("config"), partitions, "default");
    c.fsync = fsync;
    c
}

fn inbox() -> MailboxName {
    MailboxName::try_from("user.bench").unwrap()
}

/// A plausible message of about `size` bytes (multipart, so the scanner has work to do).
fn message(serial: u64, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Bench <bench@example.org>\r\nTo: user@example.org\r\nSubject: benchmark {serial}\r\n\
         Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <{serial}@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    while m.len() < size {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, again and again.\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

fn bench_append(c: &mut Criterion) {
    let per_sample = env_count("MAILSTORE_BENCH_APPEND", 1_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(config(dir.path(), FsyncPolicy::Always)).unwrap();
    store
        .create_mailbox(&inbox(), CreateOptions::default())
        .unwrap();
    let mut serial = 0u64;
    let mut g = c.benchmark_group("append");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .throughput(Throughput::Elements(per_sample));
    g.bench_function("fsync_4-60KB", |b| {
        b.iter_batched(
            || {
                (0..per_sample)
                    .map(|_| {
                        serial += 1;
                        message(serial, 4096 + (serial * 7919 % 57_000) as usize)
                    })
                    .collect::<Vec<_>>()
            },
            |msgs| {
                for m in msgs {
                    store.append(&inbox(), vec![AppendItem::bytes(m)]).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_open_big_mailbox(c: &mut Criterion) {
    let n = env_count("MAILSTORE_BENCH_RECORDS", 1_000_000) as u32;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(config(dir.path(), FsyncPolicy::Never)).unwrap();
        store
            .create_mailbox(&inbox(), CreateOptions::default())
            .unwrap();
        let cache = message::scan(&message(1, 2000)).to_bytes();
        store.bulk_load_records(&inbox(), n, &cache).unwrap();
    }
    let mut g = c.benchmark_group("open");
    g.sample_size(20);
    g.bench_function(format!("store_open_and_status_{n}"), |b| {
        b.iter(|| {
            let store = Store::open(config(dir.path(), FsyncPolicy::Always)).unwrap();
            let st = store.status(&inbox(), SeenSource::Index).unwrap();
            assert_eq!(st.exists, n);
            st.uidnext
        })
    });
    g.finish();
}

fn bench_fetch_envelopes(c: &mut Criterion) {
    let n = env_count("MAILSTORE_BENCH_FETCH", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(config(dir.path(), FsyncPolicy::Never)).unwrap();
    store
        .create_mailbox(&inbox(), CreateOptions::default())
        .unwrap();
    for chunk in 0..n.div_ceil(500) {
        let items = (0..500.min(n - chunk * 500))
            .map(|i| AppendItem::bytes(message(chunk * 500 + i, 3000)))
            .collect();
        store.append(&inbox(), items).unwrap();
    }
    let mut g = c.benchmark_group("fetch");
    g.sample_size(20).throughput(Throughput::Elements(n));
    g.bench_function("envelope_flags_from_cache", |b| {
        b.iter(|| {
            let recs = store
                .records(
                    &inbox(),
                    SeenSource::Index,
                    UidSelection::All,
                    RecordFields::WITH_CACHE,
                )
                .unwrap();
            let mut bytes = 0;
            for r in &recs {
                bytes += r.message_cache().unwrap().envelope().len() + r.flags.len();
            }
            bytes
        })
    });
    g.finish();
}

/// APPEND's rule: the result must stay within every limit.
struct WithinLimits;

impl QuotaPolicy for WithinLimits {
    fn admit(&self, _: &MailboxName, l: QuotaLimits, u: QuotaUsage, add: QuotaUsage) -> bool {
        let storage = l.storage_kib.is_none_or(|k| {
            u.storage_bytes.saturating_add(add.storage_bytes) <= k.saturating_mul(1024)
        });
        storage
            && l.messages
                .is_none_or(|m| u.messages.saturating_add(add.messages) <= m)
    }
}

/// Issue 13's cost: the quota check on APPEND must not grow with the number of mailboxes the
/// root governs. For 50 and for 5,000 mailboxes under `user.bench` (`user.bench.q.K`), the same
/// store measures `append` with no quota root, then `append_checked` once `user.bench` is a
/// root with limits no sample reaches; the four figures should be about equal.
fn bench_append_quota(c: &mut Criterion) {
    let per_sample = env_count("MAILSTORE_BENCH_QUOTA", 500);
    let mut g = c.benchmark_group("append_quota");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .throughput(Throughput::Elements(per_sample));
    for governed in [50u32, 5_000] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(config(dir.path(), FsyncPolicy::Never)).unwrap();
        store
            .create_mailbox(&inbox(), CreateOptions::default())
            .unwrap();
        for k in 1..=governed {
            let name = MailboxName::try_from(format!("user.bench.q.{k}").as_str()).unwrap();
            store
                .create_mailbox(&name, CreateOptions::default())
                .unwrap();
        }
        let mut serial = 0u64;
        let mut batch = move || {
            (0..per_sample)
                .map(|_| {
                    serial += 1;
                    message(serial, 4096 + (serial * 7919 % 57_000) as usize)
                })
                .collect::<Vec<_>>()
        };
        g.bench_function(format!("append_no_root_{governed}_mailboxes"), |b| {
            b.iter_batched(
                &mut batch,
                |msgs| {
                    for m in msgs {
                        store.append(&inbox(), vec![AppendItem::bytes(m)]).unwrap();
                    }
                },
                BatchSize::PerIteration,
            )
        });
        let big = QuotaLimits {
            storage_kib: Some(1 << 40),
            messages: Some(1 << 40),
        };
        store.set_quota_root(&inbox(), big).unwrap();
        g.bench_function(
            format!("append_checked_root_over_{governed}_mailboxes"),
            |b| {
                b.iter_batched(
                    &mut batch,
                    |msgs| {
                        for m in msgs {
                            store
                                .append_checked(
                                    &inbox(),
                                    vec![AppendItem::bytes(m)],
                                    Some(&WithinLimits),
                                )
                                .unwrap();
                        }
                    },
                    BatchSize::PerIteration,
                )
            },
        );
        // Every message was charged to the root, so the check really ran.
        let usage = store.quota_usage(&inbox()).unwrap();
        assert!(usage.messages > 0);
        assert_eq!(usage, store.quota_usage_by_scan(&inbox()).unwrap());
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_append,
    bench_append_quota,
    bench_open_big_mailbox,
    bench_fetch_envelopes
);
criterion_main!(benches);
