//! Command encoder, continued: the administration commands (ACL RFC 4314, QUOTA RFC 9208,
//! METADATA RFC 5464, Cyrus RECONSTRUCT and XFER).

use super::encode::Enc;
use super::{Mailbox, MetadataEntry, MetadataOptions, Recursion};

impl Enc {
    /// ` root (RESOURCE limit ...)`
    pub(super) fn set_quota(&self, out: &mut Vec<u8>, root: &str, limits: &[(String, u64)]) {
        self.astrings(out, &[root.as_bytes()]);
        let list: Vec<String> = limits.iter().map(|(r, n)| format!("{r} {n}")).collect();
        Self::put(out, &format!(" ({})", list.join(" ")));
    }

    /// ` mailbox [RECURSIVE]`
    pub(super) fn reconstruct(&self, out: &mut Vec<u8>, mailbox: &Mailbox, recursion: Recursion) {
        self.sp_mailbox(out, mailbox);
        match recursion {
            Recursion::Single => {}
            Recursion::Recursive => Self::put(out, " RECURSIVE"),
        }
    }

    /// ` mailbox server [partition]`
    pub(super) fn xfer(
        &self,
        out: &mut Vec<u8>,
        mailbox: &Mailbox,
        server: &str,
        partition: Option<&str>,
    ) {
        self.sp_mailbox(out, mailbox);
        self.astrings(out, &[server.as_bytes()]);
        if let Some(partition) = partition {
            self.astrings(out, &[partition.as_bytes()]);
        }
    }

    /// ` mailbox (entry value ...)`
    pub(super) fn setmetadata(
        &self,
        out: &mut Vec<u8>,
        mailbox: &Mailbox,
        entries: &[MetadataEntry],
    ) {
        self.sp_mailbox(out, mailbox);
        out.extend_from_slice(b" (");
        for (i, (entry, value)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.astring(out, entry.as_bytes());
            out.push(b' ');
            match value {
                Some(v) => self.string(out, v),
                None => Self::put(out, "NIL"),
            }
        }
        out.push(b')');
    }

    pub(super) fn getmetadata(
        &self,
        out: &mut Vec<u8>,
        mailbox: &Mailbox,
        options: &MetadataOptions,
        entries: &[String],
    ) {
        let mut opts = Vec::new();
        if let Some(size) = options.max_size {
            opts.push(format!("MAXSIZE {size}"));
        }
        if let Some(depth) = options.depth {
            opts.push(format!("DEPTH {}", depth.as_str()));
        }
        if !opts.is_empty() {
            Self::put(out, &format!(" ({})", opts.join(" ")));
        }
        self.sp_mailbox(out, mailbox);
        out.extend_from_slice(b" (");
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.astring(out, entry.as_bytes());
        }
        out.push(b')');
    }
}
