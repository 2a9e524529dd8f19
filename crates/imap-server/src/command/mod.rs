//! Dispatch: which commands each state allows (RFC 9051 §6), one handler per command, and the
//! untagged updates that go out before each tagged completion (RFC 9051 §7.5.1).

pub(crate) mod acl;
mod append;
mod authenticate;
mod capability;
mod close;
mod copy;
mod create;
mod delete;
mod enable;
mod expunge;
mod id;
mod idle;
mod list;
mod login;
mod namespace;
mod noop;
mod quota;
mod rename;
mod select;
mod starttls;
mod status;
mod store;
mod subscribe;

use imap_proto::command::{Addressing, Tag};
use imap_proto::response::{Code, Data, FetchItem, StatusKind};
use imap_proto::{Command, TaggedCommand};
use std::collections::HashMap;

use mailservice::{MessageRecord, RecordFields, UidSelection};
use types::{Flag, ModSeq, Uid};

use crate::connection::{Flow, Session};
use crate::state::State;

/// How a command completed: the tagged status line, and whether the session goes on.
pub(crate) struct Reply {
    pub kind: StatusKind,
    pub code: Option<Code>,
    pub text: String,
    pub flow: Flow,
    /// The handler wrote the tagged line itself (STARTTLS must answer before its handshake).
    pub already_sent: bool,
}

impl Reply {
    pub fn ok(text: &str) -> Reply {
        Reply {
            kind: StatusKind::Ok,
            code: None,
            text: text.to_string(),
            flow: Flow::Continue,
            already_sent: false,
        }
    }

    pub fn ok_code(code: Code, text: &str) -> Reply {
        Reply {
            code: Some(code),
            ..Reply::ok(text)
        }
    }

    pub fn no(code: Option<Code>, text: &str) -> Reply {
        Reply {
            kind: StatusKind::No,
            code,
            ..Reply::ok(text)
        }
    }

    pub fn bad(text: &str) -> Reply {
        Reply {
            kind: StatusKind::Bad,
            ..Reply::ok(text)
        }
    }

    pub fn already_sent() -> Reply {
        Reply {
            already_sent: true,
            ..Reply::ok("")
        }
    }

    pub fn closing(mut self) -> Reply {
        self.flow = Flow::Close;
        self
    }
}

/// Where a command may run.
#[derive(PartialEq, Eq)]
enum Needs {
    Any,
    NotAuthenticated,
    Authenticated,
    Selected,
}

fn needs(command: &Command) -> Needs {
    match command {
        Command::Capability | Command::Noop | Command::Logout | Command::Id(_) => Needs::Any,
        Command::StartTls | Command::Authenticate { .. } | Command::Login { .. } => {
            Needs::NotAuthenticated
        }
        Command::Check
        | Command::Close
        | Command::Unselect
        | Command::Expunge
        | Command::UidExpunge(_)
        | Command::Search(_)
        | Command::Fetch(_)
        | Command::Store(_)
        | Command::Copy { .. }
        | Command::Move { .. } => Needs::Selected,
        Command::Enable(_)
        | Command::Select { .. }
        | Command::Examine { .. }
        | Command::Create { .. }
        | Command::Delete(_)
        | Command::Rename { .. }
        | Command::Subscribe(_)
        | Command::Unsubscribe(_)
        | Command::List(_)
        | Command::Lsub { .. }
        | Command::Rlist { .. }
        | Command::Rlsub { .. }
        | Command::Namespace
        | Command::Status { .. }
        | Command::Append { .. }
        | Command::Idle
        | Command::GetAcl(_)
        | Command::SetAcl { .. }
        | Command::DeleteAcl { .. }
        | Command::ListRights { .. }
        | Command::MyRights(_)
        | Command::GetQuota(_)
        | Command::GetQuotaRoot(_)
        | Command::SetQuota { .. }
        | Command::GetMetadata { .. }
        | Command::SetMetadata { .. }
        | Command::Compress(_)
        | Command::Unauthenticate
        | Command::Reconstruct { .. }
        | Command::Xfer { .. }
        | Command::XferStep(_)
        | Command::LocalCreate { .. }
        | Command::LocalDelete(_)
        | Command::MupdatePush(_) => Needs::Authenticated,
        Command::Sort(_) | Command::Thread(_) => Needs::Selected,
    }
}

fn state_allows(state: &State, needs: &Needs) -> bool {
    matches!(
        (state, needs),
        (_, Needs::Any)
            | (State::NotAuthenticated, Needs::NotAuthenticated)
            | (
                State::Authenticated(_) | State::Selected(..) | State::Proxied(..),
                Needs::Authenticated
            )
            | (State::Selected(..) | State::Proxied(..), Needs::Selected)
    )
}

/// Whether EXPUNGE responses may go out after this command (RFC 9051 §7.5.1: not while
/// responding to FETCH, STORE or SEARCH; the UID forms are exempt, RFC 9051 §7.5.1 and
/// RFC 3501 §7.4.1; COPY and MOVE by sequence number are held back too, as the client may have
/// pipelined more sequence numbers behind them).
fn expunge_allowed(command: &Command) -> bool {
    match command {
        Command::Fetch(f) => f.addressing == Addressing::Uid,
        Command::Store(s) => s.addressing == Addressing::Uid,
        Command::Search(s) => s.addressing == Addressing::Uid,
        Command::Copy { addressing, .. } | Command::Move { addressing, .. } => {
            *addressing == Addressing::Uid
        }
        _ => true,
    }
}

/// Whether other sessions' changes go out before this command's tagged line. Not after SELECT
/// and EXAMINE: their answer is one snapshot, EXISTS with a UIDNEXT above it, and what changed
/// since waits for the next command (RFC 9051 §7.5.1 lets any later command carry it). mbsync
/// loads `UID FETCH 1:UIDNEXT-1` next; a second EXISTS in the SELECT answer, then a flag change
/// of one of those messages arriving during the load, made it skip the messages in between.
fn reports_updates(command: &Command) -> bool {
    !matches!(command, Command::Select { .. } | Command::Examine { .. })
}

impl Session {
    pub(crate) async fn dispatch(&mut self, tagged: TaggedCommand) -> Flow {
        let TaggedCommand { tag, command } = tagged;
        let need = needs(&command);
        if !state_allows(&self.state, &need) {
            let text = format!("{} is not valid in this state", command.name());
            self.out.bad(&tag, &text);
            return Flow::Continue;
        }
        if need == Needs::Selected && self.renew_rights().await == Flow::Close {
            return Flow::Close;
        }
        let allow_expunge = expunge_allowed(&command);
        let report = reports_updates(&command);
        let was_authenticated = self.state.identity().is_some();
        let reply = self.run_command(&tag, command).await;
        if !was_authenticated && self.state.identity().is_some() {
            self.after_login().await;
        }
        if report
            && self.state.view().is_some()
            && self.report_updates(allow_expunge).await == Flow::Close
        {
            return Flow::Close;
        }
        if !reply.already_sent {
            self.out.tagged(&tag, reply.kind, reply.code, &reply.text);
        }
        reply.flow
    }

    /// Runs one command. Every handler's future is boxed but IDLE's: the session's own future
    /// then stays small (a few hundred bytes instead of the largest handler's few KB), and that
    /// is what an idle connection or one waiting in IDLE holds.
    async fn run_command(&mut self, tag: &Tag, command: Command) -> Reply {
        if self.state.proxied().is_some() && crate::proxy::selected::handles(&command) {
            return Box::pin(crate::proxy::selected::run(self, tag, command)).await;
        }
        match command {
            Command::Capability => capability::run(self),
            Command::Noop | Command::Check => noop::run(),
            Command::Logout => self.logout(),
            Command::Id(params) => id::run(self, params),
            Command::StartTls => Box::pin(starttls::run(self, tag)).await,
            Command::Login { username, password } => {
                Box::pin(self.login(&username, password, "LOGIN")).await
            }
            Command::Authenticate {
                mechanism,
                initial_response,
            } => Box::pin(authenticate::run(self, &mechanism, initial_response)).await,
            Command::Enable(names) => Box::pin(enable::run(self, names)).await,
            Command::Select { mailbox, params } => {
                Box::pin(select::run(
                    self,
                    tag,
                    mailbox,
                    params,
                    select::Mode::ReadWrite,
                ))
                .await
            }
            Command::Examine { mailbox, params } => {
                Box::pin(select::run(
                    self,
                    tag,
                    mailbox,
                    params,
                    select::Mode::ReadOnly,
                ))
                .await
            }
            Command::Create {
                mailbox,
                use_attrs,
                partition,
            } => Box::pin(create::run(self, tag, mailbox, use_attrs, partition)).await,
            Command::Delete(mailbox) => Box::pin(delete::run(self, tag, mailbox)).await,
            Command::Rename {
                from,
                to,
                partition,
            } => Box::pin(rename::run(self, tag, from, to, partition)).await,
            Command::Subscribe(mailbox) => {
                Box::pin(subscribe::run(self, tag, mailbox, subscribe::Op::Subscribe)).await
            }
            Command::Unsubscribe(mailbox) => {
                Box::pin(subscribe::run(
                    self,
                    tag,
                    mailbox,
                    subscribe::Op::Unsubscribe,
                ))
                .await
            }
            Command::List(list) => Box::pin(list::run_list(self, list)).await,
            Command::Lsub { reference, pattern } => {
                Box::pin(list::run_lsub(self, reference, pattern)).await
            }
            Command::Rlist { reference, pattern } => {
                self.referrals = crate::proxy::Referrals::Refer;
                Box::pin(list::run_rlist(self, reference, pattern)).await
            }
            Command::Rlsub { reference, pattern } => {
                self.referrals = crate::proxy::Referrals::Refer;
                Box::pin(list::run_lsub(self, reference, pattern)).await
            }
            Command::Namespace => namespace::run(self),
            Command::Status { mailbox, items } => {
                Box::pin(status::run(self, tag, mailbox, items)).await
            }
            Command::Append { mailbox, messages } => {
                Box::pin(append::run(self, tag, mailbox, messages)).await
            }
            Command::Idle => idle::run(self).await,
            Command::Close => Box::pin(close::run(self, close::Mode::Close)).await,
            Command::Unselect => Box::pin(close::run(self, close::Mode::Unselect)).await,
            Command::Expunge => Box::pin(expunge::run(self, None)).await,
            Command::UidExpunge(set) => Box::pin(expunge::run(self, Some(set))).await,
            Command::Search(search) => Box::pin(crate::search::run(self, tag, search)).await,
            Command::Fetch(fetch) => Box::pin(crate::fetch::run(self, fetch)).await,
            Command::Store(store) => Box::pin(store::run(self, store)).await,
            Command::Copy {
                addressing,
                set,
                mailbox,
            } => Box::pin(copy::run(self, addressing, set, mailbox, copy::Mode::Copy)).await,
            Command::Move {
                addressing,
                set,
                mailbox,
            } => Box::pin(copy::run(self, addressing, set, mailbox, copy::Mode::Move)).await,
            Command::GetAcl(mailbox) => Box::pin(acl::run(self, tag, mailbox, acl::Op::Get)).await,
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            } => {
                Box::pin(acl::run(
                    self,
                    tag,
                    mailbox,
                    acl::Op::Set { identifier, rights },
                ))
                .await
            }
            Command::DeleteAcl {
                mailbox,
                identifier,
            } => Box::pin(acl::run(self, tag, mailbox, acl::Op::Delete { identifier })).await,
            Command::ListRights {
                mailbox,
                identifier,
            } => Box::pin(acl::run(self, tag, mailbox, acl::Op::List { identifier })).await,
            Command::MyRights(mailbox) => {
                Box::pin(acl::run(self, tag, mailbox, acl::Op::Mine)).await
            }
            Command::GetQuota(root) => Box::pin(quota::get_quota(self, tag, root)).await,
            Command::GetQuotaRoot(mailbox) => {
                Box::pin(quota::get_quota_root(self, tag, mailbox)).await
            }
            Command::SetQuota { root, limits } => {
                Box::pin(quota::set_quota(self, tag, root, limits)).await
            }
            Command::GetMetadata { .. }
            | Command::SetMetadata { .. }
            | Command::Compress(_)
            | Command::Unauthenticate
            | Command::Sort(_)
            | Command::Thread(_)
            | Command::Reconstruct { .. } => Reply::bad("Command not supported by this server yet"),
            Command::Xfer {
                mailbox,
                server,
                partition,
            } => {
                Box::pin(crate::xfer::source::run(
                    self, tag, mailbox, server, partition,
                ))
                .await
            }
            Command::XferStep(step) => Box::pin(crate::xfer::target::run(self, step)).await,
            Command::LocalCreate { mailbox, partition } => {
                Box::pin(self.local_create(mailbox, partition)).await
            }
            Command::LocalDelete(mailbox) => Box::pin(self.local_delete(mailbox)).await,
            Command::MupdatePush(mailbox) => Box::pin(self.mupdate_push(mailbox)).await,
        }
    }

    fn logout(&mut self) -> Reply {
        self.out.untagged(StatusKind::Bye, None, "Logging out");
        self.state = State::Logout;
        Reply::ok("Logout completed").closing()
    }

    /// Sends the untagged updates other sessions' changes call for (RFC 9051 §7.5.1).
    pub(crate) async fn report_updates(&mut self, allow_expunge: bool) -> Flow {
        let Some(view) = self.state.view_mut() else {
            return Flow::Continue;
        };
        view.poll_changes();
        if view.gone {
            self.out.untagged(
                StatusKind::Bye,
                None,
                "The selected mailbox was deleted or renamed",
            );
            return Flow::Close;
        }
        if self.renew_rights().await == Flow::Close {
            return Flow::Close;
        }
        let Some(view) = self.state.view_mut() else {
            return Flow::Continue;
        };
        if view.needs_resync {
            let mailbox = view.mailbox.clone();
            tracing::info!(
                "{}: change feed of {} lagged; resynchronising from the index",
                self.id,
                mailbox.name()
            );
            let current = self
                .blocking(move |s| s.records(&mailbox, UidSelection::All, RecordFields::BASIC))
                .await;
            if let (Ok(records), Some(view)) = (current, self.state.view_mut()) {
                view.resync(records.into_iter().map(|r| r.uid).collect());
            }
        }
        let Some(view) = self.state.view_mut() else {
            return Flow::Continue;
        };
        let old_last = view.uids().last().map_or(0, |u| u.get());
        let updates = view.take_updates(allow_expunge);
        self.write_expunged(updates.expunged, &updates.expunged_uids)
            .await;
        if let Some(exists) = updates.exists {
            self.out.data(Data::Exists(exists));
            self.report_recent(old_last).await;
        }
        if !updates.flags.is_empty() {
            self.report_flags(updates.flags).await;
        }
        Flow::Continue
    }

    /// After an ACL change of the selected mailbox, authorizes it again, so that what follows
    /// acts with the new rights (STORE's flag filter, EXPUNGE's `e`). Without `r` the session
    /// cannot go on with what it has selected, as for a deleted mailbox: `* BYE [NOPERM]`.
    /// Runs before every command on the selected mailbox (RFC 4314 §4 holds for the command
    /// itself: a FETCH after `r` was taken away returns nothing) and with the updates after
    /// any command.
    async fn renew_rights(&mut self) -> Flow {
        let Some(view) = self.state.view_mut() else {
            return Flow::Continue;
        };
        view.poll_changes();
        if !std::mem::take(&mut view.rights_changed) {
            return Flow::Continue;
        }
        match (self.may_still_read().await, self.state.view_mut()) {
            (Some(mailbox), Some(view)) => {
                view.mailbox = mailbox;
                Flow::Continue
            }
            (Some(_), None) => Flow::Continue,
            (None, _) => {
                self.out.untagged(
                    StatusKind::Bye,
                    Some(Code::NoPerm),
                    "Access to the selected mailbox was revoked",
                );
                Flow::Close
            }
        }
    }

    /// The selected mailbox authorized again after an ACL change; `None` when the identity
    /// may no longer read it.
    async fn may_still_read(&self) -> Option<mailservice::Authorized> {
        let (Some(view), Some(identity)) = (self.state.view(), self.state.identity()) else {
            return None;
        };
        let (name, identity) = (view.mailbox.name().clone(), identity.clone());
        self.blocking(move |s| s.authorize_internal(&identity, name, mailservice::Operation::Read))
            .await
            .ok()
    }

    async fn report_flags(&mut self, messages: Vec<(u32, Uid)>) {
        let Some(view) = self.state.view() else {
            return;
        };
        let mailbox = view.mailbox.clone();
        let uids: Vec<Uid> = messages.iter().map(|(_, u)| *u).collect();
        let records = self
            .blocking(move |s| s.records(&mailbox, UidSelection::Uids(&uids), RecordFields::BASIC))
            .await;
        let Ok(records) = records else { return };
        let changed = flags_in_order(messages, records);
        self.announce_keywords(changed.iter().map(|(_, _, f, _)| f.as_slice()))
            .await;
        for (seq, uid, flags, modseq) in changed {
            let mut items = vec![FetchItem::Uid(uid), self.flags_item(uid, &flags)];
            // RFC 7162 §3.1: after a CONDSTORE enabling command, with its MODSEQ.
            if self.enabled.condstore {
                items.push(FetchItem::ModSeq(modseq));
            }
            self.out.data(Data::Fetch { seq, items });
        }
    }
}

/// (seq, UID, flags, MODSEQ) per message whose record was found, in the order of `messages`.
/// Records are looked up by UID in a map: after another session's STORE on a large mailbox
/// both lists hold every message, and a search per message was quadratic.
fn flags_in_order(
    messages: Vec<(u32, Uid)>,
    records: Vec<MessageRecord>,
) -> Vec<(u32, Uid, Vec<Flag>, ModSeq)> {
    let mut by_uid: HashMap<Uid, (Vec<Flag>, ModSeq)> = records
        .into_iter()
        .map(|r| (r.uid, (r.flags, r.modseq)))
        .collect();
    messages
        .into_iter()
        .filter_map(|(seq, uid)| {
            let (flags, modseq) = by_uid.remove(&uid)?;
            Some((seq, uid, flags, modseq))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(uid: Uid) -> MessageRecord {
        MessageRecord {
            uid,
            flags: vec![Flag::Seen],
            internal_date: mailservice::InternalDate {
                unix_seconds: 0,
                offset_minutes: 0,
            },
            save_date: 0,
            size: 1,
            modseq: types::ModSeq::MIN,
            guid: [0; 32],
            cache: None,
            header: None,
        }
    }

    /// A million flag changes by another session used to cost a search of a million records
    /// each. The answer keeps the order asked for and skips messages without a record.
    #[test]
    fn flag_updates_for_a_whole_large_mailbox_are_matched_by_uid() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let uid = |n: u32| Uid::new(n).unwrap();
            let messages: Vec<(u32, Uid)> = (1..=1_000_000).map(|n| (n, uid(n))).collect();
            let records: Vec<MessageRecord> =
                (2..=1_000_000).rev().map(|n| record(uid(n))).collect();
            let _ = tx.send(flags_in_order(messages, records));
        });
        let fetches = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("did not finish within a minute");
        assert_eq!(fetches.len(), 999_999, "UID 1 has no record");
        assert_eq!(fetches[0].0, 2);
        assert_eq!(fetches.last().map(|f| f.0), Some(1_000_000));
    }
}
