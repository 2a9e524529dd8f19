//! Listing a large prefix page by page, as one consistent snapshot.

use crate::client::Client;
use crate::error::Result;
use crate::kv::{prefix_range, KeyValue, RangeRequest};

/// The pages of every key under a prefix, all read at the revision of the first page, so the
/// listing is a snapshot even while others write. Only one page is held at a time.
///
/// If the revision is compacted away before the last page, the next page fails with an
/// error whose [`crate::Error::is_compacted`] is true: list again.
#[derive(Debug)]
pub struct RangePages {
    client: Client,
    /// The first key of the next page; `None` once the listing is complete.
    next_key: Option<Vec<u8>>,
    range_end: Vec<u8>,
    page: i64,
    keys_only: bool,
    /// The snapshot's revision, known after the first page.
    revision: i64,
}

impl RangePages {
    /// The pages of every key starting with `prefix`, `page` keys at a time (at least 1).
    pub(crate) fn new(client: Client, prefix: &[u8], page: usize) -> RangePages {
        let (key, range_end) = prefix_range(prefix);
        RangePages {
            client,
            next_key: Some(key),
            range_end,
            page: i64::try_from(page.max(1)).unwrap_or(i64::MAX),
            keys_only: false,
            revision: 0,
        }
    }

    /// The same listing without values.
    pub fn keys_only(self) -> RangePages {
        RangePages {
            keys_only: true,
            ..self
        }
    }

    /// The revision the listing reads at (0 before the first page).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The next page, in key order, or `None` after the last. An empty prefix gives no page.
    pub async fn next(&mut self) -> Result<Option<Vec<KeyValue>>> {
        let Some(key) = self.next_key.take() else {
            return Ok(None);
        };
        let request = RangeRequest {
            key: key.clone(),
            range_end: self.range_end.clone(),
            limit: self.page,
            revision: self.revision,
            keys_only: self.keys_only,
            ..RangeRequest::default()
        };
        let response = match self.client.range(request).await {
            Ok(r) => r,
            Err(e) => {
                // Keep the position so the caller may try the same page again.
                self.next_key = Some(key);
                return Err(e);
            }
        };
        if self.revision == 0 {
            self.revision = response.header.revision;
        }
        if response.more {
            if let Some(last) = response.kvs.last() {
                let mut after = last.key.clone();
                after.push(0);
                self.next_key = Some(after);
            }
        }
        if response.kvs.is_empty() {
            return Ok(None);
        }
        Ok(Some(response.kvs))
    }
}

impl Client {
    /// Every key starting with `prefix`, `page` keys at a time, at one revision (see
    /// [`RangePages`]).
    pub fn range_prefix_all(&self, prefix: &[u8], page: usize) -> RangePages {
        RangePages::new(self.clone(), prefix, page)
    }
}
