//! SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3), with CONDSTORE's HIGHESTMODSEQ and
//! QRESYNC's resynchronisation (RFC 7162 §3.1.2, §3.2.5): after the usual responses, the
//! messages expunged since the client's MODSEQ as `VANISHED (EARLIER)`, then a FETCH of UID,
//! FLAGS and MODSEQ for each message changed since. A mailbox another server holds is
//! selected there, and the session enters the proxied selected state (`proxy`).

use imap_proto::command::{Command, Mailbox, SelectParam, Tag};
use imap_proto::response::{Code, Data, FetchItem, StatusKind, Vanished};
use imap_proto::{NumberRanges, SequenceSet};
use mailservice::{Operation, SelectSnapshot, VanishedSince};
use types::{Flag, ModSeq, Rights, Uid, UidValidity};

use crate::command::Reply;
use crate::condstore::vanished_among;
use crate::connection::Session;
use crate::convert::{refuse, Target};
use crate::flags::{write_announcement, Access, Keywords};
use crate::state::State;
use crate::view::{Recent, SelectedView};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    ReadWrite,
    ReadOnly,
}

/// What opening the mailbox does with its `\Recent` messages.
#[derive(Clone, Copy)]
enum RecentUse {
    Claim,
    Look,
    None,
}

impl RecentUse {
    /// RFC 3501 §2.3.2: a read-write SELECT claims the messages no session has been told about
    /// yet; EXAMINE only looks. IMAP4rev2 has no `\Recent` (RFC 9051 §2.3.2): nothing.
    fn of(mode: Mode, imap4rev2: bool) -> RecentUse {
        match (mode, imap4rev2) {
            (_, true) => RecentUse::None,
            (Mode::ReadWrite, false) => RecentUse::Claim,
            (Mode::ReadOnly, false) => RecentUse::Look,
        }
    }

    /// The recent mark before this session (claiming up to `last` where it claims).
    fn mark(
        self,
        s: &mailservice::MailService,
        mailbox: &mailservice::Authorized,
        last: Option<Uid>,
    ) -> Result<Option<u32>, mailservice::ServiceError> {
        match (self, last) {
            (RecentUse::Claim, Some(last)) => s.claim_recent(mailbox, last).map(Some),
            (RecentUse::Claim | RecentUse::Look, _) => s.recent_mark(mailbox).map(Some),
            (RecentUse::None, _) => Ok(None),
        }
    }
}

/// The session's `\Recent` messages: those of `uids` above the mark.
fn recent_above(mark: Option<u32>, uids: &[Uid]) -> Recent {
    let mut recent = Recent::default();
    if let (Some(first), Some(last)) = (mark.and_then(|m| m.checked_add(1)), uids.last()) {
        recent.add(first, last.get());
    }
    recent
}

/// The client's cached state, from the QRESYNC parameter (RFC 7162 §3.2.5). The
/// sequence-match data only helps a server that has lost expunge history narrow its answer;
/// without history this server reports every known UID that is gone, which RFC 7162 §3.2.5.2
/// allows, so it is accepted and not used.
struct QResync {
    uid_validity: UidValidity,
    mod_seq: ModSeq,
    known_uids: Option<SequenceSet>,
}

/// What the parameters ask for: CONDSTORE on, and a resynchronisation.
fn parameters(
    session: &Session,
    params: Vec<SelectParam>,
) -> Result<(bool, Option<QResync>), Reply> {
    let mut condstore = false;
    let mut qresync = None;
    for param in params {
        match param {
            // RFC 7162 §3.1: a parameter of an extension the server does not show is unknown
            // (`suppress_capabilities`; on a frontend, one a backend lacks).
            SelectParam::CondStore if !session.offers("CONDSTORE") => {
                return Err(Reply::bad("Unknown SELECT parameter CONDSTORE"));
            }
            SelectParam::CondStore => condstore = true,
            SelectParam::QResync {
                uid_validity,
                mod_seq,
                known_uids,
                seq_match: _,
            } => {
                // RFC 7162 §3.2.5: BAD unless the client enabled QRESYNC first.
                if !session.enabled.qresync {
                    return Err(Reply::bad("QRESYNC must be enabled first (ENABLE QRESYNC)"));
                }
                if qresync.is_some() {
                    return Err(Reply::bad("QRESYNC given twice"));
                }
                qresync = Some(QResync {
                    uid_validity,
                    mod_seq,
                    known_uids,
                });
            }
            SelectParam::Other { name, .. } => {
                return Err(Reply::bad(&format!("Unknown SELECT parameter {name}")));
            }
        }
    }
    Ok((condstore, qresync))
}

pub(crate) async fn run(
    session: &mut Session,
    tag: &Tag,
    mailbox: Mailbox,
    params: Vec<SelectParam>,
    mode: Mode,
) -> Reply {
    let forwarded = match mode {
        Mode::ReadWrite => Command::Select {
            mailbox: mailbox.clone(),
            params: params.clone(),
        },
        Mode::ReadOnly => Command::Examine {
            mailbox: mailbox.clone(),
            params: params.clone(),
        },
    };
    let (condstore, qresync) = match parameters(session, params) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let authorized = session.authorize(&mailbox, Operation::Read);
    let remote = match authorized.as_ref().map(|a| session.remote(a)) {
        Ok(Ok(remote)) => remote,
        Ok(Err(e)) => {
            session.leave_selected(None).await;
            return refuse(&e, Target::Source);
        }
        Err(_) => None,
    };
    // RFC 9051 §6.3.2: selecting closes the current mailbox first, without expunging.
    session
        .leave_selected(remote.as_ref().map(|r| r.server.as_str()))
        .await;
    let authorized = match authorized {
        Ok(a) => a,
        Err(e) => return refuse(&e, Target::Source),
    };
    if let Some(remote) = remote {
        if let Some(referral) = session.referral(&remote, &mailbox) {
            return referral;
        }
        return crate::proxy::selected::select(session, tag, remote.server, authorized, forwarded)
            .await;
    }
    // RFC 4314 §4: with none of the rights that change a mailbox's state, SELECT is
    // read-only (`[READ-ONLY]`, nothing claimed as `\Recent`).
    let state_rights = Rights::SEEN
        .union(Rights::WRITE)
        .union(Rights::DELETE_MESSAGES)
        .union(Rights::EXPUNGE);
    let mode = match mode {
        Mode::ReadWrite if !authorized.acting_rights().intersects(state_rights) => Mode::ReadOnly,
        other => other,
    };
    let a = authorized.clone();
    let who = session.state.identity().cloned();
    let recent = RecentUse::of(mode, session.enabled.imap4rev2);
    let asked = qresync.as_ref().map(|q| (q.uid_validity, q.mod_seq));
    let opened = session
        .blocking(move |s| {
            let changes = s.subscribe_changes(&a)?;
            let snap = s.select_snapshot(&a, asked.map(|(_, since)| since))?;
            let mark = recent.mark(s, &a, snap.uids.last().copied())?;
            // After the snapshot: an expunge in between is reported twice at worst, never lost.
            let history = match asked {
                Some((validity, since)) if validity == snap.status.uidvalidity => {
                    Some(s.vanished_since(&a, since)?)
                }
                _ => None,
            };
            // A nearly full quota root is worth telling, not worth failing SELECT over.
            let warning = match who.as_ref().map(|id| s.quota_warning(id, &a)) {
                Some(Ok(w)) => w,
                Some(Err(e)) => {
                    tracing::warn!("quota warning for {}: {e}", a.name());
                    None
                }
                None => None,
            };
            Ok((changes, snap, mark, history, warning))
        })
        .await;
    let (changes, snap, mark, history, warning) = match opened {
        Ok(v) => v,
        Err(e) => return refuse(&e, Target::Source),
    };
    let SelectSnapshot {
        status,
        uids,
        first_unseen,
        changed,
    } = snap;
    // The mailbox's keyword table (RFC 9051 §7.3.5), read with the records: it names every
    // keyword they carry.
    let mut keywords = Keywords::default();
    keywords.learn(status.keywords.iter().cloned());
    let resync = match (qresync, history) {
        (Some(q), Some(history)) => {
            let top = uidnext_above(status.uidnext, &uids).get().saturating_sub(1);
            Some(resync_answer(q, history, changed, &uids, top))
        }
        _ => None,
    };
    let read_only = mode == Mode::ReadOnly;
    let out = &mut session.out;
    let access = match mode {
        Mode::ReadWrite => Access::ReadWrite,
        Mode::ReadOnly => Access::ReadOnly,
    };
    write_announcement(out, keywords.list(), access);
    out.data(Data::Exists(u32::try_from(uids.len()).unwrap_or(u32::MAX)));
    let recent = recent_above(mark, &uids);
    if !session.enabled.imap4rev2 {
        out.data(Data::Recent(recent.count(&uids)));
        if let Some(seq) = first_unseen {
            out.untagged(
                StatusKind::Ok,
                Some(Code::Unseen(seq)),
                "First unseen message",
            );
        }
    }
    out.untagged(
        StatusKind::Ok,
        Some(Code::UidValidity(status.uidvalidity)),
        "UIDs valid",
    );
    out.untagged(
        StatusKind::Ok,
        Some(Code::UidNext(uidnext_above(status.uidnext, &uids))),
        "Predicted next UID",
    );
    // RFC 7162 §3.1.2.1: with every SELECT and EXAMINE, whether or not CONDSTORE is on.
    out.untagged(
        StatusKind::Ok,
        Some(Code::HighestModSeq(status.highestmodseq)),
        "Highest",
    );
    if let Some(text) = warning {
        // `quotawarn` (Cyrus): only for an identity who may remove messages here.
        out.untagged(StatusKind::Ok, Some(Code::Alert), &text);
    }
    session.proc.update(
        session.state.identity().map(|i| i.user()),
        Some(authorized.name().as_str()),
    );
    tracing::info!("{}: open mailbox {}", session.id, authorized.name());
    let identity = match std::mem::replace(&mut session.state, State::Logout) {
        State::Authenticated(id) | State::Selected(id, _) | State::Proxied(id, _) => id,
        other => {
            session.state = other;
            return Reply::bad("Not authenticated");
        }
    };
    let mut view = SelectedView::new(authorized, read_only, uids, changes);
    view.keywords = keywords;
    view.recent = recent;
    view.known_modseq = status.highestmodseq.get();
    session.state = State::Selected(identity, Box::new(view));
    if condstore {
        // Already reported HIGHESTMODSEQ above.
        session.enabled.condstore = true;
    }
    if let Some(resync) = resync {
        write_resync(session, resync).await;
    }
    match mode {
        Mode::ReadWrite => Reply::ok_code(Code::ReadWrite, "Select completed"),
        Mode::ReadOnly => Reply::ok_code(Code::ReadOnly, "Examine completed"),
    }
}

/// The answer to a QRESYNC whose UIDVALIDITY matched.
struct ResyncAnswer {
    vanished: Vec<(u32, u32)>,
    /// (seq, UID, flags, MODSEQ) of each message changed since the client's MODSEQ.
    changed: Vec<(u32, Uid, Vec<Flag>, ModSeq)>,
}

/// What changed since the client's state: the known UIDs that are gone, and the messages
/// (among the known UIDs, when the client listed them) with a MODSEQ above its own.
fn resync_answer(
    q: QResync,
    history: VanishedSince,
    changed: Vec<mailservice::MessageRecord>,
    uids: &[Uid],
    top: u32,
) -> ResyncAnswer {
    // Every UID the mailbox has handed out so far is below UIDNEXT; `*` is the last of them.
    let clipped = |ranges: Vec<(u32, u32)>| {
        NumberRanges::from_ranges(
            ranges
                .into_iter()
                .filter(|&(lo, _)| lo <= top)
                .map(|(lo, hi)| (lo, hi.min(top)))
                .collect(),
        )
    };
    let known = match &q.known_uids {
        Some(set) => clipped(set.ranges(top).unwrap_or_default()),
        None => clipped(vec![(1, top)]),
    };
    let vanished = vanished_among(&known, history, uids);
    let changed = changed
        .into_iter()
        .filter(|r| r.modseq > q.mod_seq && known.contains(r.uid.get()))
        .filter_map(|r| {
            let seq = u32::try_from(uids.binary_search(&r.uid).ok()? + 1).ok()?;
            Some((seq, r.uid, r.flags, r.modseq))
        })
        .collect();
    ResyncAnswer { vanished, changed }
}

/// VANISHED (EARLIER) first, then the FETCHes (RFC 7162 §3.2.5.2).
async fn write_resync(session: &mut Session, answer: ResyncAnswer) {
    session
        .write_vanished(Vanished::Earlier, &answer.vanished)
        .await;
    for (seq, uid, flags, modseq) in answer.changed {
        let items = vec![
            FetchItem::Uid(uid),
            session.flags_item(uid, &flags),
            FetchItem::ModSeq(modseq),
        ];
        session.out.data(Data::Fetch { seq, items });
        session.flush_when_full().await;
    }
}

/// UIDNEXT as of the records the view starts from, never at or below a UID the view holds:
/// clients that load `1:UIDNEXT-1` (mbsync) would miss that message (RFC 9051 §2.3.1.1).
/// `select_snapshot` reads both from one snapshot, where this always holds already; the guard
/// stays so that a damaged header (UIDNEXT behind its records) cannot hide messages.
fn uidnext_above(uidnext: Uid, uids: &[Uid]) -> Uid {
    match uids
        .last()
        .and_then(|last| last.get().checked_add(1))
        .and_then(Uid::new)
    {
        Some(after_last) if after_last > uidnext => after_last,
        _ => uidnext,
    }
}

impl Session {
    /// Resolves a client's mailbox for `operation` through the service.
    pub(crate) fn authorize(
        &self,
        mailbox: &Mailbox,
        operation: Operation,
    ) -> Result<mailservice::Authorized, mailservice::ServiceError> {
        let identity = self
            .state
            .identity()
            .ok_or(mailservice::ServiceError::PermissionDenied)?;
        self.service()
            .authorize(identity, mailbox.as_str(), operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn uidnext_rises_above_a_message_appended_after_the_status_was_read() {
        assert_eq!(uidnext_above(uid(5), &[uid(1), uid(4)]), uid(5));
        assert_eq!(uidnext_above(uid(5), &[uid(1), uid(5), uid(6)]), uid(7));
        assert_eq!(uidnext_above(uid(1), &[]), uid(1));
        assert_eq!(
            uidnext_above(uid(9), &[uid(u32::MAX)]),
            uid(9),
            "no UID after the last"
        );
    }
}
