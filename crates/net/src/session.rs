//! The connection plumbing a line-oriented protocol session shares (POP3, ManageSieve): its
//! transport and input/output buffers, reading with the pre-login or idle timeout while
//! watching the shutdown signal, writing within the write timeout (with the telemetry copy),
//! what is logged and said when reading stops, and the count of bad commands in a row that
//! ends a session.
//!
//! What differs between protocols comes in as a [`Protocol`]: its name for log lines, its
//! buffer sizes, and how it says goodbye. Framing, parsing and session state stay with the
//! protocol server; this module never looks at the bytes it moves.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::telemetry::Telemetry;
use crate::{ConnInfo, ShutdownSignal, Transport};

/// What a protocol server tells the shared plumbing about itself.
pub struct Protocol {
    /// How log lines name the protocol (`POP3`, `ManageSieve`).
    pub name: &'static str,
    /// The room made for each read.
    pub read_chunk: usize,
    /// Buffers larger than this are let go while the session waits for its client.
    pub idle_buffer: usize,
    /// Bad commands in a row after which the client is disconnected.
    pub max_bad_in_a_row: u32,
    /// Queues, in the protocol's own words, what the client hears when the server ends the
    /// session.
    pub bye: fn(Bye, &mut Vec<u8>),
}

/// Why the server ends a session, for the protocol's goodbye.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bye {
    /// The client was idle too long (or did not log in in time).
    Autologout,
    /// The server is shutting down.
    ShuttingDown,
    /// Too many bad commands in a row.
    TooManyErrors,
}

impl Bye {
    /// The human-readable text of the goodbye.
    pub fn text(self) -> &'static str {
        match self {
            Bye::Autologout => "Autologout; idle for too long",
            Bye::ShuttingDown => "Server shutting down; try again shortly",
            Bye::TooManyErrors => "Too many errors, closing connection",
        }
    }
}

/// Whether the session goes on after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
}

/// Why reading stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// EOF or an I/O error: nothing more can be said.
    Gone,
    /// The client was idle too long (or did not log in in time).
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// Where the session stands, for how long a read may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not logged in: reads wait until the login deadline.
    BeforeLogin,
    /// Logged in: reads wait for the idle timeout.
    LoggedIn,
}

/// One connection's transport, buffers and timers.
pub struct Connection {
    protocol: &'static Protocol,
    /// The byte stream; a protocol's STARTTLS upgrades it in place.
    pub transport: Transport,
    pub info: ConnInfo,
    shutdown: ShutdownSignal,
    /// Bytes read and not yet taken by the protocol's framer.
    pub input: Vec<u8>,
    /// Replies queued for the next [`Connection::flush`].
    pub out: Vec<u8>,
    /// The session's protocol telemetry, once its user is known and has a log directory.
    pub telemetry: Option<Telemetry>,
    /// The write timeout, and the idle timeout once logged in.
    timeout: Duration,
    /// How long a connection may take to log in.
    prelogin_timeout: Duration,
    /// The connection must have logged in by then.
    login_deadline: Instant,
    bad_in_a_row: u32,
    /// A write failed or timed out: nothing more is sent.
    write_failed: bool,
}

impl Connection {
    /// A new connection; its login clock starts now.
    pub fn new(
        protocol: &'static Protocol,
        transport: Transport,
        info: ConnInfo,
        shutdown: ShutdownSignal,
        timeout: Duration,
        prelogin_timeout: Duration,
    ) -> Connection {
        Connection {
            protocol,
            transport,
            info,
            shutdown,
            input: Vec::new(),
            out: Vec::new(),
            telemetry: None,
            timeout,
            prelogin_timeout,
            login_deadline: Instant::now() + prelogin_timeout,
            bad_in_a_row: 0,
            write_failed: false,
        }
    }

    /// Whether the server is shutting down.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// Gives the connection the whole pre-login time again (after the client logged out
    /// without closing).
    pub fn restart_login_clock(&mut self) {
        self.login_deadline = Instant::now() + self.prelogin_timeout;
    }

    /// Writes the queued output, within the write timeout; an error ends the session.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.write_failed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if self.out.is_empty() {
            return Ok(());
        }
        if let Some(telemetry) = self.telemetry.as_mut() {
            if telemetry.server(&self.out).await.is_err() {
                self.telemetry = None;
            }
        }
        let write = async {
            self.transport.write_all(&self.out).await?;
            self.transport.flush().await
        };
        let written = tokio::time::timeout(self.timeout, write).await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.write_failed = true;
                Err(e)
            }
            Err(_) => {
                tracing::warn!(
                    severity = "warning",
                    "{}: {} write timeout, the client does not read; closing",
                    self.info.peer,
                    self.protocol.name
                );
                self.write_failed = true;
                Err(io::ErrorKind::TimedOut.into())
            }
        }
    }

    /// How long the next read may wait: until the login deadline before login, the idle
    /// timeout after.
    fn read_timeout(&self, phase: Phase) -> Duration {
        match phase {
            Phase::BeforeLogin => self
                .login_deadline
                .saturating_duration_since(Instant::now()),
            Phase::LoggedIn => self.timeout,
        }
    }

    /// Reads whatever the client sends next onto the input buffer. While the client is quiet
    /// the connection keeps no buffer a long answer or a burst of input grew: an idle
    /// connection costs little more than its socket.
    pub async fn read_more(&mut self, phase: Phase) -> Result<(), Stop> {
        let timeout = self.read_timeout(phase);
        let idle_buffer = self.protocol.idle_buffer;
        if self.input.is_empty() && self.input.capacity() > idle_buffer {
            self.input = Vec::new();
        }
        if self.out.is_empty() && self.out.capacity() > idle_buffer {
            self.out = Vec::new();
        }
        let before = self.input.len();
        self.input.reserve(self.protocol.read_chunk);
        let read = tokio::select! {
            biased;
            _ = self.shutdown.wait() => return Err(Stop::Shutdown),
            r = tokio::time::timeout(timeout, self.transport.read_buf(&mut self.input)) => r,
        };
        match read {
            Err(_) => Err(Stop::Timeout),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Gone),
            Ok(Ok(_)) => {
                if let Some(telemetry) = self.telemetry.as_mut() {
                    if telemetry.client(&self.input[before..]).await.is_err() {
                        self.telemetry = None;
                    }
                }
                Ok(())
            }
        }
    }

    /// Says goodbye when reading stopped for a reason the client should hear.
    pub fn stopped(&mut self, stop: Stop) {
        match stop {
            Stop::Gone => {}
            Stop::Timeout => {
                tracing::info!("{}: {} autologout", self.info.peer, self.protocol.name);
                (self.protocol.bye)(Bye::Autologout, &mut self.out);
            }
            Stop::Shutdown => (self.protocol.bye)(Bye::ShuttingDown, &mut self.out),
        }
    }

    /// Counts a bad command; past the limit, says goodbye and closes.
    pub fn count_bad(&mut self) -> Flow {
        self.bad_in_a_row += 1;
        if self.bad_in_a_row < self.protocol.max_bad_in_a_row {
            return Flow::Continue;
        }
        tracing::warn!(
            severity = "warning",
            "{}: too many bad {} commands, disconnecting",
            self.info.peer,
            self.protocol.name
        );
        (self.protocol.bye)(Bye::TooManyErrors, &mut self.out);
        Flow::Close
    }

    /// A command parsed: the bad ones are no longer in a row.
    pub fn good_command(&mut self) {
        self.bad_in_a_row = 0;
    }

    /// Ends the connection: writes what is left, closes the stream (a TLS close_notify is a
    /// write too, bounded like the others) and closes the telemetry file.
    pub async fn close(&mut self) {
        if self.flush().await.is_ok() {
            let _ = tokio::time::timeout(self.timeout, self.transport.shutdown()).await;
        }
        if let Some(telemetry) = self.telemetry.as_mut() {
            let _ = telemetry.finish().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shutdown;
    use tokio::net::{TcpListener, TcpStream};

    /// A protocol whose goodbye is the reason's text on a line.
    static TEST: Protocol = Protocol {
        name: "TEST",
        read_chunk: 64,
        idle_buffer: 256,
        max_bad_in_a_row: 3,
        bye: |why, out| {
            out.extend_from_slice(why.text().as_bytes());
            out.extend_from_slice(b"\r\n");
        },
    };

    /// A connection over loopback TCP, and the client's end of it.
    async fn pair(shutdown: &Shutdown, prelogin: Duration) -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let info = ConnInfo {
            peer,
            local: server.local_addr().unwrap(),
        };
        let conn = Connection::new(
            &TEST,
            Transport::Plain(server),
            info,
            shutdown.signal(),
            Duration::from_secs(5),
            prelogin,
        );
        (conn, client)
    }

    #[tokio::test]
    async fn reads_what_the_client_sends_and_flushes_replies() {
        let shutdown = Shutdown::new();
        let (mut conn, mut client) = pair(&shutdown, Duration::from_secs(5)).await;
        client.write_all(b"HELLO\r\n").await.unwrap();
        conn.read_more(Phase::BeforeLogin).await.unwrap();
        assert_eq!(conn.input, b"HELLO\r\n");
        conn.out.extend_from_slice(b"+OK\r\n");
        conn.flush().await.unwrap();
        assert!(conn.out.is_empty());
        let mut reply = [0u8; 5];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"+OK\r\n");
    }

    #[tokio::test]
    async fn login_deadline_ends_reading_with_an_autologout() {
        let shutdown = Shutdown::new();
        let (mut conn, _client) = pair(&shutdown, Duration::from_millis(50)).await;
        let stop = conn.read_more(Phase::BeforeLogin).await.unwrap_err();
        assert_eq!(stop, Stop::Timeout);
        conn.stopped(stop);
        assert_eq!(conn.out, b"Autologout; idle for too long\r\n");
    }

    #[tokio::test]
    async fn shutdown_interrupts_a_read() {
        let shutdown = Shutdown::new();
        let (mut conn, _client) = pair(&shutdown, Duration::from_secs(5)).await;
        shutdown.trigger();
        assert!(conn.shutting_down());
        let stop = conn.read_more(Phase::LoggedIn).await.unwrap_err();
        assert_eq!(stop, Stop::Shutdown);
        conn.stopped(stop);
        assert_eq!(conn.out, b"Server shutting down; try again shortly\r\n");
    }

    #[tokio::test]
    async fn a_closed_client_is_gone_without_a_goodbye() {
        let shutdown = Shutdown::new();
        let (mut conn, client) = pair(&shutdown, Duration::from_secs(5)).await;
        drop(client);
        let stop = conn.read_more(Phase::LoggedIn).await.unwrap_err();
        assert_eq!(stop, Stop::Gone);
        conn.stopped(stop);
        assert!(conn.out.is_empty());
    }

    #[tokio::test]
    async fn bad_commands_in_a_row_close_the_session_and_a_good_one_resets_the_count() {
        let shutdown = Shutdown::new();
        let (mut conn, _client) = pair(&shutdown, Duration::from_secs(5)).await;
        assert_eq!(conn.count_bad(), Flow::Continue);
        assert_eq!(conn.count_bad(), Flow::Continue);
        conn.good_command();
        assert_eq!(conn.count_bad(), Flow::Continue);
        assert_eq!(conn.count_bad(), Flow::Continue);
        assert!(conn.out.is_empty());
        assert_eq!(conn.count_bad(), Flow::Close);
        assert_eq!(conn.out, b"Too many errors, closing connection\r\n");
    }

    #[tokio::test]
    async fn an_idle_connection_lets_large_buffers_go() {
        let shutdown = Shutdown::new();
        let (mut conn, mut client) = pair(&shutdown, Duration::from_secs(5)).await;
        conn.out = Vec::with_capacity(4096);
        conn.input = Vec::with_capacity(4096);
        client.write_all(b"x").await.unwrap();
        conn.read_more(Phase::LoggedIn).await.unwrap();
        assert_eq!(conn.out.capacity(), 0);
        assert!(conn.input.capacity() <= TEST.idle_buffer);
    }
}
