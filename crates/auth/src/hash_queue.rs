//! The password-hashing queue. argon2id costs tens of milliseconds of CPU per check by design,
//! and anyone who can connect can ask for one. Network logins therefore hash on a few threads
//! of their own (one per core: more would only queue on the cores), fed by a bounded queue.
//! A login that finds the queue full waits for room, without holding a thread, for at most
//! [`WAIT_FOR_ROOM`]; only then is it refused (`NO [UNAVAILABLE]`). So a burst of clients
//! logging in together (everyone reconnecting after a restart) is served in turn, while a flood
//! still costs no more than one queue of hashing at a time and is refused once it outlasts the
//! wait. Tokio's blocking pool, which the store and LMTP need, never sees hashing work, so a
//! flood of logins before authentication cannot starve an authenticated session's store
//! operations.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Checks that may wait per hashing thread. One check takes ~40 ms of a core (release build,
/// default parameters), so a full queue is about 16 × 40 ms ≈ 0.6 s of waiting.
pub(crate) const WAITING_PER_WORKER: usize = 16;
/// Longest a login waits for room in a full queue before it is refused.
pub(crate) const WAIT_FOR_ROOM: Duration = Duration::from_secs(10);
/// How often a full queue is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct HashQueue {
    sender: SyncSender<Job>,
    capacity: usize,
    /// One permit per job that may be queued or running (`capacity` waiting, one per worker),
    /// held from before the job is queued until it has run.
    room: Arc<tokio::sync::Semaphore>,
    last_logged: Mutex<Option<Instant>>,
}

/// The queue is full; nothing was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl HashQueue {
    /// Starts `workers` threads (`darius-hash-N`) behind a queue of `capacity` waiting jobs.
    /// They stop when the queue is dropped.
    pub fn start(workers: usize, capacity: usize) -> std::io::Result<HashQueue> {
        let workers = workers.max(1);
        // Room for every job holding a permit (waiting, or handed over and not yet picked up
        // by an idle worker), so a job with a permit is never refused by the channel.
        let (sender, receiver) = sync_channel::<Job>(capacity + workers);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("darius-hash-{n}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(HashQueue {
            sender,
            capacity,
            room: Arc::new(tokio::sync::Semaphore::new(capacity + workers)),
            last_logged: Mutex::new(None),
        })
    }

    /// Queues `job`, waiting up to `wait` for room when the queue is full; refuses when there
    /// is still none.
    pub async fn run_waiting(
        &self,
        job: impl FnOnce() + Send + 'static,
        wait: Duration,
    ) -> Result<(), QueueFull> {
        let room = Arc::clone(&self.room);
        let permit = match room.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => match tokio::time::timeout(wait, room.acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    self.log_full();
                    return Err(QueueFull);
                }
            },
        };
        self.try_run(move || {
            job();
            drop(permit);
        })
    }

    /// Queues `job`, or refuses at once when the channel is full. Logins go through
    /// [`HashQueue::run_waiting`], whose permits keep them within the channel's room.
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
            "password hashing queue full ({} waiting) for {}s: refusing logins with NO [UNAVAILABLE] until it drains",
            self.capacity,
            WAIT_FOR_ROOM.as_secs()
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
    fn a_login_waits_for_room_and_is_refused_only_when_none_comes_in_time() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let queue = HashQueue::start(1, 1).unwrap();
        let (started_tx, started) = channel();
        let (release, released) = channel::<()>();
        let wait = Duration::from_secs(60);
        // The one worker busy, the one place in the queue taken.
        rt.block_on(queue.run_waiting(
            move || {
                started_tx.send(()).unwrap();
                let _ = released.recv();
            },
            wait,
        ))
        .unwrap();
        started.recv().unwrap();
        let (done_tx, done) = channel();
        let second = done_tx.clone();
        rt.block_on(queue.run_waiting(move || second.send("second").unwrap(), wait))
            .unwrap();
        // No room, and none comes within a short wait: refused.
        let refused = rt.block_on(queue.run_waiting(|| {}, Duration::from_millis(50)));
        assert_eq!(refused, Err(QueueFull));
        // Room comes while the third waits: it is queued and runs.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            release.send(()).unwrap();
        });
        rt.block_on(queue.run_waiting(move || done_tx.send("third").unwrap(), wait))
            .unwrap();
        releaser.join().unwrap();
        let order: Vec<&str> = (0..2)
            .map(|_| done.recv_timeout(Duration::from_secs(60)).unwrap())
            .collect();
        assert_eq!(order, ["second", "third"]);
    }

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
        // The channel holds `capacity + workers`: what run_waiting's permits can have in it.
        let also = done_tx.clone();
        queue.try_run(move || also.send("queued").unwrap()).unwrap();
        queue
            .try_run(move || done_tx.send("queued").unwrap())
            .unwrap();
        assert_eq!(queue.try_run(|| {}), Err(QueueFull), "the channel is full");
        release.send(()).unwrap();
        for _ in 0..2 {
            assert_eq!(done.recv_timeout(Duration::from_secs(60)), Ok("queued"));
        }
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
