//! The TRANSACTION state (RFC 1939 §5) on the maildrop as it was at login, and QUIT's UPDATE
//! state (§6). Messages are numbered from 1 in UID order; `DELE` only marks (a marked message
//! is then unknown to every command but `RSET`); QUIT expunges the marked messages, on stable
//! storage before `+OK`. RETR and TOP stream the stored message in bounded chunks through
//! `pop3_proto`'s dot-stuffing, read off the runtime threads.

use std::sync::Arc;

use mailservice::{
    FlagChange, MailService, MaildropClaim, MessageFile, RecordFields, ServiceError, StoreError,
    UidSelection,
};
use pop3_proto::{uidl, Command, DotStuffer, RespCode, Response, TopFilter};
use types::{Flag, Rights, Uid};

use crate::session::{Flow, Session};
use crate::Expire;

/// How much of a message one read takes off the disk.
const READ_CHUNK: u64 = 64 * 1024;

struct Entry {
    uid: Uid,
    size: u64,
    deleted: bool,
    retrieved: bool,
}

/// A logged-in session's maildrop: the INBOX held, and its messages as they were at login.
pub(crate) struct Maildrop {
    claim: MaildropClaim,
    user: String,
    uidvalidity: u32,
    messages: Vec<Entry>,
}

impl Maildrop {
    /// Reads the held INBOX's messages (with `popuseimapflags`, not those marked `\Deleted`,
    /// which an IMAP client has already thrown away).
    pub(crate) async fn load(
        service: &MailService,
        claim: MaildropClaim,
        user: &str,
        skip_deleted: bool,
    ) -> Result<Maildrop, ServiceError> {
        let mailbox = claim.mailbox().clone();
        let (uidvalidity, records) = service
            .blocking(move |s| {
                let status = s.status(&mailbox)?;
                let records = s.records(&mailbox, UidSelection::All, RecordFields::BASIC)?;
                Ok((status.uidvalidity.get(), records))
            })
            .await?;
        let messages = records
            .into_iter()
            .filter(|r| !(skip_deleted && r.flags.contains(&Flag::Deleted)))
            .map(|r| Entry {
                uid: r.uid,
                size: r.size,
                deleted: false,
                retrieved: false,
            })
            .collect();
        Ok(Maildrop {
            claim,
            user: user.to_string(),
            uidvalidity,
            messages,
        })
    }

    /// The messages not marked deleted, and their total size (STAT).
    pub(crate) fn totals(&self) -> (usize, u64) {
        self.messages
            .iter()
            .filter(|m| !m.deleted)
            .fold((0, 0), |(n, size), m| (n + 1, size + m.size))
    }

    /// Message `n` (1-based) unless it does not exist or is marked deleted.
    fn live(&self, n: u32) -> Option<&Entry> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.messages.get(index).filter(|m| !m.deleted)
    }

    fn live_mut(&mut self, n: u32) -> Option<&mut Entry> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.messages.get_mut(index).filter(|m| !m.deleted)
    }
}

fn no_such_message() -> Response {
    Response::err("No such message")
}

/// What a scan listing line says of a message.
#[derive(Clone, Copy)]
enum Listing {
    Size,
    UniqueId,
}

impl Session {
    fn maildrop(&mut self) -> &mut Maildrop {
        match &mut self.state {
            crate::session::State::Transaction(maildrop) => maildrop,
            crate::session::State::Authorization { .. } => {
                unreachable!("TRANSACTION commands run only in the TRANSACTION state")
            }
        }
    }

    /// A command in the TRANSACTION state (NOOP, CAPA and QUIT are the session's).
    pub(crate) async fn transaction(&mut self, command: Command) -> Flow {
        match command {
            Command::Stat => {
                let (count, size) = self.maildrop().totals();
                self.respond(Response::ok(format!("{count} {size}")));
            }
            Command::List { msg } => return self.listing(msg, Listing::Size).await,
            Command::Uidl { msg } => return self.listing(msg, Listing::UniqueId).await,
            Command::Retr { msg } => return self.send_message(msg, None).await,
            Command::Top { msg, lines } => return self.send_message(msg, Some(lines)).await,
            Command::Dele { msg } => {
                let response = match self.maildrop().live_mut(msg) {
                    Some(entry) => {
                        entry.deleted = true;
                        Response::ok(format!("Message {msg} deleted"))
                    }
                    None => no_such_message(),
                };
                self.respond(response);
            }
            Command::Rset => {
                let maildrop = self.maildrop();
                for entry in &mut maildrop.messages {
                    entry.deleted = false;
                }
                let (count, size) = maildrop.totals();
                self.respond(Response::ok(format!(
                    "Maildrop has {count} messages ({size} octets)"
                )));
            }
            Command::User { .. }
            | Command::Pass { .. }
            | Command::Apop { .. }
            | Command::Auth { .. }
            | Command::Stls => self.respond(Response::err("Already logged in")),
            // Answered by the session before it gets here.
            Command::Capa | Command::Noop | Command::Quit => {}
        }
        Flow::Continue
    }

    /// LIST and UIDL, of one message or all (a multi-line scan listing, written out as it
    /// grows: a maildrop of many messages is never listed whole in memory).
    async fn listing(&mut self, msg: Option<u32>, what: Listing) -> Flow {
        let maildrop = self.maildrop();
        let uidvalidity = maildrop.uidvalidity;
        let line = |n: usize, entry: &Entry| match what {
            Listing::Size => format!("{n} {}", entry.size),
            Listing::UniqueId => format!("{n} {}", uidl(uidvalidity, entry.uid.get())),
        };
        if let Some(n) = msg {
            let response = match maildrop.live(n) {
                Some(entry) => Response::ok(line(n as usize, entry)),
                None => no_such_message(),
            };
            self.respond(response);
            return Flow::Continue;
        }
        let (count, size) = maildrop.totals();
        let first = match what {
            Listing::Size => format!("{count} messages ({size} octets)"),
            Listing::UniqueId => "Unique-ID listing follows".to_string(),
        };
        self.respond(Response::ok(first));
        let total = self.maildrop().messages.len();
        for index in 0..total {
            let maildrop = self.maildrop();
            let entry = &maildrop.messages[index];
            if entry.deleted {
                continue;
            }
            let text = line(index + 1, entry);
            self.conn.out.extend_from_slice(text.as_bytes());
            self.conn.out.extend_from_slice(b"\r\n");
            if self.flush_if_full().await.is_err() {
                return Flow::Close;
            }
        }
        self.conn.out.extend_from_slice(b".\r\n");
        Flow::Continue
    }

    /// RETR (`top` None) or TOP: the message, dot-stuffed, streamed from its file.
    async fn send_message(&mut self, n: u32, top: Option<u32>) -> Flow {
        let maildrop = self.maildrop();
        let Some(entry) = maildrop.live(n) else {
            self.respond(no_such_message());
            return Flow::Continue;
        };
        let (uid, size) = (entry.uid, entry.size);
        let mailbox = maildrop.claim.mailbox().clone();
        let opened = self
            .server
            .service
            .blocking(move |s| {
                let file = s.open_message(&mailbox, uid)?;
                let first = file.read_range(0, READ_CHUNK)?;
                Ok((file, first))
            })
            .await;
        let (file, first) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!(
                    severity = "err",
                    "POP3 {}: reading message {n} (UID {uid}): {e}",
                    self.maildrop().user
                );
                self.respond(
                    Response::err("Unable to read the message").with_code(RespCode::SysTemp),
                );
                return Flow::Continue;
            }
        };
        self.respond(match top {
            None => Response::ok(format!("{size} octets")),
            Some(_) => Response::ok("Top of message follows"),
        });
        let mut stuffer = DotStuffer::new();
        let mut filter = top.map(TopFilter::new);
        let file = Arc::new(file);
        let len = file.len();
        let mut chunk = first;
        let mut offset = 0u64;
        let mut kept = Vec::new();
        loop {
            offset += chunk.len() as u64;
            match filter.as_mut() {
                Some(filter) => {
                    kept.clear();
                    filter.feed(&chunk, &mut kept);
                    stuffer.feed(&kept, &mut self.conn.out);
                }
                None => stuffer.feed(&chunk, &mut self.conn.out),
            }
            let done = offset >= len
                || chunk.is_empty()
                || filter.as_ref().is_some_and(TopFilter::is_done);
            if done {
                break;
            }
            if self.flush_if_full().await.is_err() {
                return Flow::Close;
            }
            chunk = match read_chunk(&file, offset).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    // Part of the message is out: the response cannot be ended with an error.
                    tracing::error!(
                        severity = "err",
                        "POP3 {}: reading message {n} (UID {uid}) at {offset}: {e}; closing",
                        self.maildrop().user
                    );
                    return Flow::Close;
                }
            };
        }
        stuffer.finish(&mut self.conn.out);
        if top.is_none() {
            if let Some(entry) = self.maildrop().live_mut(n) {
                entry.retrieved = true;
            }
        }
        Flow::Continue
    }

    /// QUIT in the TRANSACTION state (RFC 1939 §6): expunges the marked messages (and, under
    /// `popexpiretime: 0`, the retrieved ones), durably, then marks the retrieved messages
    /// `\Seen` (`popuseimapflags`); the maildrop is released when this returns.
    pub(crate) async fn update(&mut self, maildrop: Maildrop) -> Response {
        let config = &self.server.config;
        let expire_retrieved = config.expire == Expire::Days(0);
        let mark_seen = config.use_imap_flags;
        let (gone, read): (Vec<&Entry>, Vec<&Entry>) = maildrop
            .messages
            .iter()
            .filter(|m| m.deleted || m.retrieved)
            .partition(|m| m.deleted || expire_retrieved);
        let gone: Vec<Uid> = gone.into_iter().map(|m| m.uid).collect();
        let read: Vec<Uid> = read.into_iter().map(|m| m.uid).collect();
        let left = maildrop.messages.len() - gone.len();
        let user = maildrop.user.clone();
        let claim = maildrop.claim;
        let count = gone.len();
        let done = self
            .server
            .service
            .blocking(move |s| {
                s.expunge_maildrop(&claim, gone)?;
                let mailbox = claim.mailbox();
                if mark_seen && !read.is_empty() && mailbox.acting_rights().contains(Rights::SEEN) {
                    if let Err(e) =
                        s.store_flags(mailbox, &read, FlagChange::Add(vec![Flag::Seen]), None)
                    {
                        tracing::warn!("POP3: marking retrieved messages \\Seen: {e}");
                    }
                }
                Ok(())
            })
            .await;
        let servername = &self.server.config.servername;
        match done {
            Ok(()) => {
                tracing::info!("{}: POP3 {user}: {count} message(s) deleted", self.id);
                Response::ok(format!(
                    "{servername} Darius POP3 server signing off ({left} messages left)"
                ))
            }
            Err(e) => {
                tracing::error!(severity = "err", "POP3 {user}: QUIT: expunging: {e}");
                Response::err("Some deleted messages were not removed").with_code(RespCode::SysTemp)
            }
        }
    }
}

/// The next piece of a message, read on the blocking pool.
async fn read_chunk(file: &Arc<MessageFile>, offset: u64) -> Result<Vec<u8>, ServiceError> {
    let file = Arc::clone(file);
    match tokio::task::spawn_blocking(move || file.read_range(offset, READ_CHUNK)).await {
        Ok(read) => Ok(read?),
        Err(e) => Err(ServiceError::Store(StoreError::Corrupt {
            what: "blocking task".into(),
            detail: e.to_string(),
        })),
    }
}
