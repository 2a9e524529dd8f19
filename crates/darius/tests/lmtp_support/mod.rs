//! A raw LMTP client over a real socket, for what smtplib cannot show: whole (multi-line)
//! replies, pipelining, per-recipient replies after DATA; and the message files a delivery
//! left under a partition.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A raw LMTP client that reads whole (multi-line) replies, over TCP or the UNIX socket.
pub struct Client {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Box<dyn Write + Send>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client::greeted(Box::new(stream.try_clone().unwrap()), Box::new(stream))
    }

    pub fn connect_unix(path: &Path) -> Client {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client::greeted(Box::new(stream.try_clone().unwrap()), Box::new(stream))
    }

    fn greeted(reader: Box<dyn Read + Send>, writer: Box<dyn Write + Send>) -> Client {
        let mut c = Client {
            reader: BufReader::new(reader),
            writer,
        };
        assert!(c.reply().starts_with("220 "));
        c
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// One reply, all its lines joined with `\n`.
    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "EOF");
            assert!(line.ends_with("\r\n"), "{line:?}");
            all.push_str(line.trim_end());
            if line.as_bytes().get(3) == Some(&b' ') {
                return all;
            }
            all.push('\n');
        }
    }

    pub fn expect(&mut self, prefix: &str) -> String {
        let r = self.reply();
        assert!(r.starts_with(prefix), "expected {prefix:?}, got {r:?}");
        r
    }
}

/// Message files (`UID.`) under a partition, by mailbox directory.
pub fn message_files(spool: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![spool.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with('.') && n[..n.len() - 1].parse::<u32>().is_ok())
            {
                out.push(p);
            }
        }
    }
    out
}

/// Delivers `message` to `rcpts` in one transaction; returns the per-recipient replies.
pub fn deliver(port: u16, rcpts: &[&str], message: &[u8]) -> Vec<String> {
    let mut c = Client::connect(port);
    c.send(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\n");
    c.expect("250-");
    c.expect("250 2.1.0");
    for r in rcpts {
        c.send(format!("RCPT TO:<{r}>\r\n").as_bytes());
        c.expect("250 2.1.5");
    }
    c.send(b"DATA\r\n");
    c.expect("354 ");
    c.send(message);
    c.send(b".\r\n");
    rcpts.iter().map(|_| c.reply()).collect()
}

/// Sends LHLO and MAIL, then each RCPT; returns the RCPT replies.
pub fn rcpt_replies(port: u16, rcpts: &[&str]) -> Vec<String> {
    let mut c = Client::connect(port);
    c.send(b"LHLO x\r\nMAIL FROM:<s@example.org>\r\n");
    c.expect("250-");
    c.expect("250 2.1.0");
    rcpts
        .iter()
        .map(|r| {
            c.send(format!("RCPT TO:<{r}>\r\n").as_bytes());
            c.reply()
        })
        .collect()
}
