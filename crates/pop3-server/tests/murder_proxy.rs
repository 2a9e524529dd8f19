//! POP3 through a Murder frontend, over real sockets: a backend `b1` holding ann's INBOX (with
//! `proxyservers: proxy`) and a frontend whose directory copy names it as b1's, with a fixed
//! test cluster. Python's poplib (tests/murder_proxy.py) logs in as ann on the frontend and
//! works on the backend's maildrop (STAT, LIST, UIDL, RETR, DELE, QUIT), which the test then
//! reads on b1; a second session while one holds the maildrop hears b1's `[IN-USE]`; with b1
//! stopped the login answers `-ERR [SYS/TEMP]` and the connection closes. With TLS
//! ([`TlsSetup`]), b1 may hold a certificate from a test CA, the frontend trusts that CA or
//! another under its `proxy_tls` mode, and reaches b1 through a [`net::testing::Tap`] that
//! records what it sends.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use auth::sasl_login::{SaslConfig, SaslLogins};
use auth::{LoginPenalty, PasswordDb};
use mailservice::{
    AppendItem, AppendSource, Backend, Cluster, DirectoryError, MailService, Operation,
    RecordFields, ServiceConfig, UidSelection,
};
use mailstore::{DirectoryChange, MailboxEntry, MailboxType, Store, StoreConfig};
use pop3_server::{Expire, Pop3Config, Pop3Server, ProxyLogin};
use types::{MailboxName, Secret};

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

/// A POP3 server on `service` whose password database holds `users` (password `pw-USER`).
fn pop3_server(
    dir: &Path,
    service: MailService,
    users: &[&str],
    proxy: Option<ProxyLogin>,
    tls: Option<net::ServerTls>,
    proxy_tls: net::ClientTls,
) -> Arc<Pop3Server> {
    let auth_dir = dir.join("auth");
    std::fs::create_dir_all(&auth_dir).unwrap();
    let passwords = Arc::new(PasswordDb::open(&auth_dir).unwrap());
    for user in users {
        let password = Secret::new(format!("pw-{user}"));
        passwords.add_user(user, &password).unwrap();
    }
    let sasl = SaslLogins::new(
        Arc::clone(&passwords),
        SaslConfig {
            hostname: "pop.test".into(),
            proxy_servers: vec!["proxy".into()],
            ..SaslConfig::default()
        },
    );
    let config = Pop3Config {
        tls: tls.map(|tls| tls.config),
        tls_client_identity: net::x509::ClientIdentity::CommonName,
        servername: "pop.test".into(),
        allow_plaintext: false,
        prelogin_timeout: Duration::from_secs(60),
        timeout: Duration::from_secs(600),
        min_poll: Duration::ZERO,
        expire: Expire::Never,
        use_imap_flags: false,
        max_login_failures: 5,
        login_penalty: Arc::new(LoginPenalty::new(
            Duration::ZERO,
            net::HostSet::parse([]).unwrap(),
        )),
        config_directory: dir.to_path_buf(),
        kerberos: None,
        proxy,
        proxy_tls,
    };
    let proc_files = Arc::new(net::procfile::ProcFiles::start(dir));
    Pop3Server::new(service, passwords, Arc::new(sasl), config, proc_files)
}

/// A POP3 listener on loopback and the task accepting on it (aborting it closes the port).
async fn listen(
    server: Arc<Pop3Server>,
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
            tokio::spawn(pop3_server::serve(
                server,
                stream,
                info,
                signal,
                net::TlsMode::StartTls,
            ));
        }
    });
    (addr, task)
}

/// A backend `b1` (ann, bob; `proxyservers: proxy`) and a frontend proxying to it.
struct Murder {
    _rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    backend: MailService,
    _shutdown: net::Shutdown,
    backend_addr: SocketAddr,
    backend_task: tokio::task::JoinHandle<()>,
    frontend_addr: SocketAddr,
    /// With TLS: what the frontend sent b1.
    tap: Option<net::testing::Tap>,
}

/// TLS between the frontend and b1.
#[derive(Clone, Copy)]
struct TlsSetup {
    /// Whether b1 holds a certificate (and so offers STLS).
    b1_certificate: bool,
    /// Whether the frontend trusts the CA that signed it (else another).
    trusts_b1: bool,
    mode: net::ClientTlsMode,
}

impl Murder {
    fn start() -> Murder {
        Murder::start_with(None)
    }

    fn start_with(tls: Option<TlsSetup>) -> Murder {
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
        let b1_dir = dir.path().join("b1");
        let backend = service(store(&b1_dir));
        for user in ["ann", "bob"] {
            backend.create_user(user).unwrap();
        }
        let frontend_store = store(&dir.path().join("f1"));
        let directory = [remote_inbox("ann", "b1"), remote_inbox("bob", "b1")];
        frontend_store.apply_directory(&directory, Some(1)).unwrap();
        let shutdown = net::Shutdown::new();
        let (backend_addr, backend_task) = rt.block_on(async {
            let users = ["ann", "bob", "proxy"];
            let off = net::ClientTls::off();
            let b1 = pop3_server(&b1_dir, backend.clone(), &users, None, certificate, off);
            listen(b1, &shutdown).await
        });
        let tap = tls.map(|_| rt.block_on(net::testing::Tap::start(backend_addr)));
        let directory_addr = tap.as_ref().map_or(backend_addr, |tap| tap.addr);
        let cluster = FixedCluster {
            backends: vec![Backend {
                name: "b1".into(),
                pop3: Some(directory_addr.to_string()),
                alive: true,
                ..Backend::default()
            }],
        };
        let frontend = service(frontend_store).with_cluster(Arc::new(cluster));
        let proxy = ProxyLogin {
            authname: "proxy".into(),
            password: Secret::new("pw-proxy".into()),
            per_server: Default::default(),
        };
        let (frontend_addr, _) = rt.block_on(async {
            let f1_dir = dir.path().join("f1");
            let users = ["ann", "bob"];
            let f1 = pop3_server(&f1_dir, frontend, &users, Some(proxy), None, proxy_tls);
            listen(f1, &shutdown).await
        });
        Murder {
            _rt: rt,
            dir,
            backend,
            _shutdown: shutdown,
            backend_addr,
            backend_task,
            frontend_addr,
            tap,
        }
    }

    /// ann's INBOX on the backend: the messages' bytes in UID order.
    fn inbox(&self) -> Vec<Vec<u8>> {
        let mailbox = self.ann_inbox(Operation::Read);
        let records = self
            .backend
            .records(&mailbox, UidSelection::All, RecordFields::BASIC)
            .unwrap();
        records
            .iter()
            .map(|r| self.backend.read_message(&mailbox, r.uid).unwrap())
            .collect()
    }

    fn ann_inbox(&self, operation: Operation) -> mailservice::Authorized {
        let inbox = MailboxName::try_from("user.ann").unwrap();
        let ann = self.backend.identity("ann");
        self.backend
            .authorize_internal(&ann, inbox, operation)
            .unwrap()
    }

    /// Puts `count` messages in ann's INBOX on the backend and writes them to `MESSAGES_DIR`
    /// files for the script.
    fn fill(&self, count: usize) -> String {
        let mailbox = self.ann_inbox(Operation::Insert);
        let messages_dir = self.dir.path().join("messages");
        std::fs::create_dir_all(&messages_dir).unwrap();
        for i in 0..count {
            let message = format!(
                "From: s@example.org\r\nSubject: message {i}\r\n\r\nLine one.\r\n.dot line {i}\r\n"
            )
            .into_bytes();
            std::fs::write(messages_dir.join(format!("{i:04}")), &message).unwrap();
            let item = AppendItem {
                source: AppendSource::Bytes(message),
                flags: Vec::new(),
                internal_date: None,
            };
            self.backend.append(&mailbox, vec![item]).unwrap();
        }
        messages_dir.display().to_string()
    }

    /// Runs tests/murder_proxy.py in `mode` against the frontend; false when Python is missing
    /// (and the interop tests are not required).
    fn python(&self, mode: &str, env: &[(&str, &str)]) -> bool {
        if !have_python() {
            return false;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/murder_proxy.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(mode)
            .env("POP3_PORT", self.frontend_addr.port().to_string())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "murder_proxy.py {mode} failed\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        true
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

#[test]
fn poplib_on_the_frontend_works_on_the_backends_maildrop() {
    let murder = Murder::start();
    let messages_dir = murder.fill(3);
    let before = murder.inbox();
    if !murder.python("session", &[("MESSAGES_DIR", &messages_dir)]) {
        return;
    }
    let after = murder.inbox();
    assert_eq!(
        after.len(),
        2,
        "QUIT expunged the message DELE marked, on the backend"
    );
    assert!(
        after[0] == before[0] && after[1] == before[2],
        "message 2 is the one gone"
    );
}

#[test]
fn a_second_session_hears_the_backends_in_use() {
    let murder = Murder::start();
    murder.fill(1);
    if !murder.python("in-use", &[]) {
        return;
    }
    assert_eq!(murder.inbox().len(), 1);
}

#[test]
fn a_stopped_backend_is_a_temporary_failure_and_the_connection_closes() {
    let murder = Murder::start();
    murder.backend_task.abort();
    for _ in 0..100 {
        if std::net::TcpStream::connect(murder.backend_addr).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    murder.python("backend-down", &[]);
}

/// A POP3 session as ann through the frontend: the answer to PASS, and STAT's when it was
/// `+OK`.
fn ann_through_the_frontend(murder: &Murder) -> (String, Option<String>) {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(murder.frontend_addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = || {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    };
    assert!(line().starts_with("+OK"), "greeting");
    writer.write_all(b"USER ann\r\n").unwrap();
    assert!(line().starts_with("+OK"));
    writer.write_all(b"PASS pw-ann\r\n").unwrap();
    let pass = line();
    if !pass.starts_with("+OK") {
        return (pass, None);
    }
    writer.write_all(b"STAT\r\nQUIT\r\n").unwrap();
    let stat = line();
    assert!(line().starts_with("+OK"), "QUIT");
    (pass, Some(stat))
}

#[test]
fn the_frontend_starts_tls_with_a_backend_that_offers_stls() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: true,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    }));
    murder.fill(2);
    let (pass, stat) = ann_through_the_frontend(&murder);
    assert!(pass.starts_with("+OK"), "{pass}");
    assert!(
        stat.unwrap().starts_with("+OK 2 "),
        "the backend's maildrop"
    );
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STLS\r\n"), "b1 offers STLS: it is asked");
    for secret in ["AUTH", "STAT", "QUIT"] {
        assert!(!tap.saw(secret), "{secret} went to b1 in the clear");
    }
}

#[test]
fn a_backend_whose_certificate_does_not_verify_is_a_temporary_failure() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: true,
        trusts_b1: false,
        mode: net::ClientTlsMode::Auto,
    }));
    let (pass, stat) = ann_through_the_frontend(&murder);
    assert!(pass.starts_with("-ERR [SYS/TEMP]"), "{pass}");
    assert_eq!(stat, None);
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STLS\r\n"));
    assert!(!tap.saw("AUTH"), "never logged in to in plain instead");
}

#[test]
fn proxy_tls_on_refuses_a_backend_without_stls() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::On,
    }));
    let (pass, _) = ann_through_the_frontend(&murder);
    assert!(pass.starts_with("-ERR [SYS/TEMP]"), "{pass}");
    assert!(!murder.tap.as_ref().unwrap().saw("AUTH"));
}

#[test]
fn proxy_tls_auto_logs_in_plain_at_a_backend_without_stls() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    }));
    murder.fill(1);
    let (pass, stat) = ann_through_the_frontend(&murder);
    assert!(pass.starts_with("+OK"), "{pass}");
    assert!(stat.unwrap().starts_with("+OK 1 "));
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("CAPA\r\n") && !tap.saw("STLS"));
    assert!(tap.saw("AUTH PLAIN"), "plain, as before");
}
