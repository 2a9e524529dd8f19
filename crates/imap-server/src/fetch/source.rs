//! Where one message's octets come from while its FETCH response is written: the bytes read
//! with its batch (small messages), or its open file, read a range at a time on the blocking
//! pool. The file is opened once per message and stays readable to the end of the response
//! even if another session expunges the message meanwhile.

use std::ops::Range;
use std::sync::Arc;

use mailservice::{MessageFile, ServiceError};

use crate::connection::Session;
use crate::output::Output;

/// Octets read from a file at once, and the most body data held in memory for one item: longer
/// data is streamed as a literal a chunk at a time.
pub(crate) const CHUNK: u64 = Output::FLUSH_AT as u64;

pub(crate) enum Source {
    Memory(Vec<u8>),
    File(Arc<MessageFile>),
}

impl Source {
    /// Octets in the message.
    pub fn len(&self) -> u64 {
        match self {
            Source::Memory(raw) => raw.len() as u64,
            Source::File(file) => file.len(),
        }
    }

    /// The octets of `range`, clamped to the message. Callers ask for at most [`CHUNK`] at a
    /// time (or a span the cache says is small), so this never holds a large message.
    pub async fn read(
        &self,
        session: &Session,
        range: Range<u64>,
    ) -> Result<Vec<u8>, ServiceError> {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        match self {
            // Both ends lie within the vector, so they fit in usize.
            Source::Memory(raw) => Ok(raw[start as usize..end as usize].to_vec()),
            Source::File(file) => {
                let file = Arc::clone(file);
                session
                    .blocking(move |_| Ok(file.read_range(start, end - start)?))
                    .await
            }
        }
    }

    /// Hands the octets of `range` to `each`, [`CHUNK`] at a time, in order: how a large
    /// section is measured (decoded or filtered) before its literal's length can be written.
    pub async fn for_each_chunk(
        &self,
        session: &Session,
        range: Range<u64>,
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), ServiceError> {
        let mut at = range.start;
        while at < range.end {
            let end = (at + CHUNK).min(range.end);
            let chunk = self.read(session, at..end).await?;
            if chunk.is_empty() {
                break;
            }
            each(&chunk);
            at = end;
        }
        Ok(())
    }
}
