//! The webhook's on-disk queue: notifications waiting to be sent, in order, surviving a
//! restart of the process.
//!
//! Layout of its directory (`{configdirectory}/notify/webhook`):
//!
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: segments, numbered in order, each a run of records (a 4-byte
//!   big-endian length, then that many bytes). New records go at the end of the last segment;
//!   a new segment starts when the last reaches [`SEGMENT_BYTES`].
//! - `head`: `SEGMENT OFFSET`, where the oldest unsent record starts; rewritten (through a
//!   rename) at most once a second or every [`HEAD_EVERY`] records, and when the sender goes
//!   idle or the queue is closed, so a busy queue costs no metadata write per record. After a
//!   crash, the records sent since the last rewrite are sent again (at-least-once). Segments
//!   wholly before it are deleted.
//! - `lock`: held (`flock`) by the one process that owns the queue.
//!
//! A torn record at the end of the last segment (a crash while writing) is cut off on open.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes a segment grows to before the next one starts.
pub const SEGMENT_BYTES: u64 = 1 << 20;

/// The largest record the queue takes.
pub const MAX_RECORD: usize = 1 << 20;

/// The most bytes of the newest records kept in memory as well (see `DiskQueue::tail`).
const TAIL_BYTES: usize = 4 << 20;

/// Records sent between two rewrites of `head` at the most.
pub const HEAD_EVERY: u32 = 1000;

/// Time between two rewrites of `head` at the most while records are being sent.
pub const HEAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The queue (see the module documentation).
#[derive(Debug)]
pub struct DiskQueue {
    dir: PathBuf,
    _lock: File,
    /// Segment numbers, oldest first; the head is in the first, new records go to the last.
    segments: VecDeque<u64>,
    head_offset: u64,
    /// The last segment, open for appending, and its size.
    writer: Option<(File, u64)>,
    /// The head's segment, open for reading, and the offset its file position is at.
    reader: Option<(u64, File, u64)>,
    /// Copies of the newest records, the queue's last `tail.len()` (up to [`TAIL_BYTES`]):
    /// while the sender keeps up they are all there is, and are sent without reading them back.
    tail: VecDeque<Vec<u8>>,
    tail_bytes: usize,
    /// Records removed since `head` was last written, and when it was.
    unsaved: u32,
    saved_at: std::time::Instant,
    len: u64,
}

impl DiskQueue {
    /// Opens (creating) the queue in `dir`, waiting for the lock if another process holds it.
    pub fn open(dir: &Path) -> std::io::Result<DiskQueue> {
        std::fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        lock.lock()?;
        let mut segments: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        segments.sort_unstable();
        let (head_segment, mut head_offset) = read_head(dir).unwrap_or((0, 0));
        for &id in segments.iter().filter(|&&id| id < head_segment) {
            std::fs::remove_file(segment_path(dir, id))?;
        }
        segments.retain(|&id| id >= head_segment);
        if segments.first() != Some(&head_segment) {
            head_offset = 0;
        }
        let mut queue = DiskQueue {
            dir: dir.to_path_buf(),
            _lock: lock,
            segments: segments.into(),
            head_offset,
            writer: None,
            reader: None,
            tail: VecDeque::new(),
            tail_bytes: 0,
            unsaved: 0,
            saved_at: std::time::Instant::now(),
            len: 0,
        };
        queue.count()?;
        Ok(queue)
    }

    /// Records waiting.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Counts the records from the head on, cutting a torn one off the last segment.
    fn count(&mut self) -> std::io::Result<()> {
        let last = self.segments.back().copied();
        for (i, &id) in self.segments.iter().enumerate() {
            let mut file = File::open(segment_path(&self.dir, id))?;
            let size = file.metadata()?.len();
            let mut at = if i == 0 { self.head_offset } else { 0 };
            loop {
                let mut header = [0u8; 4];
                if at + 4 > size || file.seek(SeekFrom::Start(at)).is_err() {
                    break;
                }
                file.read_exact(&mut header)?;
                let n = u64::from(u32::from_be_bytes(header));
                if at + 4 + n > size {
                    break;
                }
                at += 4 + n;
                self.len += 1;
            }
            if Some(id) == last && at < size {
                let file = OpenOptions::new()
                    .write(true)
                    .open(segment_path(&self.dir, id))?;
                file.set_len(at)?;
            }
        }
        Ok(())
    }

    /// Appends `record` (not yet synced: see [`DiskQueue::sync`]).
    pub fn push(&mut self, record: &[u8]) -> std::io::Result<()> {
        let n = u32::try_from(record.len())
            .ok()
            .filter(|_| record.len() <= MAX_RECORD)
            .ok_or_else(|| std::io::Error::other("record too large"))?;
        let full = self
            .writer
            .as_ref()
            .is_some_and(|(_, size)| *size >= SEGMENT_BYTES);
        if self.writer.is_none() || full {
            let reuse = self.segments.back().copied().filter(|&id| {
                !full
                    && std::fs::metadata(segment_path(&self.dir, id))
                        .is_ok_and(|m| m.len() < SEGMENT_BYTES)
            });
            let id = match reuse {
                Some(id) => id,
                None => {
                    let id = self.segments.back().map_or(1, |id| id + 1);
                    self.segments.push_back(id);
                    id
                }
            };
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, id))?;
            let size = file.metadata()?.len();
            self.writer = Some((file, size));
        }
        let mut bytes = Vec::with_capacity(4 + record.len());
        bytes.extend_from_slice(&n.to_be_bytes());
        bytes.extend_from_slice(record);
        if let Some((file, size)) = &mut self.writer {
            file.write_all(&bytes)?;
            *size += bytes.len() as u64;
        }
        self.len += 1;
        if self.tail_bytes + record.len() > TAIL_BYTES {
            // Still the queue's newest records, only fewer of them.
            self.tail.clear();
            self.tail_bytes = 0;
        }
        self.tail_bytes += record.len();
        self.tail.push_back(record.to_vec());
        Ok(())
    }

    /// Makes the appended records durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        match &self.writer {
            Some((file, _)) => file.sync_data(),
            None => Ok(()),
        }
    }

    /// The oldest record, if any.
    pub fn peek(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.len == 0 {
            return Ok(None);
        }
        if self.tail.len() as u64 == self.len {
            return Ok(self.tail.front().cloned());
        }
        self.settle()?;
        let Some(&id) = self.segments.front() else {
            return Ok(None);
        };
        let reusable = matches!(&self.reader, Some((at, _, _)) if *at == id);
        if !reusable {
            self.reader = Some((id, File::open(segment_path(&self.dir, id))?, 0));
        }
        let head_offset = self.head_offset;
        let Some((_, file, position)) = &mut self.reader else {
            return Ok(None);
        };
        if *position != head_offset {
            file.seek(SeekFrom::Start(head_offset))?;
            *position = head_offset;
        }
        let mut header = [0u8; 4];
        file.read_exact(&mut header)?;
        let n = u32::from_be_bytes(header) as usize;
        if n > MAX_RECORD {
            self.reader = None;
            return Err(std::io::Error::other("corrupt queue record"));
        }
        let mut record = vec![0; n];
        let read = file.read_exact(&mut record);
        *position = head_offset + 4 + n as u64;
        if let Err(e) = read {
            self.reader = None;
            return Err(e);
        }
        Ok(Some(record))
    }

    /// Removes the oldest record, `record_len` bytes long (as [`DiskQueue::peek`] gave it);
    /// `head` is rewritten only now and then (see the module documentation; the owner calls
    /// [`DiskQueue::save_head`] when it goes idle).
    pub fn pop(&mut self, record_len: usize) -> std::io::Result<()> {
        if self.tail.len() as u64 == self.len {
            if let Some(r) = self.tail.pop_front() {
                self.tail_bytes -= r.len();
            }
        }
        self.head_offset += 4 + record_len as u64;
        self.len = self.len.saturating_sub(1);
        self.unsaved += 1;
        self.settle()?;
        if self.unsaved >= HEAD_EVERY || self.saved_at.elapsed() >= HEAD_INTERVAL {
            self.save_head()?;
        }
        Ok(())
    }

    /// Whether records were removed since `head` was last written.
    pub fn head_unsaved(&self) -> bool {
        self.unsaved > 0
    }

    /// Writes `head` if records were removed since it was last written.
    pub fn save_head(&mut self) -> std::io::Result<()> {
        if self.unsaved == 0 {
            return Ok(());
        }
        let id = self.segments.front().copied().unwrap_or(0);
        let tmp = self.dir.join("head.tmp");
        std::fs::write(&tmp, format!("{id} {}\n", self.head_offset))?;
        std::fs::rename(&tmp, self.dir.join("head"))?;
        self.unsaved = 0;
        self.saved_at = std::time::Instant::now();
        Ok(())
    }

    /// Moves the head past wholly read segments (deleting them) while a later one exists.
    fn settle(&mut self) -> std::io::Result<()> {
        while self.segments.len() > 1 {
            let Some(&id) = self.segments.front() else {
                break;
            };
            let size = std::fs::metadata(segment_path(&self.dir, id))?.len();
            if self.head_offset < size {
                break;
            }
            // The head moves to the next segment before this one goes: `head` never names
            // a deleted segment with an offset into it.
            self.segments.pop_front();
            self.head_offset = 0;
            self.reader = None;
            self.unsaved = self.unsaved.max(1);
            self.save_head()?;
            std::fs::remove_file(segment_path(&self.dir, id))?;
        }
        Ok(())
    }
}

impl Drop for DiskQueue {
    /// A queue closed in order leaves `head` exact: nothing is sent twice after a restart.
    fn drop(&mut self) {
        if let Err(e) = self.save_head() {
            tracing::warn!("notify: webhook: saving the queue's head: {e}");
        }
    }
}

/// A segment's file.
fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// The `head` file's segment and offset.
fn read_head(dir: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(dir.join("head")).ok()?;
    let (segment, offset) = text.trim().split_once(' ')?;
    Some((segment.parse().ok()?, offset.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_come_back_in_order_across_reopen_and_segments() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; 300_000];
        {
            let mut q = DiskQueue::open(dir.path()).unwrap();
            for i in 0..10u8 {
                let mut r = big.clone();
                r[0] = i;
                q.push(&r).unwrap();
            }
            assert_eq!(q.len(), 10);
            for i in 0..4u8 {
                let r = q.peek().unwrap().unwrap();
                assert_eq!(r[0], i);
                q.pop(r.len()).unwrap();
            }
        }
        let mut q = DiskQueue::open(dir.path()).unwrap();
        assert_eq!(q.len(), 6);
        q.push(b"last").unwrap();
        for i in 4..10u8 {
            let r = q.peek().unwrap().unwrap();
            assert_eq!(r[0], i);
            q.pop(r.len()).unwrap();
        }
        assert_eq!(q.peek().unwrap().unwrap(), b"last");
        q.pop(4).unwrap();
        assert!(q.is_empty());
        assert!(q.peek().unwrap().is_none());
    }

    #[test]
    fn head_is_exact_after_a_close_and_behind_only_by_records_sent_since_its_last_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = DiskQueue::open(dir.path()).unwrap();
        for i in 0..5u8 {
            q.push(&[i]).unwrap();
        }
        for _ in 0..2 {
            let r = q.peek().unwrap().unwrap();
            q.pop(r.len()).unwrap();
        }
        drop(q);
        // Closed in order: exactly the three unsent remain.
        let mut q = DiskQueue::open(dir.path()).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(q.peek().unwrap().unwrap(), [2]);
        let saved = read_head(dir.path());
        q.pop(1).unwrap();
        // A crash now (before `head` is rewritten) would start again at the record just
        // sent: sent twice, none lost.
        assert_eq!(read_head(dir.path()), saved);
        drop(q);
        let q = DiskQueue::open(dir.path()).unwrap();
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn a_torn_record_at_the_end_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut q = DiskQueue::open(dir.path()).unwrap();
            q.push(b"one").unwrap();
        }
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[0, 0, 0, 9, b'a']).unwrap();
        drop(f);
        let mut q = DiskQueue::open(dir.path()).unwrap();
        assert_eq!(q.len(), 1);
        q.push(b"two").unwrap();
        assert_eq!(q.peek().unwrap().unwrap(), b"one");
        q.pop(3).unwrap();
        assert_eq!(q.peek().unwrap().unwrap(), b"two");
    }
}
