//! Crash safety: a child process appends in a loop (fsync on) and is killed with SIGKILL at
//! random moments. After each kill every append the child acknowledged (it prints UID and
//! SHA-256 only after `append` returned) must be present byte for byte, and `reconstruct` must
//! either find nothing to fix or fix it without losing any message. The child also expunges
//! now and then, so kills land between an expunge's commit and its unlink too.
//!
//! The child is this test binary re-executed with `CRASH_CHILD_DIR` set and a filter naming
//! `crash_child_append_loop`, which does nothing when the variable is absent.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailstore::{
    AppendItem, Expunge, FlagChange, FsyncPolicy, RecordFields, SeenSource, Store, UidSelection,
};
use sha2::{Digest, Sha256};

const CHILD_ENV: &str = "CRASH_CHILD_DIR";
const ROUNDS: u32 = 50;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A small xorshift generator: reproducible from its seed, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn message(rng: &mut Rng, serial: u64) -> Vec<u8> {
    let mut m =
        format!("Subject: crash {serial}\r\nMessage-ID: <{serial}@crash>\r\n\r\n").into_bytes();
    let lines = 1 + rng.below(300);
    for i in 0..lines {
        m.extend_from_slice(
            format!("line {i} of message {serial} {:x}\r\n", rng.next()).as_bytes(),
        );
    }
    m
}

#[test]
fn crash_child_append_loop() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let cfg = common::config_at(&dir, FsyncPolicy::Always);
    let store = Store::open(cfg).unwrap();
    let inbox = common::name("user.crash");
    let seed = std::process::id() as u64 * 0x9E37_79B9 + 1;
    let mut rng = Rng(seed);
    let mut out = std::io::stdout().lock();
    for serial in 0.. {
        let bytes = message(&mut rng, seed.wrapping_add(serial));
        let sum = hex(&Sha256::digest(&bytes));
        let batch = 1 + rng.below(3) as usize;
        let items = (0..batch)
            .map(|_| AppendItem::bytes(bytes.clone()))
            .collect();
        let got = store.append(&inbox, items).unwrap();
        for uid in &got.uids {
            writeln!(out, "ACK {uid} {sum}").unwrap();
        }
        out.flush().unwrap();
        // Now and then expunge one message, announced *before* the call: the parent then
        // accepts it either present or gone, and the kill may land between commit and unlink.
        if rng.below(4) == 0 {
            let victim = got.uids[0];
            writeln!(out, "EXPUNGING {victim}").unwrap();
            out.flush().unwrap();
            let change = FlagChange::Add(vec![types::Flag::Deleted]);
            store
                .store_flags(&inbox, SeenSource::Index, &[victim], change, None)
                .unwrap();
            store.expunge(&inbox, Expunge::AllDeleted).unwrap();
        }
    }
}

fn run_child(dir: &std::path::Path, kill_after: Duration) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_append_loop",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Lines the child finished writing (a torn last line has no newline and is ignored).
fn acknowledged(text: &str, acked: &mut BTreeMap<u32, String>) {
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    for line in complete.lines() {
        let mut f = line.split(' ');
        match (f.next(), f.next(), f.next()) {
            (Some("ACK"), Some(uid), Some(sum)) => {
                acked.insert(uid.parse().unwrap(), sum.to_string());
            }
            // From here on the message may be gone; it is no longer owed.
            (Some("EXPUNGING"), Some(uid), None) => {
                acked.remove(&uid.parse().unwrap());
            }
            _ => {}
        }
    }
}

/// Checks the store after a kill; returns whether reconstruct had something to repair.
fn verify(dir: &std::path::Path, acked: &BTreeMap<u32, String>, round: u32) -> bool {
    let store = Store::open(common::config_at(dir, FsyncPolicy::Always)).unwrap();
    let inbox = common::name("user.crash");
    let report = store.reconstruct(&inbox).unwrap();
    let repaired = !report.is_clean();
    assert!(
        report.lost.is_empty(),
        "round {round}: reconstruct lost records {report:?}"
    );
    assert!(
        report.recached.is_empty(),
        "round {round}: torn files {report:?}"
    );
    assert!(
        store.reconstruct(&inbox).unwrap().is_clean(),
        "round {round}: second pass not clean"
    );
    let recs = store
        .records(
            &inbox,
            SeenSource::Index,
            UidSelection::All,
            RecordFields::BASIC,
        )
        .unwrap();
    let by_uid: BTreeMap<u32, [u8; 32]> = recs.iter().map(|r| (r.uid.get(), r.guid)).collect();
    for (uid, sum) in acked {
        let u = common::uid(*uid);
        let bytes = store
            .read_message(&inbox, u)
            .unwrap_or_else(|e| panic!("round {round}: UID {uid} lost: {e}"));
        assert_eq!(
            &hex(&Sha256::digest(&bytes)),
            sum,
            "round {round}: UID {uid} differs"
        );
        assert_eq!(
            by_uid.get(uid).map(|g| hex(g)).as_ref(),
            Some(sum),
            "round {round}: UID {uid} guid"
        );
    }
    let st = store.status(&inbox, SeenSource::Index).unwrap();
    assert_eq!(st.exists as usize, recs.len());
    assert!(acked.keys().all(|u| *u < st.uidnext.get()));
    repaired
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(common::config_at(dir.path(), FsyncPolicy::Always)).unwrap();
        store
            .create_mailbox(&common::name("user.crash"), Default::default())
            .unwrap();
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut acked = BTreeMap::new();
    let mut repaired = 0;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let kill_after = Duration::from_millis(20 + rng.below(150));
        let text = run_child(dir.path(), kill_after);
        acknowledged(&text, &mut acked);
        repaired += u32::from(verify(dir.path(), &acked, round));
    }
    assert!(
        !acked.is_empty(),
        "the child never acknowledged an append (seed {seed})"
    );
    eprintln!(
        "{} acknowledged messages kept over {ROUNDS} kills in {:?}; reconstruct repaired {repaired} times",
        acked.len(),
        started.elapsed()
    );
}
