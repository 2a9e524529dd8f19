//! The `log` method: one log line per notification, in Cyrus notifyd's format
//! (`CLASS, PRIORITY, USER, MAILBOX, (OPTIONS) "MESSAGE"`), the message being the
//! notification's JSON.

use std::sync::mpsc::Receiver;
use std::sync::Arc;

use crate::method::{Drops, Method};
use crate::Notification;

/// `log` (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogMethod;

impl Method for LogMethod {
    fn run(self: Box<Self>, queue: Receiver<Notification>, _drops: Arc<Drops>) {
        for n in queue {
            tracing::info!("notify: {}", line(&n));
        }
    }
}

/// The line Cyrus's `notify_log` writes for `n`.
pub fn line(n: &Notification) -> String {
    let options = match n.options.is_empty() {
        true => String::new(),
        false => format!("({})", n.options.join(", ")),
    };
    format!(
        "{}, {}, {}, {}, {} \"{}\"",
        n.class.name(),
        n.priority,
        n.user,
        n.mailbox,
        options,
        n.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Class, MethodName};

    #[test]
    fn line_has_cyrus_notifyd_fields_in_order() {
        let n = Notification {
            class: Class::Sieve,
            method: MethodName::Log,
            priority: "high",
            user: "fred".into(),
            mailbox: "user.fred".into(),
            options: vec!["a".into(), "b".into()],
            from: String::new(),
            message: "{\"x\":1}".into(),
            mail: None,
        };
        assert_eq!(
            line(&n),
            "SIEVE, high, fred, user.fred, (a, b) \"{\"x\":1}\""
        );
    }
}
