//! The `mailto` method (RFC 5436): hands a Sieve notification's mail to `sendmail`. The mail
//! is the one Sieve built (`Auto-Submitted: auto-notified`, RFC 5436 §2.7). At most
//! `notify_mailto_rate` mails per user in any hour (a sliding window); beyond, the notification
//! is dropped, counted and logged. MAIL and EVENT notifications have no mail to send: the
//! configuration refuses `mailto` for them, as Cyrus does.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailservice::Sendmail;

use crate::method::{Drops, Method, Settings};
use crate::Notification;

/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(3600);

/// Users whose recent sends are remembered at most; past it the oldest windows are forgotten
/// first (bounded memory; a forgotten user may send early, never more than twice the rate).
const MAX_USERS: usize = 100_000;

/// `mailto` (see the module documentation).
pub struct MailtoMethod {
    sendmail: Sendmail,
    limit: RateLimit,
}

impl MailtoMethod {
    /// The method with `sendmail` and `notify_mailto_rate` from `settings`.
    pub fn new(settings: &Settings) -> MailtoMethod {
        MailtoMethod {
            sendmail: settings.sendmail.clone(),
            limit: RateLimit::new(settings.mailto_rate, WINDOW),
        }
    }
}

impl Method for MailtoMethod {
    fn run(mut self: Box<Self>, queue: Receiver<Notification>, drops: Arc<Drops>) {
        for n in queue {
            let Some(mail) = &n.mail else {
                tracing::warn!(
                    "notify: mailto: {} notification for {} has no mail address; not sent",
                    n.class.name(),
                    n.user
                );
                drops.drop_one("mailto without a mailto: URI");
                continue;
            };
            if !self.limit.allow(&n.user, Instant::now()) {
                tracing::warn!(
                    "notify: mailto: {} sent {} notifications within the hour; not sent",
                    n.user,
                    self.limit.max
                );
                drops.drop_one("notify_mailto_rate reached");
                continue;
            }
            let to: Vec<&str> = mail.recipients.iter().map(String::as_str).collect();
            match self.sendmail.send(&mail.sender, &to, &mail.data) {
                Ok(()) => tracing::info!("notify: mailto: {}: sent to {}", n.user, to.join(", ")),
                Err(e) => tracing::warn!("notify: mailto: {}: failed: {e}", n.user),
            }
        }
    }
}

/// At most `max` events per key in any `window` (a sliding window per key).
#[derive(Debug)]
pub struct RateLimit {
    max: u32,
    window: Duration,
    sent: HashMap<String, VecDeque<Instant>>,
}

impl RateLimit {
    /// A limit of `max` per `window`.
    pub fn new(max: u32, window: Duration) -> RateLimit {
        RateLimit {
            max,
            window,
            sent: HashMap::new(),
        }
    }

    /// Whether `key` may have one more at `now`; if so, it is counted.
    pub fn allow(&mut self, key: &str, now: Instant) -> bool {
        if self.sent.len() >= MAX_USERS && !self.sent.contains_key(key) {
            let window = self.window;
            self.sent.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
            if self.sent.len() >= MAX_USERS {
                self.sent.clear();
            }
        }
        let times = self.sent.entry(key.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= usize::try_from(self.max).unwrap_or(usize::MAX) {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_holds_per_key_and_frees_after_the_window() {
        let mut limit = RateLimit::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(limit.allow("a", t0));
        assert!(limit.allow("a", t0 + Duration::from_secs(1)));
        assert!(!limit.allow("a", t0 + Duration::from_secs(2)));
        assert!(limit.allow("b", t0 + Duration::from_secs(2)));
        assert!(limit.allow("a", t0 + Duration::from_secs(10)));
        assert!(!limit.allow("a", t0 + Duration::from_secs(10)));
    }
}
