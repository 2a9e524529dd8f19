//! The `external` method: runs `notify_external` without a shell, with Cyrus's arguments
//! (`-c CLASS -p PRIORITY -u USER -m MAILBOX`, then `-f FROM` when a Sieve script gave one),
//! the notification's JSON and a newline on its standard input. A run that outlasts
//! `notify_external_timeout` is killed; at most `notify_external_max` run at once, the rest
//! wait in the method's bounded queue (dropped and counted when it is full).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::method::{Drops, Method, Settings};
use crate::Notification;

/// How often a running program is checked for its exit.
const POLL: Duration = Duration::from_millis(20);

/// `external` (see the module documentation).
pub struct ExternalMethod {
    program: PathBuf,
    timeout: Duration,
    max: usize,
}

impl ExternalMethod {
    /// The method from `notify_external`, `notify_external_timeout`, `notify_external_max`.
    pub fn new(settings: &Settings) -> Result<ExternalMethod, String> {
        let program = settings
            .external
            .clone()
            .ok_or("the external method needs notify_external")?;
        Ok(ExternalMethod {
            program,
            timeout: settings.external_timeout,
            max: settings.external_max.max(1),
        })
    }
}

/// Programs running now, and the signal that one ended.
type Running = Arc<(Mutex<usize>, Condvar)>;

impl Method for ExternalMethod {
    fn run(self: Box<Self>, queue: Receiver<Notification>, _drops: Arc<Drops>) {
        let running: Running = Arc::new((Mutex::new(0), Condvar::new()));
        let this = Arc::new(*self);
        for n in queue {
            {
                let (count, ended) = &*running;
                let Ok(mut count) = count.lock() else {
                    return;
                };
                while *count >= this.max {
                    count = match ended.wait(count) {
                        Ok(count) => count,
                        Err(_) => return,
                    };
                }
                *count += 1;
            }
            let this = Arc::clone(&this);
            let slot = Arc::clone(&running);
            let spawned = std::thread::Builder::new()
                .name("notify-external-run".into())
                .spawn(move || {
                    this.run_one(&n);
                    release(&slot);
                });
            if let Err(e) = spawned {
                tracing::warn!("notify: external: cannot start a thread: {e}");
                release(&running);
            }
        }
    }
}

/// One program fewer running.
fn release(running: &Running) {
    let (count, ended) = &**running;
    if let Ok(mut count) = count.lock() {
        *count = count.saturating_sub(1);
        ended.notify_one();
    }
}

impl ExternalMethod {
    /// Runs the program for `n` and waits for it, at most the timeout.
    fn run_one(&self, n: &Notification) {
        let mut command = Command::new(&self.program);
        command
            .args(["-c", n.class.name(), "-p", n.priority, "-u", &n.user])
            .args(["-m", &n.mailbox]);
        if !n.from.is_empty() {
            command.args(["-f", &n.from]);
        }
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!("notify: external: {}: {e}", self.program.display());
                return;
            }
        };
        // The input is written from a thread of its own, so a program that never reads it
        // still meets the timeout.
        let input = child.stdin.take().map(|mut stdin| {
            let text = format!("{}\n", n.message);
            std::thread::spawn(move || {
                let _ = stdin.write_all(text.as_bytes());
            })
        });
        self.wait(&mut child, n);
        if let Some(writer) = input {
            let _ = writer.join();
        }
    }

    /// Waits for `child` until the timeout, then kills it.
    fn wait(&self, child: &mut Child, n: &Notification) {
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return,
                Ok(Some(status)) => {
                    tracing::warn!(
                        "notify: external: {} for {}: {status}",
                        self.program.display(),
                        n.user
                    );
                    return;
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    tracing::warn!(
                        "notify: external: {} for {} killed after {} s",
                        self.program.display(),
                        n.user,
                        self.timeout.as_secs()
                    );
                    return;
                }
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => {
                    tracing::warn!("notify: external: waiting: {e}");
                    return;
                }
            }
        }
    }
}
