//! IDLE (RFC 2177, RFC 9051 §6.3.13): changes made by other sessions to the selected mailbox
//! are reported as soon as they happen, until the client sends DONE.

use imap_proto::response::StatusKind;
use imap_proto::{FramerEvent, FramerMode};
use tokio::io::AsyncReadExt;

use crate::command::Reply;
use crate::connection::{Flow, Session};

enum Woke {
    Input(usize),
    Change,
    Closed,
    Timeout,
    Shutdown,
}

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
        match wait(session, &mut buf).await {
            Woke::Input(n) => session.push_input(&buf[..n]),
            Woke::Change => {
                if session.report_updates(true).await == Flow::Close {
                    return Reply::bad("Selected mailbox is gone").closing();
                }
                if session.flush().await.is_err() {
                    return Reply::bad("").closing();
                }
            }
            Woke::Closed => return Reply::bad("").closing(),
            Woke::Timeout => {
                tracing::warn!(
                    severity = "warning",
                    "{}: autologout while idling",
                    session.info.peer
                );
                session
                    .out
                    .untagged(StatusKind::Bye, None, "Autologout; idle for too long");
                return Reply::bad("Autologout").closing();
            }
            Woke::Shutdown => {
                session
                    .out
                    .untagged(StatusKind::Bye, None, "Server shutting down");
                return Reply::bad("Server shutting down").closing();
            }
        }
    }
}

async fn wait(session: &mut Session, buf: &mut [u8]) -> Woke {
    let timeout = session.server.config.autologout;
    let mut shutdown = session.shutdown.clone();
    let transport = &mut session.transport;
    let view = session.state.view_mut();
    let change = async move {
        match view {
            Some(view) => view.wait_change().await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        read = tokio::time::timeout(timeout, transport.read(buf)) => match read {
            Ok(Ok(0)) | Ok(Err(_)) => Woke::Closed,
            Ok(Ok(n)) => Woke::Input(n),
            Err(_) => Woke::Timeout,
        },
        () = change => Woke::Change,
        _ = shutdown.wait() => Woke::Shutdown,
    }
}
