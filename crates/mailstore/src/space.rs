//! Room for new messages: the hard ceiling on a message's size, and the free space of the file
//! systems a message is written to on its way in (the server's spool directory, where an IMAP
//! literal or a large LMTP message lands first, and the mailbox's partition).
//!
//! Servers ask before they invite data (IMAP `+`, LMTP `SIZE`, the DATA decoder's limit), so a
//! client is refused up front instead of filling the disk; the store's own writes still fail
//! cleanly if the space goes meanwhile.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use types::MailboxName;

use crate::error::{Result, StoreError};
use crate::Store;

/// The largest message the store accepts, whatever `maxmessagesize` says: the largest
/// RFC822.SIZE an IMAP4rev1 client can be told (RFC 3501 `number` is 32 bits), 4 GiB - 1.
pub const MAX_MESSAGE_SIZE: u64 = u32::MAX as u64;

/// Free space left alone on every file system the store writes to, for the indexes and the
/// databases (which must be able to commit) and for other users of the disk.
pub const FREE_SPACE_RESERVE: u64 = 64 << 20;

/// Octets an unprivileged process may still write on the file system holding `path`
/// (statvfs: available blocks × fragment size).
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(path)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// One file system a message passes through: its free octets and its device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Disk {
    pub free: u64,
    pub device: u64,
}

impl Disk {
    fn of(path: &Path) -> Result<Disk> {
        let io = |e| StoreError::io(path, e);
        Ok(Disk {
            free: free_space(path).map_err(io)?,
            device: std::fs::metadata(path).map_err(io)?.dev(),
        })
    }
}

/// The largest message that fits, spooled on `spool` and then written to each of `partitions`
/// (a message lands once per partition; one file system holding several copies must hold them
/// all), leaving [`FREE_SPACE_RESERVE`] everywhere.
pub(crate) fn room(spool: Disk, partitions: &[Disk]) -> u64 {
    let mut disks: Vec<(u64, u64)> = vec![(spool.device, spool.free)];
    let mut copies: Vec<u64> = vec![1];
    for p in partitions {
        match disks.iter().position(|(dev, _)| *dev == p.device) {
            Some(i) => copies[i] += 1,
            None => {
                disks.push((p.device, p.free));
                copies.push(1);
            }
        }
    }
    disks
        .iter()
        .zip(&copies)
        .map(|((_, free), n)| free.saturating_sub(FREE_SPACE_RESERVE) / n)
        .min()
        .unwrap_or(0)
}

impl Store {
    /// The size limit every message meets: `maxmessagesize` when configured, and never more
    /// than [`MAX_MESSAGE_SIZE`].
    pub fn message_size_limit(&self) -> u64 {
        self.inner
            .config
            .max_message_size
            .unwrap_or(MAX_MESSAGE_SIZE)
            .min(MAX_MESSAGE_SIZE)
    }

    /// The largest message that can be stored now into every mailbox of `targets` after being
    /// spooled in `spool_dir`: the size limit, and the free space of the spool's file system and
    /// of the targets' partitions (the default partition when `targets` is empty: an LMTP
    /// transaction before its recipients are known).
    pub fn room_for_message(&self, targets: &[MailboxName], spool_dir: &Path) -> Result<u64> {
        let mut partitions: Vec<String> = Vec::new();
        for name in targets {
            let p = self.mailbox_entry(name)?.partition;
            if !partitions.contains(&p) {
                partitions.push(p);
            }
        }
        if partitions.is_empty() {
            partitions.push(self.inner.partitions.default_name().to_string());
        }
        let disks = partitions
            .iter()
            .map(|p| Disk::of(self.inner.partitions.root(p)?))
            .collect::<Result<Vec<_>>>()?;
        let room = room(Disk::of(spool_dir)?, &disks);
        Ok(room.min(self.message_size_limit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn disk(free: u64, device: u64) -> Disk {
        Disk { free, device }
    }

    #[test]
    fn spool_and_partition_on_one_disk_hold_two_copies() {
        let d = disk(10 * GIB, 1);
        assert_eq!(room(d, &[d]), (10 * GIB - FREE_SPACE_RESERVE) / 2);
    }

    #[test]
    fn separate_disks_each_hold_one_copy_and_the_smallest_wins() {
        let spool = disk(10 * GIB, 1);
        let part = disk(3 * GIB, 2);
        assert_eq!(room(spool, &[part]), 3 * GIB - FREE_SPACE_RESERVE);
        let other = disk(2 * GIB, 3);
        assert_eq!(room(spool, &[part, other]), 2 * GIB - FREE_SPACE_RESERVE);
    }

    #[test]
    fn a_nearly_full_disk_has_no_room() {
        assert_eq!(room(disk(FREE_SPACE_RESERVE / 2, 1), &[disk(GIB, 2)]), 0);
    }

    #[test]
    fn free_space_of_a_real_directory_is_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_space(dir.path()).unwrap() > 0);
        assert!(free_space(&dir.path().join("missing")).is_err());
    }
}
