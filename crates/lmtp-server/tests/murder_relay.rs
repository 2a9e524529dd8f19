//! LMTP through a Murder frontend, over real sockets: a backend `b1` holding ann's and bob's
//! INBOXes and a frontend whose directory copy names them (and cat, whom b1 does not know) as
//! b1's, with a fixed test cluster. Python's smtplib.LMTP (tests/murder_relay.py) delivers
//! through the frontend and hears each recipient's reply from the backend (delivered, unknown
//! user, over quota); the copies are read back from b1's store; with b1 stopped, or failing
//! after RCPT, its recipients get `451 4.4.1` while a recipient local to the frontend is
//! delivered.
//!
//! Connections to the backend are kept between transactions: counted at b1's listener, many
//! transactions use few, concurrent ones use distinct ones, idle ones close after their
//! timeout or when the directory no longer shows the backend, and a restarted backend (or a
//! scripted one that drops a kept connection at MAIL, RCPT or after the data) costs no message
//! and duplicates none.
//!
//! With TLS ([`TlsSetup`]), b1 may hold a certificate from a test CA, the frontend trusts that
//! CA or another under its `proxy_tls` mode, and reaches b1 through a [`net::testing::Tap`]
//! that records what it sends.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lmtp_server::{LmtpConfig, LmtpServer, LocalDomains, ProxyPooling, RcptCase};
use mailservice::{
    AppendItem, AppendSource, Backend, Cluster, DirectoryError, MailService, Operation,
    RecordFields, ServiceConfig, UidSelection,
};
use mailstore::{DirectoryChange, MailboxEntry, MailboxType, QuotaLimits, Store, StoreConfig};
use types::MailboxName;

/// A cluster of backends, as the directory would describe them (changed by the test).
struct FixedCluster {
    backends: Mutex<Vec<Backend>>,
}

impl FixedCluster {
    /// The directory now says `change` about b1.
    fn change_b1(&self, change: impl FnOnce(&mut Backend)) {
        let mut backends = self.backends.lock().unwrap();
        change(backends.iter_mut().find(|b| b.name == "b1").unwrap());
    }
}

impl Cluster for FixedCluster {
    fn this_server(&self) -> &str {
        "f1"
    }
    fn is_backend(&self) -> bool {
        false
    }
    fn backend(&self, name: &str) -> Option<Backend> {
        let backends = self.backends.lock().unwrap();
        backends.iter().find(|b| b.name == name).cloned()
    }
    fn backends(&self) -> Vec<Backend> {
        self.backends.lock().unwrap().clone()
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
            admins: Vec::new().into(),
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

fn lmtp_server(
    dir: &Path,
    service: MailService,
    servername: &str,
    pooling: ProxyPooling,
    tls: Option<net::ServerTls>,
    proxy_tls: net::ClientTls,
) -> Arc<LmtpServer> {
    let spool_dir = dir.join("tmp");
    std::fs::create_dir_all(&spool_dir).unwrap();
    LmtpServer::new(
        service,
        LmtpConfig {
            tls: tls.map(|tls| tls.config),
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
            proxy_pooling: pooling,
            proxy_tls,
        },
    )
}

/// How many connections a listener accepted, and how many of their sessions are still open.
#[derive(Default)]
struct Connections {
    accepted: AtomicUsize,
    open: AtomicUsize,
}

impl Connections {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// An LMTP listener on `at` (port 0: any) and the task accepting on it (aborting it closes
/// the port); `connections` counts its sessions.
async fn listen(
    server: Arc<LmtpServer>,
    shutdown: &net::Shutdown,
    at: SocketAddr,
    connections: Arc<Connections>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(at).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signal = shutdown.signal();
    let task = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let info = net::ConnInfo {
                peer,
                local: stream.local_addr().unwrap(),
            };
            let (server, signal) = (Arc::clone(&server), signal.clone());
            connections.accepted.fetch_add(1, Ordering::SeqCst);
            connections.open.fetch_add(1, Ordering::SeqCst);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                lmtp_server::serve_tcp(server, stream, info, signal).await;
                connections.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, task)
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A backend `b1` (ann, bob) and a frontend that relays to it and holds dan's INBOX itself.
struct Murder {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    backend: MailService,
    frontend: MailService,
    /// b1's LMTP server, its listener and what that listener counted.
    b1: Arc<LmtpServer>,
    backend_shutdown: net::Shutdown,
    backend_task: tokio::task::JoinHandle<()>,
    backend_connections: Arc<Connections>,
    _frontend_shutdown: net::Shutdown,
    frontend_addr: SocketAddr,
    /// The frontend's directory.
    cluster: Arc<FixedCluster>,
    /// With TLS: what the frontend sent b1.
    tap: Option<net::testing::Tap>,
}

/// TLS between the frontend and b1.
#[derive(Clone, Copy)]
struct TlsSetup {
    /// Whether b1 holds a certificate (and so offers STARTTLS).
    b1_certificate: bool,
    /// Whether the frontend trusts the CA that signed it (else another).
    trusts_b1: bool,
    mode: net::ClientTlsMode,
}

impl Murder {
    fn start() -> Murder {
        Murder::start_with(ProxyPooling::default())
    }

    /// A Murder whose frontend keeps its backend connections as `pooling` says.
    fn start_with(pooling: ProxyPooling) -> Murder {
        Murder::start_full(pooling, None)
    }

    /// A Murder with TLS between the frontend and b1 as `tls` says.
    fn start_tls(tls: TlsSetup) -> Murder {
        Murder::start_full(ProxyPooling::default(), Some(tls))
    }

    fn start_full(pooling: ProxyPooling, tls: Option<TlsSetup>) -> Murder {
        let dir = tempfile::tempdir().unwrap();
        let cas = tls.map(|_| {
            let certs = dir.path().join("tls");
            let good = net::testing::TestCa::new(&certs, "good");
            let other = net::testing::TestCa::new(&certs, "other");
            (good, other)
        });
        let certificate = match (tls, &cas) {
            (Some(tls), Some((good, _))) if tls.b1_certificate => Some(good.server("b1")),
            _ => None,
        };
        let proxy_tls = match (tls, &cas) {
            (Some(tls), Some((good, other))) => {
                let trusted = if tls.trusts_b1 { good } else { other };
                trusted.client(tls.mode)
            }
            _ => net::ClientTls::off(),
        };
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
        let pooling_of_b1 = ProxyPooling::default();
        let b1 = lmtp_server(
            &dir.path().join("b1"),
            backend.clone(),
            "b1.test",
            pooling_of_b1,
            certificate,
            net::ClientTls::off(),
        );
        let backend_connections = Arc::new(Connections::default());
        let (backend_addr, backend_task) = rt.block_on(listen(
            Arc::clone(&b1),
            &backend_shutdown,
            any_port(),
            Arc::clone(&backend_connections),
        ));
        let tap = tls.map(|_| rt.block_on(net::testing::Tap::start(backend_addr)));
        let directory_addr = tap.as_ref().map_or(backend_addr, |tap| tap.addr);
        let cluster = Arc::new(FixedCluster {
            backends: Mutex::new(vec![Backend {
                name: "b1".into(),
                lmtp: Some(directory_addr.to_string()),
                alive: true,
                ..Backend::default()
            }]),
        });
        // dan's INBOX is the frontend's own (as on a unified node): made before the service
        // joins the cluster, since a frontend's service creates no mailbox.
        let frontend = service(frontend_store);
        frontend.create_user("dan").unwrap();
        let frontend = frontend.with_cluster(Arc::clone(&cluster) as Arc<dyn Cluster>);
        let f1_dir = dir.path().join("f1");
        let f1 = lmtp_server(
            &f1_dir,
            frontend.clone(),
            "f1.test",
            pooling,
            None,
            proxy_tls,
        );
        let counted = Arc::new(Connections::default());
        let (frontend_addr, _) = rt.block_on(listen(f1, &frontend_shutdown, any_port(), counted));
        Murder {
            rt,
            _dir: dir,
            backend,
            frontend,
            b1,
            backend_shutdown,
            backend_task,
            backend_connections,
            _frontend_shutdown: frontend_shutdown,
            frontend_addr,
            cluster,
            tap,
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

/// Waits (up to 10 s) until `check` holds.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Client {
    /// A client of `addr` that said LHLO.
    fn greeted(addr: SocketAddr) -> Client {
        let mut client = Client::connect(addr);
        assert!(client.send("LHLO mx.test").starts_with("250 "));
        client
    }

    /// MAIL and RCPT to `rcpt`, accepted.
    fn begin(&mut self, rcpt: &str) {
        assert!(self.send("MAIL FROM:<s@example.org>").starts_with("250 "));
        let reply = self.send(&format!("RCPT TO:<{rcpt}>"));
        assert!(reply.starts_with("250 2.1.5"), "{rcpt}: {reply}");
    }

    /// DATA with a small message; the one recipient's reply.
    fn data(&mut self, subject: &str) -> String {
        assert!(self.send("DATA").starts_with("354 "));
        let message = format!("Subject: {subject}\r\n\r\nHello.\r\n.\r\n");
        self.writer.write_all(message.as_bytes()).unwrap();
        self.reply()
    }

    /// One whole transaction to `rcpt`, delivered.
    fn deliver(&mut self, rcpt: &str, subject: &str) {
        self.begin(rcpt);
        let reply = self.data(subject);
        assert!(reply.starts_with("250 2."), "{rcpt}: {reply}");
    }
}

#[test]
fn many_transactions_through_the_frontend_use_one_backend_connection() {
    let murder = Murder::start();
    for session in 0..5 {
        let mut client = Client::greeted(murder.frontend_addr);
        for n in 0..4 {
            let rcpt = ["ann", "bob"][n % 2];
            client.deliver(rcpt, &format!("message {session}.{n}"));
        }
        assert!(client.send("QUIT").starts_with("221 "));
    }
    assert_eq!(
        murder.backend_connections.accepted(),
        1,
        "20 transactions in 5 sessions, one after the other"
    );
    assert_eq!(murder.backend_connections.open(), 1, "kept");
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 10);
    assert_eq!(Murder::inbox(&murder.backend, "bob").len(), 10);
}

#[test]
fn concurrent_transactions_get_distinct_backend_connections_and_keep_them() {
    let murder = Murder::start();
    let mut clients: Vec<Client> = (0..3)
        .map(|_| Client::greeted(murder.frontend_addr))
        .collect();
    for round in ["ann", "bob"] {
        for client in &mut clients {
            client.begin(round);
        }
        assert_eq!(
            murder.backend_connections.accepted(),
            3,
            "{round}: one connection per open transaction"
        );
        for (n, client) in clients.iter_mut().enumerate() {
            let reply = client.data(&format!("{round} {n}"));
            assert!(reply.starts_with("250 2."), "{round} {n}: {reply}");
        }
    }
    assert_eq!(murder.backend_connections.open(), 3);
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 3);
    assert_eq!(Murder::inbox(&murder.backend, "bob").len(), 3);
}

#[test]
fn an_idle_backend_connection_is_closed_after_the_idle_timeout() {
    let idle_timeout = Duration::from_millis(800);
    let murder = Murder::start_with(ProxyPooling {
        idle_max: 8,
        idle_timeout,
    });
    let mut client = Client::greeted(murder.frontend_addr);
    client.deliver("ann", "first");
    let delivered = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        murder.backend_connections.open(),
        1,
        "kept after its transaction"
    );
    eventually("the idle connection closed", || {
        murder.backend_connections.open() == 0
    });
    assert!(
        delivered.elapsed() >= idle_timeout - Duration::from_millis(100),
        "closed by the timeout, not before: {:?}",
        delivered.elapsed()
    );
    client.deliver("ann", "second");
    assert_eq!(murder.backend_connections.accepted(), 2, "a new one");
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 2);
}

#[test]
fn kept_connections_close_when_the_directory_shows_the_backend_down_or_moved() {
    // Long enough that only the directory can close them within the test's waits.
    let idle_timeout = Duration::from_secs(8);
    let murder = Murder::start_with(ProxyPooling {
        idle_max: 8,
        idle_timeout,
    });
    let mut client = Client::greeted(murder.frontend_addr);
    client.deliver("ann", "before down");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(murder.backend_connections.open(), 1, "kept");
    let changed = Instant::now();
    murder.cluster.change_b1(|b1| b1.alive = false);
    eventually("closed once b1 is down", || {
        murder.backend_connections.open() == 0
    });
    assert!(changed.elapsed() < idle_timeout - Duration::from_secs(2));
    murder.cluster.change_b1(|b1| b1.alive = true);
    client.deliver("ann", "back up");
    assert_eq!(murder.backend_connections.accepted(), 2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(murder.backend_connections.open(), 1, "kept");
    // b1 moves to another address (a second listener of the same server).
    let moved = Arc::new(Connections::default());
    let (new_addr, _task) = murder.rt.block_on(listen(
        Arc::clone(&murder.b1),
        &murder.backend_shutdown,
        any_port(),
        Arc::clone(&moved),
    ));
    let changed = Instant::now();
    murder
        .cluster
        .change_b1(|b1| b1.lmtp = Some(new_addr.to_string()));
    eventually("closed once b1 moved", || {
        murder.backend_connections.open() == 0
    });
    assert!(changed.elapsed() < idle_timeout - Duration::from_secs(2));
    client.deliver("ann", "moved");
    assert_eq!(moved.accepted(), 1, "the new address");
    assert_eq!(murder.backend_connections.accepted(), 2, "not the old one");
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 3);
}

#[test]
fn a_restarted_backend_gets_the_next_transaction_once() {
    let mut murder = Murder::start();
    let mut client = Client::greeted(murder.frontend_addr);
    client.deliver("ann", "before the restart");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(murder.backend_connections.open(), 1, "kept");
    murder.restart_backend();
    client.deliver("ann", "after the restart");
    assert_eq!(murder.backend_connections.accepted(), 1, "a new connection");
    let subjects: Vec<bool> = Murder::inbox(&murder.backend, "ann")
        .iter()
        .map(|m| String::from_utf8_lossy(m).contains("Subject: after the restart"))
        .collect();
    assert_eq!(subjects, [false, true], "each message once");
}

impl Murder {
    /// Stops b1 (its sessions say 421 and close, its listener closes) and starts it again on
    /// the same address, with new counts.
    fn restart_backend(&mut self) {
        self.backend_shutdown.trigger();
        self.backend_task.abort();
        let addr = self.backend_listening_address();
        eventually("b1 stopped", || {
            self.backend_connections.open() == 0 && std::net::TcpStream::connect(addr).is_err()
        });
        self.backend_shutdown = net::Shutdown::new();
        self.backend_connections = Arc::new(Connections::default());
        let (_, task) = self.rt.block_on(listen(
            Arc::clone(&self.b1),
            &self.backend_shutdown,
            addr,
            Arc::clone(&self.backend_connections),
        ));
        self.backend_task = task;
    }
}

/// Where a scripted backend breaks its first connection, in that connection's second
/// transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BreakAt {
    /// Closes when MAIL arrives, without a reply.
    Mail,
    /// Closes when RCPT arrives, without a reply.
    Rcpt,
    /// Takes the whole message, then closes before its reply.
    AfterData,
    /// Says `421` (closing) a little after the first transaction, and keeps the connection
    /// open to see whether the frontend still sends a transaction there.
    Idle421,
}

/// A scripted LMTP backend (threads, std sockets) that counts its connections, the messages
/// it took whole, and the times it broke a connection as `BreakAt` says (its first one only).
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    counts: Arc<ScriptedCounts>,
}

#[derive(Default)]
struct ScriptedCounts {
    messages: AtomicUsize,
    breaks: AtomicUsize,
    /// Commands but QUIT received after `BreakAt::Idle421`'s 421.
    after_421: AtomicUsize,
}

impl Scripted {
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn messages(&self) -> usize {
        self.counts.messages.load(Ordering::SeqCst)
    }
    fn breaks(&self) -> usize {
        self.counts.breaks.load(Ordering::SeqCst)
    }
}

impl Scripted {
    fn start(break_at: BreakAt) -> Scripted {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counts = Arc::new(ScriptedCounts::default());
        let (counted, shared) = (Arc::clone(&connections), Arc::clone(&counts));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
                let counts = Arc::clone(&shared);
                let break_at = first.then_some(break_at);
                std::thread::spawn(move || scripted_session(stream, break_at, &counts));
            }
        });
        Scripted {
            addr,
            connections,
            counts,
        }
    }
}

/// Serves one connection of a [`Scripted`] backend.
fn scripted_session(
    stream: std::net::TcpStream,
    break_at: Option<BreakAt>,
    counts: &ScriptedCounts,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let _ = writer.write_all(b"220 scripted LMTP\r\n");
    let (mut done, mut rcpts) = (0, 0);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if break_at == Some(BreakAt::Idle421) && done == 1 {
            let quit = line.to_ascii_uppercase().starts_with("QUIT");
            counts
                .after_421
                .fetch_add(usize::from(!quit), Ordering::SeqCst);
            return;
        }
        let breaks_here = |at| {
            let breaks = break_at == Some(at) && done == 1;
            counts
                .breaks
                .fetch_add(usize::from(breaks), Ordering::SeqCst);
            breaks
        };
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply = match verb.as_str() {
            "LHLO" => "250-scripted\r\n250 PIPELINING\r\n".to_string(),
            "MAIL" if breaks_here(BreakAt::Mail) => return,
            "RCPT" if breaks_here(BreakAt::Rcpt) => return,
            "MAIL" | "RSET" => "250 2.0.0 Ok\r\n".to_string(),
            "RCPT" => {
                rcpts += 1;
                "250 2.1.5 Ok\r\n".to_string()
            }
            "DATA" => {
                let _ = writer.write_all(b"354 Go ahead\r\n");
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                counts.messages.fetch_add(1, Ordering::SeqCst);
                if breaks_here(BreakAt::AfterData) {
                    return;
                }
                done += 1;
                "250 2.0.0 Delivered\r\n".repeat(std::mem::take(&mut rcpts))
            }
            "QUIT" => {
                let _ = writer.write_all(b"221 2.0.0 Bye\r\n");
                return;
            }
            _ => "500 5.5.2 Unknown command\r\n".to_string(),
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
        if break_at == Some(BreakAt::Idle421) && done == 1 && verb == "DATA" {
            std::thread::sleep(Duration::from_millis(100));
            let _ = writer.write_all(b"421 4.3.2 Shutting down\r\n");
        }
    }
}

/// A frontend whose directory sends b1's recipients to a scripted backend breaking at
/// `break_at`: two transactions to ann, the replies of the second, and the backend.
fn through_a_scripted_backend(break_at: BreakAt) -> (String, Scripted) {
    let murder = Murder::start();
    let scripted = Scripted::start(break_at);
    murder
        .cluster
        .change_b1(|b1| b1.lmtp = Some(scripted.addr.to_string()));
    let mut client = Client::greeted(murder.frontend_addr);
    client.deliver("ann", "first");
    std::thread::sleep(Duration::from_millis(300));
    client.begin("ann");
    let reply = client.data("second");
    assert!(client.send("QUIT").starts_with("221 "));
    (reply, scripted)
}

#[test]
fn a_kept_connection_dropped_at_mail_is_replaced_and_the_message_sent_once() {
    let (reply, scripted) = through_a_scripted_backend(BreakAt::Mail);
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert_eq!(
        scripted.breaks(),
        1,
        "the second MAIL came on the kept connection"
    );
    assert_eq!(scripted.connections(), 2);
    assert_eq!(scripted.messages(), 2, "one each");
}

#[test]
fn a_kept_connection_dropped_at_rcpt_is_replaced_and_the_message_sent_once() {
    let (reply, scripted) = through_a_scripted_backend(BreakAt::Rcpt);
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert_eq!(
        scripted.breaks(),
        1,
        "the second RCPT came on the kept connection"
    );
    assert_eq!(scripted.connections(), 2);
    assert_eq!(scripted.messages(), 2, "one each");
}

#[test]
fn a_kept_connection_dropped_after_the_data_is_not_sent_again() {
    let (reply, scripted) = through_a_scripted_backend(BreakAt::AfterData);
    assert!(reply.starts_with("451 4.4.1"), "the MTA retries: {reply}");
    assert_eq!(
        scripted.breaks(),
        1,
        "the second message came on the kept connection"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        scripted.connections(),
        1,
        "no second connection to send it again"
    );
    assert_eq!(scripted.messages(), 2);
}

#[test]
fn a_kept_connection_whose_backend_said_421_is_not_used_again() {
    let (reply, scripted) = through_a_scripted_backend(BreakAt::Idle421);
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert_eq!(
        scripted.counts.after_421.load(Ordering::SeqCst),
        0,
        "nothing but QUIT after the 421"
    );
    assert_eq!(scripted.connections(), 2);
    assert_eq!(scripted.messages(), 2, "one each");
}

#[test]
fn a_transaction_given_up_with_rset_leaves_its_backend_connection_for_the_next() {
    let murder = Murder::start();
    let mut client = Client::greeted(murder.frontend_addr);
    client.begin("ann");
    assert!(client.send("RSET").starts_with("250 "));
    // The frontend resets the backend's side in the background.
    std::thread::sleep(Duration::from_millis(300));
    client.deliver("bob", "after RSET");
    assert_eq!(murder.backend_connections.accepted(), 1);
    assert!(Murder::inbox(&murder.backend, "ann").is_empty());
    assert_eq!(Murder::inbox(&murder.backend, "bob").len(), 1);
}

/// One message to ann (b1's) and dan (the frontend's own) through the frontend; the replies
/// to RCPT ann and to the data for ann.
fn deliver_to_ann_and_dan(murder: &Murder) -> (String, String) {
    let mut client = Client::connect(murder.frontend_addr);
    assert!(client.send("LHLO mx.test").starts_with("250 "));
    assert!(client.send("MAIL FROM:<s@example.org>").starts_with("250 "));
    let rcpt = client.send("RCPT TO:<ann>");
    assert!(client.send("RCPT TO:<dan>").starts_with("250 2.1.5"));
    assert!(client.send("DATA").starts_with("354 "));
    client
        .writer
        .write_all(b"Subject: over tls\r\n\r\nThe secret word.\r\n.\r\n")
        .unwrap();
    let data = if rcpt.starts_with("250") {
        client.reply()
    } else {
        rcpt.clone()
    };
    assert!(
        client.reply().starts_with("250 "),
        "dan's copy is delivered"
    );
    assert!(client.send("QUIT").starts_with("221 "));
    assert_eq!(Murder::inbox(&murder.frontend, "dan").len(), 1);
    (rcpt, data)
}

#[test]
fn the_relay_starts_tls_with_a_backend_that_offers_it() {
    let murder = Murder::start_tls(TlsSetup {
        b1_certificate: true,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    });
    let (rcpt, data) = deliver_to_ann_and_dan(&murder);
    assert!(rcpt.starts_with("250 2.1.5"), "{rcpt}");
    assert!(data.starts_with("250 "), "{data}");
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 1);
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STARTTLS\r\n"), "b1 offers STARTTLS: it is asked");
    for secret in ["MAIL FROM", "RCPT TO", "The secret word"] {
        assert!(!tap.saw(secret), "{secret} went to b1 in the clear");
    }
}

#[test]
fn a_backend_whose_certificate_does_not_verify_defers_its_recipients() {
    let murder = Murder::start_tls(TlsSetup {
        b1_certificate: true,
        trusts_b1: false,
        mode: net::ClientTlsMode::Auto,
    });
    let (rcpt, _) = deliver_to_ann_and_dan(&murder);
    assert!(rcpt.starts_with("451 4.4.1"), "{rcpt}");
    assert!(Murder::inbox(&murder.backend, "ann").is_empty());
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STARTTLS\r\n"));
    assert!(!tap.saw("MAIL FROM"), "never relayed in plain instead");
}

#[test]
fn proxy_tls_on_defers_the_recipients_of_a_backend_without_starttls() {
    let murder = Murder::start_tls(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::On,
    });
    let (rcpt, _) = deliver_to_ann_and_dan(&murder);
    assert!(rcpt.starts_with("451 4.4.1"), "{rcpt}");
    assert!(Murder::inbox(&murder.backend, "ann").is_empty());
    assert!(!murder.tap.as_ref().unwrap().saw("MAIL FROM"));
}

#[test]
fn proxy_tls_auto_relays_in_plain_to_a_backend_without_starttls() {
    let murder = Murder::start_tls(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    });
    let (rcpt, data) = deliver_to_ann_and_dan(&murder);
    assert!(rcpt.starts_with("250 2.1.5"), "{rcpt}");
    assert!(data.starts_with("250 "), "{data}");
    assert_eq!(Murder::inbox(&murder.backend, "ann").len(), 1);
    let tap = murder.tap.as_ref().unwrap();
    assert!(!tap.saw("STARTTLS"));
    assert!(tap.saw("RCPT TO:<ann"), "plain, as before");
}
