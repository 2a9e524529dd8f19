//! Sieve at delivery: the [`DeliveryFilter`] that runs the recipient's active script (RFC 5228
//! and the extensions of `sieve::SUPPORTED`) and turns what it decided into a [`Decision`].
//!
//! For each recipient whose address reaches a user's mailbox (`user`, `user+detail`; shared
//! mailboxes have no script): look up the user's active script (a stat, see
//! [`mailstore::Store::active_sieve_script`]), compile it once per script version (cached,
//! bounded), run it against the message with the user's rights, and map the actions:
//!
//! - `keep` (and the implicit keep) store into the mailbox the address named (the INBOX, or the
//!   `+detail` mailbox), with the script's flags and edited header;
//! - `fileinto` resolves the name in the user's view of the namespace (the configured
//!   separator and alternate namespace; a name that does not resolve to a mailbox the user may
//!   post to is tried once more under the INBOX, as users of both Cyrus and Dovecot write
//!   `fileinto "Work"`), honours `:mailboxid`, `:specialuse` and `:create`, and falls back to
//!   the keep target when the mailbox cannot be had (RFC 5228 §4.1 allows this; nothing is
//!   lost);
//! - `redirect`, `reject` bounces, `vacation` replies and `notify` mails go out through the
//!   `sendmail` command once the copies are stored ([`Decision::after`]); a redirect or bounce
//!   that cannot be handed to it answers the recipient with a temporary failure (the MTA
//!   retries), because its message would otherwise be lost; a vacation or notification that
//!   fails is logged only;
//! - `ereject`, and `reject` when `sieve_use_lmtp_reject` is on (the default, as in Cyrus),
//!   refuse the recipient in the LMTP reply;
//! - vacation replies go once per period per sender and handle (RFC 5230 §4.6) and follow
//!   every "do not reply" rule of §4.5 ([`sieve::outgoing::vacation_refusal`]); `duplicate`
//!   records are written only once the delivery succeeded (RFC 7352 §3).
//!
//! A script that cannot be read or compiled, or fails at run time, gives the implicit keep and
//! a log line saying why: a broken script never loses mail.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mailstore::{AppendSource, ScriptVersion};
use sieve::interp::{
    self, Action, Fcc, Host, IncludeLocation, MessageView, Program, RunLimits, Store,
};
use sieve::outgoing;
use types::{Flag, MailboxName};

use crate::access::{Authorized, Identity, Operation};
use crate::delivery::{
    source_size, Decision, DeliveryFilter, DeliveryRecipient, Envelope, FilterMessage, Placement,
};
use crate::error::ServiceError;
use crate::events::SieveNotification;
use crate::sendmail::Sendmail;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// Compiled scripts kept at most; past it the cache starts again empty (a site with more
/// active users than this recompiles some scripts, which is cheap next to a delivery).
const MAX_CACHED_PROGRAMS: usize = 10_000;

/// The settings of Sieve at delivery (the `sieve_*` options, `sendmail`, `servername`).
#[derive(Clone, Debug)]
pub struct SieveSettings {
    /// The extensions scripts may require (`sieve_extensions`).
    pub capabilities: sieve::Capabilities,
    /// Bounds on one execution (`sieve_maxredirects` among them).
    pub limits: RunLimits,
    /// The shortest and longest vacation period, in seconds (`sieve_vacation_min_response`,
    /// `sieve_vacation_max_response`); a script's `:days`/`:seconds` is clamped into them.
    pub vacation_min: u64,
    pub vacation_max: u64,
    /// The longest `duplicate` period, in seconds (`sieve_duplicate_max_expiration`).
    pub duplicate_max: u64,
    /// How mail goes out.
    pub sendmail: Sendmail,
    /// This host's name, for Message-IDs of generated mail and `environment "host"`.
    pub hostname: String,
    /// `sieve_use_lmtp_reject`: answer `reject` in the LMTP reply rather than with a bounce.
    pub lmtp_reject: bool,
}

impl Default for SieveSettings {
    fn default() -> SieveSettings {
        SieveSettings {
            capabilities: sieve::Capabilities::all(),
            limits: RunLimits::default(),
            vacation_min: 3 * 86_400,
            vacation_max: 90 * 86_400,
            duplicate_max: 90 * 86_400,
            sendmail: Sendmail::default(),
            hostname: "localhost".into(),
            lmtp_reject: true,
        }
    }
}

/// Where a compiled script came from: (owner, `None` for a global script; script name).
type ProgramKey = (Option<String>, String);

/// The Sieve delivery filter (see the module documentation).
pub struct SieveFilter {
    settings: SieveSettings,
    programs: Mutex<HashMap<ProgramKey, (ScriptVersion, Arc<Program>)>>,
}

impl SieveFilter {
    pub fn new(settings: SieveSettings) -> SieveFilter {
        SieveFilter {
            settings,
            programs: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &SieveSettings {
        &self.settings
    }

    /// The compiled program cached under `key` if it is of `version`.
    fn cached(&self, key: &ProgramKey, version: ScriptVersion) -> Option<Arc<Program>> {
        let cache = self.programs.lock().ok()?;
        let (cached, program) = cache.get(key)?;
        (*cached == version).then(|| program.clone())
    }

    /// The compiled script `name` of `owner` (`None`: global): from the cache when the file is
    /// still of the cached version (a `stat`), else read and compiled now; `Ok(None)` when it
    /// does not exist.
    fn program(
        &self,
        service: &MailService,
        owner: Option<&str>,
        name: &str,
    ) -> std::result::Result<Option<Arc<Program>>, String> {
        let key: ProgramKey = (owner.map(str::to_string), name.to_string());
        let version = service
            .store
            .sieve_script_version(owner, name)
            .map_err(|e| format!("looking up script {name:?}: {e}"))?;
        let Some(version) = version else {
            return Ok(None);
        };
        if let Some(program) = self.cached(&key, version) {
            return Ok(Some(program));
        }
        let read = service
            .store
            .read_sieve_script(owner, name)
            .map_err(|e| format!("reading script {name:?}: {e}"))?;
        // Replaced or removed since the stat: what was read is what counts.
        let Some((version, text)) = read else {
            return Ok(None);
        };
        let program = Arc::new(
            Program::compile(&text, &self.settings.capabilities)
                .map_err(|e| format!("script {name:?}: {e}"))?,
        );
        if let Ok(mut cache) = self.programs.lock() {
            if cache.len() >= MAX_CACHED_PROGRAMS {
                cache.clear();
            }
            cache.insert(key, (version, program.clone()));
        }
        Ok(Some(program))
    }

    /// The active script of `user`, compiled, when there is one; the version check is a stat,
    /// and a cached program of the same version is not read again.
    fn active_program(
        &self,
        service: &MailService,
        user: &str,
    ) -> std::result::Result<Option<(String, Arc<Program>)>, String> {
        let active = service
            .store
            .active_sieve_script(user)
            .map_err(|e| format!("looking up the active script: {e}"))?;
        let Some((name, version)) = active else {
            return Ok(None);
        };
        let key: ProgramKey = (Some(user.to_string()), name.clone());
        if let Some(program) = self.cached(&key, version) {
            return Ok(Some((name, program)));
        }
        Ok(self
            .program(service, Some(user), &name)?
            .map(|program| (name, program)))
    }
}

impl DeliveryFilter for SieveFilter {
    fn decide(
        &self,
        service: &MailService,
        envelope: &Envelope<'_>,
        recipient: &DeliveryRecipient,
        message: &FilterMessage<'_>,
    ) -> Result<Decision> {
        let keep = || Ok(Decision::keep(recipient.target.clone()));
        let Some(user) = recipient.target.name().owner_user().map(str::to_string) else {
            return keep();
        };
        let (script, program) = match self.active_program(service, &user) {
            Ok(Some(found)) => found,
            Ok(None) => return keep(),
            Err(why) => {
                tracing::warn!("sieve: {user}: {why}; keeping the message");
                return keep();
            }
        };
        let whole = program.needs_body() || program.requires().contains(&"include");
        let raw: Cow<'_, [u8]> = if whole {
            match read_source(message.source) {
                Ok(raw) => raw,
                Err(e) => {
                    tracing::warn!("sieve: {user}: reading the message: {e}; keeping it");
                    return keep();
                }
            }
        } else {
            Cow::Borrowed(message.head)
        };
        let size = source_size(message.source);
        let mut view = MessageView::from_bytes(raw.into_owned(), size);
        // The whole message, for redirects: read at most once per recipient.
        let mut original: Option<Vec<u8>> = None;
        let sender = envelope.from.unwrap_or("");
        let auth = (!envelope.identity.is_anonymous()).then(|| envelope.identity.user());
        let sieve_envelope = interp::Envelope {
            from: sender,
            to: &recipient.address,
            auth,
        };
        let owner = owner_identity(service, &user)?;
        let host = DeliveryHost {
            filter: self,
            service,
            owner: &owner,
            user: &user,
        };
        let outcome = interp::execute(
            &program,
            &mut view,
            &sieve_envelope,
            &host,
            &self.settings.limits,
        );
        if let Some(why) = &outcome.error {
            tracing::warn!("sieve: {user}: script {script:?} failed: {why}; keeping the message");
        }
        let mut decision = Decision::default();
        let mut work: Vec<Work> = Vec::new();
        let now = unix_now();
        for action in outcome.actions {
            match action {
                Action::Keep(store) => decision
                    .copies
                    .push(placement(recipient.target.clone(), &store)),
                Action::FileInto {
                    mailbox,
                    store,
                    create,
                    special_use,
                    mailbox_id,
                } => {
                    let target = file_target(
                        service,
                        &owner,
                        &user,
                        &mailbox,
                        create,
                        special_use.as_deref(),
                        mailbox_id.as_deref(),
                    )
                    .unwrap_or_else(|why| {
                        tracing::warn!(
                            "sieve: {user}: fileinto {mailbox:?}: {why}; keeping the copy \
                                 in {}",
                            recipient.target.name()
                        );
                        recipient.target.clone()
                    });
                    decision.copies.push(placement(target, &store));
                }
                Action::Redirect {
                    address,
                    copy: _,
                    header,
                } => {
                    let original: &[u8] = if whole {
                        view.bytes()
                    } else {
                        match &mut original {
                            Some(bytes) => bytes,
                            None => original.insert(
                                read_source(message.source)
                                    .map_err(|e| {
                                        ServiceError::Store(mailstore::StoreError::Io {
                                            path: "message".into(),
                                            source: e,
                                        })
                                    })?
                                    .into_owned(),
                            ),
                        }
                    };
                    if outgoing::redirect_loops(original, &recipient.address) {
                        tracing::info!(
                            "sieve: {user}: not redirecting to {address}: it came through \
                             this redirect before (loop)"
                        );
                        continue;
                    }
                    let (own_header, body) = outgoing::split_message(original);
                    let header = header.as_deref().unwrap_or(own_header);
                    let message = outgoing::redirect_message(header, body, &recipient.address);
                    work.push(Work::Essential {
                        what: format!("redirect to {address}"),
                        sender: sender.to_string(),
                        recipients: vec![address],
                        message,
                    });
                }
                Action::Reject { reason, extended } => {
                    if extended || self.settings.lmtp_reject {
                        decision.refusal = Some(reason);
                        continue;
                    }
                    let bounce = outgoing::reject_bounce(
                        view.bytes(),
                        &sieve_envelope,
                        &reason,
                        &self.settings.hostname,
                        now_offset(),
                    );
                    match bounce {
                        Some(message) => work.push(Work::Essential {
                            what: "reject bounce".into(),
                            sender: String::new(),
                            recipients: vec![sender.to_string()],
                            message,
                        }),
                        None => tracing::info!(
                            "sieve: {user}: rejected a message from <>; no bounce to a bounce"
                        ),
                    }
                }
                Action::Vacation(mut vacation) => {
                    vacation.period = vacation
                        .period
                        .clamp(self.settings.vacation_min, self.settings.vacation_max);
                    if let Some(why) =
                        outgoing::vacation_refusal(view.bytes(), &sieve_envelope, &vacation, &[])
                    {
                        tracing::info!("sieve: {user}: no vacation reply to <{sender}>: {why}");
                        continue;
                    }
                    let key = outgoing::vacation_tracking_key(&user, sender, &vacation.handle);
                    match service.store.sieve_tracked(&key, now) {
                        Ok(true) => {
                            tracing::info!(
                                "sieve: {user}: no vacation reply to <{sender}>: replied within \
                                 the period"
                            );
                            continue;
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!("sieve: {user}: vacation tracking: {e}; no reply");
                            continue;
                        }
                    }
                    let message = outgoing::vacation_reply(
                        view.bytes(),
                        &sieve_envelope,
                        &vacation,
                        &self.settings.hostname,
                        now_offset(),
                    );
                    work.push(Work::Courtesy {
                        what: format!("vacation reply to <{sender}>"),
                        sender: String::new(),
                        recipients: vec![sender.to_string()],
                        message,
                        track: Some((key, now.saturating_add(vacation.period))),
                        fcc: vacation.fcc,
                    });
                }
                Action::Notify(notify) => {
                    let routed = service.events.takes_sieve_notifications();
                    let mailto = notify
                        .method
                        .get(..7)
                        .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"));
                    let built = match outgoing::notify_mailto(
                        view.bytes(),
                        &sieve_envelope,
                        &notify,
                        &self.settings.hostname,
                        now_offset(),
                    ) {
                        Ok(out) => Some(out),
                        Err(why) if mailto || !routed => {
                            tracing::info!(
                                "sieve: {user}: no notification to {}: {why}",
                                notify.method
                            );
                            continue;
                        }
                        Err(_) => None,
                    };
                    if routed {
                        let first = |name: &str| {
                            view.header_values(name)
                                .first()
                                .map(|v| v.trim().to_string())
                                .unwrap_or_default()
                        };
                        let text = notify.message.clone().unwrap_or_else(|| {
                            format!("[SIEVE] {}: {}", first("From"), first("Subject"))
                        });
                        let copy = built.as_ref().map(|out| out.message.clone());
                        work.push(Work::Notify {
                            notification: SieveNotification {
                                user: user.clone(),
                                method: notify.method.clone(),
                                from: notify.from.clone(),
                                importance: notify.importance,
                                options: notify.options.clone(),
                                text,
                                mail: built.map(|out| (out.sender, out.recipients, out.message)),
                            },
                            copy,
                            fcc: notify.fcc,
                        });
                    } else if let Some(out) = built {
                        work.push(Work::Courtesy {
                            what: format!("notification {}", notify.method),
                            sender: out.sender,
                            recipients: out.recipients,
                            message: out.message,
                            track: None,
                            fcc: notify.fcc,
                        });
                    }
                }
            }
        }
        let duplicates: Vec<(String, u64)> = outcome
            .duplicates
            .into_iter()
            .map(|(key, period)| {
                let period = period.min(self.settings.duplicate_max);
                (
                    format!("duplicate:{user}:{key}"),
                    now.saturating_add(period),
                )
            })
            .collect();
        if decision.refusal.is_none() && (!work.is_empty() || !duplicates.is_empty()) {
            let sendmail = self.settings.sendmail.clone();
            let owner = owner.clone();
            decision.after = Some(Box::new(move |service: &MailService| {
                run_work(service, &sendmail, &owner, work, duplicates)
            }));
        }
        Ok(decision)
    }
}

/// The mailbox a `fileinto` (or an `:fcc`) stores into, authorized for posting by the owner:
/// the one with `mailbox_id`, else the one with `special_use`, else `mailbox` ([`resolve`]),
/// created with `create`; `Err` says why there is none.
fn file_target(
    service: &MailService,
    owner: &Identity,
    user: &str,
    mailbox: &str,
    create: bool,
    special_use: Option<&str>,
    mailbox_id: Option<&str>,
) -> std::result::Result<Authorized, String> {
    if let Some(id) = mailbox_id {
        if let Some(name) = owned_mailbox(service, user, |e| e.uniqueid == id) {
            if let Ok(target) = service.authorize_internal(owner, name, Operation::Post) {
                return Ok(target);
            }
        }
    }
    if let Some(usage) = special_use {
        let has = |e: &mailstore::MailboxEntry| {
            e.special_use.iter().any(|u| u.eq_ignore_ascii_case(usage))
        };
        if let Some(name) = owned_mailbox(service, user, has) {
            if let Ok(target) = service.authorize_internal(owner, name, Operation::Post) {
                return Ok(target);
            }
        }
    }
    if let Some(target) = resolve(service, owner, mailbox) {
        return Ok(target);
    }
    if !create {
        return Err("no such mailbox the owner may post to".into());
    }
    let name = candidates(service, owner, mailbox)
        .into_iter()
        .next()
        .ok_or_else(|| "not a valid mailbox name".to_string())?;
    let wanted = service
        .authorize_internal(owner, name, Operation::Create)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let uses = special_use.map(|u| vec![u.to_string()]).unwrap_or_default();
    match service.create(owner, &wanted, uses, None) {
        Ok(_) | Err(ServiceError::AlreadyExists) => {}
        Err(e) => return Err(format!("cannot create it: {e}")),
    }
    service
        .authorize_internal(owner, wanted.name().clone(), Operation::Post)
        .map_err(|e| format!("created, but {e}"))
}

/// The internal names `mailbox` (as a script of `owner` wrote it) may mean, most likely first:
/// the name in the owner's view of the namespace, then the same under the owner's INBOX.
fn candidates(service: &MailService, owner: &Identity, mailbox: &str) -> Vec<MailboxName> {
    let mut out = Vec::with_capacity(2);
    // The name as the owner's view of the namespace maps it: a personal mailbox first, a
    // shared one last.
    let direct = service.namespace().to_internal(owner, mailbox).ok();
    let (personal, shared) = match direct {
        Some(name) if name.owner_user().is_some() => (Some(name), None),
        other => (None, other),
    };
    if let Some(name) = personal {
        out.push(name);
    }
    if let Some(inbox) = owner.inbox() {
        let sep = service.namespace().separator();
        let relative = format!("INBOX{sep}{mailbox}");
        let under = service
            .namespace()
            .to_internal(owner, &relative)
            .ok()
            .or_else(|| {
                MailboxName::try_from(format!(
                    "{inbox}.{}",
                    service.namespace().path_to_internal(mailbox)
                ))
                .ok()
            });
        if let Some(name) = under {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    // A shared mailbox named in full (the standard namespace's top level).
    if let Some(name) = shared {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The first of `mailbox`'s [`candidates`] that exists and the owner may post to.
fn resolve(service: &MailService, owner: &Identity, mailbox: &str) -> Option<Authorized> {
    candidates(service, owner, mailbox)
        .into_iter()
        .find_map(|name| {
            service
                .authorize_internal(owner, name, Operation::Post)
                .ok()
        })
}

/// The first mailbox of `user`'s hierarchy for which `wanted` holds.
fn owned_mailbox(
    service: &MailService,
    user: &str,
    wanted: impl Fn(&mailstore::MailboxEntry) -> bool,
) -> Option<MailboxName> {
    let inbox = service.namespace().user_inbox(user).ok()?;
    // The INBOX and everything under it.
    let entries = service.store.list_mailboxes(Some(&inbox)).ok()?;
    entries.into_iter().find(|e| wanted(e)).map(|e| e.name)
}

/// The identity whose rights a script of `user` acts with: the user, with their INBOX.
fn owner_identity(service: &MailService, user: &str) -> Result<Identity> {
    service.namespace().user_inbox(user)?;
    Ok(service.namespace().owner_identity(user))
}

/// A stored copy: `target` with the flags and header a Sieve action gave it.
fn placement(target: Authorized, store: &Store) -> Placement {
    Placement {
        target,
        flags: store.flags.as_ref().map(|flags| {
            flags
                .iter()
                .filter_map(|f| Flag::parse(f).ok())
                .filter(|f| !f.as_str().eq_ignore_ascii_case("\\Recent"))
                .collect()
        }),
        header: store.header.clone(),
    }
}

/// Mail to hand to `sendmail` once the copies are stored.
enum Work {
    /// Its failure answers the recipient with a temporary failure (a redirect, a bounce: the
    /// message would be lost otherwise).
    Essential {
        what: String,
        sender: String,
        recipients: Vec<String>,
        message: Vec<u8>,
    },
    /// Its failure is logged (a vacation reply, a notification); `track` is recorded once it
    /// went, `fcc` gets a copy.
    Courtesy {
        what: String,
        sender: String,
        recipients: Vec<String>,
        message: Vec<u8>,
        track: Option<(String, u64)>,
        fcc: Option<Fcc>,
    },
    /// A notification for the service's notifier (which queues it, never waiting); `fcc`
    /// files `copy`, the mail a `mailto:` notification sends.
    Notify {
        notification: SieveNotification,
        copy: Option<Vec<u8>>,
        fcc: Option<Fcc>,
    },
}

/// Sends what the script asked for and records its `duplicate` tests.
fn run_work(
    service: &MailService,
    sendmail: &Sendmail,
    owner: &Identity,
    work: Vec<Work>,
    duplicates: Vec<(String, u64)>,
) -> Result<()> {
    let user = owner.user().to_string();
    for item in work {
        match item {
            Work::Essential {
                what,
                sender,
                recipients,
                message,
            } => {
                let to: Vec<&str> = recipients.iter().map(String::as_str).collect();
                if let Err(e) = sendmail.send(&sender, &to, &message) {
                    tracing::error!("sieve: {user}: {what} failed: {e}");
                    return Err(ServiceError::Store(mailstore::StoreError::Busy(format!(
                        "{what}: the mail could not be handed on"
                    ))));
                }
                tracing::info!("sieve: {user}: {what}");
            }
            Work::Courtesy {
                what,
                sender,
                recipients,
                message,
                track,
                fcc,
            } => {
                let to: Vec<&str> = recipients.iter().map(String::as_str).collect();
                if let Err(e) = sendmail.send(&sender, &to, &message) {
                    tracing::warn!("sieve: {user}: {what} failed: {e}");
                    continue;
                }
                tracing::info!("sieve: {user}: sent {what}");
                if let Some((key, until)) = track {
                    if let Err(e) = service.store.sieve_track(&key, until) {
                        tracing::warn!("sieve: {user}: recording {what}: {e}");
                    }
                }
                if let Some(fcc) = fcc {
                    file_copy(service, owner, &user, &fcc, message);
                }
            }
            Work::Notify {
                notification,
                copy,
                fcc,
            } => {
                service.events.sieve_notify(&notification);
                tracing::info!("sieve: {user}: notification {} queued", notification.method);
                match (fcc, copy) {
                    (Some(fcc), Some(copy)) => file_copy(service, owner, &user, &fcc, copy),
                    (Some(_), None) => tracing::info!(
                        "sieve: {user}: no :fcc copy of the {} notification: it sends no mail",
                        notification.method
                    ),
                    (None, _) => {}
                }
            }
        }
    }
    for (key, until) in duplicates {
        if let Err(e) = service.store.sieve_track(&key, until) {
            tracing::warn!("sieve: {user}: recording a duplicate test: {e}");
        }
    }
    Ok(())
}

/// `:fcc` (RFC 8580): files a copy of mail the script sent; failures are logged (RFC 8580 §4:
/// the sending stands).
fn file_copy(service: &MailService, owner: &Identity, user: &str, fcc: &Fcc, message: Vec<u8>) {
    let target = file_target(
        service,
        owner,
        user,
        &fcc.mailbox,
        fcc.create,
        fcc.special_use.as_deref(),
        fcc.mailbox_id.as_deref(),
    );
    let target = match target {
        Ok(target) => target,
        Err(why) => {
            tracing::warn!("sieve: {user}: fcc {:?}: {why}", fcc.mailbox);
            return;
        }
    };
    let flags: Vec<Flag> = fcc
        .flags
        .iter()
        .flatten()
        .filter_map(|f| Flag::parse(f).ok())
        .collect();
    let item = mailstore::AppendItem {
        source: AppendSource::Bytes(message),
        flags,
        internal_date: None,
    };
    if let Err(e) = service.store_delivery(&[target], item, None, false) {
        tracing::warn!("sieve: {user}: fcc {:?}: {e}", fcc.mailbox);
    }
}

/// What a script asks of the world during a delivery, answered with the owner's rights.
struct DeliveryHost<'a> {
    filter: &'a SieveFilter,
    service: &'a MailService,
    owner: &'a Identity,
    user: &'a str,
}

impl Host for DeliveryHost<'_> {
    fn mailbox_exists(&self, mailbox: &str) -> bool {
        resolve(self.service, self.owner, mailbox).is_some()
    }

    fn special_use_exists(&self, mailbox: Option<&str>, uses: &[String]) -> bool {
        let has_all = |e: &mailstore::MailboxEntry| {
            uses.iter()
                .all(|u| e.special_use.iter().any(|s| s.eq_ignore_ascii_case(u)))
        };
        match mailbox {
            Some(mailbox) => resolve(self.service, self.owner, mailbox)
                .and_then(|t| self.service.store.mailbox_entry(t.name()).ok())
                .is_some_and(|e| has_all(&e)),
            None => uses.iter().all(|u| {
                owned_mailbox(self.service, self.user, |e| {
                    e.special_use.iter().any(|s| s.eq_ignore_ascii_case(u))
                })
                .is_some()
            }),
        }
    }

    fn mailbox_id_exists(&self, id: &str) -> bool {
        owned_mailbox(self.service, self.user, |e| e.uniqueid == id).is_some()
    }

    fn duplicate_seen(&self, key: &str, _period: u64) -> bool {
        let key = format!("duplicate:{}:{key}", self.user);
        self.service
            .store
            .sieve_tracked(&key, unix_now())
            .unwrap_or(false)
    }

    fn include(
        &self,
        location: IncludeLocation,
        name: &str,
    ) -> std::result::Result<Option<Arc<Program>>, String> {
        let owner = match location {
            IncludeLocation::Personal => Some(self.user),
            IncludeLocation::Global => None,
        };
        self.filter.program(self.service, owner, name)
    }

    fn environment(&self, name: &str) -> Option<String> {
        let host = &self.filter.settings.hostname;
        match name {
            // A user of a virtual domain is served for that domain.
            "domain" => Some(match self.service.domains().domain_of(self.user) {
                Some(domain) => domain.to_string(),
                None => host
                    .split_once('.')
                    .map_or(host.as_str(), |(_, d)| d)
                    .to_string(),
            }),
            "host" => Some(host.clone()),
            "location" => Some("MDA".into()),
            "phase" => Some("during".into()),
            _ => None,
        }
    }

    fn now(&self) -> time::OffsetDateTime {
        now_offset()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_offset() -> time::OffsetDateTime {
    time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc())
}

/// The whole message of `source`.
fn read_source(source: &AppendSource) -> std::io::Result<Cow<'_, [u8]>> {
    match source {
        AppendSource::Bytes(b) => Ok(Cow::Borrowed(b.as_slice())),
        AppendSource::File(path) => std::fs::read(path).map(Cow::Owned),
    }
}

#[cfg(test)]
#[path = "sieve_filter_tests.rs"]
mod tests;
