//! The `darius` binary: command-line parsing and the wiring of the layers below.
//!
//! Owns: subcommands, start-up and shutdown order, the embedded default configuration, the admin
//! socket and the log sinks. Must not: implement protocol or storage logic itself.

mod acls;
mod admin;
mod backup;
mod certificate;
mod check;
mod deliver;
mod doctor;
mod embedded;
mod export;
mod expunged;
mod housekeeping;
mod imap;
mod import_cyrus;
mod import_maildir;
mod kerberos;
mod lmtp;
mod logging;
mod mail;
mod mailboxes;
mod mboxlist;
mod memory;
mod mupdate;
mod murder;
mod netnews;
mod notifyd;
mod pop3;
mod quotas;
mod reconstruct;
mod sasldb_import;
mod serve;
mod server_name;
mod services;
mod sieve;
mod systemd;
mod users;
mod who;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "darius", version, about = "Darius mail store server")]
struct Cli {
    /// imapd.conf to use. Without it, the embedded default: data under ./darius-data, services
    /// on 127.0.0.1 with unprivileged ports.
    #[arg(short = 'C', long = "config", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every configured service in this process until SIGTERM or SIGINT.
    Serve,
    /// Run the notification methods for servers that set `notifysocket` (Cyrus's notifyd),
    /// until killed.
    Notifyd,
    /// Manage users in the password database (through the running server when there is one).
    User {
        #[command(subcommand)]
        action: users::UserAction,
    },
    /// Create, delete, rename and list mailboxes by internal name, as the administrator
    /// (through the running server when there is one).
    Mailbox {
        #[command(subcommand)]
        action: mailboxes::MailboxAction,
    },
    /// Get, set and delete a mailbox's ACL entries by internal name, as the administrator
    /// (through the running server when there is one).
    Acl {
        #[command(subcommand)]
        action: acls::AclAction,
    },
    /// List quota roots with usage and limits, repair usage (-f), set or remove roots, by
    /// internal name as the administrator (through the running server when there is one).
    Quota(quotas::QuotaArgs),
    /// List (-l) or restore the messages a delayed expunge kept in MAILBOX, by internal name
    /// (through the running server when there is one).
    Unexpunge(expunged::UnexpungeArgs),
    /// Purge what delayed expunge kept longer than `expunge_days`, the mailboxes delayed
    /// delete hid longer than `delete_days`, and expired duplicate-delivery records (through
    /// the running server when there is one).
    Expire(expunged::ExpireArgs),
    /// List (-l) or bring back mailboxes a delayed delete hid, by internal name (through the
    /// running server when there is one).
    Undelete(expunged::UndeleteArgs),
    /// Deliver the message on standard input to USER… (Cyrus's `deliver`, for an MTA's
    /// mailbox_command): through the running server's lmtpsocket, or on the files when it is
    /// stopped. Exits with sysexits codes (75: try again later).
    Deliver(deliver::DeliverArgs),
    /// Rebuild mailboxes' indexes from their message files (-r below them, -f adopting
    /// unlisted files, -n as a dry run), or with -m the mailboxes database from the partitions
    /// (server stopped).
    Reconstruct(reconstruct::ReconstructArgs),
    /// Check what the server needs (configuration, directories, free space, the TLS
    /// certificate, listeners, the store, the clock) and say what to do about each problem;
    /// exit status 1 when anything is an error. Run it as the server's user.
    Doctor,
    /// Report, changing nothing, what disagrees between message files, indexes, the mailboxes
    /// database, partitions, quota usage and subscriptions; exit status 1 when anything does.
    Check,
    /// Dump the mailboxes database as text, one mailbox per line, or apply such a dump
    /// (Cyrus's `ctl_mboxlist -d` and `-u`).
    Mboxlist {
        #[command(subcommand)]
        action: mboxlist::MboxlistAction,
    },
    /// The Murder's directory in etcd: list it (dump), or reconcile this backend's mailboxes
    /// with it (sync); push them to a Cyrus mupdate master (mupdate-sync).
    Murder {
        #[command(subcommand)]
        action: murder::MurderAction,
    },
    /// List the running server's sessions: session id, host, user, selected mailbox.
    Who,
    /// Import another server's mail, keeping UIDs, flags and dates (server stopped).
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Export mailboxes to Maildir or mbox, keeping UIDs, flags and dates (server stopped).
    Export {
        #[command(subcommand)]
        format: export::ExportFormat,
    },
    /// Make a consistent copy of the whole store into DEST while the server serves (through
    /// the running server when there is one): a data directory with its own imapd.conf.
    Backup(backup::BackupArgs),
    /// Put a backup back in place of the whole store (server stopped).
    Restore(backup::RestoreArgs),
    /// Index the netnews articles a feed names (INN's `Wn`/`WR` file feed, or spool paths),
    /// one per line from FILE or standard input, in their newsgroups' mailboxes.
    Collectnews(netnews::CollectArgs),
    /// Drop the articles `fastrm`'s input names (spool paths or storage tokens) from the
    /// newsgroup mailboxes and unlink their files (INN's RMPROC).
    Rmnews(netnews::RmnewsArgs),
    /// Create and remove newsgroup mailboxes to match INN's active file (-n: dry run).
    Syncnews(netnews::SyncArgs),
    /// Print the completion script of SHELL (bash, zsh, fish, elvish, powershell) for darius.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages darius(8) and darius-COMMAND(8), in roff, into DIR (the package
    /// ships them).
    #[command(hide = true)]
    Manpages { dir: PathBuf },
}

/// Where `darius import` reads from.
#[derive(Subcommand)]
enum ImportSource {
    /// A Dovecot Maildir++ tree (--user) or one Maildir folder (--mailbox), with
    /// dovecot-uidlist, dovecot-keywords and subscriptions.
    Maildir(import_maildir::MaildirArgs),
    /// A Dovecot/UW mbox directory (--user) or one mbox file (--mailbox).
    Mbox(import_maildir::MboxArgs),
    /// A Cyrus 2.4/3.x store, found through its imapd.conf (--cyrus-config): mailboxes with
    /// their UIDs, UIDVALIDITY, flags, keywords, internal dates, ACLs and special-use, seen
    /// state, subscriptions, quota roots and Sieve scripts; files hard-linked where possible.
    Cyrus(import_cyrus::CyrusArgs),
}

/// `command`'s page and its subcommands' (`darius-user-add.8`), hidden ones and `help` left
/// out.
fn write_manpages(
    command: &clap::Command,
    prefix: &str,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let name = match prefix {
        "" => command.get_name().to_string(),
        prefix => format!("{prefix}-{}", command.get_name()),
    };
    let page = command
        .clone()
        .display_name(name.clone())
        .bin_name(name.replace('-', " "));
    let mut text = Vec::new();
    clap_mangen::Man::new(page).section("8").render(&mut text)?;
    let path = dir.join(format!("{name}.8"));
    std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_manpages(sub, &name, dir)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deliver(args) => return deliver::run(cli.config.as_deref(), args),
        Command::Check => return check::run(cli.config.as_deref()),
        Command::Doctor => return doctor::run(cli.config.as_deref()),
        Command::Serve => serve::run(cli.config.as_deref()),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "darius", &mut std::io::stdout());
            Ok(())
        }
        Command::Manpages { dir } => {
            let command = <Cli as clap::CommandFactory>::command();
            write_manpages(&command, "", &dir)
        }
        Command::Notifyd => notifyd::run(cli.config.as_deref()),
        Command::User { action } => users::run(cli.config.as_deref(), action),
        Command::Mailbox { action } => mailboxes::run(cli.config.as_deref(), action),
        Command::Acl { action } => acls::run(cli.config.as_deref(), action),
        Command::Quota(args) => quotas::run(cli.config.as_deref(), args),
        Command::Reconstruct(args) => reconstruct::run(cli.config.as_deref(), args),
        Command::Collectnews(args) => netnews::run_collect(cli.config.as_deref(), args),
        Command::Rmnews(args) => netnews::run_rmnews(cli.config.as_deref(), args),
        Command::Syncnews(args) => netnews::run_sync(cli.config.as_deref(), args),
        Command::Unexpunge(args) => expunged::run_unexpunge(cli.config.as_deref(), args),
        Command::Expire(args) => expunged::run_expire(cli.config.as_deref(), args),
        Command::Undelete(args) => expunged::run_undelete(cli.config.as_deref(), args),
        Command::Mboxlist { action } => mboxlist::run(cli.config.as_deref(), action),
        Command::Who => who::run(cli.config.as_deref()),
        Command::Murder { action } => murder::run(cli.config.as_deref(), action),
        Command::Import { source } => match source {
            ImportSource::Maildir(args) => import_maildir::run_maildir(cli.config.as_deref(), args),
            ImportSource::Mbox(args) => import_maildir::run_mbox(cli.config.as_deref(), args),
            ImportSource::Cyrus(args) => import_cyrus::run(cli.config.as_deref(), args),
        },
        Command::Export { format } => export::run(cli.config.as_deref(), format),
        Command::Backup(args) => backup::run_backup(cli.config.as_deref(), args),
        Command::Restore(args) => backup::run_restore(cli.config.as_deref(), args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("darius: {e:#}");
            ExitCode::FAILURE
        }
    }
}
