//! The MUPDATE bridge against a master on a loopback socket that behaves as Cyrus 3.6's
//! `mupdate -m` was seen to (mupdate-proto's tests hold the transcripts): only its admin may
//! log in; `RESERVE` of a name held elsewhere is `NO`, at the same location it turns an active
//! entry back into a reservation; `ACTIVATE` overwrites whatever was there; `DELETE` of a name
//! it does not hold drops the connection. The test master records every command, so the tests
//! check what was never sent as well as what the master ends up holding.
//! (crates/darius/tests/mupdate_cyrus.rs runs the real Cyrus master.)
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailservice::{Cluster, DirectoryError};
use mailstore::{CreateOptions, MailboxEntry, Store};
use mupdate_proto::{
    parse_command, Banner, Capability, CommandBody, Frame, Framer, Limits, Response, Status,
    TaggedData,
};
use murder::mupdate::{Bridge, MupdateConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use types::{MailboxName, Secret};

/// One entry of the test master: `acl` is `None` for a reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    location: String,
    acl: Option<String>,
}

fn active(location: &str, acl: &str) -> Entry {
    Entry {
        location: location.into(),
        acl: Some(acl.into()),
    }
}

#[derive(Default)]
struct State {
    entries: BTreeMap<String, Entry>,
    /// Every command after login, as `NAME arg…`.
    log: Vec<String>,
    /// Connections are closed as soon as they are accepted (the master is "down").
    down: bool,
    /// Bumped to close every open connection.
    generation: u64,
    logins: usize,
}

#[derive(Clone)]
struct Master {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Master {
    async fn start(entries: &[(&str, Entry)]) -> Master {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            entries: entries
                .iter()
                .map(|(n, e)| (n.to_string(), e.clone()))
                .collect(),
            ..State::default()
        }));
        let master = Master { port, state };
        let m = master.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                if m.state.lock().unwrap().down {
                    drop(stream);
                    continue;
                }
                tokio::spawn(m.clone().serve(stream));
            }
        });
        master
    }

    fn entries(&self) -> BTreeMap<String, Entry> {
        self.state.lock().unwrap().entries.clone()
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    fn logins(&self) -> usize {
        self.state.lock().unwrap().logins
    }

    /// Closes every connection; with `down`, refuses new ones until `up`.
    fn cut(&self, down: bool) {
        let mut s = self.state.lock().unwrap();
        s.generation += 1;
        s.down = down;
    }

    /// Waits until `check` holds of the entries (10 s at most).
    async fn until(&self, what: &str, check: impl Fn(&BTreeMap<String, Entry>) -> bool) {
        for _ in 0..200 {
            if check(&self.entries()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: the master holds {:#?}", self.entries());
    }

    async fn serve(self, mut stream: TcpStream) {
        let generation = self.state.lock().unwrap().generation;
        let mut greeting = Vec::new();
        for r in [
            Response::Capability(Capability::Auth(vec!["PLAIN".into()])),
            Response::Capability(Capability::PartialUpdate),
            Response::Banner(Banner {
                server: "testmaster".into(),
                implementation: "Cyrus IMAP".into(),
                version: "3.6.1".into(),
                mode: Some("(master)".into()),
            }),
        ] {
            greeting.extend_from_slice(&r.encode());
        }
        if stream.write_all(&greeting).await.is_err() {
            return;
        }
        let mut framer = Framer::new(Limits::default());
        let mut buf = Vec::new();
        let mut logged_in = false;
        loop {
            let frame = match framer.take(&mut buf) {
                Frame::Message(frame) => frame,
                Frame::Incomplete | Frame::LiteralWanted => {
                    let mut chunk = [0u8; 4096];
                    let read =
                        tokio::time::timeout(Duration::from_millis(50), stream.read(&mut chunk))
                            .await;
                    if self.state.lock().unwrap().generation != generation {
                        return;
                    }
                    match read {
                        Ok(Ok(0)) | Ok(Err(_)) => return,
                        Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                        Err(_) => {}
                    }
                    continue;
                }
                Frame::Refused(_) => return,
            };
            let cmd = parse_command(&frame).unwrap();
            let mut out = Vec::new();
            let done = |status, text: &str| Response::Done {
                tag: cmd.tag.clone(),
                status,
                text: text.into(),
            };
            if let CommandBody::Authenticate { initial, .. } = &cmd.body {
                let ok =
                    initial.as_ref().map(|i| i.expose().as_slice()) == Some(&b"\0admin\0pw"[..]);
                if ok {
                    logged_in = true;
                    self.state.lock().unwrap().logins += 1;
                    out = done(Status::Ok, "Authenticated").encode();
                } else {
                    out = done(Status::No, "authentication failure").encode();
                }
            } else if !logged_in {
                out = done(Status::Bad, "Please login first").encode();
            } else {
                match self.apply(&cmd.body, &cmd.tag) {
                    Some(responses) => {
                        for r in responses {
                            out.extend_from_slice(&r.encode());
                        }
                    }
                    // Cyrus drops the connection on a DELETE of a name it does not hold.
                    None => return,
                }
            }
            if stream.write_all(&out).await.is_err() {
                return;
            }
        }
    }

    /// The responses to one command after login; `None` drops the connection.
    fn apply(&self, body: &CommandBody, tag: &mupdate_proto::Tag) -> Option<Vec<Response>> {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let mut s = self.state.lock().unwrap();
        let entry_data = |name: &str, e: &Entry| match &e.acl {
            Some(acl) => TaggedData::Mailbox {
                name: name.as_bytes().to_vec(),
                location: e.location.as_bytes().to_vec(),
                acl: acl.as_bytes().to_vec(),
            },
            None => TaggedData::Reserve {
                name: name.as_bytes().to_vec(),
                location: e.location.as_bytes().to_vec(),
            },
        };
        let mut data = Vec::new();
        let (status, done) = match body {
            CommandBody::Activate {
                name,
                location,
                acl,
            } => {
                s.log
                    .push(format!("ACTIVATE {} {}", text(name), text(location)));
                s.entries
                    .insert(text(name), active(&text(location), &text(acl)));
                (Status::Ok, "done")
            }
            CommandBody::Reserve { name, location } => {
                s.log
                    .push(format!("RESERVE {} {}", text(name), text(location)));
                match s.entries.get(&text(name)) {
                    Some(e) if e.location != text(location) => {
                        (Status::No, "mailbox already exists")
                    }
                    _ => {
                        s.entries.insert(
                            text(name),
                            Entry {
                                location: text(location),
                                acl: None,
                            },
                        );
                        (Status::Ok, "done")
                    }
                }
            }
            CommandBody::Delete { name } => {
                s.log.push(format!("DELETE {}", text(name)));
                s.entries.remove(&text(name))?;
                (Status::Ok, "done")
            }
            CommandBody::Find { name } => {
                s.log.push(format!("FIND {}", text(name)));
                if let Some(e) = s.entries.get(&text(name)) {
                    data.push(entry_data(&text(name), e));
                }
                (Status::Ok, "Search completed")
            }
            CommandBody::List { prefix } => {
                let prefix = prefix.as_deref().map(text).unwrap_or_default();
                s.log.push(format!("LIST {prefix}"));
                for (n, e) in &s.entries {
                    if e.location.starts_with(&prefix) {
                        data.push(entry_data(n, e));
                    }
                }
                (Status::Ok, "list complete")
            }
            CommandBody::Noop => (Status::Ok, "Noop done"),
            CommandBody::Logout => (Status::Ok, "bye-bye"),
            other => {
                s.log.push(format!("{other:?}"));
                (Status::Bad, "Unrecognized command")
            }
        };
        let mut responses: Vec<Response> = data
            .into_iter()
            .map(|data| Response::Data {
                tag: Some(tag.clone()),
                data,
            })
            .collect();
        responses.push(Response::Done {
            tag: tag.clone(),
            status,
            text: done.into(),
        });
        Some(responses)
    }
}

fn store(dir: &std::path::Path) -> Store {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    let config = mailstore::StoreConfig::new(dir.join("conf"), partitions, "default");
    Store::open(config).unwrap()
}

fn name(s: &str) -> MailboxName {
    MailboxName::try_from(s).unwrap()
}

fn create(store: &Store, mailbox: &str, acl: &str) -> MailboxEntry {
    store
        .create_mailbox(
            &name(mailbox),
            CreateOptions {
                acl: acl.into(),
                ..CreateOptions::default()
            },
        )
        .unwrap()
}

fn bridge(master: &Master, store: &Store, password: &str) -> Arc<Bridge> {
    Bridge::new(
        MupdateConfig {
            host: "127.0.0.1".into(),
            port: master.port,
            username: String::new(),
            authname: "admin".into(),
            password: Secret::new(password.into()),
            retry_delay: Duration::from_millis(200),
            server: "darius1".into(),
            partition: "default".into(),
            tls: net::ClientTls::off(),
        },
        store.clone(),
        None,
        None,
    )
}

/// Runs a (blocking) cluster call off the runtime's workers, as the service does.
async fn call<T: Send + 'static>(
    bridge: &Arc<Bridge>,
    f: impl FnOnce(&Bridge) -> T + Send + 'static,
) -> T {
    let bridge = Arc::clone(bridge);
    tokio::task::spawn_blocking(move || f(&bridge))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_pushes_every_mailbox_and_leaves_other_servers_names_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    create(&store, "user.ann", "ann\tlrswipkxtecda\t");
    create(&store, "user.ann.Sent", "ann\tlrswipkxtecda\t");
    create(&store, "user.res", "res\tlrswipkxtecda\t");
    create(&store, "user.bob", "bob\tlrswipkxtecda\t");
    let master = Master::start(&[
        // This server's, stale: deleted.
        ("user.old", active("darius1!default", "old\tlr\t")),
        // This server's, with another ACL: corrected.
        ("user.ann.Sent", active("darius1!default", "ann\tl\t")),
        // Reserved by this server, the mailbox exists: activated.
        (
            "user.res",
            Entry {
                location: "darius1!default".into(),
                acl: None,
            },
        ),
        // Another server's, also here: a conflict, never taken over.
        ("user.bob", active("cyrus2!default", "bob\tlr\t")),
        // Another server's whose name extends ours: not this server's.
        ("user.zed", active("darius10!default", "zed\tlr\t")),
    ])
    .await;
    let bridge = bridge(&master, &store, "pw");
    bridge.start();
    master
        .until("the push", |e| {
            e.get("user.old").is_none()
                && e.get("user.ann") == Some(&active("darius1!default", "ann\tlrswipkxtecda\t"))
        })
        .await;
    let entries = master.entries();
    let want: BTreeMap<String, Entry> = [
        (
            "user.ann",
            active("darius1!default", "ann\tlrswipkxtecda\t"),
        ),
        (
            "user.ann.Sent",
            active("darius1!default", "ann\tlrswipkxtecda\t"),
        ),
        (
            "user.res",
            active("darius1!default", "res\tlrswipkxtecda\t"),
        ),
        ("user.bob", active("cyrus2!default", "bob\tlr\t")),
        ("user.zed", active("darius10!default", "zed\tlr\t")),
    ]
    .into_iter()
    .map(|(n, e)| (n.to_string(), e))
    .collect();
    assert_eq!(entries, want);
    let log = master.log();
    assert!(log.contains(&"LIST darius1!".to_string()), "{log:?}");
    assert!(
        !log.iter()
            .any(|l| l.starts_with("ACTIVATE user.bob") || l.starts_with("DELETE user.zed")),
        "{log:?}"
    );
    // A second look finds only the conflict.
    let report = call(&bridge, |b| b.push_now(true)).await.unwrap();
    assert!(
        report.published.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
    assert!(
        report.corrected.is_empty() && report.activated.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        report.conflicts,
        vec![("user.bob".to_string(), "cyrus2".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_master_as_a_cyrus_backend_makes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let master = Master::start(&[("user.bob", active("cyrus2!default", "bob\tlr\t"))]).await;
    let bridge = bridge(&master, &store, "pw");
    bridge.start();
    // Another server's name: refused, and nothing sent but the lookup.
    let refused = call(&bridge, |b| b.reserve(&name("user.bob"))).await;
    assert_eq!(
        refused,
        Err(DirectoryError::Taken {
            name: "user.bob".into(),
            server: "cyrus2".into()
        })
    );
    assert!(!master
        .log()
        .iter()
        .any(|l| l.starts_with("RESERVE user.bob")));
    // A new name: reserved at the default partition, then activated where the store put it.
    call(&bridge, |b| b.reserve(&name("user.cat")))
        .await
        .unwrap();
    assert_eq!(
        master.entries().get("user.cat"),
        Some(&Entry {
            location: "darius1!default".into(),
            acl: None
        })
    );
    let entry = create(&store, "user.cat", "cat\tlrswipkxtecda\t");
    call(&bridge, move |b| b.activate(&entry)).await.unwrap();
    assert_eq!(
        master.entries().get("user.cat"),
        Some(&active("darius1!default", "cat\tlrswipkxtecda\t"))
    );
    // CREATE of a name that exists here already: the reservation must not turn the active
    // entry back into a reserved one (Cyrus's RESERVE at the same location would), and the
    // failed create's release leaves it.
    call(&bridge, |b| b.reserve(&name("user.cat")))
        .await
        .unwrap();
    call(&bridge, |b| b.release(&name("user.cat")))
        .await
        .unwrap();
    assert_eq!(
        master.entries().get("user.cat"),
        Some(&active("darius1!default", "cat\tlrswipkxtecda\t"))
    );
    // SETACL.
    let entry = store
        .set_acl(&name("user.cat"), "cat\tlrswipkxtecda\tanyone\tlr\t")
        .unwrap();
    call(&bridge, move |b| b.update(&entry)).await.unwrap();
    assert_eq!(
        master.entries().get("user.cat"),
        Some(&active(
            "darius1!default",
            "cat\tlrswipkxtecda\tanyone\tlr\t"
        ))
    );
    // DELETE: gone. A name the master does not hold, or holds for another server, is not
    // deleted there (Cyrus's master would drop the connection, or lose cyrus2's mailbox).
    call(&bridge, |b| b.remove(&name("user.cat")))
        .await
        .unwrap();
    call(&bridge, |b| b.remove(&name("user.nobody")))
        .await
        .unwrap();
    call(&bridge, |b| b.remove(&name("user.bob")))
        .await
        .unwrap();
    assert_eq!(
        master.entries().keys().collect::<Vec<_>>(),
        vec!["user.bob"]
    );
    let deletes: Vec<String> = master
        .log()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes, vec!["DELETE user.cat"]);
    // One connection did all this.
    assert_eq!(master.logins(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_master_refuses_creates_and_is_caught_up_when_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    create(&store, "user.ann", "ann\tlrswipkxtecda\t");
    let master = Master::start(&[]).await;
    let bridge = bridge(&master, &store, "pw");
    bridge.start();
    master
        .until("the first push", |e| e.contains_key("user.ann"))
        .await;
    // A connection that breaks under a change (the master restarted) is replaced, and the
    // change made on the new one.
    master.cut(false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    call(&bridge, |b| b.reserve(&name("user.eve")))
        .await
        .unwrap();
    assert_eq!(master.logins(), 2);
    assert!(master.entries().contains_key("user.eve"));
    master.cut(true);
    // Down: a reservation cannot be made, so the create must not happen.
    let mut outcome = Ok(());
    for _ in 0..100 {
        outcome = call(&bridge, |b| b.reserve(&name("user.new"))).await;
        if outcome.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        matches!(outcome, Err(DirectoryError::Unavailable(_))),
        "{outcome:?}"
    );
    // Changes made meanwhile are pushed when the master is back.
    create(&store, "user.dan", "dan\tlrswipkxtecda\t");
    store.delete_mailbox(&name("user.ann")).unwrap();
    master.cut(false);
    master
        .until("the catch-up push", |e| {
            e.contains_key("user.dan") && !e.contains_key("user.ann")
        })
        .await;
    assert!(master.logins() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_pushes_nothing_and_changes_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    create(&store, "user.ann", "ann\tlrswipkxtecda\t");
    let master = Master::start(&[]).await;
    let bridge = bridge(&master, &store, "wrong");
    bridge.start();
    let outcome = call(&bridge, |b| b.reserve(&name("user.new"))).await;
    assert!(
        matches!(outcome, Err(DirectoryError::Unavailable(_))),
        "{outcome:?}"
    );
    let pushed = call(&bridge, |b| b.push_now(false)).await;
    assert!(
        pushed
            .as_ref()
            .is_err_and(|e| e.contains("refused the login")),
        "{pushed:?}"
    );
    assert!(master.entries().is_empty());
    assert_eq!(master.logins(), 0);
}

/// The etcd directory under a bridge, as far as a transfer's switch goes: it records the
/// switches it is asked for and answers as told.
struct Directory {
    refuse: bool,
    switched: Mutex<Vec<(String, String)>>,
}

impl Cluster for Directory {
    fn this_server(&self) -> &str {
        "darius1"
    }
    fn is_backend(&self) -> bool {
        true
    }
    fn backend(&self, _name: &str) -> Option<mailservice::Backend> {
        None
    }
    fn backends(&self) -> Vec<mailservice::Backend> {
        Vec::new()
    }
    fn reserve(&self, _name: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn activate(&self, _entry: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn release(&self, _name: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn update(&self, _entry: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn remove(&self, _name: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn switch(&self, entry: &MailboxEntry, server: &str) -> Result<(), DirectoryError> {
        if self.refuse {
            return Err(DirectoryError::Unavailable("etcd is away".into()));
        }
        let mut switched = self.switched.lock().unwrap();
        switched.push((entry.name.to_string(), server.to_string()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_s_switch_is_made_in_etcd_first_then_the_master_names_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let master = Master::start(&[("user.bob", active("cyrus2!default", "bob\tlr\t"))]).await;
    for refuse in [true, false] {
        let inner = Arc::new(Directory {
            refuse,
            switched: Mutex::new(Vec::new()),
        });
        let b = Bridge::new(
            MupdateConfig {
                host: "127.0.0.1".into(),
                port: master.port,
                username: String::new(),
                authname: "admin".into(),
                password: Secret::new("pw".into()),
                retry_delay: Duration::from_millis(200),
                server: "darius1".into(),
                partition: "default".into(),
                tls: net::ClientTls::off(),
            },
            store.clone(),
            Some(inner.clone() as Arc<dyn Cluster>),
            None,
        );
        b.start();
        let mut entry = if refuse {
            create(&store, "user.cat", "cat\tlrswipkxtecda\t")
        } else {
            store.mailbox_entry(&name("user.cat")).unwrap()
        };
        let mine = entry.clone();
        call(&b, move |b| b.activate(&mine)).await.unwrap();
        // The copy at the target is on its partition `p2`.
        entry.partition = "p2".into();
        let moved = entry.clone();
        let outcome = call(&b, move |b| b.switch(&moved, "darius2")).await;
        if refuse {
            // etcd is the commit point: when it refuses, the master still names this server.
            assert!(matches!(outcome, Err(DirectoryError::Unavailable(_))));
            assert_eq!(
                master.entries().get("user.cat"),
                Some(&active("darius1!default", "cat\tlrswipkxtecda\t"))
            );
            continue;
        }
        outcome.unwrap();
        assert_eq!(
            *inner.switched.lock().unwrap(),
            vec![("user.cat".to_string(), "darius2".to_string())]
        );
        assert_eq!(
            master.entries().get("user.cat"),
            Some(&active("darius2!p2", "cat\tlrswipkxtecda\t"))
        );
        // A second switch (an earlier answer lost) is done already; another server's name
        // is not handed over.
        let again = entry.clone();
        call(&b, move |b| b.switch(&again, "darius2"))
            .await
            .unwrap();
        let mut bob = entry.clone();
        bob.name = name("user.bob");
        let outcome = call(&b, move |b| b.switch(&bob, "darius2")).await;
        assert_eq!(
            outcome,
            Ok(()),
            "etcd decided; the master's refusal is logged"
        );
        assert_eq!(
            master.entries().get("user.bob"),
            Some(&active("cyrus2!default", "bob\tlr\t"))
        );
    }
    // Without an etcd directory there is nothing to move mailboxes with.
    let alone = bridge(&master, &store, "pw");
    let entry = store.mailbox_entry(&name("user.cat")).unwrap();
    let outcome = call(&alone, move |b| b.switch(&entry, "darius2")).await;
    assert!(matches!(outcome, Err(DirectoryError::Unavailable(_))));
}
