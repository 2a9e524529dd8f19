//! `notifysocket`: notifications as datagrams to a separate `darius notifyd` (Cyrus's model).
//!
//! A server with `notifysocket` set runs no method itself: a forwarding thread sends each
//! notification as one datagram on a UNIX datagram socket, without waiting (a missing or full
//! socket drops the notification and counts it). `notifyd` ([`serve`]) binds the socket and
//! hands what arrives to its methods.
//!
//! A datagram is one line of JSON (class, method, priority, user, mailbox, options, from,
//! message, and for a mail its sender and recipients), then, when there is a mail, a newline
//! and the mail's bytes. At most [`MAX_DATAGRAM`] bytes.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::method::{Drops, MethodName, Methods, MEMORY_QUEUE};
use crate::{Class, Notification, OutgoingMail};

/// The largest datagram sent or taken.
pub const MAX_DATAGRAM: usize = 64 * 1024;

/// A notification as a datagram; `None` when it would exceed [`MAX_DATAGRAM`].
pub fn encode(n: &Notification) -> Option<Vec<u8>> {
    let mut head = json!({
        "class": n.class.name(),
        "method": n.method.name(),
        "priority": n.priority,
        "user": n.user,
        "mailbox": n.mailbox,
        "options": n.options,
        "from": n.from,
        "message": n.message,
    });
    if let (Some(mail), Some(map)) = (&n.mail, head.as_object_mut()) {
        map.insert("sender".into(), Value::from(mail.sender.as_str()));
        map.insert("recipients".into(), json!(mail.recipients));
    }
    let mut out = serde_json::to_vec(&head).ok()?;
    if let Some(mail) = &n.mail {
        out.push(b'\n');
        out.extend_from_slice(&mail.data);
    }
    (out.len() <= MAX_DATAGRAM).then_some(out)
}

/// The notification a datagram carries; `Err` says why it is not one.
pub fn decode(bytes: &[u8]) -> Result<Notification, String> {
    let (head, mail) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    };
    let head: Value = serde_json::from_slice(head).map_err(|e| format!("not JSON: {e}"))?;
    let text = |key: &str| {
        head.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let list = |key: &str| -> Vec<String> {
        head.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let class = Class::from_name(&text("class")).ok_or("no class")?;
    let method = MethodName::parse(&text("method"))?;
    let priority = match text("priority").as_str() {
        "high" => "high",
        "low" => "low",
        _ => "normal",
    };
    Ok(Notification {
        class,
        method,
        priority,
        user: text("user"),
        mailbox: text("mailbox"),
        options: list("options"),
        from: text("from"),
        message: text("message"),
        mail: mail.map(|data| OutgoingMail {
            sender: text("sender"),
            recipients: list("recipients"),
            data: data.to_vec(),
        }),
    })
}

/// The server's side: a channel to a thread that forwards to `notifyd`.
pub struct Forwarder {
    tx: SyncSender<Notification>,
    drops: Arc<Drops>,
}

impl Forwarder {
    /// Starts forwarding to the socket at `path`.
    pub fn start(path: PathBuf, drops: Arc<Drops>) -> Result<Forwarder, String> {
        let socket = UnixDatagram::unbound().map_err(|e| format!("notifysocket: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("notifysocket: {e}"))?;
        let (tx, rx) = sync_channel(MEMORY_QUEUE);
        let worker_drops = Arc::clone(&drops);
        std::thread::Builder::new()
            .name("notify-forward".into())
            .spawn(move || forward(&socket, &path, rx, &worker_drops))
            .map_err(|e| format!("starting the notification forwarder: {e}"))?;
        Ok(Forwarder { tx, drops })
    }

    /// Hands `n` to the forwarding thread without waiting.
    pub fn dispatch(&self, n: Notification) {
        match self.tx.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.drops.drop_one("the notifyd queue is full"),
            Err(TrySendError::Disconnected(_)) => {
                self.drops.drop_one("the notifyd forwarder stopped")
            }
        }
    }
}

/// Sends each notification from `rx` as a datagram to `path`, never waiting.
fn forward(socket: &UnixDatagram, path: &Path, rx: Receiver<Notification>, drops: &Drops) {
    for n in rx {
        let Some(bytes) = encode(&n) else {
            drops.drop_one("too large for a datagram");
            continue;
        };
        if let Err(e) = socket.send_to(&bytes, path) {
            drops.drop_one(&format!("notifyd at {}: {e}", path.display()));
        }
    }
}

/// `darius notifyd`: binds `path` (replacing a stale socket) and hands every datagram to
/// `methods`; returns only on a socket error.
pub fn serve(path: &Path, methods: &Methods) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if std::fs::symlink_metadata(path).is_ok() {
        use std::os::unix::fs::FileTypeExt;
        if std::fs::symlink_metadata(path)?.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let socket = UnixDatagram::bind(path)?;
    tracing::info!("notifyd: listening on {}", path.display());
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let n = socket.recv(&mut buf)?;
        if n > MAX_DATAGRAM {
            tracing::warn!("notifyd: a datagram over {MAX_DATAGRAM} bytes; ignored");
            continue;
        }
        match decode(&buf[..n]) {
            Ok(notification) => methods.dispatch(notification),
            Err(e) => tracing::warn!("notifyd: a datagram that is not a notification: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn datagrams_round_trip_with_and_without_mail() {
        let mut n = Notification {
            class: Class::Sieve,
            method: MethodName::Mailto,
            priority: "low",
            user: "fred".into(),
            mailbox: "user.fred".into(),
            options: vec!["o".into()],
            from: "a@b".into(),
            message: "{\"text\":\"line\\nbreak\"}".into(),
            mail: Some(OutgoingMail {
                sender: String::new(),
                recipients: vec!["x@y".into()],
                data: b"Subject: s\r\n\r\nbody\n\xff".to_vec(),
            }),
        };
        assert_eq!(decode(&encode(&n).unwrap()).unwrap(), n);
        n.mail = None;
        n.class = Class::Mail;
        assert_eq!(decode(&encode(&n).unwrap()).unwrap(), n);
        n.message = "x".repeat(MAX_DATAGRAM);
        assert!(encode(&n).is_none());
        assert!(decode(b"garbage").is_err());
    }
}
