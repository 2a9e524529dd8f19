//! The notification methods behind one trait, the drop counter they share, and [`Methods`]:
//! one worker thread per configured method, each fed by a bounded channel.
//!
//! Nothing here blocks the thread that hands a notification over: [`Methods::dispatch`] is a
//! `try_send`; a full channel drops the notification and counts it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailservice::Sendmail;

use crate::Notification;

/// Notifications waiting in memory for one method at most; past it they are dropped.
pub const MEMORY_QUEUE: usize = 10_000;

/// How often at most a drop is logged (with the running count).
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The methods this server has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MethodName {
    /// One log line per notification, in Cyrus notifyd's format.
    Log,
    /// Mail through `sendmail` (Sieve only).
    Mailto,
    /// The `notify_external` program, the JSON on its standard input.
    External,
    /// An HTTP POST of the JSON to `notify_webhook_url`.
    Webhook,
}

impl MethodName {
    /// Every method.
    pub const ALL: [MethodName; 4] = [
        MethodName::Log,
        MethodName::Mailto,
        MethodName::External,
        MethodName::Webhook,
    ];

    /// The method's name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            MethodName::Log => "log",
            MethodName::Mailto => "mailto",
            MethodName::External => "external",
            MethodName::Webhook => "webhook",
        }
    }

    /// The method named `name` (case-insensitive); `Err` says what there is.
    pub fn parse(name: &str) -> Result<MethodName, String> {
        if name.eq_ignore_ascii_case("zephyr") {
            return Err(
                "zephyr is obsolete and not supported (use log, mailto, external or webhook)"
                    .into(),
            );
        }
        MethodName::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!("{name:?} is not a notification method (log, mailto, external, webhook)")
            })
    }
}

/// Counts the notifications dropped (a full queue, an absent `notifyd`, a rate limit) and logs
/// the running count at most once a minute.
#[derive(Debug, Default)]
pub struct Drops {
    count: AtomicU64,
    last_logged: Mutex<Option<Instant>>,
}

impl Drops {
    /// A counter at zero.
    pub fn new() -> Drops {
        Drops::default()
    }

    /// Notifications dropped so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// One more notification dropped, because of `why`.
    pub fn drop_one(&self, why: &str) {
        let total = self.count.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        // A poisoned lock only means another thread panicked while logging: log anyway.
        let mut last = match self.last_logged.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.is_none_or(|at| at.elapsed() >= DROP_LOG_INTERVAL) {
            *last = Some(Instant::now());
            tracing::warn!("notify: notification dropped ({why}); {total} dropped so far");
        }
    }
}

/// What the methods need from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How `mailto` sends (`sendmail`).
    pub sendmail: Sendmail,
    /// `notify_mailto_rate`: mails per user per hour at most.
    pub mailto_rate: u32,
    /// `notify_external`: the program `external` runs.
    pub external: Option<PathBuf>,
    /// `notify_external_timeout`.
    pub external_timeout: Duration,
    /// `notify_external_max`: programs running at once at most.
    pub external_max: usize,
    /// `notify_webhook_url`.
    pub webhook_url: String,
    /// `notify_webhook_retry_min` and `notify_webhook_retry_max`.
    pub webhook_retry_min: Duration,
    pub webhook_retry_max: Duration,
    /// `notify_webhook_queue_max`: entries in the on-disk queue at most.
    pub webhook_queue_max: u64,
    /// Where the webhook's on-disk queue lives (`{configdirectory}/notify/webhook`).
    pub webhook_dir: PathBuf,
}

/// A notification method: runs on a worker thread of its own, taking notifications from
/// `queue` until every sender is gone.
pub trait Method: Send + 'static {
    /// Sends what arrives on `queue`; drops (counting in `drops`) what it cannot send.
    fn run(self: Box<Self>, queue: Receiver<Notification>, drops: Arc<Drops>);
}

/// Checks that `method` can run with `settings` (its options are set and valid).
pub fn check(method: MethodName, settings: &Settings) -> Result<(), String> {
    match method {
        MethodName::Log | MethodName::Mailto => Ok(()),
        MethodName::External => match &settings.external {
            Some(path) if path.is_absolute() => Ok(()),
            Some(path) => Err(format!(
                "notify_external: {} is not an absolute path",
                path.display()
            )),
            None => {
                Err("the external method needs notify_external (a program's absolute path)".into())
            }
        },
        MethodName::Webhook => crate::webhook::Url::parse(&settings.webhook_url)
            .map(|_| ())
            .map_err(|e| format!("notify_webhook_url: {e}")),
    }
}

/// The running methods: a bounded channel to each one's worker thread.
pub struct Methods {
    senders: HashMap<MethodName, SyncSender<Notification>>,
    drops: Arc<Drops>,
}

impl Methods {
    /// Starts a worker for each of `names` (checked with [`check`] first).
    pub fn start(
        names: &[MethodName],
        settings: &Settings,
        drops: Arc<Drops>,
    ) -> Result<Methods, String> {
        let mut senders = HashMap::new();
        for &name in names {
            if senders.contains_key(&name) {
                continue;
            }
            check(name, settings)?;
            let method: Box<dyn Method> = match name {
                MethodName::Log => Box::new(crate::log::LogMethod),
                MethodName::Mailto => Box::new(crate::mailto::MailtoMethod::new(settings)),
                MethodName::External => Box::new(crate::external::ExternalMethod::new(settings)?),
                MethodName::Webhook => Box::new(crate::webhook::WebhookMethod::new(settings)?),
            };
            let (tx, rx) = sync_channel(MEMORY_QUEUE);
            let worker_drops = Arc::clone(&drops);
            std::thread::Builder::new()
                .name(format!("notify-{}", name.name()))
                .spawn(move || method.run(rx, worker_drops))
                .map_err(|e| format!("starting the {} method: {e}", name.name()))?;
            senders.insert(name, tx);
        }
        Ok(Methods { senders, drops })
    }

    /// Hands `n` to its method's queue without waiting; drops and counts it when the queue is
    /// full or the method is not running here.
    pub fn dispatch(&self, n: Notification) {
        let Some(tx) = self.senders.get(&n.method) else {
            self.drops
                .drop_one(&format!("the {} method is not configured", n.method.name()));
            return;
        };
        match tx.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => self
                .drops
                .drop_one(&format!("the {} queue is full", n.method.name())),
            Err(TrySendError::Disconnected(n)) => self
                .drops
                .drop_one(&format!("the {} method stopped", n.method.name())),
        }
    }
}
