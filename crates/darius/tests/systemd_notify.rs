//! systemd's service notifications (`Type=notify`): a `darius serve` started with
//! `NOTIFY_SOCKET` (a datagram socket the test binds, as systemd does) says `READY=1` with its
//! PID once it serves, pings the watchdog at half `WATCHDOG_USEC`, says `RELOADING=1` (with
//! `MONOTONIC_USEC`) and `READY=1` again around a SIGHUP, and `STOPPING=1` on SIGTERM; with `WATCHDOG_PID` naming another process it leaves the watchdog alone, and a
//! socket in the abstract namespace (`@name`) works as a path does.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Every datagram received until `until` says yes to the last one, or 30 s pass.
fn receive(socket: &UnixDatagram, until: impl Fn(&str) -> bool) -> Vec<String> {
    receive_for(socket, Duration::from_secs(30), until)
}

fn receive_for(
    socket: &UnixDatagram,
    window: Duration,
    until: impl Fn(&str) -> bool,
) -> Vec<String> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = until(&text);
            got.push(text);
            if done {
                break;
            }
        }
    }
    got
}

#[test]
fn ready_watchdog_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut server = common::Server::start_with_env(
        "",
        vec![
            ("NOTIFY_SOCKET", path.clone().into_os_string()),
            ("WATCHDOG_USEC", "200000".into()),
        ],
    );
    let pid = server.pid();
    let got = receive(&socket, |m| m.starts_with("READY=1"));
    let ready = got.last().unwrap();
    assert!(ready.starts_with("READY=1"), "{got:?}");
    assert!(ready.contains(&format!("MAINPID={pid}")), "{ready}");
    // The listeners answer once READY is sent.
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.imap_port)).is_ok());
    // Pings keep coming (every 100 ms; how fast is not asserted).
    for _ in 0..3 {
        let got = receive(&socket, |m| m == "WATCHDOG=1");
        assert_eq!(
            got.last().map(String::as_str),
            Some("WATCHDOG=1"),
            "{got:?}"
        );
    }
    // SIGHUP: RELOADING=1 with the monotonic clock, then READY=1 again.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let got = receive(&socket, |m| m.starts_with("READY=1"));
    let reloading = got.iter().find(|m| m.starts_with("RELOADING=1")).unwrap();
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec > 0, "{reloading}");
    assert!(got.last().unwrap().starts_with("READY=1"), "{got:?}");
    server.stop();
    let got = receive(&socket, |m| m.starts_with("STOPPING=1"));
    assert!(
        got.last().is_some_and(|m| m.starts_with("STOPPING=1")),
        "{got:?}"
    );
}

#[test]
fn an_abstract_socket_works_and_another_process_s_watchdog_is_left_alone() {
    let name = format!("darius-test-notify-{}", std::process::id());
    let addr = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
    };
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    let mut server = common::Server::start_with_env(
        "",
        vec![
            ("NOTIFY_SOCKET", format!("@{name}").into()),
            ("WATCHDOG_USEC", "100000".into()),
            ("WATCHDOG_PID", "1".into()),
        ],
    );
    let got = receive(&socket, |m| m.starts_with("READY=1"));
    assert!(
        got.last().is_some_and(|m| m.starts_with("READY=1")),
        "{got:?}"
    );
    // No pings in a second (ten intervals): the watchdog is process 1's.
    let got = receive_for(&socket, Duration::from_secs(1), |_| false);
    assert!(!got.iter().any(|m| m == "WATCHDOG=1"), "{got:?}");
    server.stop();
    let got = receive(&socket, |m| m.starts_with("STOPPING=1"));
    assert!(
        got.last().is_some_and(|m| m.starts_with("STOPPING=1")),
        "{got:?}"
    );
}
