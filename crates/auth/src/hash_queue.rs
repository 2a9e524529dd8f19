//! The password-hashing queue. argon2id costs tens of milliseconds of CPU per check by design,
//! and anyone who can connect can ask for one. Network logins therefore hash on a few threads
//! of their own (one per core: more would only queue on the cores), fed by a bounded queue:
//! when it is full a login is refused at once (`NO [UNAVAILABLE]`) instead of waiting. Tokio's
//! blocking pool, which the store and LMTP need, never sees hashing work, so a flood of logins
//! before authentication cannot starve an authenticated session's store operations.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Checks that may wait per hashing thread. One check takes ~40 ms of a core (release build,
/// default parameters), so a full queue is about 16 × 40 ms ≈ 0.6 s of waiting.
pub(crate) const WAITING_PER_WORKER: usize = 16;
/// How often a full queue is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct HashQueue {
    sender: SyncSender<Job>,
    capacity: usize,
    last_logged: Mutex<Option<Instant>>,
}

/// The queue is full; nothing was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl HashQueue {
    /// Starts `workers` threads (`darius-hash-N`) behind a queue of `capacity` waiting jobs.
    /// They stop when the queue is dropped.
    pub fn start(workers: usize, capacity: usize) -> std::io::Result<HashQueue> {
        let (sender, receiver) = sync_channel::<Job>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("darius-hash-{n}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(HashQueue {
            sender,
            capacity,
            last_logged: Mutex::new(None),
        })
    }

    /// Queues `job`, or refuses at once when `capacity` jobs are already waiting.
    pub fn try_run(&self, job: impl FnOnce() + Send + 'static) -> Result<(), QueueFull> {
        match self.sender.try_send(Box::new(job)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.log_full();
                Err(QueueFull)
            }
        }
    }

    fn log_full(&self) {
        let mut last = self.last_logged.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            severity = "warning",
            "password hashing queue full ({} waiting): refusing logins with NO [UNAVAILABLE] until it drains",
            self.capacity
        );
    }
}

/// One hashing thread: runs jobs until the queue is gone. A job that panics is dropped (its
/// caller sees its answer channel closed) and the thread goes on.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.recv()
        };
        match job {
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_full_queue_refuses_at_once_and_queued_jobs_still_run() {
        let queue = HashQueue::start(1, 1).unwrap();
        let (started_tx, started) = channel();
        let (release, released) = channel::<()>();
        queue
            .try_run(move || {
                started_tx.send(()).unwrap();
                let _ = released.recv();
            })
            .unwrap();
        started.recv().unwrap(); // the one worker is busy
        let (done_tx, done) = channel();
        queue
            .try_run(move || done_tx.send("queued").unwrap())
            .unwrap();
        assert_eq!(
            queue.try_run(|| {}),
            Err(QueueFull),
            "one waiting job fills it"
        );
        release.send(()).unwrap();
        assert_eq!(done.recv_timeout(Duration::from_secs(60)), Ok("queued"));
    }

    #[test]
    fn jobs_run_on_the_hashing_threads_and_survive_a_panic() {
        let queue = HashQueue::start(2, 4).unwrap();
        queue.try_run(|| panic!("a bad job")).unwrap();
        let (tx, rx) = channel();
        for _ in 0..3 {
            let tx = tx.clone();
            queue
                .try_run(move || {
                    let name = std::thread::current().name().map(str::to_string);
                    tx.send(name).unwrap();
                })
                .unwrap();
        }
        for _ in 0..3 {
            let name = rx.recv_timeout(Duration::from_secs(60)).unwrap().unwrap();
            assert!(name.starts_with("darius-hash-"), "{name}");
        }
    }
}
