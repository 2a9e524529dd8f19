//! LMTP through a Murder frontend, over real sockets: a backend `b1` holding ann's and bob's
//! INBOXes and a frontend whose directory copy names them (and cat, whom b1 does not know) as
//! b1's, with a fixed test cluster. Python's smtplib.LMTP (tests/murder_relay.py) delivers
//! through the frontend and hears each recipient's reply from the backend (delivered, unknown
//! user, over quota); the copies are read back from b1's store; with b1 stopped, or failing
//! after RCPT, its recipients get `451 4.4.1` while a recipient local to the frontend is
//! delivered.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lmtp_server::{LmtpConfig, LmtpServer, LocalDomains, RcptCase};
use mailservice::{
    AppendItem, AppendSource, Backend, Cluster, DirectoryError, MailService, Operation,
    RecordFields, ServiceConfig, UidSelection,
};
use mailstore::{DirectoryChange, MailboxEntry, MailboxType, QuotaLimits, Store, StoreConfig};
use types::MailboxName;

/// A cluster of fixed backends, as the directory would describe them.
struct FixedCluster {
    backends: Vec<Backend>,
}

impl Cluster for FixedCluster {
    fn this_server(&self) -> &str {
        "f1"
    }
    fn is_backend(&self) -> bool {
        false
    }
    fn backend(&self, name: &str) -> Option<Backend> {
        self.backends.iter().find(|b| b.name == name).cloned()
    }
    fn backends(&self) -> Vec<Backend> {
        self.backends.clone()
    }
    fn reserve(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn activate(&self, _: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn release(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn update(&self, _: &MailboxEntry) -> Result<(), DirectoryError> {
        Ok(())
    }
    fn remove(&self, _: &MailboxName) -> Result<(), DirectoryError> {
        Ok(())
    }
}

fn store(dir: &Path) -> Store {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    Store::open(StoreConfig::new(dir.join("conf"), partitions, "default")).unwrap()
}

fn service(store: Store) -> MailService {
    MailService::new(
        store,
        ServiceConfig {
            admins: Vec::new(),
            unix_hierarchy_sep: false,
            domains: types::Domains::off(),
        },
    )
}

fn remote_inbox(user: &str, server: &str) -> DirectoryChange {
    DirectoryChange::Put(MailboxEntry {
        name: MailboxName::try_from(format!("user.{user}")).unwrap(),
        uniqueid: format!("u-{user}"),
        partition: format!("{server}!default"),
        acl: format!("{user}\tlrswipkxtecda\t"),
        mailbox_type: MailboxType::Remote,
        special_use: Vec::new(),
        created_modseq: 0,
        modified_modseq: 0,
    })
}

fn lmtp_server(dir: &Path, service: MailService, servername: &str) -> Arc<LmtpServer> {
    let spool_dir = dir.join("tmp");
    std::fs::create_dir_all(&spool_dir).unwrap();
    LmtpServer::new(
        service,
        LmtpConfig {
            tls: None,
            servername: servername.into(),
            max_message_size: None,
            rcpt_case: RcptCase::Downcase,
            postuser: None,
            local_domains: LocalDomains::Any,
            single_instance_store: true,
            duplicate_suppression: false,
            spool_dir,
            timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            max_line: lmtp_proto::MAX_COMMAND_LINE,
            unix_socket_trusted: false,
            proxy: None,
        },
    )
}

/// An LMTP listener on loopback and the task accepting on it (aborting it closes the port).
async fn listen(
    server: Arc<LmtpServer>,
    shutdown: &net::Shutdown,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signal = shutdown.signal();
    let task = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let info = net::ConnInfo {
                peer,
                local: stream.local_addr().unwrap(),
            };
            let (server, signal) = (Arc::clone(&server), signal.clone());
            tokio::spawn(lmtp_server::serve_tcp(server, stream, info, signal));
        }
    });
    (addr, task)
}

/// A backend `b1` (ann, bob) and a frontend that relays to it and holds dan's INBOX itself.
struct Murder {
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    backend: MailService,
    frontend: MailService,
    backend_shutdown: net::Shutdown,
    _frontend_shutdown: net::Shutdown,
    backend_task: tokio::task::JoinHandle<()>,
    frontend_addr: SocketAddr,
}

impl Murder {
    fn start() -> Murder {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let backend = service(store(&dir.path().join("b1")));
        for user in ["ann", "bob"] {
            backend.create_user(user).unwrap();
        }
        let frontend_store = store(&dir.path().join("f1"));
        let directory = [
            remote_inbox("ann", "b1"),
            remote_inbox("bob", "b1"),
            remote_inbox("cat", "b1"),
        ];
        frontend_store.apply_directory(&directory, Some(1)).unwrap();
        let backend_shutdown = net::Shutdown::new();
        let frontend_shutdown = net::Shutdown::new();
        let b1 = lmtp_server(&dir.path().join("b1"), backend.clone(), "b1.test");
        let (backend_addr, backend_task) = rt.block_on(listen(b1, &backend_shutdown));
        let cluster = FixedCluster {
            backends: vec![Backend {
                name: "b1".into(),
                lmtp: Some(backend_addr.to_string()),
                alive: true,
                ..Backend::default()
            }],
        };
        // dan's INBOX is the frontend's own (as on a unified node): made before the service
        // joins the cluster, since a frontend's service creates no mailbox.
        let frontend = service(frontend_store);
        frontend.create_user("dan").unwrap();
        let frontend = frontend.with_cluster(Arc::new(cluster));
        let f1 = lmtp_server(&dir.path().join("f1"), frontend.clone(), "f1.test");
        let (frontend_addr, _) = rt.block_on(listen(f1, &frontend_shutdown));
        Murder {
            _rt: rt,
            _dir: dir,
            backend,
            frontend,
            backend_shutdown,
            _frontend_shutdown: frontend_shutdown,
            backend_task,
            frontend_addr,
        }
    }

    /// Runs tests/murder_relay.py in `mode` against the frontend; false when Python is missing
    /// (and the interop tests are not required).
    fn python(&self, mode: &str, env: &[(&str, &str)]) -> bool {
        if !have_python() {
            return false;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/murder_relay.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(mode)
            .env("LMTP_PORT", self.frontend_addr.port().to_string())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "murder_relay.py {mode} failed\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        true
    }

    /// Every message in `user`'s INBOX on `service`, in UID order.
    fn inbox(service: &MailService, user: &str) -> Vec<Vec<u8>> {
        let inbox = MailboxName::try_from(format!("user.{user}")).unwrap();
        let mailbox = service
            .authorize_internal(&service.identity(user), inbox, Operation::Read)
            .unwrap();
        let records = service
            .records(&mailbox, UidSelection::All, RecordFields::BASIC)
            .unwrap();
        records
            .iter()
            .map(|r| service.read_message(&mailbox, r.uid).unwrap())
            .collect()
    }
}

fn have_python() -> bool {
    let found = Command::new("python3").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "python3 is required (DARIUS_REQUIRE_INTEROP=1)"
        );
        eprintln!("python3 not found: skipped");
    }
    found
}

/// The stored copy split into its trace fields (unfolded names) and the message after them.
fn trace_and_message(stored: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mut names = Vec::new();
    let mut at = 0;
    loop {
        let end = stored[at..].windows(2).position(|w| w == b"\r\n").unwrap() + at + 2;
        let line = &stored[at..end];
        if line.starts_with(b"Return-Path:") || line.starts_with(b"Received:") {
            let name = String::from_utf8_lossy(line).trim_end().to_string();
            names.push(name);
        } else if line.starts_with(b"\t") || line.starts_with(b" ") {
            let last = names.last_mut().unwrap();
            last.push_str(String::from_utf8_lossy(line).trim_end());
        } else {
            return (names, stored[at..].to_vec());
        }
        at = end;
    }
}

#[test]
fn smtplib_through_the_frontend_hears_the_backend_and_the_mail_lands_there() {
    let murder = Murder::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    if !murder.python("transaction", &[("OUT_DIR", &out)]) {
        return;
    }
    let small = std::fs::read(dir.path().join("small.eml")).unwrap();
    let large = std::fs::read(dir.path().join("large.eml")).unwrap();
    assert!(
        large.len() > lmtp_server::SPILL_AT,
        "the large one is spooled to a file"
    );
    for user in ["ann", "bob"] {
        let copies = Murder::inbox(&murder.backend, user);
        assert_eq!(copies.len(), 2, "{user}: one message by DATA, one by BDAT");
        for (copy, sent) in copies.iter().zip([&small, &large]) {
            let (trace, message) = trace_and_message(copy);
            assert!(message == *sent, "{user}: the message arrives unchanged");
            assert_eq!(trace.len(), 3, "{user}: {trace:?}");
            assert_eq!(
                trace[0], "Return-Path: <sender@example.org>",
                "one Return-Path"
            );
            assert!(trace[1].contains("by b1.test"), "{trace:?}");
            assert!(
                trace[2].contains("by f1.test"),
                "the frontend's Received: {trace:?}"
            );
        }
    }
}

#[test]
fn the_backends_over_quota_answer_reaches_the_client() {
    let murder = Murder::start();
    // One message in, a limit of none: ann is over (a delivery is refused only then).
    let inbox = MailboxName::try_from("user.ann").unwrap();
    let mailbox = murder
        .backend
        .authorize_internal(
            &murder.backend.identity("ann"),
            inbox.clone(),
            Operation::Insert,
        )
        .unwrap();
    let item = AppendItem {
        source: AppendSource::Bytes(b"Subject: first\r\n\r\nHi.\r\n".to_vec()),
        flags: Vec::new(),
        internal_date: None,
    };
    murder.backend.append(&mailbox, vec![item]).unwrap();
    let limits = QuotaLimits {
        storage_kib: None,
        messages: Some(0),
    };
    murder.backend.set_quota_internal(&inbox, limits).unwrap();
    if !murder.python("over-quota", &[]) {
        return;
    }
    assert_eq!(
        Murder::inbox(&murder.backend, "ann").len(),
        1,
        "nothing more"
    );
    assert_eq!(Murder::inbox(&murder.backend, "bob").len(), 1);
}

#[test]
fn a_stopped_backend_defers_its_recipients_only() {
    let murder = Murder::start();
    murder.backend_task.abort();
    // The listener is gone once the aborted task is dropped: wait until connecting fails.
    let addr = murder.backend_listening_address();
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if !murder.python("backend-down", &[]) {
        return;
    }
    assert_eq!(Murder::inbox(&murder.frontend, "dan").len(), 1);
}

impl Murder {
    fn backend_listening_address(&self) -> SocketAddr {
        let cluster = self.frontend.cluster().unwrap();
        cluster
            .backend("b1")
            .unwrap()
            .lmtp
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// A line-at-a-time LMTP client for the steps Python cannot interleave with the test.
struct Client {
    reader: BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        assert!(client.reply().starts_with("220 "));
        client
    }

    /// Sends `line` (CRLF added) and reads one reply (its last line).
    fn send(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }

    fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_string();
            }
        }
    }
}

#[test]
fn a_backend_failing_after_rcpt_defers_its_recipients_and_the_local_one_is_delivered() {
    let murder = Murder::start();
    let mut client = Client::connect(murder.frontend_addr);
    assert!(client.send("LHLO mx.test").starts_with("250 "));
    assert!(client.send("MAIL FROM:<s@example.org>").starts_with("250 "));
    assert!(client.send("RCPT TO:<ann>").starts_with("250 2.1.5"));
    assert!(client.send("RCPT TO:<dan>").starts_with("250 2.1.5"));
    assert!(client.send("RCPT TO:<bob>").starts_with("250 2.1.5"));
    // The backend goes away in the middle of the transaction: its sessions say 421 and close.
    murder.backend_shutdown.trigger();
    std::thread::sleep(Duration::from_millis(200));
    assert!(client.send("DATA").starts_with("354 "));
    client
        .writer
        .write_all(b"Subject: failing backend\r\n\r\nHello.\r\n.\r\n")
        .unwrap();
    let replies: Vec<String> = (0..3).map(|_| client.reply()).collect();
    assert!(replies[0].starts_with("451 4.4.1 "), "ann: {replies:?}");
    assert!(replies[1].starts_with("250 2.1.5 "), "dan: {replies:?}");
    assert!(replies[2].starts_with("451 4.4.1 "), "bob: {replies:?}");
    assert!(client.send("QUIT").starts_with("221 "));
    assert_eq!(Murder::inbox(&murder.frontend, "dan").len(), 1);
    assert!(Murder::inbox(&murder.backend, "ann").is_empty());
}
