//! POP3 through a Murder frontend, over real sockets: a backend `b1` holding ann's INBOX (with
//! `proxyservers: proxy`) and a frontend whose directory copy names it as b1's, with a fixed
//! test cluster. Python's poplib (tests/murder_proxy.py) logs in as ann on the frontend and
//! works on the backend's maildrop (STAT, LIST, UIDL, RETR, DELE, QUIT), which the test then
//! reads on b1; a second session while one holds the maildrop hears b1's `[IN-USE]`; with b1
//! stopped the login answers `-ERR [SYS/TEMP]` and the connection closes.
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

/// A POP3 server on `service` whose password database holds `users` (password `pw-USER`).
fn pop3_server(
    dir: &Path,
    service: MailService,
    users: &[&str],
    proxy: Option<ProxyLogin>,
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
        tls: None,
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
}

impl Murder {
    fn start() -> Murder {
        let dir = tempfile::tempdir().unwrap();
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
            let b1 = pop3_server(&b1_dir, backend.clone(), &["ann", "bob", "proxy"], None);
            listen(b1, &shutdown).await
        });
        let cluster = FixedCluster {
            backends: vec![Backend {
                name: "b1".into(),
                pop3: Some(backend_addr.to_string()),
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
            let f1 = pop3_server(&f1_dir, frontend, &["ann", "bob"], Some(proxy));
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
