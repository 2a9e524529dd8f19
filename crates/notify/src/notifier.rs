//! The [`Notifier`]: the service's [`EventSink`], turning events and Sieve requests into
//! notifications of the three classes and handing them to the methods (in this process, or
//! to `darius notifyd` through `notifysocket`).
//!
//! Rendering happens on the caller's thread (a few hundred bytes of JSON); everything else
//! (logging, sending, writing queues) happens on the methods' threads.

use std::path::PathBuf;
use std::sync::Arc;

use mailservice::{Event, EventGroup, EventKind, EventSink, SieveNotification};
use serde_json::{json, Value};

use crate::method::{check, Drops, MethodName, Methods, Settings};
use crate::socket::Forwarder;
use crate::{priority_of, render, Class, Notification, OutgoingMail, RenderContext};

/// Every `event_groups` group.
const GROUPS: [EventGroup; 6] = [
    EventGroup::Message,
    EventGroup::Quota,
    EventGroup::Flags,
    EventGroup::Access,
    EventGroup::Mailbox,
    EventGroup::Subscription,
];

/// What the notifier does, from the configuration.
#[derive(Clone, Debug)]
pub struct NotifierConfig {
    /// `mailnotifier`: the MAIL class's method.
    pub mail: Option<MethodName>,
    /// `event_notifier`: the EVENT class's method.
    pub event: Option<MethodName>,
    /// `event_groups`: the EVENT class's events.
    pub event_groups: Vec<EventGroup>,
    /// `sievenotifier`: the method every Sieve notification goes to; `None` sends `mailto:`
    /// URIs by `mailto` and logs the others as unsupported.
    pub sieve: Option<MethodName>,
    /// How events become JSON (`servername`, the namespace, `event_extra_params`).
    pub render: RenderContext,
    /// `notifysocket`, when notifications go to `darius notifyd`.
    pub socket: Option<PathBuf>,
    /// The methods' options.
    pub settings: Settings,
}

impl NotifierConfig {
    /// The methods this configuration sends by.
    pub fn methods(&self) -> Vec<MethodName> {
        let mut out: Vec<MethodName> = [self.mail, self.event].into_iter().flatten().collect();
        out.push(self.sieve.unwrap_or(MethodName::Mailto));
        out.dedup();
        out
    }

    /// Refuses what cannot work: `mailto` for MAIL or EVENT (it is only for Sieve, as in
    /// Cyrus), a method whose options are missing.
    pub fn check(&self) -> Result<(), String> {
        if self.mail == Some(MethodName::Mailto) {
            return Err(
                "mailnotifier: mailto is only for Sieve notifications (sievenotifier)".into(),
            );
        }
        if self.event == Some(MethodName::Mailto) {
            return Err(
                "event_notifier: mailto is only for Sieve notifications (sievenotifier)".into(),
            );
        }
        for method in self.methods() {
            check(method, &self.settings)?;
        }
        Ok(())
    }
}

/// `event_groups`' words as groups; `Err` names an unknown one.
pub fn parse_groups(words: &[String]) -> Result<Vec<EventGroup>, String> {
    words
        .iter()
        .map(|w| {
            GROUPS
                .into_iter()
                .find(|g| g.name().eq_ignore_ascii_case(w))
                .ok_or_else(|| {
                    format!(
                        "event_groups: unknown group {w:?} (message, quota, flags, access, mailbox, subscription)"
                    )
                })
        })
        .collect()
}

/// Where notifications go from here.
enum Outlet {
    /// The methods run in this process.
    Local(Methods),
    /// `darius notifyd` runs them.
    Socket(Forwarder),
}

/// The notifier (see the module documentation).
pub struct Notifier {
    config: NotifierConfig,
    outlet: Outlet,
    drops: Arc<Drops>,
}

impl Notifier {
    /// Checks `config` and starts its methods (or the forwarder to `notifyd`).
    pub fn start(config: NotifierConfig) -> Result<Notifier, String> {
        config.check()?;
        let drops = Arc::new(Drops::new());
        let outlet = match &config.socket {
            Some(path) => Outlet::Socket(Forwarder::start(path.clone(), Arc::clone(&drops))?),
            None => Outlet::Local(Methods::start(
                &config.methods(),
                &config.settings,
                Arc::clone(&drops),
            )?),
        };
        Ok(Notifier {
            config,
            outlet,
            drops,
        })
    }

    /// Notifications dropped so far (full queues, an absent `notifyd`, rate limits).
    pub fn dropped(&self) -> u64 {
        self.drops.count()
    }

    /// Hands `n` on without waiting.
    fn dispatch(&self, n: Notification) {
        match &self.outlet {
            Outlet::Local(methods) => methods.dispatch(n),
            Outlet::Socket(forwarder) => forwarder.dispatch(n),
        }
    }

    /// `e` as a notification of `class` for `method`.
    fn notification(&self, e: &Event, class: Class, method: MethodName) -> Notification {
        let mailbox = e.mailbox.as_ref();
        let user = mailbox
            .and_then(|m| m.name.owner_user())
            .or(e.user.as_deref())
            .unwrap_or("");
        let json = Value::Object(render(e, &self.config.render));
        Notification {
            class,
            method,
            priority: "normal",
            user: user.to_string(),
            mailbox: mailbox.map(|m| m.name.to_string()).unwrap_or_default(),
            options: Vec::new(),
            from: String::new(),
            message: json.to_string(),
            mail: None,
        }
    }
}

impl EventSink for Notifier {
    fn wants(&self, kind: EventKind) -> bool {
        (kind == EventKind::MessageNew && self.config.mail.is_some())
            || (self.config.event.is_some() && self.config.event_groups.contains(&kind.group()))
    }

    fn event(&self, e: &Event) {
        if e.kind == EventKind::MessageNew {
            if let Some(method) = self.config.mail {
                self.dispatch(self.notification(e, Class::Mail, method));
            }
        }
        if let Some(method) = self.config.event {
            if self.config.event_groups.contains(&e.kind.group()) {
                self.dispatch(self.notification(e, Class::Event, method));
            }
        }
    }

    fn takes_sieve_notifications(&self) -> bool {
        true
    }

    fn sieve_notify(&self, s: &SieveNotification) {
        let is_mailto = s
            .method
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"));
        let method = match self.config.sieve {
            Some(method) => method,
            None if is_mailto => MethodName::Mailto,
            None => {
                tracing::info!(
                    "notify: sieve: {}: no method for {} (set sievenotifier)",
                    s.user,
                    s.method
                );
                return;
            }
        };
        let payload = json!({
            "event": "SieveNotify",
            "user": s.user,
            "method": s.method,
            "from": s.from,
            "importance": s.importance,
            "options": s.options,
            "message": s.text,
        });
        self.dispatch(Notification {
            class: Class::Sieve,
            method,
            priority: priority_of(s.importance),
            user: s.user.clone(),
            mailbox: String::new(),
            options: s.options.clone(),
            from: s.from.clone().unwrap_or_default(),
            message: payload.to_string(),
            mail: s
                .mail
                .as_ref()
                .map(|(sender, recipients, data)| OutgoingMail {
                    sender: sender.clone(),
                    recipients: recipients.clone(),
                    data: data.clone(),
                }),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> NotifierConfig {
        NotifierConfig {
            mail: None,
            event: None,
            event_groups: vec![EventGroup::Message],
            sieve: None,
            render: RenderContext::new("h".into(), mailservice::Namespace::new(false)),
            socket: None,
            settings: Settings {
                sendmail: mailservice::Sendmail::default(),
                mailto_rate: 1,
                external: None,
                external_timeout: std::time::Duration::from_secs(1),
                external_max: 1,
                webhook_url: String::new(),
                webhook_retry_min: std::time::Duration::from_secs(1),
                webhook_retry_max: std::time::Duration::from_secs(1),
                webhook_queue_max: 1,
                webhook_dir: PathBuf::from("/nonexistent"),
            },
        }
    }

    #[test]
    fn mailto_is_refused_outside_sieve_and_methods_need_their_options() {
        let mut c = config();
        assert_eq!(c.check(), Ok(()));
        c.mail = Some(MethodName::Mailto);
        assert!(c.check().unwrap_err().contains("only for Sieve"));
        c.mail = None;
        c.event = Some(MethodName::Mailto);
        assert!(c.check().is_err());
        c.event = Some(MethodName::Webhook);
        assert!(c.check().unwrap_err().contains("notify_webhook_url"));
        c.settings.webhook_url = "https://example.org/".into();
        assert!(c.check().unwrap_err().contains("https is not supported"));
        c.event = None;
        c.sieve = Some(MethodName::External);
        assert!(c.check().unwrap_err().contains("notify_external"));
        assert!(MethodName::parse("zephyr")
            .unwrap_err()
            .contains("obsolete"));
    }

    #[test]
    fn groups_parse_and_an_unknown_one_is_named() {
        let words = ["message".to_string(), "Quota".to_string()];
        assert_eq!(
            parse_groups(&words),
            Ok(vec![EventGroup::Message, EventGroup::Quota])
        );
        assert!(parse_groups(&["frob".to_string()])
            .unwrap_err()
            .contains("frob"));
    }

    #[test]
    fn wants_only_what_is_configured() {
        let mut c = config();
        c.mail = Some(MethodName::Log);
        let n = Notifier::start(c).unwrap();
        assert!(n.wants(EventKind::MessageNew));
        assert!(!n.wants(EventKind::MessageAppend));
        assert!(n.takes_sieve_notifications());
        let mut c = config();
        c.event = Some(MethodName::Log);
        c.event_groups = vec![EventGroup::Quota];
        let n = Notifier::start(c).unwrap();
        assert!(!n.wants(EventKind::MessageNew));
        assert!(EventKind::ALL
            .iter()
            .all(|&k| n.wants(k) == (k.group() == EventGroup::Quota)));
        assert_eq!(n.dropped(), 0);
    }
}
