//! A Darius backend joining a Cyrus Murder: a private Cyrus `mupdate -m` master (Debian's
//! cyrus-murder 3.6, under Cyrus's `master` on a free loopback port, its own imapd.conf and
//! cyrus.conf in a temp dir) and `darius serve` with `mupdate_server` pointing at it. The
//! master's list is read with MUPDATE's own `LIST` (mupdate-proto over a socket, logged in as
//! the master's admin) and, at the end, with Cyrus's `ctl_mboxlist -d` on its mailboxes.db.
//!
//! `darius user add`, then IMAP CREATE, SETACL, RENAME and DELETE on Darius show at the master
//! as `user.ann` at `darius1!default` with the ACL Darius holds; a name the master gives to
//! another server is refused (`NO [ALREADYEXISTS]`); with the master down, CREATE answers `NO
//! [UNAVAILABLE]` until it is back; `darius murder mupdate-sync` reports and repairs (offline
//! as well), and every start pushes everything. Skipped without cyrus-murder unless
//! DARIUS_REQUIRE_INTEROP=1; Cyrus's master must start as root (it drops to the user cyrus).
#![allow(clippy::unwrap_used)]

mod common;

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

const MUPDATE: &str = "/usr/lib/cyrus/bin/mupdate";
const MASTER: &str = "/usr/lib/cyrus/bin/master";
const ADMIN: &str = "mupdateadmin";
const ADMIN_PASSWORD: &str = "pw-mupdate";

/// Whether Cyrus can run here (its packages, and root: Cyrus's master drops to the user
/// cyrus); says why not (or fails under DARIUS_REQUIRE_INTEROP=1) when it cannot.
fn cyrus_available() -> bool {
    if !common::interop::have_program(MUPDATE, "cyrus-murder")
        || !common::interop::have_program(MASTER, "cyrus-imapd")
        || !common::have("saslpasswd2")
    {
        return false;
    }
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root {
        assert!(
            std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "the mupdate test must run as root (Cyrus's master drops to the user cyrus)"
        );
        eprintln!("SKIPPED: the mupdate test must run as root");
    }
    root
}

/// A private Cyrus: its `master` running the services of its own cyrus.conf.
struct Cyrus {
    dir: tempfile::TempDir,
    /// The port waited for at start: the mupdate master's, or the frontend's IMAP.
    port: u16,
    master: Option<Child>,
}

impl Cyrus {
    /// The mupdate master: `mupdate -m` on a free port, its admin in its sasldb.
    fn mupdate_master() -> Cyrus {
        let port = common::free_port();
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
    fn mupdate_master_with_tls() -> Cyrus {
        let port = common::free_port();
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
    fn frontend(master: u16, users: &[(&str, &str)]) -> Cyrus {
        let port = common::free_port();
        let slave = common::free_port();
        Cyrus::start(
            &format!(
                "servername: frontend1\nmupdate_server: 127.0.0.1:{master}\n\
                 mupdate_authname: {ADMIN}\nmupdate_password: {ADMIN_PASSWORD}\n\
                 proxy_authname: proxy\nproxy_password: pw-proxy\n\
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

    /// Writes imapd.conf (common lines, then `conf`), cyrus.conf (`services`, `{conf}` the
    /// imapd.conf path), a sasldb with `users`, and starts the master.
    fn start(conf: &str, services: &str, port: u16, users: &[(&str, &str)]) -> Cyrus {
        Cyrus::start_with_tls(conf, services, port, users, false)
    }

    /// [`Cyrus::start`], with `tls` the certificate every Darius test server holds and
    /// trusts (`tls_server_cert`, `tls_server_key`), so Cyrus offers STARTTLS.
    fn start_with_tls(
        conf: &str,
        services: &str,
        port: u16,
        users: &[(&str, &str)],
        tls: bool,
    ) -> Cyrus {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let tls_lines = if tls {
            common::make_certificate(dir.path());
            format!("tls_server_cert: {d}/cert.pem\ntls_server_key: {d}/key.pem\n")
        } else {
            String::new()
        };
        for sub in ["run", "spool", "lib/socket"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let imapd_conf = format!("{d}/imapd.conf");
        std::fs::write(
            &imapd_conf,
            format!(
                "configdirectory: {d}/lib\ndefaultpartition: default\n\
                 partition-default: {d}/spool\nadmins: {ADMIN}\n\
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
            let out = common::output_with_input(
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
        let mut cyrus = Cyrus {
            dir,
            port,
            master: None,
        };
        cyrus.launch();
        cyrus
    }

    fn conf(&self) -> String {
        self.dir.path().join("imapd.conf").display().to_string()
    }

    /// Starts Cyrus's master (in a process group of its own) and waits for the port.
    fn launch(&mut self) {
        let d = self.dir.path().display().to_string();
        let log = std::fs::File::create(self.dir.path().join("run/master.out")).unwrap();
        let child = Command::new(MASTER)
            .args(["-C", &self.conf(), "-M", &format!("{d}/cyrus.conf")])
            .args(["-p", &format!("{d}/run/master.pid"), "-D"])
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
    fn stop(&mut self) {
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
    fn ctl_mboxlist_dump(&self) -> serde_json::Value {
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
type Entry = (String, Option<String>);

/// A MUPDATE client of the test's own, logged in as the master's admin.
struct Client {
    stream: TcpStream,
    framer: Framer,
    buf: Vec<u8>,
    tags: u32,
}

impl Client {
    fn connect(port: u16) -> Client {
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

    fn read(&mut self) -> Response {
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

    fn run(&mut self, body: CommandBody) -> (Vec<TaggedData>, Status, String) {
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
    fn list(&mut self) -> BTreeMap<String, Entry> {
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

    fn activate(&mut self, name: &str, location: &str, acl: &str) {
        let (_, status, text) = self.run(CommandBody::Activate {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
        });
        assert_eq!(status, Status::Ok, "{text}");
    }

    fn delete(&mut self, name: &str) {
        let (_, status, text) = self.run(CommandBody::Delete { name: name.into() });
        assert_eq!(status, Status::Ok, "{text}");
    }
}

/// Waits until the master's list satisfies `check` (20 s at most).
fn until(port: u16, what: &str, check: impl Fn(&BTreeMap<String, Entry>) -> bool) {
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

/// A plain IMAP session as an administrator.
struct Imap {
    reader: BufReader<TcpStream>,
    tags: u32,
}

impl Imap {
    fn login(port: u16, user: &str, password: &str) -> Imap {
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

    /// Sends one command; answers its untagged lines and its completion line.
    fn cmd(&mut self, command: &str) -> (Vec<String>, String) {
        self.tags += 1;
        let tag = format!("a{}", self.tags);
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed");
            let line = line.trim_end().to_string();
            if line.starts_with(&format!("{tag} ")) {
                return (lines, line);
            }
            lines.push(line);
        }
    }

    fn ok(&mut self, command: &str) -> Vec<String> {
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
    fn acl(&mut self, mailbox: &str) -> String {
        let lines = self.ok(&format!("GETACL {mailbox}"));
        let line = lines.iter().find(|l| l.starts_with("* ACL ")).unwrap();
        let words: Vec<&str> = line.split(' ').skip(3).collect();
        words
            .chunks(2)
            .map(|p| format!("{}\t{}\t", p[0], p[1].replace(['c', 'd'], "")))
            .collect()
    }
}

fn darius_config(port: u16) -> String {
    format!(
        "servername: darius1\nunixhierarchysep: no\nmupdate_server: 127.0.0.1\n\
         mupdate_port: {port}\nmupdate_authname: {ADMIN}\nmupdate_password: {ADMIN_PASSWORD}\n\
         mupdate_retry_delay: 1\n"
    )
}

fn active(location: &str, acl: &str) -> Entry {
    (location.to_string(), Some(acl.to_string()))
}

#[test]
fn a_darius_backend_keeps_a_cyrus_mupdate_master_current() {
    if !cyrus_available() {
        return;
    }
    let mut cyrus = Cyrus::mupdate_master();
    let port = cyrus.port;
    // Another Cyrus backend's mailbox, and a name this server held before and no longer has.
    let mut client = Client::connect(port);
    client.activate("user.ann.Taken", "cyrus2!default", "ann\tlrs\t");
    client.activate("user.carl", "cyrus2!default", "carl\tlrswipkxtean\t");
    client.activate("user.ghost", "darius1!default", "ghost\tlrs\t");
    drop(client);

    let mut server = common::Server::start_with(&darius_config(port));
    // The start's push removes what this server does not hold, and leaves cyrus2's alone.
    until(port, "the start's push", |l| !l.contains_key("user.ghost"));
    server.add_user("admin", "pw-admin");
    server.add_user("ann", "pw-ann");
    let mut imap = Imap::login(server.imap_port, "admin", "pw-admin");
    let inbox_acl = imap.acl("user.ann");
    assert!(inbox_acl.starts_with("ann\t"), "{inbox_acl}");
    let list = Client::connect(port).list();
    assert_eq!(
        list.get("user.ann"),
        Some(&active("darius1!default", &inbox_acl))
    );
    assert_eq!(
        list.get("user.ann.Taken"),
        Some(&active("cyrus2!default", "ann\tlrs\t"))
    );

    // A user whose INBOX another Cyrus backend holds: added here, without an INBOX, and said so.
    let out = server.darius_with_input(&["user", "add", "carl"], "pw-carl\n");
    assert!(out.contains("their INBOX is another server's"), "{out}");
    assert_eq!(
        Client::connect(port).list().get("user.carl"),
        Some(&active("cyrus2!default", "carl\tlrswipkxtean\t"))
    );

    // CREATE, SETACL, RENAME, DELETE.
    imap.ok("CREATE user.ann.Projects");
    imap.ok("CREATE shared.board");
    imap.ok("SETACL user.ann.Projects bob lr");
    let projects_acl = imap.acl("user.ann.Projects");
    assert!(projects_acl.contains("bob\tlr\t"), "{projects_acl}");
    let list = Client::connect(port).list();
    assert_eq!(
        list.get("user.ann.Projects"),
        Some(&active("darius1!default", &projects_acl))
    );
    assert_eq!(
        list.get("shared.board").map(|e| e.0.as_str()),
        Some("darius1!default")
    );
    imap.ok("RENAME user.ann.Projects user.ann.Work");
    imap.ok("DELETE shared.board");
    let list = Client::connect(port).list();
    assert!(!list.contains_key("user.ann.Projects"), "{list:#?}");
    assert!(!list.contains_key("shared.board"), "{list:#?}");
    assert_eq!(
        list.get("user.ann.Work"),
        Some(&active("darius1!default", &projects_acl))
    );

    // A name the master gives to another server: refused here, left there.
    let (_, done) = imap.cmd("CREATE user.ann.Taken");
    assert!(done.contains("NO [ALREADYEXISTS]"), "{done}");
    assert_eq!(
        Client::connect(port).list().get("user.ann.Taken"),
        Some(&active("cyrus2!default", "ann\tlrs\t"))
    );

    // The master down: no CREATE (its frontends could not route to it). Back: it works again.
    cyrus.stop();
    let (_, done) = imap.cmd("CREATE user.ann.Later");
    assert!(done.contains("NO [UNAVAILABLE]"), "{done}");
    cyrus.launch();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, done) = imap.cmd("CREATE user.ann.Later");
        if done.contains(" OK") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "CREATE never worked again: {done}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    until(port, "the reconnection", |l| {
        l.contains_key("user.ann.Later")
    });

    // mupdate-sync through the running server: nothing to do; then a stale entry and a missing
    // one are reported (-n) and repaired.
    let (ok, out, err) = server.run_darius(&["murder", "mupdate-sync", "-n"]);
    assert!(ok, "{out}{err}");
    let mut client = Client::connect(port);
    client.delete("user.ann.Work");
    client.activate("user.ghost", "darius1!default", "ghost\tlrs\t");
    drop(client);
    let (ok, out, _) = server.run_darius(&["murder", "mupdate-sync", "-n"]);
    assert!(!ok);
    assert!(
        out.contains("user.ann.Work: missing from the mupdate master")
            && out.contains("user.ghost: in the mupdate master, not here"),
        "{out}"
    );
    let (ok, out, _) = server.run_darius(&["murder", "mupdate-sync"]);
    assert!(!ok && out.contains("user.ann.Work: published"), "{out}");
    let list = Client::connect(port).list();
    assert!(!list.contains_key("user.ghost"), "{list:#?}");
    assert_eq!(
        list.get("user.ann.Work"),
        Some(&active("darius1!default", &projects_acl))
    );

    // Offline (the server stopped): the same push from the stopped store; and every start
    // pushes everything.
    drop(imap);
    server.stop();
    Client::connect(port).delete("user.ann");
    let (ok, out, err) = server.run_darius(&["murder", "mupdate-sync", "-n"]);
    assert!(
        !ok && out.contains("user.ann: missing from the mupdate master"),
        "{out}{err}"
    );
    Client::connect(port).activate("user.ghost", "darius1!default", "");
    server.restart();
    until(port, "the restart's push", |l| {
        l.contains_key("user.ann") && !l.contains_key("user.ghost")
    });

    // Cyrus's own view of the master's mailboxes.db.
    let dump = cyrus.ctl_mboxlist_dump();
    for name in ["user.ann", "user.ann.Work", "user.ann.Later"] {
        assert_eq!(dump[name]["server"], "darius1", "{name}: {dump:#}");
        assert_eq!(dump[name]["partition"], "default", "{name}: {dump:#}");
    }
    assert_eq!(dump["user.ann.Work"]["acl"]["bob"], "lr", "{dump:#}");
    assert_eq!(dump["user.ann.Taken"]["server"], "cyrus2", "{dump:#}");
    assert!(dump.get("user.ghost").is_none(), "{dump:#}");
}

#[test]
fn a_cyrus_frontend_routes_imap_to_the_darius_backend() {
    if !cyrus_available() {
        return;
    }
    let master = Cyrus::mupdate_master();
    // Cyrus's frontend connects to SERVER of SERVER!PARTITION, which may carry the port
    // (`host:port`), so the backend's servername names its IMAP listener; mupdate_server is
    // written in Cyrus's `host:port` form here.
    let imap_port = common::free_port();
    let mut server = common::Server::start_with(&format!(
        "servername: 127.0.0.1:{imap_port}\nlisten_imap: 127.0.0.1:{imap_port}\n\
         proxyservers: proxy\nunixhierarchysep: no\nmupdate_server: 127.0.0.1:{}\n\
         mupdate_authname: {ADMIN}\nmupdate_password: {ADMIN_PASSWORD}\nmupdate_retry_delay: 1\n",
        master.port
    ));
    server.add_user("ann", "pw-ann");
    server.add_user("proxy", "pw-proxy");
    let mut ann = Imap::login(imap_port, "ann", "pw-ann");
    let message = "From: x@example.org\r\nSubject: through the Cyrus frontend\r\n\r\nhello\r\n";
    ann.ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()));
    let location = format!("127.0.0.1:{imap_port}!default");
    until(master.port, "ann's INBOX at the master", |l| {
        l.get("user.ann").is_some_and(|e| e.0 == location)
    });

    // The frontend's mupdate slave copies the master's list at its start; then ann's SELECT
    // through the frontend is proxied to Darius, which sees the frontend's proxy login.
    let frontend = Cyrus::frontend(master.port, &[("ann", "pw-ann")]);
    let mut via = Imap::login(frontend.port, "ann", "pw-ann");
    let deadline = Instant::now() + Duration::from_secs(30);
    let selected = loop {
        let (lines, done) = via.cmd("SELECT INBOX");
        if done.contains(" OK") {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "SELECT through the frontend: {done}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(selected.iter().any(|l| l == "* 1 EXISTS"), "{selected:?}");
    let fetched = via.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    assert!(
        fetched
            .iter()
            .any(|l| l == "Subject: through the Cyrus frontend"),
        "{fetched:?}"
    );
    assert!(server.logged("proxy authorized as ann"), "{}", server.log());

    // A mailbox created on Darius afterwards reaches the frontend through the master's
    // update stream, and is proxied too.
    ann.ok("CREATE INBOX.Later");
    let deadline = Instant::now() + Duration::from_secs(30);
    let later = loop {
        let lines = via.ok("LIST \"\" \"*\"");
        if let Some(line) = lines.iter().find(|l| l.contains("Later")) {
            break line
                .rsplit(' ')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string();
        }
        assert!(
            Instant::now() < deadline,
            "LIST through the frontend: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(later, "INBOX.Later");
    let selected = via.ok(&format!("SELECT {later}"));
    assert!(selected.iter().any(|l| l == "* 0 EXISTS"), "{selected:?}");
    drop(via);
    drop(ann);
    server.stop();
}

#[test]
fn a_darius_backend_reaches_a_cyrus_master_that_offers_starttls_over_tls() {
    if !cyrus_available() {
        return;
    }
    let mut cyrus = Cyrus::mupdate_master_with_tls();
    let port = cyrus.port;
    let server = common::Server::start_with(&darius_config(port));
    server.add_user("admin", "pw-admin");
    server.add_user("ann", "pw-ann");
    until(port, "ann's INBOX pushed", |l| l.contains_key("user.ann"));
    let list = Client::connect(port).list();
    assert!(
        list.get("user.ann")
            .is_some_and(|(location, acl)| location == "darius1!default" && acl.is_some()),
        "{list:?}"
    );
    // The bridge went over TLS (the master's certificate verified against the one the
    // server trusts, `tls_server_ca_file`).
    assert!(
        server.logged("mupdate: connected to 127.0.0.1") && server.logged(" over TLS"),
        "{}",
        server.log()
    );
    cyrus.stop();
}
