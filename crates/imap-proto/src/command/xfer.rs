//! Darius's private commands for moving a mailbox between the backends of a Murder (XFER,
//! docs/murder.md): the source backend, logged in at the target as an administrator, sends
//! each mailbox with these. The target offers them (capability `X-DARIUS-XFER`) to
//! administrators only. Mailbox names here are internal names (`user.ann.Sent`), as the
//! mailboxes database writes them, not a client's view.
//!
//! ```text
//! xfer-prepare = "XFERPREPARE" SP astring SP uidvalidity SP nz-number SP mod-sequence-value
//!                SP (astring / nil) SP astring SP "(" [astring *(SP astring)] ")"
//!                ; name, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, partition, ACL, special use
//! xfer-msg     = "XFERMSG" SP astring SP nz-number SP date-time SP flag-list SP literal
//! xfer-flags   = "XFERFLAGS" SP astring 1*(SP nz-number SP flag-list)
//! xfer-expunge = "XFEREXPUNGE" SP astring SP sequence-set
//! xfer-commit  = "XFERCOMMIT" SP astring SP nz-number          ; final UIDNEXT
//! xfer-done    = "XFERDONE" SP astring
//! xfer-abort   = "XFERABORT" SP astring
//! xfer-sieve   = "XFERSIEVE" SP astring SP astring SP ("ACTIVE" / "INACTIVE") SP string
//!                ; a user's INBOX, one of the user's Sieve scripts, its text
//! ```

use types::{Flag, Uid, UidValidity};

use super::encode::Enc;
use super::AppendData;
use crate::datetime::DateTime;
use crate::framer::LiteralKind;
use crate::sequence::SequenceSet;
use crate::wire::LiteralStyle;

/// One step of a transfer (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XferStep {
    /// Creates the empty copy of a mailbox, unpublished, with the source's UID state.
    Prepare {
        mailbox: String,
        uidvalidity: UidValidity,
        /// The source's UIDNEXT when the copy began (the final one comes with `Commit`).
        uidnext: u32,
        highestmodseq: u64,
        /// `None` (NIL): the target chooses.
        partition: Option<String>,
        /// The ACL in Cyrus's stored form (`id<TAB>rights<TAB>…`).
        acl: String,
        /// RFC 6154 special-use attributes (`\Sent`).
        special_use: Vec<String>,
    },
    /// One message, under its UID, with its internal date and flags.
    Message {
        mailbox: String,
        uid: Uid,
        internal_date: DateTime,
        flags: Vec<Flag>,
        data: AppendData,
    },
    /// The flags some messages have now (each replaces the copy's).
    Flags {
        mailbox: String,
        flags: Vec<(Uid, Vec<Flag>)>,
    },
    /// Messages expunged at the source since they were sent.
    Expunge { mailbox: String, uids: SequenceSet },
    /// The copy is complete: it takes this UIDNEXT and is made durable.
    Commit { mailbox: String, uidnext: u32 },
    /// The directory names the target now: the copy is the mailbox.
    Done { mailbox: String },
    /// The transfer is given up: the copy goes.
    Abort { mailbox: String },
    /// One Sieve script of the user whose INBOX `mailbox` is (sent with the user's INBOX).
    Sieve {
        mailbox: String,
        name: String,
        active: bool,
        script: Vec<u8>,
    },
    /// One subscription (an internal mailbox name) of the user whose INBOX `mailbox` is
    /// (sent with the user's INBOX).
    Subscription { mailbox: String, name: String },
}

impl XferStep {
    /// The command's name.
    pub fn name(&self) -> &'static str {
        match self {
            XferStep::Prepare { .. } => "XFERPREPARE",
            XferStep::Message { .. } => "XFERMSG",
            XferStep::Flags { .. } => "XFERFLAGS",
            XferStep::Expunge { .. } => "XFEREXPUNGE",
            XferStep::Commit { .. } => "XFERCOMMIT",
            XferStep::Done { .. } => "XFERDONE",
            XferStep::Abort { .. } => "XFERABORT",
            XferStep::Sieve { .. } => "XFERSIEVE",
            XferStep::Subscription { .. } => "XFERSUB",
        }
    }

    /// The mailbox the step is about.
    pub fn mailbox(&self) -> &str {
        match self {
            XferStep::Prepare { mailbox, .. }
            | XferStep::Message { mailbox, .. }
            | XferStep::Flags { mailbox, .. }
            | XferStep::Expunge { mailbox, .. }
            | XferStep::Commit { mailbox, .. }
            | XferStep::Done { mailbox }
            | XferStep::Abort { mailbox }
            | XferStep::Sieve { mailbox, .. }
            | XferStep::Subscription { mailbox, .. } => mailbox,
        }
    }
}

impl Enc {
    /// The arguments of a transfer step; a spooled message gets only its literal header.
    pub(super) fn xfer_step(&self, out: &mut Vec<u8>, step: &XferStep) {
        out.push(b' ');
        self.astring(out, step.mailbox().as_bytes());
        match step {
            XferStep::Prepare {
                uidvalidity,
                uidnext,
                highestmodseq,
                partition,
                acl,
                special_use,
                ..
            } => {
                Self::put(out, &format!(" {uidvalidity} {uidnext} {highestmodseq} "));
                match partition {
                    Some(p) => self.astring(out, p.as_bytes()),
                    None => Self::put(out, "NIL"),
                }
                out.push(b' ');
                self.astring(out, acl.as_bytes());
                out.extend_from_slice(b" (");
                for (i, s) in special_use.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    self.astring(out, s.as_bytes());
                }
                out.push(b')');
            }
            XferStep::Message {
                uid,
                internal_date,
                flags,
                data,
                ..
            } => {
                Self::put(out, &format!(" {uid} \"{internal_date}\" "));
                flag_list(out, flags);
                out.push(b' ');
                match data {
                    AppendData::Inline { data, kind } => {
                        literal_header(out, *kind, data.len() as u64, self.style);
                        out.extend_from_slice(data);
                    }
                    AppendData::Spooled { len, kind, .. } => {
                        literal_header(out, *kind, *len, self.style);
                    }
                }
            }
            XferStep::Flags { flags, .. } => {
                for (uid, flags) in flags {
                    Self::put(out, &format!(" {uid} "));
                    flag_list(out, flags);
                }
            }
            XferStep::Expunge { uids, .. } => Self::put(out, &format!(" {uids}")),
            XferStep::Commit { uidnext, .. } => Self::put(out, &format!(" {uidnext}")),
            XferStep::Done { .. } | XferStep::Abort { .. } => {}
            XferStep::Sieve {
                name,
                active,
                script,
                ..
            } => {
                out.push(b' ');
                self.astring(out, name.as_bytes());
                Self::put(out, if *active { " ACTIVE " } else { " INACTIVE " });
                self.string(out, script);
            }
            XferStep::Subscription { name, .. } => {
                out.push(b' ');
                self.astring(out, name.as_bytes());
            }
        }
    }
}

/// `flag-list`
fn flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    let names: Vec<&str> = flags.iter().map(Flag::as_str).collect();
    Enc::put(out, &format!("({})", names.join(" ")));
}

/// `{N}` or `{N+}` (`~` first for a literal8) and CRLF.
fn literal_header(out: &mut Vec<u8>, kind: LiteralKind, len: u64, style: LiteralStyle) {
    if kind == LiteralKind::Literal8 {
        out.push(b'~');
    }
    let plus = if style == LiteralStyle::NonSync {
        "+"
    } else {
        ""
    };
    Enc::put(out, &format!("{{{len}{plus}}}\r\n"));
}
