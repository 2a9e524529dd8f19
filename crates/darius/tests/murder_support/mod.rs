//! What the Murder tests share: a server's configuration in a Murder, the directory as
//! `darius murder dump` prints it, and clients that report a broken connection instead of
//! failing the test (a server is killed under them on purpose).
#![allow(dead_code)] // each test file uses its part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::Server;

/// The configuration of a server in the Murder under `prefix` in `endpoints`' etcd: its
/// role, its name, the proxy identity `proxy` (password `pw-proxy`).
pub fn murder_conf(role: &str, name: &str, endpoints: &[String], prefix: &str) -> String {
    format!(
        "murder_role: {role}\nmurder_server_name: {name}\nmurder_etcd_endpoints: {}\n\
         murder_etcd_prefix: {prefix}\nmurder_lease_ttl: 3\nproxyservers: proxy\n\
         proxy_password: pw-proxy\nallowplaintext: 1\n",
        endpoints.join(" ")
    )
}

/// Waits up to a minute for `check`.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every entry of the directory, as `darius murder dump` on `server` prints it:
/// (name, `SERVER!PARTITION`, state).
pub fn directory(server: &Server) -> Vec<(String, String, String)> {
    server
        .darius_ok(&["murder", "dump"])
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, at, state) = (f.next()?, f.next()?, f.next()?);
            Some((name.to_string(), at.to_string(), state.to_string()))
        })
        .collect()
}

/// A test message whose Message-ID is `<id@murder.test>`.
pub fn message(id: &str, body: &str) -> String {
    format!("Message-ID: <{id}@murder.test>\r\nSubject: {id}\r\n\r\n{body}\r\n")
}

/// One LMTP transaction at `port` delivering `text` to `rcpt`: the reply to the data, or
/// the first reply that was not a success; `None` if the connection broke first.
pub fn lmtp_once(port: u16, rcpt: &str, text: &str) -> Option<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .ok()?;
    let mut r = BufReader::new(stream.try_clone().ok()?);
    let mut w = stream;
    let mut read = || -> Option<String> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).ok()? == 0 {
                return None;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(all);
            }
        }
    };
    read()?;
    for command in [
        "LHLO test".to_string(),
        "MAIL FROM:<carol@example.org>".to_string(),
        format!("RCPT TO:<{rcpt}>"),
    ] {
        w.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let reply = read()?;
        if !reply.starts_with('2') {
            return Some(reply);
        }
    }
    w.write_all(b"DATA\r\n").ok()?;
    read()?;
    w.write_all(format!("{text}.\r\n").as_bytes()).ok()?;
    let reply = read()?;
    let _ = w.write_all(b"QUIT\r\n");
    Some(reply)
}

/// One IMAP session at `port`: `user` (password `pw-USER`) logs in and sends `command`;
/// the tagged answer, or `None` if the connection broke first. A command ending in a
/// literal's `{N+}` is followed by `literal`.
pub fn imap_once(port: u16, user: &str, command: &str, literal: &str) -> Option<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .ok()?;
    let mut r = BufReader::new(stream.try_clone().ok()?);
    let mut w = stream;
    let mut tagged = |tag: &str| -> Option<String> {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line.starts_with(&format!("{tag} ")) {
                return Some(line.trim_end().to_string());
            }
        }
    };
    tagged("*")?;
    w.write_all(format!("l LOGIN {user} pw-{user}\r\n").as_bytes())
        .ok()?;
    let login = tagged("l")?;
    if !login.starts_with("l OK") {
        return Some(login);
    }
    let sent = if literal.is_empty() {
        format!("c {command}\r\n")
    } else {
        format!("c {command}\r\n{literal}\r\n")
    };
    w.write_all(sent.as_bytes()).ok()?;
    let answer = tagged("c")?;
    let _ = w.write_all(b"z LOGOUT\r\n");
    Some(answer)
}

/// Each FETCH response of `lines` with the one literal it carries (the last item asked for).
pub fn fetches(lines: &[String]) -> Vec<(String, Vec<u8>)> {
    let all = lines.concat().into_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while all[at..].starts_with(b"* ") {
        let open = at + all[at..].iter().position(|&b| b == b'{').unwrap();
        let close = open + all[open..].iter().position(|&b| b == b'}').unwrap();
        let n: usize = std::str::from_utf8(&all[open + 1..close])
            .unwrap()
            .parse()
            .unwrap();
        let head = String::from_utf8_lossy(&all[at..open]).into_owned();
        let body = all[close + 3..close + 3 + n].to_vec();
        out.push((head, body));
        let end = close + 3 + n;
        at = end + all[end..].windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    }
    out
}

/// The value of FETCH item `name` (`"FLAGS "`, `"UID "`…) in a response's `head`.
pub fn item<'a>(head: &'a str, name: &str) -> &'a str {
    let at = head
        .find(name)
        .unwrap_or_else(|| panic!("{name} in {head}"))
        + name.len();
    let rest = &head[at..];
    match rest.as_bytes()[0] {
        b'(' => &rest[1..rest.find(')').unwrap()],
        b'"' => &rest[1..rest[1..].find('"').unwrap() + 1],
        _ => rest.split([' ', ')']).next().unwrap(),
    }
}

/// The Message-ID (the part before `@`) of a message's header `text` (or of the header
/// field alone).
pub fn message_id(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let lower = text.to_ascii_lowercase();
    let at = lower
        .find("message-id:")
        .unwrap_or_else(|| panic!("no Message-ID in {text}"));
    text[at..]
        .split('<')
        .nth(1)
        .and_then(|t| t.split('@').next())
        .unwrap_or_else(|| panic!("no Message-ID in {text}"))
        .to_string()
}

/// Message-ID → how many messages carry it, in `user`'s `mailbox` at `port`.
pub fn message_ids(port: u16, user: &str, mailbox: &str) -> BTreeMap<String, usize> {
    let mut c = crate::imap_support::Client::login(port, user);
    let r = c.cmd("e", &format!("EXAMINE {mailbox}"));
    assert!(crate::imap_support::last(&r).starts_with("e OK"), "{r:?}");
    let r = c.cmd("f", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    assert!(crate::imap_support::last(&r).starts_with("f OK"), "{r:?}");
    let mut ids = BTreeMap::new();
    for (_, bytes) in fetches(&r) {
        *ids.entry(message_id(&bytes)).or_insert(0) += 1;
    }
    ids
}
