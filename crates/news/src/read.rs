//! Reading the articles a feed names, several at a time. With a cold spool, reading is mostly
//! waiting for the disk, which serves several reads in flight far sooner than the same reads
//! one after the other; with a warm one, decoding spreads over the cores.
//!
//! Owns: the reader threads and the memory a round of reading holds. Must not: touch the
//! index or decide anything about an article (the [`Collector`](crate::Collector) does, in
//! feed order).

use std::sync::atomic::{AtomicUsize, Ordering};

use mailstore::{Store, StoreError};

use crate::feed::{self, Placement};

/// Reader threads of a round. More than the cores: most of a cold read is waiting.
const READERS: usize = 8;

/// A round stops taking articles once those read hold this many octets (each thread may
/// finish the article it is reading).
const ROUND_BYTES: usize = 32 << 20;

/// An article a feed line names.
#[derive(Clone, Debug)]
pub(crate) struct Named {
    /// Where its file is read: the line's first group and number.
    pub first: Placement,
    /// The line's other groups and numbers.
    pub others: Vec<Placement>,
}

/// What reading a [`Named`] article found.
#[derive(Debug)]
pub(crate) enum Article {
    /// No file (cancelled or expired before we came).
    Missing,
    /// The file could not be read or decoded.
    Unreadable(StoreError),
    Found {
        /// The message (decoded: CRLF, no dot-stuffing).
        message: Vec<u8>,
        /// When it reached the news server (the file's modification time).
        arrived: i64,
        /// Where it is filed: the first placement, then the line's others and its `Xref`
        /// field's, each once, those without a file in the spool left out.
        placements: Vec<Placement>,
    },
}

/// Reads one article, where its first placement resolves to within the spool
/// ([`Store::article_file`]).
pub(crate) fn read(store: &Store, named: &Named) -> Article {
    let (group, number) = &named.first;
    let limit = Some(store.message_size_limit());
    let read = store
        .article_file(group, *number)
        .and_then(|real| mailstore::read_article(&real, limit).map(|m| (real, m)));
    let (real, message) = match read {
        Ok(m) => m,
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Article::Missing;
        }
        Err(e) => return Article::Unreadable(e),
    };
    let arrived = std::fs::metadata(&real)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut wanted = named.others.clone();
    if let Some(body) = feed::xref_field(mailstore::header_block(&message)) {
        for p in feed::xref_placements(&body) {
            if !wanted.contains(&p) {
                wanted.push(p);
            }
        }
    }
    let mut placements = vec![named.first.clone()];
    for p in wanted {
        // A crosspost is filed (linked) in each group the news server carries; one it does
        // not carry has no file and no mailbox here.
        if !placements.contains(&p) && store.article_file(&p.0, p.1).is_ok() {
            placements.push(p);
        }
    }
    Article::Found {
        message,
        arrived,
        placements,
    }
}

/// Reads the first of `named`, in order, on up to [`READERS`] threads: as many as fit in
/// [`ROUND_BYTES`], at least one when `named` is not empty.
pub(crate) fn read_round(store: &Store, named: &[Named]) -> Vec<Article> {
    let next = AtomicUsize::new(0);
    let held = AtomicUsize::new(0);
    // Threads take the next index in turn, so the indexes taken are 0..k with no gap, and a
    // thread finishes every one it took.
    let work = || {
        let mut done = Vec::new();
        while held.load(Ordering::Relaxed) < ROUND_BYTES {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = named.get(i) else {
                break;
            };
            let article = read(store, item);
            if let Article::Found { message, .. } = &article {
                held.fetch_add(message.len(), Ordering::Relaxed);
            }
            done.push((i, article));
        }
        done
    };
    let mut slots: Vec<Option<Article>> = named.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..READERS.min(named.len()))
            .map(|_| scope.spawn(work))
            .collect();
        for handle in handles {
            // A thread that panicked leaves its articles unread: they end the round, and the
            // next round reads them again (on this thread, if no other gets further).
            for (i, article) in handle.join().unwrap_or_default() {
                if let Some(slot) = slots.get_mut(i) {
                    *slot = Some(article);
                }
            }
        }
    });
    let mut read: Vec<Article> = slots.into_iter().map_while(|a| a).collect();
    if read.is_empty() {
        if let Some(first) = named.first() {
            read.push(self::read(store, first));
        }
    }
    read
}
