//! Private etcd members for tests (feature `testing`): `/usr/bin/etcd` (or `DARIUS_ETCD`)
//! run on loopback with a temporary data directory and free ports, never 2379/2380 (a
//! system etcd may hold them).
//!
//! When the binary is missing, [`EtcdCluster::single`] and [`EtcdCluster::three`] print a
//! `SKIPPED` note and return `None`, unless `DARIUS_REQUIRE_INTEROP=1`, where they panic
//! naming the Debian package (docs/TESTING.md). Being test support, failures to start a
//! member panic with the tail of its log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{Client, ClientConfig, TlsConfig};

/// Where Debian's `etcd-server` puts the server.
pub const ETCD: &str = "/usr/bin/etcd";
/// Where Debian's `etcd-client` puts the command-line client.
pub const ETCDCTL: &str = "/usr/bin/etcdctl";
/// How long a member may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts clusters started by this process, for unique cluster tokens.
static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

/// The server side of TLS for the members' client URLs.
#[derive(Clone, Debug)]
pub struct ServerTlsFiles {
    /// PEM certificate of the members (valid for their loopback addresses).
    pub cert_file: PathBuf,
    /// PEM private key of that certificate.
    pub key_file: PathBuf,
    /// The CA of the members' certificate, given to clients.
    pub ca_file: PathBuf,
    /// When set, members require client certificates signed by this CA file.
    pub client_ca_file: Option<PathBuf>,
    /// The certificate and key (PEM files) the cluster's own clients present, for members
    /// that require one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// How to run the members beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct MemberOptions {
    /// More `etcd` arguments (such as `--auth-token-ttl=2`).
    pub extra_args: Vec<String>,
    /// Serve clients over TLS.
    pub tls: Option<ServerTlsFiles>,
}

/// One running (or killed) member.
#[derive(Debug)]
pub struct EtcdMember {
    name: String,
    ip: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl EtcdMember {
    /// The member's client URL.
    fn client_url(&self, tls: bool) -> String {
        let scheme = if tls { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.ip, self.client_port)
    }

    /// The member's peer URL.
    fn peer_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.peer_port)
    }
}

/// A cluster of private members, killed and removed on drop.
#[derive(Debug)]
pub struct EtcdCluster {
    binary: PathBuf,
    members: Vec<EtcdMember>,
    initial_cluster: String,
    token: String,
    options: MemberOptions,
    dir: tempfile::TempDir,
}

/// The etcd binary, or `None` (with a `SKIPPED` note) when it is missing; panics under
/// `DARIUS_REQUIRE_INTEROP=1`.
fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("DARIUS_ETCD").map_or_else(|| PathBuf::from(ETCD), PathBuf::from);
    installed(&path, "etcd-server").then_some(path)
}

/// `etcdctl`, or `None` (with a `SKIPPED` note) when it is missing; panics under
/// `DARIUS_REQUIRE_INTEROP=1`.
pub fn etcdctl() -> Option<PathBuf> {
    let path = PathBuf::from(ETCDCTL);
    installed(&path, "etcd-client").then_some(path)
}

/// Whether `path` exists; otherwise a `SKIPPED` note, or a panic naming `package` when
/// interop tests are required.
fn installed(path: &Path, package: &str) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "{} is required (DARIUS_REQUIRE_INTEROP=1): install the Debian package {package}",
        path.display()
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {} is not installed (Debian package {package})",
        path.display()
    );
    false
}

/// A port on `ip` that is free now, held by the returned listener until it is dropped.
fn free_port(ip: &str) -> (u16, TcpListener) {
    loop {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        if port != 2379 && port != 2380 {
            return (port, listener);
        }
    }
}

/// Whether `ip` can be bound here (Linux routes all of 127/8 to the loopback interface).
fn bindable(ip: &str) -> bool {
    TcpListener::bind((ip, 0)).is_ok()
}

impl EtcdCluster {
    /// One member on 127.0.0.1, answering.
    pub async fn single() -> Option<EtcdCluster> {
        EtcdCluster::start(&["127.0.0.1"], MemberOptions::default()).await
    }

    /// One member on 127.0.0.1 run with `options`, answering.
    pub async fn single_with(options: MemberOptions) -> Option<EtcdCluster> {
        EtcdCluster::start(&["127.0.0.1"], options).await
    }

    /// Three members on 127.0.0.11, .12 and .13 (or all on 127.0.0.1 where those cannot be
    /// bound), all answering.
    pub async fn three() -> Option<EtcdCluster> {
        let ips = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
        if ips.iter().all(|ip| bindable(ip)) {
            EtcdCluster::start(&ips, MemberOptions::default()).await
        } else {
            EtcdCluster::start(&["127.0.0.1"; 3], MemberOptions::default()).await
        }
    }

    /// Starts one member per address in `ips` and waits until each answers.
    async fn start(ips: &[&str], options: MemberOptions) -> Option<EtcdCluster> {
        let binary = etcd_binary()?;
        let dir = tempfile::tempdir().unwrap();
        let mut held = Vec::new();
        let mut members = Vec::new();
        for (i, ip) in ips.iter().enumerate() {
            let (client_port, l1) = free_port(ip);
            let (peer_port, l2) = free_port(ip);
            held.extend([l1, l2]);
            let name = format!("m{i}");
            members.push(EtcdMember {
                data_dir: dir.path().join(&name),
                log: dir.path().join(format!("{name}.log")),
                name,
                ip: (*ip).to_string(),
                client_port,
                peer_port,
                child: None,
            });
        }
        drop(held);
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!(
            "darius-test-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        );
        let mut cluster = EtcdCluster {
            binary,
            members,
            initial_cluster,
            token,
            options,
            dir,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i);
        }
        for i in 0..cluster.members.len() {
            cluster.wait_ready(i).await;
        }
        Some(cluster)
    }

    /// Starts member `i`'s process.
    fn spawn(&mut self, i: usize) {
        let tls = self.options.tls.clone();
        let member = &self.members[i];
        let client_url = member.client_url(tls.is_some());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&member.log)
            .unwrap();
        let mut command = Command::new(&self.binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD") {
                command.env_remove(key);
            }
        }
        command
            .arg(format!("--name={}", member.name))
            .arg(format!("--data-dir={}", member.data_dir.display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={}", member.peer_url()))
            .arg(format!(
                "--initial-advertise-peer-urls={}",
                member.peer_url()
            ))
            .arg(format!("--initial-cluster={}", self.initial_cluster))
            .arg(format!("--initial-cluster-token={}", self.token))
            .arg("--initial-cluster-state=new")
            .arg("--heartbeat-interval=50")
            .arg("--election-timeout=500")
            // The default from etcd 3.5 on: a member back from a pause does not depose the
            // leader by starting an election at a higher term.
            .arg("--pre-vote=true")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .arg("--log-level=warn");
        if let Some(tls) = &tls {
            command
                .arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()));
            if let Some(ca) = &tls.client_ca_file {
                command
                    .arg("--client-cert-auth")
                    .arg(format!("--trusted-ca-file={}", ca.display()));
            }
        }
        command
            .args(&self.options.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        self.members[i].child = Some(child);
    }

    /// A client of member `i` alone, with short timeouts.
    pub fn member_client(&self, i: usize) -> Client {
        let mut config = ClientConfig::new([self.endpoint(i)]);
        config.tls = self.client_tls();
        config.request_timeout = Duration::from_secs(1);
        config.connect_timeout = Duration::from_millis(300);
        Client::new(config).unwrap()
    }

    /// The index of the member that is the leader now, as the running members see it.
    pub async fn leader(&self) -> Option<usize> {
        let mut ids = Vec::new();
        let mut leader = 0;
        for i in 0..self.members.len() {
            match self.member_client(i).status().await {
                Ok(status) => {
                    leader = status.leader;
                    ids.push(Some(status.header.member_id));
                }
                Err(_) => ids.push(None),
            }
        }
        ids.iter().position(|id| *id == Some(leader))
    }

    /// Waits until member `i` answers a status request and follows a leader.
    async fn wait_ready(&mut self, i: usize) {
        let client = self.member_client(i);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(status) = client.status().await {
                if status.leader != 0 {
                    return;
                }
            }
            let member = &mut self.members[i];
            let exited = member.child.as_mut().map(|c| c.try_wait());
            if Instant::now() > deadline || matches!(exited, Some(Ok(Some(_)))) {
                panic!(
                    "etcd member {} did not start answering ({exited:?}); its log ends:\n{}",
                    member.name,
                    log_tail(&member.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The members' client URLs.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// Member `i`'s client URL.
    pub fn endpoint(&self, i: usize) -> String {
        self.members[i].client_url(self.options.tls.is_some())
    }

    /// Member `i`'s client address as the client names it (`host:port`).
    pub fn authority(&self, i: usize) -> String {
        format!("{}:{}", self.members[i].ip, self.members[i].client_port)
    }

    /// The client side of the members' TLS, if they serve it.
    pub fn client_tls(&self) -> Option<TlsConfig> {
        self.options.tls.as_ref().map(|tls| TlsConfig {
            ca_file: tls.ca_file.clone(),
            cert_file: tls.client_cert.as_ref().map(|(cert, _)| cert.clone()),
            key_file: tls.client_cert.as_ref().map(|(_, key)| key.clone()),
        })
    }

    /// A client configuration for all members, with short timeouts suited to tests.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(self.endpoints());
        config.tls = self.client_tls();
        config.request_timeout = Duration::from_secs(2);
        config.connect_timeout = Duration::from_millis(500);
        config
    }

    /// A temporary directory that lives as long as the cluster.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The end of member `i`'s log, for a failing test to show.
    pub fn log_tail(&self, i: usize) -> String {
        log_tail(&self.members[i].log)
    }

    /// Kills member `i` with SIGKILL and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops member `i` with SIGSTOP: its sockets stay open but it answers nothing, like a
    /// host cut off the network.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, "-STOP");
    }

    /// Lets a paused member `i` run again (SIGCONT).
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "-CONT");
    }

    /// Sends `signal` to member `i` with kill(1).
    fn signal(&mut self, i: usize, signal: &str) {
        let child = self.members[i]
            .child
            .as_ref()
            .expect("the member is running");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts member `i` again on its data directory and ports, and waits until it answers.
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_ready(i).await;
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// The last few kilobytes of a log file.
fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::from("(no log)");
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}
