//! SELECT and EXAMINE of a mailbox a backend holds, and the proxied selected state that
//! follows: every command about the selected mailbox goes to that backend, which keeps the
//! view (sequence numbers, flags, expunges, MODSEQ), and its untagged answers come back as
//! they are. IDLE waits on the client and the backend at once, so what the backend reports
//! while idling (another session's APPEND's EXISTS) reaches the client as it happens.

use imap_proto::command::{Addressing, Command, FetchAttr, FetchItems, Mailbox, Tag};
use imap_proto::response::Code;
use imap_proto::{FramerEvent, FramerMode, SequenceSet};
use mailservice::{Authorized, Operation};

use super::conn::{BackendConn, Completion};
use super::copy::Mode;
use super::relay::{Sink, Step};
use super::{ProxiedMailbox, ProxyError};
use crate::command::Reply;
use crate::connection::{Input, Session, Watch};
use crate::convert::{refuse, Target};
use crate::state::State;

/// Whether the proxied selected state passes `command` to the backend (the commands about
/// the selected mailbox; the others run as in any authenticated state).
pub(crate) fn handles(command: &Command) -> bool {
    matches!(
        command,
        Command::Check
            | Command::Noop
            | Command::Close
            | Command::Unselect
            | Command::Expunge
            | Command::UidExpunge(_)
            | Command::Search(_)
            | Command::Sort(_)
            | Command::Thread(_)
            | Command::Fetch(_)
            | Command::Store(_)
            | Command::Copy { .. }
            | Command::Move { .. }
            | Command::Idle
    )
}

/// Whether the command turns CONDSTORE on by itself (RFC 7162 §3.1): the session then
/// enables it at every backend it uses, as it would for a local mailbox.
fn enables_condstore(command: &Command) -> bool {
    match command {
        Command::Fetch(f) => {
            f.changed_since.is_some()
                || matches!(&f.items, FetchItems::Attrs(a) if a.contains(&FetchAttr::ModSeq))
        }
        Command::Store(s) => s.unchanged_since.is_some(),
        Command::Search(s) => s.criteria.iter().any(crate::search::mentions_modseq),
        _ => false,
    }
}

/// A command of the proxied selected state.
pub(crate) async fn run(session: &mut Session, tag: &Tag, command: Command) -> Reply {
    let Some(backend) = session.state.proxied().map(|p| p.backend.clone()) else {
        return Reply::bad("No mailbox selected");
    };
    if enables_condstore(&command) {
        session.enabled.condstore = true;
    }
    match command {
        Command::Idle => idle(session, tag, &backend).await,
        Command::Copy {
            addressing,
            set,
            mailbox,
        } => {
            copy(
                session,
                tag,
                &backend,
                (addressing, set),
                mailbox,
                Mode::Copy,
            )
            .await
        }
        Command::Move {
            addressing,
            set,
            mailbox,
        } => {
            copy(
                session,
                tag,
                &backend,
                (addressing, set),
                mailbox,
                Mode::Move,
            )
            .await
        }
        Command::Close | Command::Unselect => {
            let done = match session.forward(&backend, command).await {
                Ok(done) => done,
                Err(reply) => return reply,
            };
            if done.is_ok() {
                session.state.deselect();
                session.backends.set_selected(&backend, false);
                session
                    .proc
                    .update(session.state.identity().map(|i| i.user()), None);
            }
            session.complete(tag, &done)
        }
        other => session.forward_reply(tag, &backend, other).await,
    }
}

/// SELECT or EXAMINE (`command`, as the client gave it) of `mailbox`, which `backend` holds.
/// The session has left its previous mailbox already (see [`Session::leave_selected`]).
pub(crate) async fn select(
    session: &mut Session,
    tag: &Tag,
    backend: String,
    mailbox: Authorized,
    command: Command,
) -> Reply {
    let examine = matches!(command, Command::Examine { .. });
    let condstore = match &command {
        Command::Select { params, .. } | Command::Examine { params, .. } => params
            .iter()
            .any(|p| matches!(p, imap_proto::command::SelectParam::CondStore)),
        _ => false,
    };
    let mut conn = match session.backend(&backend).await {
        Ok(conn) => conn,
        Err(e) => return session.unavailable(&backend, &e),
    };
    // From here the backend may have a mailbox selected for us, even if this SELECT fails.
    conn.selected = true;
    let tag_there = conn.tag();
    let exchanged = match session.command_pieces(&tag_there, command) {
        Ok(pieces) => {
            session
                .exchange(&mut conn, &tag_there, pieces, &mut Sink::Client)
                .await
        }
        Err(e) => Err(e),
    };
    let done = match exchanged {
        Ok(done) => done,
        Err(e) => return session.unavailable(&backend, &e),
    };
    if !done.is_ok() {
        // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected there either.
        conn.selected = false;
        session.backends.put(conn);
        return session.complete(tag, &done);
    }
    if condstore {
        // RFC 7162 §3.1: the parameter enabled CONDSTORE there and for the session.
        session.enabled.condstore = true;
        conn.enabled.condstore = true;
    }
    session.backends.put(conn);
    let read_only = examine || done.code == Some(Code::ReadOnly);
    session.proc.update(
        session.state.identity().map(|i| i.user()),
        Some(mailbox.name().as_str()),
    );
    tracing::info!(
        "{}: open mailbox {} on server {backend}",
        session.id,
        mailbox.name()
    );
    let identity = match std::mem::replace(&mut session.state, State::Logout) {
        State::Authenticated(id) | State::Selected(id, _) | State::Proxied(id, _) => id,
        other => {
            session.state = other;
            return Reply::bad("Not authenticated");
        }
    };
    let proxied = ProxiedMailbox {
        backend,
        mailbox,
        read_only,
    };
    session.state = State::Proxied(identity, Box::new(proxied));
    session.complete(tag, &done)
}

impl Session {
    /// Leaves the selected mailbox before another is selected (RFC 9051 §6.3.2: without
    /// expunging), saying `* OK [CLOSED]`. A proxied one is unselected at its backend first,
    /// unless the next mailbox is on that same backend (`next_backend`): its SELECT closes
    /// the old one there, and the backend says CLOSED itself.
    pub(crate) async fn leave_selected(&mut self, next_backend: Option<&str>) {
        let closed = match self.state.proxied().map(|p| p.backend.clone()) {
            Some(backend) if Some(backend.as_str()) == next_backend => {
                self.state.deselect();
                false
            }
            Some(backend) => {
                self.state.deselect();
                self.unselect_at(&backend).await;
                true
            }
            None if self.state.view().is_some() => {
                self.state.deselect();
                true
            }
            None => false,
        };
        if closed {
            self.out.untagged(
                imap_proto::response::StatusKind::Ok,
                Some(Code::Closed),
                "Previous mailbox closed",
            );
        }
    }

    /// UNSELECT (RFC 3691) at `backend`, its answers not relayed: the client has left that
    /// mailbox. A backend without UNSELECT, or a failure, costs the connection instead.
    async fn unselect_at(&mut self, backend: &str) {
        let Some(mut conn) = self.backends.take(backend) else {
            return;
        };
        if !conn.offers("UNSELECT") {
            conn.logout().await;
            return;
        }
        let tag = conn.tag();
        let command = format!("{tag} UNSELECT\r\n").into_bytes();
        let pieces = vec![super::relay::Piece::Bytes(command)];
        match self
            .exchange(&mut conn, &tag, pieces, &mut Sink::Discard)
            .await
        {
            Ok(_) => {
                conn.selected = false;
                self.backends.put(conn);
            }
            Err(e) => tracing::warn!("{}: UNSELECT at server {backend}: {e}", self.id),
        }
    }
}

/// COPY or MOVE from the proxied mailbox: to a mailbox on the same backend the command goes
/// there as it is; to one on another server, or a local one, the frontend carries the
/// messages over (`super::copy`).
async fn copy(
    session: &mut Session,
    tag: &Tag,
    backend: &str,
    (addressing, set): (Addressing, SequenceSet),
    mailbox: Mailbox,
    mode: Mode,
) -> Reply {
    let destination = match session.authorize(&mailbox, Operation::Insert) {
        Ok(d) => d,
        Err(e) => return refuse(&e, Target::Destination),
    };
    match session.remote(&destination) {
        Ok(Some(remote)) if remote.server == backend => {
            let command = match mode {
                Mode::Copy => Command::Copy {
                    addressing,
                    set,
                    mailbox,
                },
                Mode::Move => Command::Move {
                    addressing,
                    set,
                    mailbox,
                },
            };
            session.forward_reply(tag, backend, command).await
        }
        Ok(remote) => {
            let destination = super::copy::Destination {
                mailbox: destination,
                client_name: mailbox,
                backend: remote.map(|r| r.server),
            };
            let fetch = (addressing, set);
            super::copy::between(session, tag, backend, fetch, destination, mode).await
        }
        Err(e) => refuse(&e, Target::Destination),
    }
}

/// How a proxied IDLE ended.
enum IdleEnd {
    /// The backend's completion, after the client's DONE (or the backend ended it).
    Done(Completion),
    /// The client sent something other than DONE; the backend's IDLE was ended.
    NotDone,
    /// The client's connection ended, or must.
    ClientGone,
    Fatal,
    /// The backend was lost; the client's DONE has been read.
    Lost(Reply),
}

/// IDLE (RFC 2177) at the backend, for as long as the client idles here.
async fn idle(session: &mut Session, tag: &Tag, backend: &str) -> Reply {
    let mut conn = match session.backend(backend).await {
        Ok(conn) => conn,
        Err(e) => return session.unavailable(backend, &e),
    };
    let tag_there = conn.tag();
    let command = format!("{tag_there} IDLE\r\n");
    let started = match conn.io.write_all(command.as_bytes(), conn.timeout).await {
        Ok(()) => {
            session
                .relay_until(&mut conn, &tag_there, &mut Sink::Client, true)
                .await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(Step::GoAhead(line)) => session.out.buf.extend_from_slice(&line),
        Ok(Step::Done(done)) => {
            session.backends.put(conn);
            return session.complete(tag, &done);
        }
        Err(e) => return session.unavailable(backend, &e),
    }
    if session.flush().await.is_err() {
        return Reply::already_sent().closing();
    }
    session.framer.set_mode(FramerMode::Idle);
    let end = idle_loop(session, &mut conn, &tag_there).await;
    session.framer.set_mode(FramerMode::Command);
    match end {
        IdleEnd::Done(done) => {
            session.backends.put(conn);
            session.complete(tag, &done)
        }
        IdleEnd::NotDone => {
            session.backends.put(conn);
            Reply::bad("Expected DONE")
        }
        IdleEnd::ClientGone => Reply::already_sent().closing(),
        IdleEnd::Fatal => Reply::bad("Connection closing").closing(),
        IdleEnd::Lost(reply) => reply,
    }
}

/// Relays until the client's DONE; a lost backend is reported at once (`OK [CLOSED]`), and
/// answered after the DONE.
async fn idle_loop(session: &mut Session, conn: &mut BackendConn, tag: &str) -> IdleEnd {
    let backend = conn.name.clone();
    match relay_idle(session, conn, tag).await {
        Ok(end) => end,
        Err(e) => {
            // `* OK [CLOSED]` now; the tagged NO once the client says DONE.
            let reply = session.unavailable(&backend, &e);
            if session.flush().await.is_err() {
                return IdleEnd::ClientGone;
            }
            match wait_for_done(session).await {
                IdleEnd::NotDone => IdleEnd::Lost(reply),
                other => other,
            }
        }
    }
}

/// Relays the backend's untagged responses while the client idles, until DONE.
async fn relay_idle(
    session: &mut Session,
    conn: &mut BackendConn,
    tag: &str,
) -> Result<IdleEnd, ProxyError> {
    let mut buf = vec![0u8; 1024];
    loop {
        while let Some(event) = session.framer.next_event() {
            match event {
                FramerEvent::IdleDone => {
                    return Ok(IdleEnd::Done(done_at(session, conn, tag).await?))
                }
                FramerEvent::Bad(_) => {
                    done_at(session, conn, tag).await?;
                    return Ok(IdleEnd::NotDone);
                }
                FramerEvent::Fatal(_) => return Ok(IdleEnd::Fatal),
                _ => {}
            }
        }
        while let Some(line) = conn.io.take_line()? {
            if let Some(done) = Completion::of(&line, tag) {
                // The backend ended IDLE itself (RFC 2177 lets a server do so).
                return Ok(IdleEnd::Done(done));
            }
            if !line.starts_with(b"* ") {
                return Err(ProxyError::Protocol("a line that is no response".into()));
            }
            session
                .relay_response(conn, line, &mut Sink::Client)
                .await?;
        }
        if session.flush().await.is_err() {
            return Ok(IdleEnd::ClientGone);
        }
        match session
            .next_input(&mut buf, Watch::Backend(&mut conn.io))
            .await
        {
            Input::Data(n) => session.push_input(&buf[..n]).await,
            Input::Backend(Ok(())) | Input::Changed => {}
            Input::Backend(Err(e)) => return Err(e),
            Input::Ended => return Ok(IdleEnd::ClientGone),
        }
    }
}

/// DONE at the backend, and its completion of IDLE.
async fn done_at(
    session: &mut Session,
    conn: &mut BackendConn,
    tag: &str,
) -> Result<Completion, ProxyError> {
    conn.io.write_all(b"DONE\r\n", conn.timeout).await?;
    match session
        .relay_until(conn, tag, &mut Sink::Client, false)
        .await?
    {
        Step::Done(done) => Ok(done),
        Step::GoAhead(_) => Err(ProxyError::Protocol("an unexpected continuation".into())),
    }
}

/// The client's DONE, after the backend was lost during IDLE.
async fn wait_for_done(session: &mut Session) -> IdleEnd {
    let mut buf = vec![0u8; 1024];
    loop {
        while let Some(event) = session.framer.next_event() {
            match event {
                FramerEvent::IdleDone | FramerEvent::Bad(_) => return IdleEnd::NotDone,
                FramerEvent::Fatal(_) => return IdleEnd::Fatal,
                _ => {}
            }
        }
        match session.next_input(&mut buf, Watch::Client).await {
            Input::Data(n) => session.push_input(&buf[..n]).await,
            Input::Backend(_) | Input::Changed => {}
            Input::Ended => return IdleEnd::ClientGone,
        }
    }
}
