//! RFC 5423 events over a real socket: an IMAP session that logs in, appends, marks read,
//! deletes and expunges reports Login, MessageAppend, MessageRead, MessageTrash,
//! MessageExpunge and Logout, each naming the user and the session's real addresses.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imap_server::{ImapConfig, ImapServer};
use mailservice::{Event, EventKind, EventSink, MailService, ServiceConfig};

/// Remembers every event.
#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn wants(&self, _kind: EventKind) -> bool {
        true
    }

    fn event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

/// An IMAP server on a loopback port, with `fred` (password `secret`), reporting to
/// `recorder`; the runtime serving it lives as long as the returned value.
fn start(dir: &std::path::Path, recorder: Arc<Recorder>) -> (tokio::runtime::Runtime, u16) {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    let store_config = mailstore::StoreConfig::new(dir.join("conf"), partitions, "default");
    let store = mailstore::Store::open(store_config).unwrap();
    let service = MailService::new(
        store,
        ServiceConfig {
            admins: Vec::new().into(),
            unix_hierarchy_sep: false,
            domains: types::Domains::off(),
        },
    )
    .with_events(recorder.clone());
    service.create_user("fred").unwrap();
    // Its MailboxCreate is not the session's.
    recorder.0.lock().unwrap().clear();
    let passwords = Arc::new(auth::PasswordDb::open(&dir.join("conf")).unwrap());
    passwords
        .add_user("fred", &types::Secret::new("secret".to_string()))
        .unwrap();
    let sasl = Arc::new(auth::sasl_login::SaslLogins::new(
        Arc::clone(&passwords),
        auth::sasl_login::SaslConfig::default(),
    ));
    let config = ImapConfig {
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
        proxy: None,
        proxy_tls: net::ClientTls::off(),
        proxy_timeouts: imap_server::ProxyTimeouts::default(),
        suppress_capabilities: Vec::new(),
    };
    std::fs::create_dir_all(dir.join("spool-in")).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proc_files = Arc::new(net::procfile::ProcFiles::start(&dir.join("conf")));
    let server = ImapServer::new(service, passwords, sasl, config, proc_files);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = net::Shutdown::new();
    runtime.spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let local = stream.local_addr().unwrap();
            let info = net::ConnInfo { peer, local };
            let server = Arc::clone(&server);
            let signal = shutdown.signal();
            tokio::spawn(imap_server::connection::serve(
                server,
                stream,
                info,
                signal,
                net::TlsMode::StartTls,
            ));
        }
    });
    (runtime, port)
}

/// Sends `tag command` and reads up to the tagged answer, which must be OK.
fn ok(reader: &mut BufReader<TcpStream>, tag: &str, command: &str) {
    reader
        .get_mut()
        .write_all(format!("{tag} {command}\r\n").as_bytes())
        .unwrap();
    read_tagged(reader, tag);
}

fn read_tagged(reader: &mut BufReader<TcpStream>, tag: &str) {
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "closed before {tag}"
        );
        if line.starts_with(&format!("{tag} ")) {
            assert!(line.starts_with(&format!("{tag} OK")), "{line}");
            return;
        }
    }
}

#[test]
fn an_imap_session_reports_its_events_with_its_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let (_runtime, port) = start(dir.path(), Arc::clone(&recorder));
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let client_port = stream.local_addr().unwrap().port();
    let mut reader = BufReader::new(stream);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    ok(&mut reader, "a", "LOGIN fred secret");
    let message = "Subject: hi\r\n\r\nhello\r\n";
    reader
        .get_mut()
        .write_all(format!("b APPEND INBOX {{{}}}\r\n", message.len()).as_bytes())
        .unwrap();
    let mut go_ahead = String::new();
    reader.read_line(&mut go_ahead).unwrap();
    assert!(go_ahead.starts_with('+'), "{go_ahead}");
    reader
        .get_mut()
        .write_all(format!("{message}\r\n").as_bytes())
        .unwrap();
    read_tagged(&mut reader, "b");
    ok(&mut reader, "c", "SELECT INBOX");
    ok(&mut reader, "d", "UID STORE 1 +FLAGS (\\Seen)");
    ok(&mut reader, "e", "UID STORE 1 +FLAGS (\\Deleted)");
    ok(&mut reader, "f", "EXPUNGE");
    ok(&mut reader, "g", "LOGOUT");

    // Logout is reported when the session ends, just after the answer to LOGOUT.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.kind == EventKind::Logout)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = recorder.0.lock().unwrap().clone();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Login,
            EventKind::MessageAppend,
            EventKind::MessageRead,
            EventKind::MessageTrash,
            EventKind::MessageExpunge,
            EventKind::Logout,
        ]
    );
    for event in &events {
        assert_eq!(event.user.as_deref(), Some("fred"), "{:?}", event.kind);
        let origin = event.origin.as_ref().unwrap();
        assert_eq!(origin.service, "imap");
        assert_eq!(origin.client.unwrap().port(), client_port);
        assert_eq!(origin.server.unwrap().port(), port);
    }
    for event in &events[1..5] {
        assert_eq!(event.uids.iter().map(|u| u.get()).collect::<Vec<_>>(), [1]);
        assert_eq!(event.mailbox.as_ref().unwrap().name.as_str(), "user.fred");
    }
}
