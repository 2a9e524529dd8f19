//! Graceful shutdown: one [`Shutdown`] owned by the server; every accept loop and connection
//! holds a [`ShutdownSignal`]. Triggering stops the accept loops at once; connections finish the
//! command they are running and then close; [`Shutdown::drain`] waits for them, bounded.

use std::time::Duration;

use tokio::sync::watch;

pub struct Shutdown {
    trigger: watch::Sender<bool>,
}

/// A cheap handle that tells whether shutdown has begun, and keeps the drain waiting while alive.
#[derive(Clone)]
pub struct ShutdownSignal {
    watch: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        let (trigger, _) = watch::channel(false);
        Shutdown { trigger }
    }

    pub fn signal(&self) -> ShutdownSignal {
        ShutdownSignal {
            watch: self.trigger.subscribe(),
        }
    }

    /// Begins shutdown: every signal's `wait` returns.
    pub fn trigger(&self) {
        self.trigger.send_replace(true);
    }

    /// Waits until every signal handed out has been dropped, or `limit` passes. Returns how many
    /// were still alive when it gave up (0 when all finished).
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while self.trigger.receiver_count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return self.trigger.receiver_count();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        0
    }
}

impl ShutdownSignal {
    pub fn is_triggered(&self) -> bool {
        *self.watch.borrow()
    }

    /// Resolves when shutdown begins (at once if it has).
    pub async fn wait(&mut self) {
        // An error means the `Shutdown` is gone, which is shutdown too.
        let _ = self.watch.wait_for(|triggered| *triggered).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_signals_to_drop() {
        let shutdown = Shutdown::new();
        let mut signal = shutdown.signal();
        let task = tokio::spawn(async move {
            signal.wait().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        shutdown.trigger();
        assert_eq!(shutdown.drain(Duration::from_secs(5)).await, 0);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn drain_gives_up_after_its_limit() {
        let shutdown = Shutdown::new();
        let _stuck = shutdown.signal();
        shutdown.trigger();
        assert_eq!(shutdown.drain(Duration::from_millis(50)).await, 1);
    }
}
