//! ManageSieve through a Murder frontend, over real sockets: a backend `b1` holding ann's INBOX
//! (with `proxyservers: proxy`) and a frontend whose directory copy names it as b1's, with a
//! fixed test cluster. A plain-socket client authenticates as ann on the frontend; PUTSCRIPT,
//! SETACTIVE and LISTSCRIPTS are answered by b1 and the script is stored there, not on the
//! frontend; with b1 stopped AUTHENTICATE answers `NO (TRYLATER)` and the session stays open.
//! With TLS ([`TlsSetup`]), b1 may hold a certificate from a test CA, the frontend trusts that
//! CA or another under its `proxy_tls` mode, and reaches b1 through a [`net::testing::Tap`]
//! that records what it sends.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use auth::sasl_login::{SaslConfig, SaslLogins};
use auth::{LoginPenalty, PasswordDb};
use base64::Engine as _;
use mailservice::{Backend, Cluster, DirectoryError, MailService, ServiceConfig};
use mailstore::{DirectoryChange, MailboxEntry, MailboxType, Store, StoreConfig};
use managesieve_server::{ManageSieveConfig, ManageSieveServer, ProxyLogin};
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

/// A ManageSieve server on `service` whose password database holds `users` (`pw-USER`).
fn sieve_server(
    dir: &Path,
    service: MailService,
    users: &[&str],
    proxy: Option<ProxyLogin>,
    tls: Option<net::ServerTls>,
    proxy_tls: net::ClientTls,
) -> Arc<ManageSieveServer> {
    let auth_dir = dir.join("auth");
    std::fs::create_dir_all(&auth_dir).unwrap();
    let passwords = Arc::new(PasswordDb::open(&auth_dir).unwrap());
    for user in users {
        let password = Secret::new(format!("pw-{user}"));
        passwords.add_user(user, &password).unwrap();
    }
    let sasl = SaslLogins::new(
        passwords,
        SaslConfig {
            hostname: "sieve.test".into(),
            proxy_servers: vec!["proxy".into()],
            ..SaslConfig::default()
        },
    );
    let config = ManageSieveConfig {
        tls: tls.map(|tls| tls.config),
        tls_client_identity: net::x509::ClientIdentity::CommonName,
        servername: "sieve.test".into(),
        allow_plaintext: false,
        prelogin_timeout: Duration::from_secs(60),
        timeout: Duration::from_secs(600),
        max_login_failures: 5,
        login_penalty: Arc::new(LoginPenalty::new(
            Duration::ZERO,
            net::HostSet::parse([]).unwrap(),
        )),
        config_directory: dir.to_path_buf(),
        kerberos: None,
        max_redirects: 5,
        proxy,
        proxy_tls,
    };
    let proc_files = Arc::new(net::procfile::ProcFiles::start(dir));
    ManageSieveServer::new(service, Arc::new(sasl), config, proc_files)
}

/// A ManageSieve listener on loopback and the task accepting on it (aborting it closes the
/// port).
async fn listen(
    server: Arc<ManageSieveServer>,
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
            tokio::spawn(managesieve_server::serve(
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

/// A backend `b1` (ann; `proxyservers: proxy`) and a frontend proxying to it.
struct Murder {
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    backend: MailService,
    frontend: MailService,
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
    /// Whether b1 holds a certificate (and so offers STARTTLS).
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
        backend.create_user("ann").unwrap();
        let frontend_store = store(&dir.path().join("f1"));
        frontend_store
            .apply_directory(&[remote_inbox("ann", "b1")], Some(1))
            .unwrap();
        let shutdown = net::Shutdown::new();
        let (backend_addr, backend_task) = rt.block_on(async {
            let users = ["ann", "proxy"];
            let off = net::ClientTls::off();
            let b1 = sieve_server(&b1_dir, backend.clone(), &users, None, certificate, off);
            listen(b1, &shutdown).await
        });
        let tap = tls.map(|_| rt.block_on(net::testing::Tap::start(backend_addr)));
        let directory_addr = tap.as_ref().map_or(backend_addr, |tap| tap.addr);
        let cluster = FixedCluster {
            backends: vec![Backend {
                name: "b1".into(),
                sieve: Some(directory_addr.to_string()),
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
            let users = ["ann"];
            let f1 = sieve_server(
                &f1_dir,
                frontend.clone(),
                &users,
                Some(proxy),
                None,
                proxy_tls,
            );
            listen(f1, &shutdown).await
        });
        Murder {
            _rt: rt,
            _dir: dir,
            backend,
            frontend,
            _shutdown: shutdown,
            backend_addr,
            backend_task,
            frontend_addr,
            tap,
        }
    }
}

/// A line-at-a-time ManageSieve client.
struct Client {
    reader: BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Client {
    /// Connects and reads the greeting; its lines, the final `OK` last.
    fn connect(addr: SocketAddr) -> (Client, Vec<String>) {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let greeting = client.response();
        (client, greeting)
    }

    /// Sends `command` (CRLF added) and reads up to its response; every line, the response
    /// last.
    fn send(&mut self, command: &[u8]) -> Vec<String> {
        self.writer.write_all(command).unwrap();
        self.writer.write_all(b"\r\n").unwrap();
        self.response()
    }

    fn response(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                self.reader.read_line(&mut line).unwrap() > 0,
                "closed: {lines:?}"
            );
            let line = line.trim_end().to_string();
            let done = ["OK", "NO", "BYE"]
                .iter()
                .any(|s| line == *s || line.starts_with(&format!("{s} ")));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// AUTHENTICATE "PLAIN" as `user` with password `pw-USER`.
    fn authenticate(&mut self, user: &str) -> Vec<String> {
        let plain = format!("\0{user}\0pw-{user}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain);
        self.send(format!("AUTHENTICATE \"PLAIN\" \"{b64}\"").as_bytes())
    }
}

const SCRIPT: &str = "require \"fileinto\";\r\nif header :contains \"subject\" \"list\" {\r\n  fileinto \"INBOX.lists\";\r\n}\r\n";

#[test]
fn scripts_put_through_the_frontend_land_on_the_backend() {
    let murder = Murder::start();
    let (mut client, greeting) = Client::connect(murder.frontend_addr);
    assert_eq!(greeting.last().unwrap(), "OK", "{greeting:?}");
    assert_eq!(client.authenticate("ann"), ["OK"]);
    let put = format!("PUTSCRIPT \"filter\" {{{}+}}\r\n{SCRIPT}", SCRIPT.len());
    assert_eq!(client.send(put.as_bytes()), ["OK"]);
    assert_eq!(client.send(b"SETACTIVE \"filter\""), ["OK"]);
    assert_eq!(client.send(b"LISTSCRIPTS"), ["\"filter\" ACTIVE", "OK"]);
    let capabilities = client.send(b"CAPABILITY");
    assert!(
        capabilities.contains(&"\"OWNER\" \"ann\"".to_string()),
        "{capabilities:?}"
    );
    assert_eq!(client.send(b"LOGOUT"), ["OK"]);
    let mut rest = String::new();
    assert_eq!(
        client.reader.read_line(&mut rest).unwrap(),
        0,
        "closed after LOGOUT"
    );
    let ann = murder.backend.identity("ann");
    let scripts = murder.backend.list_sieve_scripts(&ann).unwrap();
    assert_eq!(scripts.len(), 1, "{scripts:?}");
    assert!(
        scripts[0].name == "filter" && scripts[0].active,
        "{scripts:?}"
    );
    let stored = murder.backend.get_sieve_script(&ann, "filter").unwrap();
    assert_eq!(stored, SCRIPT.as_bytes());
    let on_frontend = murder.frontend.identity("ann");
    assert!(
        murder
            .frontend
            .list_sieve_scripts(&on_frontend)
            .unwrap()
            .is_empty(),
        "nothing is stored on the frontend"
    );
}

#[test]
fn a_stopped_backend_answers_trylater_and_the_session_stays() {
    let murder = Murder::start();
    murder.backend_task.abort();
    for _ in 0..100 {
        if std::net::TcpStream::connect(murder.backend_addr).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (mut client, _) = Client::connect(murder.frontend_addr);
    let answer = client.authenticate("ann");
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert!(answer[0].starts_with("NO (TRYLATER) "), "{answer:?}");
    assert_eq!(
        client.send(b"LISTSCRIPTS"),
        ["NO \"Authenticate first\""],
        "still unauthenticated"
    );
    assert_eq!(client.send(b"LOGOUT"), ["OK"]);
}

#[test]
fn the_frontend_starts_tls_with_a_backend_that_offers_it() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: true,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    }));
    let (mut client, _) = Client::connect(murder.frontend_addr);
    assert_eq!(client.authenticate("ann"), ["OK"]);
    let put = format!("PUTSCRIPT \"filter\" {{{}+}}\r\n{SCRIPT}", SCRIPT.len());
    assert_eq!(client.send(put.as_bytes()), ["OK"]);
    assert_eq!(client.send(b"LOGOUT"), ["OK"]);
    let ann = murder.backend.identity("ann");
    let stored = murder.backend.get_sieve_script(&ann, "filter").unwrap();
    assert_eq!(stored, SCRIPT.as_bytes(), "stored on b1");
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STARTTLS\r\n"), "b1 offers STARTTLS: it is asked");
    for secret in ["AUTHENTICATE", "PUTSCRIPT", "fileinto"] {
        assert!(!tap.saw(secret), "{secret} went to b1 in the clear");
    }
}

#[test]
fn a_backend_whose_certificate_does_not_verify_answers_trylater() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: true,
        trusts_b1: false,
        mode: net::ClientTlsMode::Auto,
    }));
    let (mut client, _) = Client::connect(murder.frontend_addr);
    let answer = client.authenticate("ann");
    assert!(answer[0].starts_with("NO (TRYLATER) "), "{answer:?}");
    assert_eq!(client.send(b"LOGOUT"), ["OK"]);
    let tap = murder.tap.as_ref().unwrap();
    assert!(tap.saw("STARTTLS\r\n"));
    assert!(
        !tap.saw("AUTHENTICATE"),
        "never logged in to in plain instead"
    );
}

#[test]
fn proxy_tls_on_refuses_a_backend_without_starttls() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::On,
    }));
    let (mut client, _) = Client::connect(murder.frontend_addr);
    let answer = client.authenticate("ann");
    assert!(answer[0].starts_with("NO (TRYLATER) "), "{answer:?}");
    assert!(!murder.tap.as_ref().unwrap().saw("AUTHENTICATE"));
}

#[test]
fn proxy_tls_auto_logs_in_plain_at_a_backend_without_starttls() {
    let murder = Murder::start_with(Some(TlsSetup {
        b1_certificate: false,
        trusts_b1: true,
        mode: net::ClientTlsMode::Auto,
    }));
    let (mut client, _) = Client::connect(murder.frontend_addr);
    assert_eq!(client.authenticate("ann"), ["OK"]);
    assert_eq!(client.send(b"LISTSCRIPTS"), ["OK"]);
    let tap = murder.tap.as_ref().unwrap();
    assert!(!tap.saw("STARTTLS"));
    assert!(tap.saw("AUTHENTICATE \"PLAIN\""), "plain, as before");
}
