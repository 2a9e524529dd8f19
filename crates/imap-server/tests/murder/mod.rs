//! A small Murder on loopback for the proxy tests. Backend `b1` holds the mail (users
//! `ann`, `bob`, `admin`; `proxyservers: proxy`; ann's INBOX and `INBOX.Work`, bob's INBOX,
//! and a shared `shared.team` only ann may use); backend `b2` holds `shared.other`, ann's too.
//! Two more names in the directory are not real servers: `b3` accepts connections and never
//! says a word, and `b4` logs the frontend in (without SASL-IR) and then answers STATUS, and
//! every other command with a line longer than any limit; `shared.silent` and
//! `shared.garbage` are theirs. The frontend's
//! mailboxes database holds all of these as remote entries (ACLs as on the backends), and
//! a fixed [`mailservice::Cluster`] names the servers (with the capabilities `b1` and `b2`
//! publish; `b3` and `b4` publish none). The frontend knows ann's, bob's and admin's
//! passwords itself and logs in at the backends as `proxy`. A second frontend, `f2`, is the
//! same.
//!
//! With [`Murder::start_tls`], `b1` holds a certificate for loopback from a test CA and `b2`
//! none, the frontends reach both through a [`net::testing::Tap`] that records what they
//! send them, and trust the CA [`TlsSetup`] names under their `proxy_tls` mode.

#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use imap_server::{ImapConfig, ImapServer, ProxyLogin, ProxyTimeouts};
use mailservice::{Backend, Cluster, DirectoryError, MailService, Operation, ServiceConfig};
use mailstore::{DirectoryChange, MailboxEntry, MailboxType, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use types::{MailboxName, RightsChange, Secret};

pub const PROXY_PASSWORD: &str = "proxy-secret";

/// The servers the frontend knows, and both real backends' stores, so a refresh copies a
/// backend's entry into the frontend's directory copy (what the etcd directory's feed does
/// in a real Murder).
struct FixedCluster {
    /// This frontend's name.
    name: &'static str,
    unified: bool,
    /// Name → (address, mailboxes held, the capabilities it published).
    servers: BTreeMap<String, (String, u64, Option<Vec<String>>)>,
    stores: Vec<(String, Store)>,
    frontend_store: Store,
}

impl Cluster for FixedCluster {
    fn this_server(&self) -> &str {
        self.name
    }

    fn is_backend(&self) -> bool {
        self.unified
    }

    fn backend(&self, name: &str) -> Option<Backend> {
        let (address, mailboxes, capabilities) = self.servers.get(name)?;
        Some(Backend {
            name: name.to_string(),
            imap: Some(address.clone()),
            alive: true,
            mailboxes: *mailboxes,
            imap_capabilities: capabilities.clone(),
            ..Backend::default()
        })
    }

    fn backends(&self) -> Vec<Backend> {
        self.servers
            .keys()
            .filter_map(|n| self.backend(n))
            .collect()
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

    fn refresh(&self, name: &MailboxName) {
        let found = self
            .stores
            .iter()
            .find_map(|(server, store)| Some(remote(server, store.mailbox_entry(name).ok()?)));
        let change = match found {
            Some(entry) => DirectoryChange::Put(entry),
            None => DirectoryChange::Remove(name.clone()),
        };
        self.frontend_store
            .apply_directory(&[change], None)
            .unwrap();
    }
}

/// A backend's entry as the directory gives it to other servers.
fn remote(server: &str, mut entry: MailboxEntry) -> MailboxEntry {
    entry.partition = format!("{server}!{}", entry.partition);
    entry.mailbox_type = MailboxType::Remote;
    entry
}

/// A directory entry for a mailbox of a server that is no real one, ann's.
fn pretend(name: &str, server: &str) -> DirectoryChange {
    DirectoryChange::Put(MailboxEntry {
        name: MailboxName::try_from(name).unwrap(),
        uniqueid: format!("u-{name}"),
        partition: format!("{server}!default"),
        acl: "ann\tlrswipkxtecda\t".into(),
        mailbox_type: MailboxType::Remote,
        special_use: Vec::new(),
        created_modseq: 0,
        modified_modseq: 0,
    })
}

/// The servers, on one runtime that lives as long as this.
pub struct Murder {
    pub runtime: tokio::runtime::Runtime,
    pub backend_port: u16,
    pub second_port: u16,
    pub frontend_port: u16,
    /// A second frontend, `f2`, like the first (never unified).
    pub second_frontend_port: u16,
    pub backend_store: Store,
    pub second_store: Store,
    pub frontend_store: Store,
    /// With [`Murder::start_tls`]: what the frontends sent `b1` and `b2`.
    pub taps: Option<(net::testing::Tap, net::testing::Tap)>,
    /// Stops `b1`: its sessions say BYE, and it accepts no more connections.
    backend_stop: Option<(net::Shutdown, tokio::task::JoinHandle<()>)>,
    /// Dropping them would stop the other servers.
    _running: Vec<net::Shutdown>,
    _dir: tempfile::TempDir,
}

/// What the frontend is besides a frontend.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    /// Holds no mailboxes.
    Only,
    /// Holds mailboxes too (a unified node), among them ann's `INBOX.Local`, while her other
    /// mailboxes are on the backend.
    Unified,
}

/// How a test's Murder differs from the usual one.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub kind: Frontend,
    /// The password the frontends log in at the backends with.
    pub proxy_password: &'a str,
    /// Capabilities `b2` does not show (its `suppress_capabilities`).
    pub second_suppresses: &'a [&'a str],
    /// TLS between the frontends and the backends; `None`: plain.
    pub tls: Option<TlsSetup>,
}

/// TLS between the frontends and the backends.
#[derive(Clone, Copy)]
pub struct TlsSetup {
    /// Whether the frontends trust the CA that signed `b1`'s certificate (else another).
    pub trusts_b1: bool,
    pub mode: net::ClientTlsMode,
}

impl Murder {
    pub fn start(kind: Frontend) -> Murder {
        Murder::start_with(kind, PROXY_PASSWORD)
    }

    /// With the frontend logging in at the backends with `proxy_password`.
    pub fn start_with(kind: Frontend, proxy_password: &str) -> Murder {
        Murder::start_setup(Setup {
            kind,
            proxy_password,
            second_suppresses: &[],
            tls: None,
        })
    }

    /// Frontends that hold no mail, with TLS toward the backends as `tls` says.
    pub fn start_tls(tls: TlsSetup) -> Murder {
        Murder::start_setup(Setup {
            kind: Frontend::Only,
            proxy_password: PROXY_PASSWORD,
            second_suppresses: &[],
            tls: Some(tls),
        })
    }

    pub fn start_setup(setup: Setup<'_>) -> Murder {
        let dir = tempfile::tempdir().unwrap();
        let cas = setup.tls.map(|_| {
            let certs = dir.path().join("tls");
            let good = net::testing::TestCa::new(&certs, "good");
            let other = net::testing::TestCa::new(&certs, "other");
            (good, other)
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut running = Vec::new();

        let b1 = dir.path().join("b1");
        let backend_store = store(&b1);
        let backend = backend_service(backend_store.clone());
        let users = passwords(&b1, &["ann", "bob", "admin", "proxy"]);
        let listener = bind(&runtime);
        let backend_port = listener.local_addr().unwrap().port();
        let mut config = imap_config(&b1, None);
        if let Some((good, _)) = &cas {
            config.tls = Some(good.server("b1").config);
        }
        let first = serve(&runtime, listener, backend, users, backend_sasl(), config);

        let b2 = dir.path().join("b2");
        let second_store = store(&b2);
        let second = second_service(second_store.clone());
        let users = passwords(&b2, &["ann", "proxy"]);
        let listener = bind(&runtime);
        let second_port = listener.local_addr().unwrap().port();
        let mut config = imap_config(&b2, None);
        config.suppress_capabilities = setup
            .second_suppresses
            .iter()
            .map(|c| c.to_string())
            .collect();
        let served = serve(&runtime, listener, second, users, backend_sasl(), config);
        running.push(served.shutdown);

        let silent_port = silent_backend(&runtime);
        let garbage_port = garbage_backend(&runtime);
        let mut changes = Vec::new();
        for (server, store) in [("b1", &backend_store), ("b2", &second_store)] {
            for entry in store.list_mailboxes(None).unwrap() {
                changes.push(DirectoryChange::Put(remote(server, entry)));
            }
        }
        changes.push(pretend("shared.silent", "b3"));
        changes.push(pretend("shared.garbage", "b4"));
        let address = |port: u16| format!("127.0.0.1:{port}");
        let taps = setup.tls.map(|_| {
            runtime.block_on(async {
                let tap = |port: u16| net::testing::Tap::start(([127, 0, 0, 1], port).into());
                (tap(backend_port).await, tap(second_port).await)
            })
        });
        let (b1_port, b2_port) = match &taps {
            Some((b1, b2)) => (b1.addr.port(), b2.addr.port()),
            None => (backend_port, second_port),
        };
        let servers: BTreeMap<String, (String, u64, Option<Vec<String>>)> = [
            ("b1", address(b1_port), 5, Some(first.capabilities)),
            ("b2", address(b2_port), 1, Some(served.capabilities)),
            ("b3", address(silent_port), 9, None),
            ("b4", address(garbage_port), 9, None),
        ]
        .into_iter()
        .map(|(name, address, n, caps)| (name.to_string(), (address, n, caps)))
        .collect();
        let stores = vec![
            ("b1".to_string(), backend_store.clone()),
            ("b2".to_string(), second_store.clone()),
        ];
        let mut frontends = Vec::new();
        for (name, kind) in [("f1", setup.kind), ("f2", Frontend::Only)] {
            let frontend_store = store(&dir.path().join(name));
            frontend_store.apply_directory(&changes, Some(1)).unwrap();
            let cluster = Arc::new(FixedCluster {
                name,
                unified: kind == Frontend::Unified,
                servers: servers.clone(),
                stores: stores.clone(),
                frontend_store: frontend_store.clone(),
            });
            let frontend = service(frontend_store.clone()).with_cluster(cluster);
            if kind == Frontend::Unified {
                let admin = frontend.identity("admin");
                let local = frontend
                    .authorize(&admin, "user.ann.Local", Operation::Create)
                    .unwrap();
                // Its parent's partition is the backend's.
                let partition = Some("default".to_string());
                frontend
                    .create(&admin, &local, Vec::new(), partition)
                    .unwrap();
            }
            let here = dir.path().join(name);
            let users = passwords(&here, &["ann", "bob", "admin"]);
            let login = ProxyLogin {
                authname: "proxy".into(),
                password: Secret::new(setup.proxy_password.into()),
                per_server: Default::default(),
            };
            let mut config = imap_config(&here, Some(login));
            if let (Some(tls), Some((good, other))) = (setup.tls, &cas) {
                let trusted = if tls.trusts_b1 { good } else { other };
                config.proxy_tls = trusted.client(tls.mode);
            }
            let sasl = auth::sasl_login::SaslConfig::default();
            let listener = bind(&runtime);
            let port = listener.local_addr().unwrap().port();
            running.push(serve(&runtime, listener, frontend, users, sasl, config).shutdown);
            frontends.push((port, frontend_store));
        }
        let (second_frontend_port, _) = frontends.pop().unwrap();
        let (frontend_port, frontend_store) = frontends.pop().unwrap();
        Murder {
            runtime,
            backend_port,
            second_port,
            frontend_port,
            second_frontend_port,
            backend_store,
            second_store,
            frontend_store,
            taps,
            backend_stop: Some((first.shutdown, first.handle)),
            _running: running,
            _dir: dir,
        }
    }

    /// A client logged in at the frontend.
    pub fn frontend(&self, user: &str) -> Client {
        Client::login(self.frontend_port, user)
    }

    /// A client logged in at the second frontend, `f2`.
    pub fn second_frontend(&self, user: &str) -> Client {
        Client::login(self.second_frontend_port, user)
    }

    /// A client logged in at `b1` directly.
    pub fn backend(&self, user: &str) -> Client {
        Client::login(self.backend_port, user)
    }

    /// A client logged in at `b2` directly.
    pub fn second(&self, user: &str) -> Client {
        Client::login(self.second_port, user)
    }

    /// Stops `b1` as a crash would look from outside: its connections end, and new ones are
    /// refused.
    pub fn stop_backend(&mut self) {
        if let Some((shutdown, handle)) = self.backend_stop.take() {
            handle.abort();
            shutdown.trigger();
            let _ = self.runtime.block_on(handle);
        }
    }
}

/// `b3`: accepts connections and says nothing.
fn silent_backend(runtime: &tokio::runtime::Runtime) -> u16 {
    let listener = bind(runtime);
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    port
}

/// `b4`: offers no SASL-IR, so the frontend's PLAIN goes after a continuation; accepts it
/// when it is `ann` by `proxy` with the right password; answers STATUS properly and every
/// other command with a line longer than any limit.
fn garbage_backend(runtime: &tokio::runtime::Runtime) -> u16 {
    let listener = bind(runtime);
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let greeting = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake\r\n";
                write.write_all(greeting).await?;
                while let Some(line) = lines.next_line().await? {
                    let tag = line.split(' ').next().unwrap_or("*").to_string();
                    let answer = if line.ends_with("AUTHENTICATE PLAIN") {
                        write.write_all(b"+ \r\n").await?;
                        let response = lines.next_line().await?.unwrap_or_default();
                        let plain = base64::Engine::decode(
                            &base64::engine::general_purpose::STANDARD,
                            response.trim(),
                        )
                        .unwrap_or_default();
                        let expected = format!("ann\0proxy\0{PROXY_PASSWORD}");
                        if plain == expected.as_bytes() {
                            format!("{tag} OK [CAPABILITY IMAP4rev1 UNSELECT] in\r\n")
                        } else {
                            format!("{tag} NO wrong credentials\r\n")
                        }
                    } else if line.contains(" STATUS ") {
                        format!("* STATUS shared.garbage (MESSAGES 7)\r\n{tag} OK done\r\n")
                    } else {
                        let mut long = "* OK ".to_string();
                        long.extend(std::iter::repeat_n('x', 200 * 1024));
                        long + "\r\n"
                    };
                    write.write_all(answer.as_bytes()).await?;
                }
                Ok::<(), std::io::Error>(())
            });
        }
    });
    port
}

fn backend_sasl() -> auth::sasl_login::SaslConfig {
    auth::sasl_login::SaslConfig {
        proxy_servers: vec!["proxy".into()],
        admins: vec!["admin".into()].into(),
        ..auth::sasl_login::SaslConfig::default()
    }
}

fn store(dir: &Path) -> Store {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    let config = mailstore::StoreConfig::new(dir.join("conf"), partitions, "default");
    Store::open(config).unwrap()
}

fn service(store: Store) -> MailService {
    MailService::new(
        store,
        ServiceConfig {
            admins: vec!["admin".into()].into(),
            unix_hierarchy_sep: false,
            domains: types::Domains::off(),
        },
    )
}

/// The backend's mail: ann's INBOX and `INBOX.Work`, bob's INBOX, and `shared.team`, where
/// ann has every right and bob none.
fn backend_service(store: Store) -> MailService {
    let service = service(store);
    service.create_user("ann").unwrap();
    service.create_user("bob").unwrap();
    let ann = service.identity("ann");
    let work = service
        .authorize(&ann, "INBOX.Work", Operation::Create)
        .unwrap();
    service.create(&ann, &work, Vec::new(), None).unwrap();
    let admin = service.identity("admin");
    let team = service
        .authorize(&admin, "shared.team", Operation::Create)
        .unwrap();
    service.create(&admin, &team, Vec::new(), None).unwrap();
    let name = MailboxName::try_from("shared.team").unwrap();
    let rights = RightsChange::try_from("lrswipkxtecda").unwrap();
    service
        .set_acl_internal(&admin, name.clone(), "ann", rights)
        .unwrap();
    service.delete_acl_internal(&admin, name, "anyone").unwrap();
    service
}

/// `b2`'s mail: `shared.other`, where ann has every right.
fn second_service(store: Store) -> MailService {
    let service = service(store);
    let admin = service.identity("admin");
    let other = service
        .authorize(&admin, "shared.other", Operation::Create)
        .unwrap();
    service.create(&admin, &other, Vec::new(), None).unwrap();
    let name = MailboxName::try_from("shared.other").unwrap();
    let rights = RightsChange::try_from("lrswipkxtecda").unwrap();
    service
        .set_acl_internal(&admin, name.clone(), "ann", rights)
        .unwrap();
    service.delete_acl_internal(&admin, name, "anyone").unwrap();
    service
}

/// Each user's password is `USER-pw`; `proxy`'s is [`PROXY_PASSWORD`].
fn passwords(dir: &Path, users: &[&str]) -> Arc<auth::PasswordDb> {
    let db = Arc::new(auth::PasswordDb::open(&dir.join("conf")).unwrap());
    for user in users {
        let password = match *user {
            "proxy" => PROXY_PASSWORD.to_string(),
            other => format!("{other}-pw"),
        };
        db.add_user(user, &Secret::new(password)).unwrap();
    }
    db
}

fn imap_config(dir: &Path, proxy: Option<ProxyLogin>) -> ImapConfig {
    std::fs::create_dir_all(dir.join("spool-in")).unwrap();
    ImapConfig {
        tls: None,
        tls_cert: None,
        tls_client_identity: net::x509::ClientIdentity::CommonName,
        allow_plaintext: false,
        allow_anonymous_login: false,
        max_message_size: None,
        autologout: Duration::from_secs(1800),
        prelogin_timeout: Duration::from_secs(60),
        max_logins_per_user: 0,
        max_login_failures: 5,
        login_penalty: Arc::new(auth::LoginPenalty::new(
            Duration::ZERO,
            net::HostSet::default(),
        )),
        limits: imap_proto::Limits::default(),
        spool_dir: dir.join("spool-in"),
        config_directory: dir.join("conf"),
        servername: "mail.example.org".into(),
        kerberos: None,
        proxy,
        proxy_tls: net::ClientTls::off(),
        proxy_timeouts: ProxyTimeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(20),
        },
        suppress_capabilities: Vec::new(),
    }
}

fn bind(runtime: &tokio::runtime::Runtime) -> tokio::net::TcpListener {
    runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
}

/// A server started by [`serve`].
struct Served {
    shutdown: net::Shutdown,
    handle: tokio::task::JoinHandle<()>,
    /// What it would publish in the directory.
    capabilities: Vec<String>,
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    service: MailService,
    passwords: Arc<auth::PasswordDb>,
    sasl: auth::sasl_login::SaslConfig,
    config: ImapConfig,
) -> Served {
    let sasl = Arc::new(auth::sasl_login::SaslLogins::new(
        Arc::clone(&passwords),
        sasl,
    ));
    let proc_files = Arc::new(net::procfile::ProcFiles::start(&config.config_directory));
    let server = ImapServer::new(service, passwords, sasl, config, proc_files);
    let capabilities = server.published_capabilities();
    let shutdown = net::Shutdown::new();
    let signal = shutdown.signal();
    let handle = runtime.spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let local = stream.local_addr().unwrap();
            let info = net::ConnInfo { peer, local };
            tokio::spawn(imap_server::connection::serve(
                Arc::clone(&server),
                stream,
                info,
                signal.clone(),
                net::TlsMode::StartTls,
            ));
        }
    });
    Served {
        shutdown,
        handle,
        capabilities,
    }
}

/// A plain TCP client that reads whole responses, literals included, as raw bytes.
pub struct Client {
    reader: BufReader<TcpStream>,
}

/// The answer to one command.
#[derive(Debug)]
pub struct Answer {
    /// Each untagged response (and continuation request), as sent.
    pub untagged: Vec<Vec<u8>>,
    /// The tagged line without its tag and CRLF (`OK [..] text`).
    pub tagged: String,
}

impl Answer {
    /// The untagged responses as text, one per line.
    pub fn text(&self) -> String {
        self.untagged
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut client = Client {
            reader: BufReader::new(stream),
        };
        let greeting = client.response();
        assert!(greeting.starts_with(b"* OK"), "{greeting:?}");
        client
    }

    pub fn login(port: u16, user: &str) -> Client {
        let mut client = Client::connect(port);
        client.ok("L1", &format!("LOGIN {user} {user}-pw"));
        client
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// One whole response, literals included.
    pub fn response(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n = self.reader.read_until(b'\n', &mut out).unwrap();
            assert!(
                n > 0,
                "connection closed; read so far: {:?}",
                String::from_utf8_lossy(&out)
            );
            let Some(len) = imap_proto::response_line_literal(&out[start..]) else {
                return out;
            };
            let mut literal = vec![0u8; usize::try_from(len).unwrap()];
            self.reader.read_exact(&mut literal).unwrap();
            out.extend_from_slice(&literal);
        }
    }

    /// Reads until the line tagged `tag`.
    pub fn answer(&mut self, tag: &str) -> Answer {
        let mut untagged = Vec::new();
        loop {
            let response = self.response();
            let prefix = format!("{tag} ");
            if let Some(rest) = response.strip_prefix(prefix.as_bytes()) {
                let tagged = String::from_utf8_lossy(rest).trim_end().to_string();
                return Answer { untagged, tagged };
            }
            untagged.push(response);
        }
    }

    pub fn run(&mut self, tag: &str, command: &str) -> Answer {
        self.send(format!("{tag} {command}\r\n").as_bytes());
        self.answer(tag)
    }

    /// [`Client::run`], which must answer OK.
    pub fn ok(&mut self, tag: &str, command: &str) -> Answer {
        let answer = self.run(tag, command);
        assert!(
            answer.tagged.starts_with("OK"),
            "{tag} {command}: {}\n{}",
            answer.tagged,
            answer.text()
        );
        answer
    }

    /// APPEND of `message` with a synchronising literal.
    pub fn append(&mut self, tag: &str, mailbox: &str, flags: &str, message: &[u8]) -> Answer {
        self.send(format!("{tag} APPEND {mailbox} {flags} {{{}}}\r\n", message.len()).as_bytes());
        let go_ahead = self.response();
        assert!(
            go_ahead.starts_with(b"+"),
            "{:?}",
            String::from_utf8_lossy(&go_ahead)
        );
        self.send(message);
        self.send(b"\r\n");
        self.answer(tag)
    }
}
