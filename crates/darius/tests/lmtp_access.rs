//! Who may reach LMTP, over real sockets: the UNIX socket's mode and group
//! (`lmtpsocket_mode`, `lmtpsocket_group`) and the per-host connection limit
//! (`maxconnections_per_host`, shared with IMAP).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// Mode bits and group of a file.
fn mode_and_group(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.mode() & 0o7777, meta.gid())
}

#[test]
fn the_lmtp_socket_is_not_open_to_every_local_account() {
    let server = common::Server::start();
    let probe = server.dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    let (_, our_group) = mode_and_group(&probe);
    assert_eq!(
        mode_and_group(&server.lmtp_socket()),
        (0o660, our_group),
        "lmtpsocket_mode 0660 and the server's own group by default"
    );
    let admin = server.config_dir().join("socket/admin");
    assert_eq!(mode_and_group(&admin).0, 0o600);
    // The server's own user still delivers over it.
    let stream = std::os::unix::net::UnixStream::connect(server.lmtp_socket()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut greeting = String::new();
    BufReader::new(stream).read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
}

/// A group this test's user may give files to (any group when running as root).
fn a_group_we_may_use() -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    let (_, own) = mode_and_group(&probe);
    if std::fs::symlink_metadata(&probe).unwrap().uid() == 0 {
        return 4242;
    }
    let out = std::process::Command::new("id").arg("-G").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
        .find(|&g| g != own)
        .unwrap_or(own)
}

#[test]
fn lmtpsocket_mode_and_group_are_applied_and_an_unknown_group_stops_start_up() {
    let gid = a_group_we_may_use();
    let server =
        common::Server::start_with(&format!("lmtpsocket_mode: 0600\nlmtpsocket_group: {gid}\n"));
    assert_eq!(mode_and_group(&server.lmtp_socket()), (0o600, gid));

    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().display();
    let conf = dir.path().join("imapd.conf");
    std::fs::write(
        &conf,
        format!(
            "configdirectory: {base}/conf\npartition-default: {base}/spool\n\
             syslog_socket: {base}/no-syslog\nadminsocket:\nlisten_lmtp: 127.0.0.1:0\n\
             lmtpsocket: {base}/conf/socket/lmtp\nlmtpsocket_group: no-such-group-here\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(common::DARIUS)
        .arg("-C")
        .arg(&conf)
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started although lmtpsocket_group names no group");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("lmtpsocket_group") && stderr.contains("no-such-group-here"),
        "{stderr}"
    );
    assert!(!dir.path().join("conf/socket/lmtp").exists());
}

/// The first line the server sends on a new connection to `port` from the source address
/// `from` (any 127.0.0.0/8 address reaches the server on 127.0.0.1), and the stream.
fn first_line_from(from: &str, port: u16) -> (String, TcpStream) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        socket.connect(addr).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    (line, stream)
}

#[test]
fn maxconnections_per_host_refuses_one_host_past_its_share_and_no_one_else() {
    let server =
        common::Server::start_with("maxconnections_per_host: 3\nclient_limit_exceptions:\n");
    // Three connections from 127.0.0.1, over two listeners: the limit is per host, not per
    // listener.
    let mut held = Vec::new();
    for port in [server.lmtp_port, server.imap_port, server.lmtp_port] {
        let (line, stream) = first_line_from("127.0.0.1", port);
        assert!(
            line.starts_with("220 ") || line.starts_with("* OK"),
            "{line}"
        );
        held.push(stream);
    }
    let (line, mut refused) = first_line_from("127.0.0.1", server.lmtp_port);
    assert_eq!(line, "421 4.7.0 Too many connections from your address\r\n");
    let mut rest = Vec::new();
    refused.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after the refusal");
    let (line, _) = first_line_from("127.0.0.1", server.imap_port);
    assert_eq!(line, "* BYE Too many connections from your address\r\n");
    // Another host is served meanwhile.
    let (line, _other) = first_line_from("127.0.0.2", server.lmtp_port);
    assert!(line.starts_with("220 "), "{line}");
    // Logged once for the episode, not once per refused connection.
    let needle = "127.0.0.1: maxconnections_per_host (3) reached";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains(needle) {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.log().matches(needle).count(), 1, "{}", server.log());
    // A freed slot is taken again (the server notices the close asynchronously).
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (line, _) = first_line_from("127.0.0.1", server.lmtp_port);
        if line.starts_with("220 ") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never freed: {line}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn loopback_is_exempt_from_maxconnections_per_host_by_default() {
    let server = common::Server::start_with("maxconnections_per_host: 2\n");
    let held: Vec<_> = (0..5)
        .map(|_| first_line_from("127.0.0.1", server.lmtp_port))
        .collect();
    for (line, _) in &held {
        assert!(line.starts_with("220 "), "{line}");
    }
}
