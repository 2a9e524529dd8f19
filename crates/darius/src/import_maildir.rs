//! `darius import maildir` and `darius import mbox`: another server's mail into the store,
//! keeping UIDVALIDITY, UIDs, flags, keywords, dates and subscriptions
//! ([`migrate::maildir`], [`migrate::mbox`]).
//!
//! - `import maildir --user NAME PATH`: a Dovecot Maildir++ tree into `user.NAME` and below;
//!   `import maildir --mailbox MAILBOX PATH`: one Maildir folder into one new mailbox.
//! - `import mbox --mailbox MAILBOX FILE`: one mbox file; `import mbox --user NAME DIR`: a
//!   Dovecot/UW mbox directory (`inbox` and the other files).
//!
//! Only while the server is stopped (the store it holds open is the one written). A mailbox
//! that exists already is refused with a line and the others go on; the exit status is then
//! 1. Progress goes to standard error (a bar on a terminal), the summary to standard output.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use migrate::feed::{Event, Summary};
use migrate::mbox::Quoting;
use types::MailboxName;

use crate::mailboxes::internal;

/// `import maildir`.
#[derive(Args)]
pub struct MaildirArgs {
    /// Import the whole Maildir++ tree into this user's mailboxes (INBOX included).
    #[arg(long, conflicts_with = "mailbox", required_unless_present = "mailbox")]
    user: Option<String>,
    /// Import one Maildir folder into this new mailbox (internal name, `user.bovik.Sent`).
    #[arg(long)]
    mailbox: Option<String>,
    /// The Maildir: the root of the tree with --user, the folder with --mailbox.
    #[arg(value_name = "PATH")]
    path: PathBuf,
}

/// `import mbox`.
#[derive(Args)]
pub struct MboxArgs {
    /// Import a Dovecot/UW mbox directory (`inbox` and the other files) into this user's
    /// mailboxes.
    #[arg(long, conflicts_with = "mailbox", required_unless_present = "mailbox")]
    user: Option<String>,
    /// Import one mbox file into this new mailbox (internal name).
    #[arg(long)]
    mailbox: Option<String>,
    /// How `From ` lines in bodies were quoted: mboxrd (`>From `, `>>From `… lose one `>`),
    /// mboxo (only `>From `), or none (Dovecot's own mbox files).
    #[arg(long, value_enum, default_value = "mboxrd")]
    quoting: QuotingArg,
    /// The mbox file with --mailbox, the directory with --user.
    #[arg(value_name = "PATH")]
    path: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum QuotingArg {
    Mboxrd,
    Mboxo,
    None,
}

pub fn run_maildir(config_path: Option<&Path>, args: MaildirArgs) -> Result<()> {
    let service = open_stopped(config_path, "import")?;
    let store = service.store();
    let mut report = Report::new("import");
    let result = match (&args.user, &args.mailbox) {
        (Some(user), _) => {
            let (user, inbox) = user_and_inbox(&service, user)?;
            migrate::maildir::import_user(store, &user, &inbox, &args.path, &mut |e| {
                report.event(e)
            })
        }
        (None, Some(mailbox)) => {
            migrate::maildir::import_folder(store, internal(mailbox)?, &args.path, &mut |e| {
                report.event(e)
            })
        }
        (None, None) => bail!("give --user or --mailbox"),
    };
    report.finish(result?, "imported")
}

pub fn run_mbox(config_path: Option<&Path>, args: MboxArgs) -> Result<()> {
    let service = open_stopped(config_path, "import")?;
    let store = service.store();
    let quoting = match args.quoting {
        QuotingArg::Mboxrd => Quoting::Mboxrd,
        QuotingArg::Mboxo => Quoting::Mboxo,
        QuotingArg::None => Quoting::None,
    };
    let mut report = Report::new("import");
    let result = match (&args.user, &args.mailbox) {
        (Some(user), _) => {
            let (user, inbox) = user_and_inbox(&service, user)?;
            migrate::mbox::import_user(store, &user, &inbox, &args.path, quoting, &mut |e| {
                report.event(e)
            })
        }
        (None, Some(mailbox)) => {
            let name: MailboxName = internal(mailbox)?;
            migrate::mbox::import_file(store, name, &args.path, quoting, &mut |e| report.event(e))
        }
        (None, None) => bail!("give --user or --mailbox"),
    };
    report.finish(result?, "imported")
}

/// The store, opened here: refused while a server runs on it.
pub(crate) fn open_stopped(
    config_path: Option<&Path>,
    what: &str,
) -> Result<mailservice::MailService> {
    let config = crate::reconstruct::load(config_path)?;
    if let Some(socket) = crate::reconstruct::running_server(&config) {
        bail!(
            "a server is running (its admin socket {} answers): stop it first; `{what}` works \
             on the files of a stopped server",
            socket.display()
        );
    }
    crate::mail::open_service(&config)
}

/// A user as the command line names them: the canonical userid (`alice@Example.COM` is
/// `alice@example.com`, or `alice` in the default domain, with virtual domains) and the INBOX
/// the namespace gives them.
pub(crate) fn user_and_inbox(
    service: &mailservice::MailService,
    user: &str,
) -> Result<(String, types::MailboxName)> {
    let canonical = service
        .domains()
        .canonical_userid(user)
        .with_context(|| format!("{user:?}: the part after the last @ is not a domain name"))?;
    let inbox = service
        .namespace()
        .user_inbox(&canonical)
        .map_err(|e| anyhow::anyhow!("user {user:?}: {e}"))?;
    Ok((canonical, inbox))
}

/// Progress on standard error (an `indicatif` bar on a terminal, a line a mailbox else) and
/// the summary.
pub(crate) struct Report {
    verb: &'static str,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
}

impl Report {
    pub(crate) fn new(verb: &'static str) -> Report {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} messages {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix(verb);
            bar
        });
        Report {
            verb,
            bar,
            started: Instant::now(),
        }
    }

    pub(crate) fn event(&mut self, event: Event<'_>) {
        match (&self.bar, event) {
            (Some(bar), Event::Mailbox { name, messages }) => {
                bar.set_message(name.to_string());
                bar.set_position(0);
                bar.set_length(messages.unwrap_or(0));
            }
            (Some(bar), Event::Stored { messages, .. }) => {
                if bar.length().unwrap_or(0) < bar.position() + messages {
                    bar.set_length(bar.position() + messages);
                }
                bar.inc(messages);
            }
            (Some(bar), Event::Warning(w)) => bar.suspend(|| eprintln!("darius: {w}")),
            (None, Event::Mailbox { name, messages }) => match messages {
                Some(1) => eprintln!("{}: {name} (1 message)", self.verb),
                Some(n) => eprintln!("{}: {name} ({n} messages)", self.verb),
                None => eprintln!("{}: {name}", self.verb),
            },
            (None, Event::Stored { .. }) => {}
            (None, Event::Warning(w)) => eprintln!("darius: {w}"),
        }
    }

    /// Prints the summary; an error when mailboxes were skipped.
    pub(crate) fn finish(self, summary: Summary, done: &str) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            summary.messages as f64 / seconds
        } else {
            0.0
        };
        println!(
            "{}: {done} {} mailboxes, {} messages, {} bytes in {seconds:.1} s ({rate:.0} msgs/s)",
            self.verb, summary.mailboxes, summary.messages, summary.bytes
        );
        if summary.warnings > 0 {
            println!("{}: {} warnings (above)", self.verb, summary.warnings);
        }
        if !summary.skipped.is_empty() {
            for (what, why) in &summary.skipped {
                println!("{}: skipped {what}: {why}", self.verb);
            }
            bail!("{} mailboxes were skipped", summary.skipped.len());
        }
        Ok(())
    }
}
