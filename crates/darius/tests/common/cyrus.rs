//! A private Cyrus 3.6 (Debian's cyrus-imapd and cyrus-murder) for the Murder interop tests:
//! Cyrus's `master` running the services of its own cyrus.conf and imapd.conf in a temp dir (a
//! `mupdate -m` master, a frontend), a MUPDATE client of the test's own that reads the master's
//! list, and a plain IMAP client. Cyrus's master must start as root (it drops to the user
//! cyrus); [`cyrus_available`] says whether it can run here.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mupdate_proto::{
    parse_response, Command as MupCommand, CommandBody, Frame, Framer, Limits, Response, Status,
    Tag, TaggedData,
};
use types::Secret;

pub const MUPDATE: &str = "/usr/lib/cyrus/bin/mupdate";
pub const MASTER: &str = "/usr/lib/cyrus/bin/master";
pub const ADMIN: &str = "mupdateadmin";
pub const ADMIN_PASSWORD: &str = "pw-mupdate";
/// The administrator of a [`Cyrus::backend`].
pub const BACKEND_ADMIN: &str = "cyrusadmin";
pub const BACKEND_ADMIN_PASSWORD: &str = "pw-cyrusadmin";
/// The password of `proxy`, the identity a Cyrus frontend or backend logs in to other servers
/// with (`proxy_authname`, `proxy_password`).
pub const PROXY_PASSWORD: &str = "pw-proxy";

/// Whether Cyrus can run here (its packages, and root: Cyrus's master drops to the user
/// cyrus); says why not (or fails under DARIUS_REQUIRE_INTEROP=1) when it cannot.
pub fn cyrus_available() -> bool {
    if !super::interop::have_program(MUPDATE, "cyrus-murder")
        || !super::interop::have_program(MASTER, "cyrus-imapd")
        || !super::have("saslpasswd2")
    {
        return false;
    }
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "the Cyrus tests must run as root (Cyrus's master drops to the user cyrus)"
        );
        eprintln!("SKIPPED: the Cyrus tests must run as root");
    }
    root
}

/// What a [`Cyrus::backend`] runs with.
pub enum Preload {
    /// Cyrus as Debian ships it.
    Nothing,
    /// A `strlcpy` that reads a NULL source as the empty string. Cyrus 3.6's legacy XFER (the
    /// one for a target without REPLICATION) marks each mailbox MOVING with a new mailboxes.db
    /// entry that lacks the mailbox's uniqueid (imapd.c `xfer_undump`, unchanged up to 3.12),
    /// then `dump_mailbox` looks up its annotations by that uniqueid: `strlcpy(key, NULL)` in
    /// annotate.c `make_key`, and imapd dies in the middle of the first UNDUMP. With the NULL
    /// read as empty, no annotation is found and the XFER goes on as Cyrus meant it to, as
    /// long as users' files are found by name ([`Cyrus::backend`]).
    NullSafeStrlcpy,
}

/// Builds [`Preload::NullSafeStrlcpy`] in `dir` with the C compiler: the path of the library.
fn null_safe_strlcpy(dir: &std::path::Path) -> std::path::PathBuf {
    let source = dir.join("strlcpy.c");
    let library = dir.join("strlcpy.so");
    std::fs::write(
        &source,
        "#include <string.h>\n\
         size_t strlcpy(char *dst, const char *src, size_t size) {\n\
         \x20   if (!src) src = \"\";\n\
         \x20   size_t len = strlen(src);\n\
         \x20   if (size) {\n\
         \x20       size_t n = len < size - 1 ? len : size - 1;\n\
         \x20       memcpy(dst, src, n);\n\
         \x20       dst[n] = 0;\n\
         \x20   }\n\
         \x20   return len;\n\
         }\n",
    )
    .unwrap();
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {out:?}");
    library
}

/// A private Cyrus: its `master` running the services of its own cyrus.conf.
pub struct Cyrus {
    pub dir: tempfile::TempDir,
    /// The port waited for at start: the mupdate master's, or the frontend's or backend's IMAP.
    pub port: u16,
    /// A backend's timsieved (ManageSieve).
    pub sieve_port: Option<u16>,
    /// A library preloaded into every Cyrus program (`LD_PRELOAD`).
    preload: Option<std::path::PathBuf>,
    master: Option<Child>,
}

impl Cyrus {
    /// The mupdate master: `mupdate -m` on a free port, its admin in its sasldb.
    pub fn mupdate_master() -> Cyrus {
        let port = super::free_port();
        Cyrus::start(
            "servername: mupmaster\n",
            &format!(
                "mupdate cmd=\"mupdate -C {{conf}} -m\" listen=\"127.0.0.1:{port}\" prefork=1"
            ),
            port,
            &[(ADMIN, ADMIN_PASSWORD)],
        )
    }

    /// The mupdate master with a certificate: it offers STARTTLS.
    pub fn mupdate_master_with_tls() -> Cyrus {
        let port = super::free_port();
        Cyrus::start_with_tls(
            "servername: mupmaster\n",
            &format!(
                "mupdate cmd=\"mupdate -C {{conf}} -m\" listen=\"127.0.0.1:{port}\" prefork=1"
            ),
            port,
            &[(ADMIN, ADMIN_PASSWORD)],
            true,
        )
    }

    /// A Murder frontend of `master`: imapd (which proxies what the mailbox list puts on a
    /// backend) and the mupdate slave that keeps that list from the master's `UPDATE` stream;
    /// `users` log in here, and the frontend logs in to backends as `proxy`. Its namespace is
    /// the backend's (`altnamespace: no`, `.` separator): a Cyrus frontend passes mailbox names
    /// on as its clients wrote them.
    pub fn frontend(master: u16, users: &[(&str, &str)]) -> Cyrus {
        let port = super::free_port();
        let slave = super::free_port();
        Cyrus::start(
            &format!(
                "servername: frontend1\nmupdate_server: 127.0.0.1:{master}\n\
                 mupdate_authname: {ADMIN}\nmupdate_password: {ADMIN_PASSWORD}\n\
                 proxy_authname: proxy\nproxy_password: {PROXY_PASSWORD}\n\
                 force_sasl_client_mech: PLAIN\naltnamespace: no\nunixhierarchysep: no\n"
            ),
            &format!(
                "mupdate cmd=\"mupdate -C {{conf}}\" listen=\"127.0.0.1:{slave}\" prefork=1\n  \
                 imap cmd=\"imapd -C {{conf}}\" listen=\"127.0.0.1:{port}\" prefork=0"
            ),
            port,
            users,
        )
    }

    /// A Murder backend of `master`, `cyrusbe1`: imapd, and timsieved on `sieve_port`, its
    /// mailboxes pushed to the master as they are made (`mupdate_server`), users' moves
    /// allowed (`allowusermoves`). XFER logs in to the target server as `proxy` with
    /// [`PROXY_PASSWORD`], without an authorization identity: the target must count `proxy`
    /// among its admins. [`BACKEND_ADMIN`] and `users` log in here. Same namespace as
    /// [`Cyrus::frontend`]. `proxyservers` is what makes Cyrus's imapd a backend: without it,
    /// CREATE takes itself for a frontend's and looks for a server to send the mailbox to.
    /// Users' files are where Cyrus before 3.6 kept them, by name (`mailbox_legacy_dirs`), as
    /// on a server upgraded over the years: the MOVING entry of XFER (see [`Preload`]) has no
    /// uniqueid to find them by, and Cyrus would send no seen state or subscriptions and
    /// die looking for the Sieve scripts.
    pub fn backend(master: u16, users: &[(&str, &str)], preload: Preload) -> Cyrus {
        let port = super::free_port();
        let sieve = super::free_port();
        let users: Vec<(&str, &str)> = [(BACKEND_ADMIN, BACKEND_ADMIN_PASSWORD)]
            .into_iter()
            .chain(users.iter().copied())
            .collect();
        let mut cyrus = Cyrus::prepare(
            &format!(
                "servername: cyrusbe1\nadmins: {BACKEND_ADMIN}\n\
                 mupdate_server: 127.0.0.1:{master}\n\
                 mupdate_authname: {ADMIN}\nmupdate_password: {ADMIN_PASSWORD}\n\
                 proxyservers: proxy\nallowusermoves: yes\n\
                 proxy_authname: proxy\nproxy_password: {PROXY_PASSWORD}\n\
                 force_sasl_client_mech: PLAIN\naltnamespace: no\nunixhierarchysep: no\n\
                 sievedir: {{dir}}/sieve\nmailbox_legacy_dirs: yes\n"
            ),
            &format!(
                "imap cmd=\"imapd -C {{conf}}\" listen=\"127.0.0.1:{port}\" prefork=0\n  \
                 sieve cmd=\"timsieved -C {{conf}}\" listen=\"127.0.0.1:{sieve}\" prefork=0"
            ),
            port,
            &users,
            false,
        );
        cyrus.sieve_port = Some(sieve);
        if let Preload::NullSafeStrlcpy = preload {
            cyrus.preload = Some(null_safe_strlcpy(cyrus.dir.path()));
        }
        cyrus.launch();
        cyrus
    }

    /// Writes imapd.conf (common lines, then `conf` with `{dir}` the temp dir; `admins:
    /// mupdateadmin` unless `conf` names the admins), cyrus.conf (`services`, `{conf}` the
    /// imapd.conf path), a sasldb with `users`, and starts the master.
    pub fn start(conf: &str, services: &str, port: u16, users: &[(&str, &str)]) -> Cyrus {
        Cyrus::start_with_tls(conf, services, port, users, false)
    }

    /// [`Cyrus::start`], with `tls` the certificate every Darius test server holds and
    /// trusts (`tls_server_cert`, `tls_server_key`), so Cyrus offers STARTTLS.
    pub fn start_with_tls(
        conf: &str,
        services: &str,
        port: u16,
        users: &[(&str, &str)],
        tls: bool,
    ) -> Cyrus {
        let mut cyrus = Cyrus::prepare(conf, services, port, users, tls);
        cyrus.launch();
        cyrus
    }

    /// [`Cyrus::start_with_tls`] without the start.
    fn prepare(conf: &str, services: &str, port: u16, users: &[(&str, &str)], tls: bool) -> Cyrus {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let tls_lines = if tls {
            super::make_certificate(dir.path());
            format!("tls_server_cert: {d}/cert.pem\ntls_server_key: {d}/key.pem\n")
        } else {
            String::new()
        };
        for sub in ["run", "spool", "sieve", "lib/socket"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let imapd_conf = format!("{d}/imapd.conf");
        let admins = match conf.lines().any(|l| l.starts_with("admins:")) {
            true => String::new(),
            false => format!("admins: {ADMIN}\n"),
        };
        let conf = conf.replace("{dir}", &d);
        std::fs::write(
            &imapd_conf,
            format!(
                "configdirectory: {d}/lib\ndefaultpartition: default\n\
                 partition-default: {d}/spool\n{admins}\
                 sasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\n\
                 sasl_sasldb_path: {d}/sasldb2\nsasl_mech_list: PLAIN\n\
                 allowplaintext: yes\nsyslog_prefix: darius-mupdate-test\n{tls_lines}{conf}"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cyrus.conf"),
            format!(
                "START {{\n  recover cmd=\"ctl_cyrusdb -C {imapd_conf} -r\"\n}}\n\
                 SERVICES {{\n  {}\n}}\nEVENTS {{\n}}\n",
                services.replace("{conf}", &imapd_conf)
            ),
        )
        .unwrap();
        let realm = conf
            .lines()
            .find_map(|l| l.strip_prefix("servername: "))
            .unwrap();
        for (user, password) in users {
            let out = super::output_with_input(
                Command::new("saslpasswd2").args([
                    "-p",
                    "-f",
                    &format!("{d}/sasldb2"),
                    "-u",
                    realm,
                    "-c",
                    user,
                ]),
                password,
            );
            assert!(out.status.success(), "{out:?}");
        }
        let chown = Command::new("chown")
            .args(["-R", "cyrus:mail", &d])
            .status()
            .unwrap();
        assert!(chown.success());
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(dir.path(), perms).unwrap();
        Cyrus {
            dir,
            port,
            sieve_port: None,
            preload: None,
            master: None,
        }
    }

    pub fn conf(&self) -> String {
        self.dir.path().join("imapd.conf").display().to_string()
    }

    /// Starts Cyrus's master (in a process group of its own) and waits for the port.
    pub fn launch(&mut self) {
        let d = self.dir.path().display().to_string();
        let log = std::fs::File::create(self.dir.path().join("run/master.out")).unwrap();
        let child = Command::new(MASTER)
            .args(["-C", &self.conf(), "-M", &format!("{d}/cyrus.conf")])
            .args(["-p", &format!("{d}/run/master.pid"), "-D"])
            .envs(self.preload.iter().map(|p| ("LD_PRELOAD", p)))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        self.master = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Cyrus never listened on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the master and every process it started (its process group), and waits until
    /// the port is free again (10 s at most each).
    pub fn stop(&mut self) {
        let Some(mut child) = self.master.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let kill = |signal: &str| {
            let _ = Command::new("kill")
                .args(["-s", signal, "--", &group])
                .stderr(std::process::Stdio::null())
                .status();
        };
        kill("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        kill("KILL");
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Cyrus's own `ctl_mboxlist -d` of the master's mailboxes.db (JSON).
    pub fn ctl_mboxlist_dump(&self) -> serde_json::Value {
        let out = Command::new("runuser")
            .args(["-u", "cyrus", "--", "/usr/lib/cyrus/bin/ctl_mboxlist"])
            .args(["-C", &self.conf(), "-d"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An entry of the master: location, and ACL (`None`: a reservation).
pub type Entry = (String, Option<String>);

/// A MUPDATE client of the test's own, logged in as the master's admin.
pub struct Client {
    stream: TcpStream,
    framer: Framer,
    buf: Vec<u8>,
    tags: u32,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut c = Client {
            stream,
            framer: Framer::new(Limits::default()),
            buf: Vec::new(),
            tags: 0,
        };
        while !matches!(c.read(), Response::Banner(_)) {}
        let initial = format!("\0{ADMIN}\0{ADMIN_PASSWORD}").into_bytes();
        let (_, status, text) = c.run(CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(Secret::new(initial)),
        });
        assert_eq!(status, Status::Ok, "{text}");
        c
    }

    pub fn read(&mut self) -> Response {
        loop {
            match self.framer.take(&mut self.buf) {
                Frame::Message(m) => return parse_response(&m).unwrap(),
                Frame::Incomplete | Frame::LiteralWanted => {}
                Frame::Refused(e) => panic!("{e}"),
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the master closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn run(&mut self, body: CommandBody) -> (Vec<TaggedData>, Status, String) {
        self.tags += 1;
        let tag = Tag::try_from(format!("T{}", self.tags).as_str()).unwrap();
        self.stream
            .write_all(&MupCommand::new(tag.clone(), body).encode())
            .unwrap();
        let mut data = Vec::new();
        loop {
            match self.read() {
                Response::Data {
                    tag: Some(t),
                    data: d,
                } if t == tag => data.push(d),
                Response::Done {
                    tag: t,
                    status,
                    text,
                } if t == tag => return (data, status, text),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The master's whole list, by name.
    pub fn list(&mut self) -> BTreeMap<String, Entry> {
        let (data, status, _) = self.run(CommandBody::List { prefix: None });
        assert_eq!(status, Status::Ok);
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        data.into_iter()
            .filter_map(|d| match d {
                TaggedData::Mailbox {
                    name,
                    location,
                    acl,
                } => Some((text(name), (text(location), Some(text(acl))))),
                TaggedData::Reserve { name, location } => {
                    Some((text(name), (text(location), None)))
                }
                TaggedData::Delete { .. } => None,
            })
            .collect()
    }

    pub fn activate(&mut self, name: &str, location: &str, acl: &str) {
        let (_, status, text) = self.run(CommandBody::Activate {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
        });
        assert_eq!(status, Status::Ok, "{text}");
    }

    pub fn delete(&mut self, name: &str) {
        let (_, status, text) = self.run(CommandBody::Delete { name: name.into() });
        assert_eq!(status, Status::Ok, "{text}");
    }
}

/// Waits until the master's list satisfies `check` (20 s at most).
pub fn until(port: u16, what: &str, check: impl Fn(&BTreeMap<String, Entry>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = Client::connect(port).list();
        if check(&list) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the master lists {list:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The size of the literal `{N}` that ends `line`, if it ends with one.
fn literal_size(line: &str) -> Option<usize> {
    let (_, size) = line.strip_suffix('}')?.rsplit_once('{')?;
    size.parse().ok()
}

/// A plain IMAP session.
pub struct Imap {
    reader: BufReader<TcpStream>,
    tags: u32,
}

impl Imap {
    pub fn login(port: u16, user: &str, password: &str) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let mut imap = Imap {
            reader: BufReader::new(stream),
            tags: 0,
        };
        let mut greeting = String::new();
        imap.reader.read_line(&mut greeting).unwrap();
        let (_, done) = imap.cmd(&format!("LOGIN {user} {password}"));
        assert!(done.contains(" OK"), "{done}");
        imap
    }

    /// Sends one command; answers its untagged lines and its completion line. A literal in
    /// a response stays in its line: `{N}`, CRLF, the N bytes, and the rest of the line.
    pub fn cmd(&mut self, command: &str) -> (Vec<String>, String) {
        self.try_cmd(command).expect("closed")
    }

    /// [`Imap::cmd`], or `None` when the server closes the connection first.
    pub fn try_cmd(&mut self, command: &str) -> Option<(Vec<String>, String)> {
        self.tags += 1;
        let tag = format!("a{}", self.tags);
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let line = self.response_line()?;
            if line.starts_with(&format!("{tag} ")) {
                return Some((lines, line));
            }
            lines.push(line);
        }
    }

    /// One response line with its literals, without the final CRLF; `None` at the end of
    /// the connection.
    fn response_line(&mut self) -> Option<String> {
        let mut line = String::new();
        loop {
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let Some(size) = literal_size(line.trim_end()) else {
                return Some(line.trim_end().to_string());
            };
            let mut literal = vec![0; size];
            self.reader.read_exact(&mut literal).ok()?;
            line.push_str(&String::from_utf8_lossy(&literal));
        }
    }

    pub fn ok(&mut self, command: &str) -> Vec<String> {
        let (lines, done) = self.cmd(command);
        assert!(
            done.starts_with(&format!("a{} OK", self.tags)),
            "{command}: {done}"
        );
        lines
    }

    /// The ACL of `mailbox` in Cyrus's stored form (`id TAB rights TAB …`), from GETACL,
    /// without the virtual rights `c` and `d` that responses show (RFC 4314 §2.1.1) and the
    /// stored form never holds.
    pub fn acl(&mut self, mailbox: &str) -> String {
        let lines = self.ok(&format!("GETACL {mailbox}"));
        let line = lines.iter().find(|l| l.starts_with("* ACL ")).unwrap();
        let words: Vec<&str> = line.split(' ').skip(3).collect();
        words
            .chunks(2)
            .map(|p| format!("{}\t{}\t", p[0], p[1].replace(['c', 'd'], "")))
            .collect()
    }
}
