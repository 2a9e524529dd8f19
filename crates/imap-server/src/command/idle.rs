//! IDLE (RFC 2177, RFC 9051 §6.3.13): changes made by other sessions to the selected mailbox
//! are reported as soon as they happen, until the client sends DONE.

use imap_proto::{FramerEvent, FramerMode};

use crate::command::Reply;
use crate::connection::{Flow, Input, Session, Watch};

pub(crate) async fn run(session: &mut Session) -> Reply {
    session.out.continuation("idling");
    if session.flush().await.is_err() {
        return Reply::bad("").closing();
    }
    session.framer.set_mode(FramerMode::Idle);
    let reply = idle_loop(session).await;
    session.framer.set_mode(FramerMode::Command);
    reply
}

async fn idle_loop(session: &mut Session) -> Reply {
    let mut buf = vec![0u8; 1024];
    loop {
        while let Some(event) = session.framer.next_event() {
            match event {
                FramerEvent::IdleDone => return Reply::ok("IDLE terminated"),
                FramerEvent::Fatal(_) => return Reply::bad("Connection closing").closing(),
                FramerEvent::Bad(_) => return Reply::bad("Expected DONE"),
                _ => {}
            }
        }
        match session.next_input(&mut buf, Watch::Changes).await {
            Input::Data(n) => session.push_input(&buf[..n]).await,
            Input::Changed => {
                if session.report_updates(true).await == Flow::Close {
                    return Reply::bad("Selected mailbox is gone").closing();
                }
                if session.flush().await.is_err() {
                    return Reply::bad("").closing();
                }
            }
            Input::Backend(_) => {}
            // EOF, or BYE already sent: nothing more to say.
            Input::Ended => return Reply::already_sent().closing(),
        }
    }
}
