//! The user's subscriptions on a frontend are kept where Cyrus's frontends keep them: at the
//! backend holding the user's INBOX, so that every frontend, and the backend itself, show the
//! same list. SUBSCRIBE and UNSUBSCRIBE are passed on there (the backend decides, on its copy
//! of the directory, as a single server does); LSUB and LIST with SUBSCRIBED ask it for the
//! whole list (`LSUB "" "*"`, at most [`MAX_LSUB_BYTES`]) and answer from the frontend's copy
//! of the directory with it, by the single server's code.
//!
//! A user whose INBOX this server holds, or who has none, keeps subscriptions here.

use imap_proto::command::{Command, Mailbox};
use imap_proto::response::{Data, Response};
use types::MailboxName;

use super::relay::Sink;
use super::ProxyError;
use crate::command::Reply;
use crate::connection::Session;

/// Most bytes of LSUB responses read from a backend for one command (some 50,000 names).
const MAX_LSUB_BYTES: usize = 4 * 1024 * 1024;

/// Whether a listing shows subscriptions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionUse {
    /// LSUB, LIST (SUBSCRIBED), LIST RETURN (SUBSCRIBED).
    Shown,
    /// Any other LIST.
    Unused,
}

impl Session {
    /// The backend holding the user's INBOX, when this server proxies and another server
    /// holds it: the user's subscriptions are there.
    pub(crate) fn inbox_backend(&self) -> Option<String> {
        self.remote_by_name("INBOX").map(|remote| remote.server)
    }

    /// The subscriptions a listing uses: `None` when they are kept here (the listing reads
    /// them itself), else the backend's list (none when the listing does not show them, so a
    /// plain LIST does not wait on the backend).
    pub(crate) async fn subscriptions_for_listing(
        &mut self,
        used: SubscriptionUse,
    ) -> Result<Option<Vec<MailboxName>>, Reply> {
        let Some(backend) = self.inbox_backend() else {
            return Ok(None);
        };
        if used == SubscriptionUse::Unused {
            return Ok(Some(Vec::new()));
        }
        match self.subscriptions_at(&backend).await {
            Ok(Ok(names)) => Ok(Some(names)),
            Ok(Err(refused)) => Err(Reply::no(
                None,
                &format!("Server {backend} did not list the subscriptions: {refused}"),
            )),
            Err(e) => Err(self.unavailable(&backend, &e)),
        }
    }

    /// Every name the user subscribed to at `backend`, by internal name (names that mean
    /// nothing here are left out); the backend's completion when it refused.
    async fn subscriptions_at(
        &mut self,
        backend: &str,
    ) -> Result<Result<Vec<MailboxName>, String>, ProxyError> {
        let mut conn = self.backend(backend).await?;
        let tag = conn.tag();
        let lsub = Command::Lsub {
            reference: String::new(),
            pattern: "*".into(),
        };
        let mut sink = Sink::Capture {
            word: "LSUB",
            kept: Vec::new(),
            limit: MAX_LSUB_BYTES,
        };
        let pieces = self.command_pieces(&tag, lsub)?;
        let done = self.exchange(&mut conn, &tag, pieces, &mut sink).await?;
        self.backends.put(conn);
        if !done.is_ok() {
            return Ok(Err(done.text()));
        }
        let (Sink::Capture { kept, .. }, Some(identity)) = (sink, self.state.identity()) else {
            return Ok(Ok(Vec::new()));
        };
        let namespace = self.service().namespace();
        let names = kept
            .iter()
            .filter_map(
                |bytes| match imap_proto::parse_response(bytes, self.out.encoding) {
                    Ok(Response::Data(Data::Lsub(item))) => Some(item.mailbox),
                    _ => None,
                },
            )
            .filter_map(|mailbox: Mailbox| namespace.to_internal(identity, mailbox.as_str()).ok())
            .collect();
        Ok(Ok(names))
    }
}
