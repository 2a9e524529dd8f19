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

use std::time::{Duration, Instant};

use common::cyrus::{cyrus_available, until, Client, Cyrus, Entry, Imap, ADMIN, ADMIN_PASSWORD};

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
            .any(|l| l.contains("\r\nSubject: through the Cyrus frontend\r\n")),
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
