//! The target's side of a Cyrus backend's legacy XFER (the one Cyrus uses for a target
//! without replication, as Darius is to it): `SETQUOTA +root`, then per mailbox
//! `LOCALCREATE`, `UNDUMP` with the mailbox's files, the ACL by `SETACL`, and at the end
//! `MUPDATEPUSH` (or `LOCALDELETE` when the source gives up).
//!
//! The framer reads UNDUMP as a stream ([`imap_proto::UndumpEvent`]); this module turns its
//! entries into the incoming steps of a Darius transfer (`mailservice`'s `incoming_*`):
//! `cyrus.header` and `cyrus.index` (which Cyrus cuts down to version 6 for a server it does
//! not know) prepare the copy with the source's UIDVALIDITY, each message file `UID.` is
//! placed under its UID with the index record's flags and internal date, a batch at a time,
//! and the end of the command commits the copy. With the user's INBOX (sent last) come the
//! user's seen state (`SEEN`: Cyrus keeps `\Seen` out of a downgraded index), subscriptions
//! (`SUBS`) and Sieve scripts (`SIEVE-`/`SIEVED-NAME.script`). Files only Cyrus uses
//! (`cyrus.cache`, `cyrus.expunge`, the compiled `.bc` scripts, `MBOXKEY`) are read and
//! dropped; annotations (`A-…`) are counted and dropped, as Darius keeps no METADATA yet.
//!
//! Nothing is published before the command ends: a failure anywhere removes the copy (the
//! rest of the stream is read and dropped) and answers `NO`, and a session that ends in the
//! middle leaves only an uncommitted copy, removed as any other (`xfer::target`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use imap_proto::command::{Mailbox, Tag};
use imap_proto::response::Code;
use imap_proto::{LiteralSync, UndumpEvent};
use mailservice::{
    AppendSource, Identity, ImportedMessage, IncomingState, InternalDate, MailService, QuotaLimits,
    ServiceError,
};
use tokio::io::AsyncWriteExt;
use types::{MailboxName, Uid, UidValidity};

use migrate::cyrus::{db, header, index, userdata};

use super::target::remove_files;
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

/// Messages placed at once.
const BATCH: usize = 500;
/// Largest `cyrus.header`, seen or subscriptions database, or Sieve script read.
const MAX_SMALL_FILE: u64 = 16 << 20;
/// Largest `cyrus.index` read (some 17 million records of the downgraded 60 octets).
const MAX_INDEX_FILE: u64 = 1 << 30;
/// Most ranges read from one seen record.
const MAX_SEEN_RANGES: usize = 1 << 20;

/// What a session receiving Cyrus XFERs keeps between commands.
#[derive(Default)]
pub(crate) struct CyrusIncoming {
    /// Partitions `LOCALCREATE` named, by mailbox.
    partitions: HashMap<MailboxName, Option<String>>,
    /// Mailboxes an UNDUMP of this session brought, by the uniqueid they had at the source
    /// (the seen database that comes with the INBOX names them so).
    undumped: HashMap<String, MailboxName>,
    /// The UNDUMP being read.
    current: Option<Undump>,
    /// Users' `#sieve` mailboxes (Cyrus 3 keeps each Sieve script as a message there): no
    /// mailbox here, their scripts wait for the user's INBOX.
    sieve_boxes: Vec<MailboxName>,
    /// Scripts from those, by user, for the INBOX's UNDUMP to store.
    scripts: HashMap<String, Vec<(String, Vec<u8>)>>,
}

/// Most Sieve scripts a session keeps for users' INBOXes.
const MAX_SCRIPTS: usize = 1000;
/// Largest Sieve script read.
const MAX_SCRIPT: u64 = 1 << 20;

/// Whether `name` is a user's `#sieve` mailbox (`user.ann.#sieve`).
fn is_sieve_box(name: &MailboxName) -> bool {
    name.as_str().ends_with(".#sieve") && mailservice::userid_of(name).is_some()
}

/// One UNDUMP being read.
struct Undump {
    tag: Tag,
    /// `None` when the name was refused (then `failed` says why).
    name: Option<MailboxName>,
    /// The first failure: the rest of the stream is dropped, the answer is `NO`.
    failed: Option<Reply>,
    storage_kib: Option<u64>,
    limits: Option<QuotaLimits>,
    header: Option<header::Header>,
    /// Live records of `cyrus.index`, in UID order.
    records: Vec<index::IndexRecord>,
    last_uid: u32,
    prepared: bool,
    /// Messages received, by UID and spool file number: Cyrus sends them in directory order,
    /// the store takes them in UID order, so they are placed at the end.
    pending: Vec<(u32, u64)>,
    placed: usize,
    /// Where spool files go, and this session's prefix for them.
    spool_dir: PathBuf,
    spool_prefix: String,
    /// A user's `#sieve` mailbox: its messages are Sieve scripts.
    sieve_box: bool,
    /// The script Cyrus had active (`SIEVED-NAME.bc` or `.script`).
    active_script: Option<String>,
    /// Files kept for the end: the seen and subscriptions databases, Sieve scripts.
    seen: Option<PathBuf>,
    subs: Option<PathBuf>,
    scripts: Vec<(String, bool, PathBuf)>,
    annotations: usize,
    /// The file being received: its entry name and where it goes (`None`: dropped).
    receiving: Option<(String, Option<(tokio::fs::File, PathBuf)>)>,
    files: u64,
}

impl Undump {
    fn fail(&mut self, reply: Reply) {
        if self.failed.is_none() {
            self.failed = Some(reply);
        }
    }

    fn spool_path(&self, n: u64) -> PathBuf {
        self.spool_dir
            .join(format!("{}-undump-{n}", self.spool_prefix))
    }

    /// Files still on disk.
    fn kept_files(&mut self) -> Vec<PathBuf> {
        let pending = std::mem::take(&mut self.pending);
        let mut files: Vec<PathBuf> = pending.iter().map(|&(_, n)| self.spool_path(n)).collect();
        files.extend(self.seen.take());
        files.extend(self.subs.take());
        files.extend(self.scripts.drain(..).map(|(_, _, p)| p));
        if let Some((_, Some((_, path)))) = self.receiving.take() {
            files.push(path);
        }
        files
    }
}

impl Drop for Undump {
    fn drop(&mut self) {
        remove_files(self.kept_files());
    }
}

/// Reads a file of at most `max` octets.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > max {
        return Err(format!("{len} octets, more than the {max} read"));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

fn no(text: &str) -> Reply {
    Reply::no(Some(Code::Cannot), text)
}

impl Session {
    /// Whether a file of an UNDUMP is being received (its data goes to [`Session::undump_data`]).
    pub(crate) fn undump_receiving(&self) -> bool {
        self.cyrus_in
            .current
            .as_ref()
            .is_some_and(|u| u.receiving.is_some())
    }

    /// One UNDUMP event; `false` when the connection must close.
    pub(crate) async fn undump_event(&mut self, event: UndumpEvent) -> bool {
        match event {
            UndumpEvent::Begin { tag, mailbox } => self.undump_begin(tag, mailbox),
            UndumpEvent::Quota(kib) => {
                if let Some(u) = self.cyrus_in.current.as_mut() {
                    u.storage_kib = kib;
                }
            }
            UndumpEvent::File { name, sync, .. } => {
                return self.undump_file(name, sync).await;
            }
            UndumpEvent::List { name, items } => self.undump_list(&name, &items),
            UndumpEvent::End => self.undump_end().await,
        }
        true
    }

    fn undump_begin(&mut self, tag: Tag, mailbox: Mailbox) {
        let mut undump = Undump {
            tag,
            name: None,
            failed: None,
            storage_kib: None,
            limits: None,
            header: None,
            records: Vec::new(),
            last_uid: 0,
            prepared: false,
            pending: Vec::new(),
            placed: 0,
            seen: None,
            subs: None,
            scripts: Vec::new(),
            annotations: 0,
            receiving: None,
            files: 0,
            spool_dir: self.server.config.spool_dir.clone(),
            spool_prefix: self.id.clone(),
            sieve_box: false,
            active_script: None,
        };
        let identity = self.state.identity().cloned();
        match identity {
            Some(identity) if super::target::offered(self) => {
                match self
                    .service()
                    .namespace()
                    .to_internal(&identity, mailbox.as_str())
                {
                    Ok(name) => {
                        undump.sieve_box = is_sieve_box(&name);
                        undump.name = Some(name);
                    }
                    Err(e) => undump.fail(refuse(&e, Target::Destination)),
                }
            }
            _ => undump.fail(Reply::bad("UNDUMP is not offered here")),
        }
        self.cyrus_in.current = Some(undump);
    }

    async fn undump_file(&mut self, name: String, sync: LiteralSync) -> bool {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            return false;
        };
        if let Some(active) = name
            .strip_prefix("SIEVED-")
            .and_then(|n| n.strip_suffix(".bc").or_else(|| n.strip_suffix(".script")))
        {
            u.active_script = Some(active.to_string());
        }
        let wanted = u.failed.is_none() && wanted(&name);
        let mut sink = None;
        if wanted {
            u.files += 1;
            let path = u.spool_path(u.files);
            match tokio::fs::File::create(&path).await {
                Ok(file) => sink = Some((file, path)),
                Err(e) => {
                    tracing::error!("undump: creating {}: {e}", path.display());
                    u.fail(Reply::no(Some(Code::ServerBug), "Cannot spool the file"));
                }
            }
        }
        u.receiving = Some((name, sink));
        if sync == LiteralSync::Sync {
            self.out.continuation("Ready for literal data");
            if self.flush().await.is_err() {
                return false;
            }
        }
        true
    }

    /// The next bytes of the file being received.
    pub(crate) async fn undump_data(&mut self, chunk: &[u8]) {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            return;
        };
        let Some((_, Some((file, _)))) = u.receiving.as_mut() else {
            return;
        };
        if let Err(e) = file.write_all(chunk).await {
            tracing::error!("undump: writing a spool file: {e}");
            if let Some((_, Some((_, path)))) = u.receiving.take() {
                remove_files(vec![path]);
            }
            u.receiving = Some((String::new(), None));
            u.fail(Reply::no(Some(Code::ServerBug), "Cannot spool the file"));
        }
    }

    /// The file being received is complete.
    pub(crate) async fn undump_file_end(&mut self) {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            return;
        };
        let Some((name, sink)) = u.receiving.take() else {
            return;
        };
        let Some((mut file, path)) = sink else {
            return;
        };
        if let Err(e) = file.flush().await {
            tracing::error!("undump: writing a spool file: {e}");
            remove_files(vec![path]);
            u.fail(Reply::no(Some(Code::ServerBug), "Cannot spool the file"));
            return;
        }
        drop(file);
        let number = u.files;
        if let Err(reply) = self.undump_entry(name, path, number).await {
            if let Some(u) = self.cyrus_in.current.as_mut() {
                u.fail(reply);
            }
        }
    }

    /// A file received whole: what it is decides what is done with it.
    async fn undump_entry(
        &mut self,
        name: String,
        path: PathBuf,
        number: u64,
    ) -> Result<(), Reply> {
        let Some(identity) = self.state.identity().cloned() else {
            remove_files(vec![path]);
            return Err(Reply::bad("Not authenticated"));
        };
        let Some(u) = self.cyrus_in.current.as_mut() else {
            remove_files(vec![path]);
            return Ok(());
        };
        match name.as_str() {
            "cyrus.header" => {
                let read = read_bounded(&path, MAX_SMALL_FILE);
                remove_files(vec![path]);
                let head = read
                    .and_then(|b| {
                        header::parse(&b).map_err(|(at, what)| format!("at {at}: {what}"))
                    })
                    .map_err(|e| no(&format!("cyrus.header: {e}")))?;
                u.header = Some(head);
                Ok(())
            }
            "cyrus.index" => {
                let read = read_bounded(&path, MAX_INDEX_FILE);
                remove_files(vec![path]);
                let ix = read
                    .and_then(|b| index::parse(&b).map_err(|(at, what)| format!("at {at}: {what}")))
                    .map_err(|e| no(&format!("cyrus.index: {e}")))?;
                u.last_uid = ix.header.last_uid;
                u.records = ix
                    .records
                    .into_iter()
                    .filter(|r| !r.is_expunged())
                    .collect();
                if u.sieve_box {
                    return Ok(());
                }
                let uidvalidity = UidValidity::new(ix.header.uidvalidity)
                    .ok_or_else(|| no("cyrus.index has no UIDVALIDITY"))?;
                self.undump_prepare(&identity, uidvalidity, ix.header.highestmodseq)
                    .await
            }
            "SEEN" => {
                u.seen = Some(path);
                Ok(())
            }
            "SUBS" => {
                u.subs = Some(path);
                Ok(())
            }
            other => {
                if let Some(script) = other
                    .strip_prefix("SIEVED-")
                    .map(|s| (s, true))
                    .or_else(|| other.strip_prefix("SIEVE-").map(|s| (s, false)))
                {
                    let (file, active) = script;
                    let Some(script) = file.strip_suffix(".script") else {
                        remove_files(vec![path]);
                        return Ok(());
                    };
                    u.scripts.push((script.to_string(), active, path));
                    return Ok(());
                }
                let Some(uid) = other
                    .strip_suffix('.')
                    .and_then(|n| n.parse::<u32>().ok())
                    .and_then(Uid::new)
                else {
                    remove_files(vec![path]);
                    return Ok(());
                };
                self.undump_message(uid, path, number).await
            }
        }
    }

    async fn undump_prepare(
        &mut self,
        identity: &Identity,
        uidvalidity: UidValidity,
        highestmodseq: u64,
    ) -> Result<(), Reply> {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            return Ok(());
        };
        let Some(head) = u.header.as_ref() else {
            return Err(no("cyrus.index came before cyrus.header"));
        };
        let Some(name) = u.name.clone() else {
            return Err(no("UNDUMP of a mailbox it cannot name"));
        };
        let state = IncomingState {
            uidvalidity,
            highestmodseq: highestmodseq.max(1),
            partition: self.cyrus_in.partitions.get(&name).cloned().flatten(),
            acl: head.acl.clone(),
            special_use: Vec::new(),
        };
        let who = identity.clone();
        let prepared = self
            .blocking(move |s| s.incoming_prepare(&who, &name, state))
            .await;
        match prepared {
            Ok(_) => {
                if let Some(u) = self.cyrus_in.current.as_mut() {
                    u.prepared = true;
                    if let Some(name) = u.name.clone() {
                        self.xfer_in.track(name);
                    }
                }
                Ok(())
            }
            Err(e) => Err(refuse(&e, Target::Destination)),
        }
    }

    async fn undump_message(&mut self, uid: Uid, path: PathBuf, number: u64) -> Result<(), Reply> {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            remove_files(vec![path]);
            return Ok(());
        };
        // A file the index does not list live (expunged at the source) is not a message.
        if u.records
            .binary_search_by_key(&uid.get(), |r| r.uid)
            .is_err()
        {
            remove_files(vec![path]);
            return Ok(());
        }
        if u.sieve_box {
            let read = read_bounded(&path, MAX_SCRIPT);
            remove_files(vec![path]);
            let script = read.ok().and_then(|m| migrate::cyrus::split_script(&m));
            let user = u.name.as_ref().and_then(mailservice::userid_of);
            if let (Some((name, text)), Some(user)) = (script, user) {
                let kept: usize = self.cyrus_in.scripts.values().map(Vec::len).sum();
                if kept >= MAX_SCRIPTS {
                    return Err(no("too many Sieve scripts in one session"));
                }
                self.cyrus_in
                    .scripts
                    .entry(user)
                    .or_default()
                    .push((name, text));
            }
            return Ok(());
        }
        if !u.prepared {
            remove_files(vec![path]);
            return Err(no("a message came before cyrus.index"));
        }
        u.pending.push((uid.get(), number));
        Ok(())
    }

    fn undump_list(&mut self, name: &str, items: &[Vec<u8>]) {
        let Some(u) = self.cyrus_in.current.as_mut() else {
            return;
        };
        if name.starts_with("A-") {
            u.annotations += 1;
        } else if name == "X-QUOTA" {
            let mut limits = QuotaLimits::default();
            for pair in items.chunks(2) {
                let [resource, value] = pair else { continue };
                let Some(n) = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|n| u64::try_from(n).ok())
                else {
                    continue;
                };
                if resource.eq_ignore_ascii_case(b"STORAGE") {
                    limits.storage_kib = Some(n);
                } else if resource.eq_ignore_ascii_case(b"MESSAGE") {
                    limits.messages = Some(n);
                }
            }
            u.limits = Some(limits);
        }
    }

    /// The closing parenthesis: the copy is committed and published, or removed.
    async fn undump_end(&mut self) {
        let Some(mut u) = self.cyrus_in.current.take() else {
            return;
        };
        let tag = u.tag.clone();
        let reply = match self.undump_finish(&mut u).await {
            Ok(reply) => reply,
            Err(reply) => {
                if let (true, Some(name)) = (u.prepared, u.name.clone()) {
                    self.undump_abort(&name).await;
                }
                reply
            }
        };
        drop(u);
        self.out.tagged(&tag, reply.kind, reply.code, &reply.text);
    }

    async fn undump_finish(&mut self, u: &mut Undump) -> Result<Reply, Reply> {
        if let Some(reply) = u.failed.take() {
            return Err(reply);
        }
        let Some(identity) = self.state.identity().cloned() else {
            return Err(Reply::bad("Not authenticated"));
        };
        if u.sieve_box {
            let scripts: usize = self.cyrus_in.scripts.values().map(Vec::len).sum();
            if let Some(name) = u.name.clone() {
                if !self.cyrus_in.sieve_boxes.contains(&name) {
                    self.cyrus_in.sieve_boxes.push(name);
                }
            }
            return Ok(Reply::ok(&format!(
                "UNDUMP completed: Sieve scripts kept for the user's INBOX ({scripts} in all)"
            )));
        }
        if !u.prepared {
            return Err(no("UNDUMP without cyrus.header and cyrus.index"));
        }
        let Some(name) = u.name.clone() else {
            return Err(no("UNDUMP of a mailbox it cannot name"));
        };
        let server = self.server.clone();
        place(&server.service, &identity, u).await?;

        let inbox = mailservice::userid_of(&name).filter(|_| mailservice::is_user_inbox(&name));
        let limits = u.limits.or(u.storage_kib.map(|kib| QuotaLimits {
            storage_kib: Some(kib),
            ..QuotaLimits::default()
        }));
        let mut scripts: Vec<(String, bool, PathBuf)> = u.scripts.drain(..).collect();
        // Cyrus 3 keeps the scripts in the `#sieve` mailbox, sent before the INBOX; the
        // INBOX names the active one (`SIEVED-NAME.bc`).
        let from_box = inbox
            .as_ref()
            .and_then(|user| self.cyrus_in.scripts.remove(user))
            .unwrap_or_default();
        if let Some(active) = &u.active_script {
            for (name, active_here, _) in &mut scripts {
                *active_here = name == active;
            }
        }
        let active = u.active_script.clone();
        let subs = u.subs.take();
        let seen = u.seen.take();
        let uniqueid = u.header.as_ref().and_then(|h| h.uniqueid.clone());
        let mut undumped = self.cyrus_in.undumped.clone();
        if let Some(id) = &uniqueid {
            undumped.insert(id.clone(), name.clone());
        }
        let uidnext = u.last_uid.saturating_add(1);
        let (who, key) = (identity.clone(), name.clone());
        let inbox_user = inbox.clone();
        let files: Vec<PathBuf> = scripts
            .iter()
            .map(|(_, _, p)| p.clone())
            .chain(subs.clone())
            .chain(seen.clone())
            .collect();
        let outcome = self
            .blocking(move |s| {
                finish(
                    s,
                    &who,
                    &key,
                    uidnext,
                    limits,
                    inbox_user.as_deref(),
                    &scripts,
                    &from_box,
                    active.as_deref(),
                    subs.as_deref(),
                    seen.as_deref(),
                    &undumped,
                )
            })
            .await;
        remove_files(files);
        let seen_marked = outcome
            .map_err(|e| refuse(&e, Target::Destination))?
            .map_err(|e| no(&e))?;
        if let Some(id) = uniqueid {
            self.cyrus_in.undumped.insert(id, name.clone());
        }
        self.xfer_in.untrack(&name);
        self.cyrus_in.partitions.remove(&name);
        tracing::info!(
            "undump: {name} came from a Cyrus XFER: {} messages{}{}",
            u.placed,
            if inbox.is_some() {
                format!(", {seen_marked} marked \\Seen from the seen database")
            } else {
                String::new()
            },
            if u.annotations > 0 {
                format!(", {} annotations not kept", u.annotations)
            } else {
                String::new()
            },
        );
        let mut text = format!("UNDUMP completed: {} messages", u.placed);
        if u.annotations > 0 {
            text.push_str(&format!(
                "; {} annotations not kept (no METADATA here yet)",
                u.annotations
            ));
        }
        Ok(Reply::ok(&text))
    }

    async fn undump_abort(&mut self, name: &MailboxName) {
        let Some(identity) = self.state.identity().cloned() else {
            return;
        };
        let name = name.clone();
        let key = name.clone();
        let aborted = self
            .blocking(move |s| s.incoming_abort(&identity, &name))
            .await;
        match aborted {
            Ok(()) => self.xfer_in.untrack(&key),
            Err(e) => tracing::warn!("undump: removing the copy of {key}: {e}"),
        }
    }

    /// The administrator's identity and the internal name of `mailbox`, or the answer.
    fn admin_name(
        &self,
        mailbox: &Mailbox,
        target: Target,
    ) -> Result<(Identity, MailboxName), Reply> {
        let Some(identity) = self.state.identity().cloned() else {
            return Err(Reply::bad("Not authenticated"));
        };
        match self
            .service()
            .namespace()
            .to_internal(&identity, mailbox.as_str())
        {
            Ok(name) => Ok((identity, name)),
            Err(e) => Err(refuse(&e, target)),
        }
    }

    /// `LOCALCREATE mailbox [partition]`: nothing is created until the UNDUMP that follows
    /// brings the mailbox; its name must be free here.
    pub(crate) async fn local_create(
        &mut self,
        mailbox: Mailbox,
        partition: Option<String>,
    ) -> Reply {
        if !super::target::offered(self) {
            return Reply::bad("LOCALCREATE is not offered here");
        }
        let name = match self.admin_name(&mailbox, Target::Destination) {
            Ok((_, name)) => name,
            Err(reply) => return reply,
        };
        let key = name.clone();
        let held = self
            .blocking(move |s| Ok(s.store().holds_locally(&key)?))
            .await;
        match held {
            Ok(false) => {
                self.cyrus_in.partitions.insert(name, partition);
                Reply::ok("Ready for UNDUMP")
            }
            Ok(true) => Reply::no(Some(Code::AlreadyExists), "Mailbox already exists"),
            Err(e) => refuse(&e, Target::Destination),
        }
    }

    /// `LOCALDELETE mailbox`: a mailbox an UNDUMP of this session brought goes again.
    pub(crate) async fn local_delete(&mut self, mailbox: Mailbox) -> Reply {
        let (identity, name) = match self.admin_name(&mailbox, Target::Source) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        self.cyrus_in.partitions.remove(&name);
        if !self.cyrus_in.undumped.values().any(|n| *n == name) {
            // Only LOCALCREATE'd (nothing was made), or not this session's.
            return Reply::ok("Nothing here to delete");
        }
        let key = name.clone();
        let deleted = self
            .blocking(move |s| s.cyrus_local_delete(&identity, &key))
            .await;
        match deleted {
            Ok(()) => {
                self.cyrus_in.undumped.retain(|_, n| *n != name);
                Reply::ok("Deleted")
            }
            Err(e) => refuse(&e, Target::Source),
        }
    }

    /// `MUPDATEPUSH mailbox`: the mupdate master names this server for it now.
    pub(crate) async fn mupdate_push(&mut self, mailbox: Mailbox) -> Reply {
        let (identity, name) = match self.admin_name(&mailbox, Target::Source) {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        let pushed = self
            .blocking(move |s| s.cyrus_take_over(&identity, &name))
            .await;
        match pushed {
            Ok(()) => Reply::ok("Pushed"),
            Err(e) => refuse(&e, Target::Source),
        }
    }
}

/// Which entries are kept (the others are only Cyrus's business).
fn wanted(name: &str) -> bool {
    matches!(name, "cyrus.header" | "cyrus.index" | "SEEN" | "SUBS")
        || (name.starts_with("SIEVE") && name.ends_with(".script"))
        || name
            .strip_suffix('.')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The end of an UNDUMP, on the blocking pool: commit, quota, the user's files, publish, and
/// the owner's `\Seen` from the seen database. Answers how many messages were marked seen.
#[allow(clippy::too_many_arguments)]
fn finish(
    s: &MailService,
    identity: &Identity,
    name: &MailboxName,
    uidnext: u32,
    limits: Option<QuotaLimits>,
    inbox_of: Option<&str>,
    scripts: &[(String, bool, PathBuf)],
    from_box: &[(String, Vec<u8>)],
    active: Option<&str>,
    subs: Option<&Path>,
    seen: Option<&Path>,
    undumped: &HashMap<String, MailboxName>,
) -> Result<Result<usize, String>, ServiceError> {
    s.incoming_commit(identity, name, uidnext)?;
    if let Some(limits) = limits {
        s.incoming_quota(identity, name, limits)?;
    }
    if let Some(user) = inbox_of {
        for (script, active, path) in scripts {
            let text = match read_bounded(path, MAX_SMALL_FILE) {
                Ok(text) => text,
                Err(e) => return Ok(Err(format!("Sieve script {script}: {e}"))),
            };
            s.incoming_sieve(identity, name, script, &text, *active)?;
        }
        for (script, text) in from_box {
            s.incoming_sieve(
                identity,
                name,
                script,
                text,
                active == Some(script.as_str()),
            )?;
        }
        if let Some(path) = subs {
            let records = match read_db(path) {
                Ok(records) => records,
                Err(e) => return Ok(Err(format!("subscriptions: {e}"))),
            };
            let database_form = userdata::subscriptions_in_database_form(&records);
            for (key, _) in &records {
                let Some(sub) = userdata::subscription(user, key, database_form) else {
                    continue;
                };
                if let Ok(sub) = MailboxName::try_from(sub.as_str()) {
                    s.incoming_subscription(identity, name, &sub)?;
                }
            }
        }
    }
    s.incoming_done(identity, name)?;
    let mut marked = 0;
    if let (Some(user), Some(path)) = (inbox_of, seen) {
        let records = match read_db(path) {
            Ok(records) => records,
            Err(e) => return Ok(Err(format!("seen state: {e}"))),
        };
        for (key, value) in records {
            let Some(mailbox) = undumped.get(String::from_utf8_lossy(&key).as_ref()) else {
                continue;
            };
            // The user's own mailboxes: their \Seen is the owner's, in the index.
            if mailservice::userid_of(mailbox).as_deref() != Some(user) {
                continue;
            }
            let Ok(mut ranges) = userdata::seen_uids(&value, MAX_SEEN_RANGES) else {
                tracing::warn!("undump: an unreadable seen record for {mailbox}; skipped");
                continue;
            };
            ranges.sort_unstable();
            marked += s.incoming_owner_seen(identity, mailbox, &ranges)?;
        }
    }
    Ok(Ok(marked))
}

/// A Cyrus database file (twoskip, skiplist or flat).
fn read_db(path: &Path) -> Result<migrate::cyrus::Records, String> {
    let bytes = read_bounded(path, MAX_SMALL_FILE)?;
    db::parse(path, &bytes).map_err(|e| e.to_string())
}

/// Places the messages received, in UID order, [`BATCH`] to a commit.
async fn place(service: &MailService, identity: &Identity, u: &mut Undump) -> Result<(), Reply> {
    let Some(name) = u.name.clone() else {
        return Err(no("UNDUMP of a mailbox it cannot name"));
    };
    u.pending.sort_unstable();
    u.pending.dedup_by_key(|&mut (uid, _)| uid);
    while !u.pending.is_empty() {
        let take = u.pending.len().min(BATCH);
        let batch: Vec<(u32, u64)> = u.pending.drain(..take).collect();
        let files: Vec<PathBuf> = batch.iter().map(|&(_, n)| u.spool_path(n)).collect();
        let head = u.header.clone().unwrap_or_default();
        let messages: Vec<ImportedMessage> = batch
            .iter()
            .zip(&files)
            .filter_map(|(&(uid, _), path)| {
                let at = u.records.binary_search_by_key(&uid, |r| r.uid).ok()?;
                let record = u.records[at];
                Some(ImportedMessage {
                    source: AppendSource::File(path.clone()),
                    uid: Uid::new(uid)?,
                    flags: record.flags(&head),
                    internal_date: InternalDate {
                        unix_seconds: i64::from(record.internaldate),
                        offset_minutes: 0,
                    },
                    modseq: None,
                    save_date: None,
                })
            })
            .collect();
        let count = messages.len();
        let (who, key) = (identity.clone(), name.clone());
        let placed = service
            .blocking(move |s| s.incoming_messages(&who, &key, messages))
            .await;
        remove_files(files);
        placed.map_err(|e| refuse(&e, Target::Destination))?;
        u.placed += count;
    }
    Ok(())
}

impl Session {
    /// GETACL, SETACL and DELETEACL of a user's `#sieve` mailbox an UNDUMP of this session
    /// read: Cyrus resets every moved mailbox's ACL, this one included, though nothing here
    /// holds it (its scripts went to the user). An empty ACL, and `OK` to changes.
    pub(crate) fn cyrus_sieve_box_acl(
        &mut self,
        identity: &Identity,
        mailbox: &Mailbox,
        op: &crate::command::acl::Op,
    ) -> Option<Reply> {
        if self.cyrus_in.sieve_boxes.is_empty() {
            return None;
        }
        let name = self
            .service()
            .namespace()
            .to_internal(identity, mailbox.as_str())
            .ok()?;
        if !self.cyrus_in.sieve_boxes.contains(&name) {
            return None;
        }
        use crate::command::acl::Op;
        match op {
            Op::Get => {
                self.out.data(imap_proto::response::Data::Acl {
                    mailbox: mailbox.clone(),
                    entries: Vec::new(),
                });
                Some(Reply::ok("Completed"))
            }
            Op::Set { .. } | Op::Delete { .. } => Some(Reply::ok("Completed")),
            Op::List { .. } | Op::Mine => None,
        }
    }
}
