//! Watches: the changes to a key or a range, in revision order, from a revision on, carried
//! over a broken stream, a dead member or an etcd restart without losing or repeating one.
//!
//! A watch is one long `POST /v3/watch` whose chunked answer is a stream of JSON messages
//! (`{"result": WatchResponse}`, or `{"error": …}` when etcd ends it; see `stream`). A task
//! reads the stream into a small channel, so [`Watcher::next`] can wait for a message and a timer at
//! once. The watcher remembers the revision after the last event it delivered; when the
//! stream ends, it opens a new one at that revision on the next endpoint that answers, with
//! a back-off between tries capped at [`MAX_BACKOFF`]. It reports
//! [`WatchEvent::Compacted`] only when etcd says that revision is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::client::{is_no_leader, Client};
use crate::error::{code, Error, Result};
use crate::kv::{prefix_range, KeyValue};

mod stream;

use stream::{cancel_error, open_stream, OpenFailure, Reader, StreamItem, WireWatchResponse};

/// The longest pause between two tries to re-open a watch.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The first pause after a watch stream broke.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// After this long without a message, the watcher asks the member for its status; a member
/// that does not answer (a stalled host, a cut network) is left for another.
pub const IDLE_CHECK: Duration = Duration::from_secs(10);

/// What to watch, and from when.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchRequest {
    /// The key, or the first key of the range.
    pub key: Vec<u8>,
    /// The end of the range, excluded; empty for the one key `key`.
    pub range_end: Vec<u8>,
    /// The first revision to report (0: changes after the watch is created).
    pub start_revision: i64,
    /// Report each changed key's previous value too.
    pub prev_kv: bool,
    /// Ask etcd for periodic [`WatchEvent::Progress`] messages while nothing changes.
    pub progress_notify: bool,
}

impl WatchRequest {
    /// A watch of the one key `key`.
    pub fn key(key: &[u8]) -> WatchRequest {
        WatchRequest {
            key: key.to_vec(),
            ..WatchRequest::default()
        }
    }

    /// A watch of every key starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> WatchRequest {
        let (key, range_end) = prefix_range(prefix);
        WatchRequest {
            key,
            range_end,
            ..WatchRequest::default()
        }
    }

    /// The same watch starting at `revision`.
    pub fn from_revision(self, revision: i64) -> WatchRequest {
        WatchRequest {
            start_revision: revision,
            ..self
        }
    }

    /// The same watch reporting previous values.
    pub fn with_prev_kv(self) -> WatchRequest {
        WatchRequest {
            prev_kv: true,
            ..self
        }
    }

    /// The same watch with progress notifications.
    pub fn with_progress_notify(self) -> WatchRequest {
        WatchRequest {
            progress_notify: true,
            ..self
        }
    }
}

/// What a change did to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The key was written.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change to one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Write or deletion.
    pub kind: EventKind,
    /// The key after the change (for a deletion: the key and the deletion's revision as
    /// `mod_revision`).
    pub kv: KeyValue,
    /// The key before the change, when asked for and it existed.
    pub prev_kv: Option<KeyValue>,
}

/// What a watcher delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// Changes, in revision order; `revision` is the last one's (everything up to it has
    /// now been delivered).
    Events {
        /// The revision of the last event.
        revision: i64,
        /// The changes.
        events: Vec<Event>,
    },
    /// Nothing changed up to `revision` beyond what was delivered.
    Progress {
        /// The store's revision.
        revision: i64,
    },
    /// The revisions the watch needed are compacted away: events were missed. Reload the
    /// state (a range read gives a revision) and watch again from after it. The watcher
    /// delivers nothing else afterwards.
    Compacted {
        /// The oldest revision etcd still has.
        compact_revision: i64,
    },
}

/// What ended a wait on the live stream.
enum Wake {
    /// A message, or the end of the channel.
    Message(Option<StreamItem>),
    /// Nothing came for [`IDLE_CHECK`].
    Idle,
}

/// Whether a watcher has a live stream, readable from other tasks.
#[derive(Clone, Debug)]
pub struct WatchStatus(Arc<AtomicBool>);

impl WatchStatus {
    /// Whether the watch currently has a live stream to a member (false while it resumes:
    /// what it reports may then be stale).
    pub fn connected(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A live watch stream.
struct Live {
    /// The endpoint it is on.
    index: usize,
    messages: mpsc::Receiver<StreamItem>,
    _reader: Reader,
}

/// A watch that resumes by itself. Made by [`Client::watch`].
pub struct Watcher {
    client: Client,
    request: WatchRequest,
    /// The revision the next event must have at least; 0 until etcd says where "now" is.
    next_revision: i64,
    live: Option<Live>,
    /// The endpoint to try next when (re-)opening.
    cursor: usize,
    backoff: Duration,
    compacted: Option<i64>,
    connected: Arc<AtomicBool>,
    /// How many times the watch was re-opened after losing its stream.
    resumed: u64,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("request", &self.request)
            .field("next_revision", &self.next_revision)
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a watch, trying each endpoint once; after that the watcher resumes by itself.
    /// Fails when no endpoint answers, or etcd refuses the watch (permission, …).
    pub async fn watch(&self, request: WatchRequest) -> Result<Watcher> {
        let n = self.inner.endpoints.len();
        let mut watcher = Watcher {
            client: self.clone(),
            next_revision: request.start_revision,
            request,
            live: None,
            cursor: self.inner.preferred.load(Ordering::Relaxed) % n,
            backoff: FIRST_BACKOFF,
            compacted: None,
            connected: Arc::new(AtomicBool::new(false)),
            resumed: 0,
        };
        let mut last = String::new();
        for _ in 0..n {
            match watcher.open().await {
                Ok(()) => return Ok(watcher),
                Err(OpenFailure::Retry(reason)) => {
                    last = reason;
                    watcher.cursor = (watcher.cursor + 1) % n;
                }
                Err(OpenFailure::Final(e)) => return Err(e),
            }
        }
        Err(Error::Unavailable(last))
    }
}

impl Watcher {
    /// Whether the watch currently has a live stream (see [`WatchStatus::connected`]).
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// A handle that tells from other tasks whether the watch is connected.
    pub fn status(&self) -> WatchStatus {
        WatchStatus(Arc::clone(&self.connected))
    }

    /// The endpoint the live stream is on, as `host:port`.
    pub fn endpoint(&self) -> Option<String> {
        self.live
            .as_ref()
            .map(|l| self.client.inner.endpoints[l.index].authority.clone())
    }

    /// How many times the watch was re-opened after losing its stream.
    pub fn resumptions(&self) -> u64 {
        self.resumed
    }

    /// The revision the next delivered event will have at least (0 before etcd told where
    /// "now" is).
    pub fn next_revision(&self) -> i64 {
        self.next_revision
    }

    /// The next events, progress note or compaction. Waits through broken streams and dead
    /// members, re-opening the watch where it stopped. Errors only when etcd refuses the
    /// watch itself (permission, authentication) or answers nonsense.
    ///
    /// Cancel-safe: dropping the future loses no event (a message is taken from the stream
    /// only when it is returned).
    pub async fn next(&mut self) -> Result<WatchEvent> {
        loop {
            if let Some(compact_revision) = self.compacted {
                return Ok(WatchEvent::Compacted { compact_revision });
            }
            let Some(live) = self.live.as_mut() else {
                self.reopen().await?;
                continue;
            };
            let index = live.index;
            let woken = tokio::select! {
                item = live.messages.recv() => Wake::Message(item),
                _ = tokio::time::sleep(IDLE_CHECK) => Wake::Idle,
            };
            let item = match woken {
                Wake::Message(item) => item,
                Wake::Idle => {
                    if let Err(failure) = self.client.status_on(index).await {
                        self.disconnect(&format!("the member stopped answering: {failure:?}"));
                    }
                    continue;
                }
            };
            match item {
                None => self.disconnect("the stream reader ended"),
                Some(StreamItem::Broken(reason)) => self.disconnect(&reason),
                Some(StreamItem::Error(e)) => {
                    self.disconnect(&format!("etcd ended the watch: {} ({})", e.message, e.code))
                }
                Some(StreamItem::Response(response)) => {
                    if let Some(event) = self.take(response)? {
                        return Ok(event);
                    }
                }
            }
        }
    }

    /// What `response` on the live stream means for the caller, if anything.
    fn take(&mut self, response: WireWatchResponse) -> Result<Option<WatchEvent>> {
        if response.canceled {
            if response.compact_revision > 0 {
                self.compacted = Some(response.compact_revision);
                self.drop_stream();
                return Ok(None);
            }
            if is_no_leader(&response.cancel_reason) {
                self.disconnect(&response.cancel_reason);
                return Ok(None);
            }
            self.drop_stream();
            return Err(cancel_error(&response.cancel_reason));
        }
        if response.created {
            return Ok(None);
        }
        if response.events.is_empty() {
            let revision = response.header.revision;
            self.next_revision = self.next_revision.max(revision.saturating_add(1));
            return Ok(Some(WatchEvent::Progress { revision }));
        }
        // A resumed watch starts after the last delivered event, so nothing should come
        // twice; this keeps it so even if a member sent an old event again.
        let events: Vec<Event> = response
            .events
            .into_iter()
            .filter(|e| e.kv.mod_revision >= self.next_revision)
            .map(|e| Event {
                kind: e.kind,
                kv: e.kv,
                prev_kv: e.prev_kv,
            })
            .collect();
        let Some(last) = events.last() else {
            return Ok(None);
        };
        let revision = last.kv.mod_revision;
        self.next_revision = revision.saturating_add(1);
        Ok(Some(WatchEvent::Events { revision, events }))
    }

    /// Drops the live stream after `reason`, to be re-opened on the next endpoint.
    fn disconnect(&mut self, reason: &str) {
        if let Some(live) = &self.live {
            tracing::info!(
                endpoint = %self.client.inner.endpoints[live.index].authority,
                %reason,
                "etcd watch stream lost; resuming at revision {}",
                self.next_revision
            );
            self.cursor = (live.index + 1) % self.client.inner.endpoints.len();
        }
        self.drop_stream();
    }

    /// Drops the live stream.
    fn drop_stream(&mut self) {
        self.live = None;
        self.connected.store(false, Ordering::Relaxed);
    }

    /// Opens the watch again, endpoint after endpoint, pausing longer each round, until one
    /// answers.
    async fn reopen(&mut self) -> Result<()> {
        let n = self.client.inner.endpoints.len();
        loop {
            match self.open().await {
                Ok(()) => {
                    self.backoff = FIRST_BACKOFF;
                    self.resumed += 1;
                    return Ok(());
                }
                Err(OpenFailure::Final(e)) => return Err(e),
                Err(OpenFailure::Retry(reason)) => {
                    tracing::debug!(%reason, "etcd watch: could not resume yet");
                    self.cursor = (self.cursor + 1) % n;
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Opens a stream on the endpoint at the cursor, starting at the next revision to
    /// deliver, and waits for etcd to confirm it; re-authenticates once if etcd refuses the
    /// token.
    async fn open(&mut self) -> std::result::Result<(), OpenFailure> {
        let mut renewed = false;
        loop {
            match self.open_once().await {
                Err(OpenFailure::Final(Error::Etcd {
                    code: code::UNAUTHENTICATED,
                    ..
                })) if self.client.inner.has_credentials() && !renewed => {
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    /// One try of [`Watcher::open`].
    async fn open_once(&mut self) -> std::result::Result<(), OpenFailure> {
        let inner = Arc::clone(&self.client.inner);
        let index = self.cursor;
        let opened = open_stream(&inner, index, &self.request, self.next_revision).await?;
        let first = opened.first;
        if first.canceled && first.compact_revision == 0 {
            let at = &inner.endpoints[index].authority;
            if is_no_leader(&first.cancel_reason) {
                return Err(OpenFailure::Retry(format!("{at}: {}", first.cancel_reason)));
            }
            let error = cancel_error(&first.cancel_reason);
            if let Error::Etcd {
                code: code::UNAUTHENTICATED,
                ..
            } = error
            {
                inner.drop_token(opened.token.as_ref());
            }
            return Err(OpenFailure::Final(error));
        }
        if self.next_revision == 0 {
            // "From now": now is the revision the watch was created at.
            self.next_revision = first.header.revision.saturating_add(1);
        }
        if first.canceled {
            self.compacted = Some(first.compact_revision);
            return Ok(());
        }
        self.live = Some(Live {
            index,
            messages: opened.messages,
            _reader: opened.reader,
        });
        self.connected.store(true, Ordering::Relaxed);
        Ok(())
    }
}
