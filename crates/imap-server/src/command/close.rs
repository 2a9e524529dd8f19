//! CLOSE (RFC 9051 §6.4.1: expunges `\Deleted` messages silently, unless read-only, and only
//! with the `e` right: RFC 4314 §4 has CLOSE skip the expunge without it) and UNSELECT
//! (RFC 3691: leaves without expunging).

use mailservice::Expunge;

use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Close,
    Unselect,
}

pub(crate) async fn run(session: &mut Session, mode: Mode) -> Reply {
    let Some(view) = session.state.view() else {
        return Reply::bad("No mailbox selected");
    };
    let mailbox = view.mailbox.clone();
    let expunge = mode == Mode::Close
        && !view.read_only
        && mailbox.acting_rights().contains(types::Rights::EXPUNGE);
    session.state.deselect();
    session
        .proc
        .update(session.state.identity().map(|i| i.user()), None);
    if expunge {
        if let Err(e) = session
            .blocking(move |s| s.expunge(&mailbox, Expunge::AllDeleted))
            .await
        {
            return refuse(&e, Target::Source);
        }
    }
    match mode {
        Mode::Close => Reply::ok("Close completed"),
        Mode::Unselect => Reply::ok("Unselect completed"),
    }
}
