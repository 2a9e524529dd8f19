//! `darius export maildir --user NAME DEST` and `darius export mbox --mailbox MAILBOX FILE`:
//! a user's mailboxes as a Dovecot Maildir++ tree (UIDs, UIDVALIDITY, flags, keywords,
//! dates and subscriptions kept for Dovecot), or one mailbox as an mboxrd file with the
//! state headers ([`migrate::maildir::export_user`], [`migrate::mbox::export_mailbox`]).
//! Only while the server is stopped.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;

use crate::import_maildir::{open_stopped, Report};
use crate::mailboxes::internal;

#[derive(Subcommand)]
pub enum ExportFormat {
    /// A user's mailboxes as a Maildir++ tree Dovecot reads with the same UIDs and flags.
    Maildir {
        /// The user whose mailboxes (INBOX and below) are exported.
        #[arg(long)]
        user: String,
        /// The Maildir to create (it must not exist or be empty).
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },
    /// One mailbox as an mboxrd file with Status/X-Status/X-Keywords/X-UID/X-IMAPbase.
    Mbox {
        /// The mailbox (internal name, `user.bovik.Sent`).
        #[arg(long)]
        mailbox: String,
        /// The file to create (it must not exist).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub fn run(config_path: Option<&Path>, format: ExportFormat) -> Result<()> {
    let service = open_stopped(config_path, "export")?;
    let store = service.store();
    let mut report = Report::new("export");
    let summary = match format {
        ExportFormat::Maildir { user, dest } => {
            let (user, inbox) = crate::import_maildir::user_and_inbox(&service, &user)?;
            migrate::maildir::export_user(store, &user, &inbox, &dest, &mut |e| report.event(e))?
        }
        ExportFormat::Mbox { mailbox, file } => {
            migrate::mbox::export_mailbox(store, &internal(&mailbox)?, &file, &mut |e| {
                report.event(e)
            })?
        }
    };
    report.finish(summary, "exported")
}
