//! One authenticated connection to a Cyrus `mupdate` master (RFC 3656): connect, read the
//! greeting, `AUTHENTICATE "PLAIN"` with the initial response, then run commands — several at
//! once, pipelined, each answered by the data responses under its tag and its completion.
//!
//! Every wait is bounded ([`ANSWER_TIMEOUT`]); a closed connection, a `BYE`, a response that
//! does not parse or exceeds the codec's bounds, or a silence past the bound is an error after
//! which the connection is dropped (the bridge connects again and pushes everything).

use std::time::Duration;

use mupdate_proto::{
    parse_response, Banner, Capability, Command, CommandBody, Frame, Framer, Limits, Response,
    Status, Tag, TaggedData,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::MupdateConfig;

/// How long connecting, and then each response, may take.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// How many commands are written before their answers are read: enough to fill a round trip
/// with a large push, few enough that neither side's socket buffer fills while the other
/// writes.
pub(crate) const PIPELINE: usize = 64;

/// Why talking to the master failed; the connection is of no further use.
#[derive(Debug, thiserror::Error)]
pub enum MupdateError {
    #[error("connecting to the mupdate master {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("talking to the mupdate master: {0}")]
    Io(#[from] std::io::Error),
    #[error("the mupdate master closed the connection")]
    Closed,
    #[error("the mupdate master said nothing for {0:?}")]
    Timeout(Duration),
    #[error("the mupdate master's response is not MUPDATE: {0}")]
    Protocol(String),
    #[error("the mupdate master refused the login of {authname}: {text}")]
    LoginRefused { authname: String, text: String },
    #[error("the mupdate master ended the session: {0}")]
    Bye(String),
}

/// What one command got: its data responses and its completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) data: Vec<TaggedData>,
    pub(crate) status: Status,
    pub(crate) text: String,
}

/// An authenticated connection.
pub(crate) struct Connection {
    stream: net::ClientStream,
    framer: Framer,
    buf: Vec<u8>,
    next_tag: u64,
    /// The master's banner (its name, implementation, version).
    pub(crate) banner: Banner,
}

impl Connection {
    /// Connects to the master `config` names and logs in.
    pub(crate) async fn open(config: &MupdateConfig) -> Result<Connection, MupdateError> {
        let address = format!("{}:{}", config.host, config.port);
        let stream = tokio::time::timeout(
            ANSWER_TIMEOUT,
            TcpStream::connect((config.host.as_str(), config.port)),
        )
        .await
        .map_err(|_| MupdateError::Timeout(ANSWER_TIMEOUT))?
        .map_err(|e| MupdateError::Connect(address.clone(), e))?;
        stream.set_nodelay(true).ok();
        let mut conn = Connection {
            stream: net::ClientStream::Plain(stream),
            framer: Framer::new(Limits::default()),
            buf: Vec::with_capacity(8192),
            next_tag: 0,
            banner: Banner {
                server: String::new(),
                implementation: String::new(),
                version: String::new(),
                mode: None,
            },
        };
        let (mut mechanisms, starttls) = conn.greeting().await?;
        let wanted = config
            .tls
            .wanted(starttls)
            .map_err(|e| MupdateError::Protocol(format!("TLS: {e}")))?;
        if wanted {
            let answer = conn.run_one(CommandBody::Starttls).await?;
            if answer.status != Status::Ok {
                return Err(MupdateError::Protocol(format!(
                    "STARTTLS refused: {}",
                    answer.text
                )));
            }
            let unread = std::mem::take(&mut conn.buf);
            conn.stream
                .start_tls(&config.tls, &address, &unread)
                .await
                .map_err(|e| MupdateError::Protocol(format!("TLS with {address}: {e}")))?;
            conn.framer = Framer::new(Limits::default());
            // The master greets again over TLS (RFC 3656 §3.2, as after any STARTTLS).
            (mechanisms, _) = conn.greeting().await?;
        }
        if !mechanisms.iter().any(|m| m.eq_ignore_ascii_case("PLAIN")) {
            return Err(MupdateError::Protocol(format!(
                "it offers no PLAIN login (only {})",
                mechanisms.join(" ")
            )));
        }
        conn.login(config).await?;
        Ok(conn)
    }

    /// Whether the connection is TLS (STARTTLS went through).
    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Reads the greeting up to the banner; answers the SASL mechanisms offered and whether
    /// STARTTLS is.
    async fn greeting(&mut self) -> Result<(Vec<String>, bool), MupdateError> {
        let mut mechanisms = Vec::new();
        let mut starttls = false;
        loop {
            match self.read().await? {
                Response::Capability(Capability::Auth(m)) => mechanisms = m,
                Response::Capability(Capability::Starttls) => starttls = true,
                Response::Capability(_) => {}
                Response::Banner(banner) => {
                    self.banner = banner;
                    return Ok((mechanisms, starttls));
                }
                Response::Bye(text) => return Err(MupdateError::Bye(text)),
                other => {
                    return Err(MupdateError::Protocol(format!(
                        "greeting: unexpected {other:?}"
                    )))
                }
            }
        }
    }

    /// `AUTHENTICATE "PLAIN"` with the initial response: `mupdate_authname` with
    /// `mupdate_password`, acting as `mupdate_username` when that is set.
    async fn login(&mut self, config: &MupdateConfig) -> Result<(), MupdateError> {
        let authzid = Some(config.username.as_str()).filter(|u| !u.is_empty());
        let initial = sasl::client::plain(authzid, &config.authname, config.password.expose())
            .map_err(|e| MupdateError::LoginRefused {
                authname: config.authname.clone(),
                text: format!("cannot be sent: {e}"),
            })?;
        let answer = self
            .run_one(CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(initial),
            })
            .await?;
        match answer.status {
            Status::Ok => Ok(()),
            Status::No | Status::Bad => Err(MupdateError::LoginRefused {
                authname: config.authname.clone(),
                text: answer.text,
            }),
        }
    }

    /// Runs one command.
    pub(crate) async fn run_one(&mut self, body: CommandBody) -> Result<Answer, MupdateError> {
        let mut answers = self.run(vec![body]).await?;
        answers.pop().ok_or(MupdateError::Closed)
    }

    /// Runs `bodies` in order, [`PIPELINE`] at a time; answers one [`Answer`] per command.
    pub(crate) async fn run(
        &mut self,
        bodies: Vec<CommandBody>,
    ) -> Result<Vec<Answer>, MupdateError> {
        let mut answers = Vec::with_capacity(bodies.len());
        let mut bodies = bodies.into_iter().peekable();
        while bodies.peek().is_some() {
            let mut wire = Vec::new();
            let mut tags = Vec::new();
            for body in bodies.by_ref().take(PIPELINE) {
                let tag = self.tag();
                wire.extend_from_slice(&Command::new(tag.clone(), body).encode());
                tags.push(tag);
            }
            self.stream.write_all(&wire).await?;
            for tag in tags {
                answers.push(self.answer(&tag).await?);
            }
        }
        Ok(answers)
    }

    /// Says goodbye (best effort).
    pub(crate) async fn logout(mut self) {
        let _ = tokio::time::timeout(ANSWER_TIMEOUT, self.run_one(CommandBody::Logout)).await;
    }

    fn tag(&mut self) -> Tag {
        self.next_tag += 1;
        // Digits after a letter are always a valid tag.
        Tag::try_from(format!("D{}", self.next_tag).as_str()).unwrap_or_else(|_| unreachable!())
    }

    /// The responses to the command tagged `tag`, up to its completion.
    async fn answer(&mut self, tag: &Tag) -> Result<Answer, MupdateError> {
        let mut data = Vec::new();
        loop {
            match self.read().await? {
                Response::Data {
                    tag: Some(t),
                    data: d,
                } if &t == tag => data.push(d),
                Response::Done {
                    tag: t,
                    status,
                    text,
                } if &t == tag => return Ok(Answer { data, status, text }),
                Response::Bye(text) => return Err(MupdateError::Bye(text)),
                Response::Untagged { status, text } => {
                    tracing::warn!("mupdate: the master says {status:?} {text}")
                }
                // Another command's data (or untagged data): not this command's answer.
                Response::Data { tag: t, data: d } => {
                    tracing::debug!("mupdate: data outside {tag}'s answer ({t:?}): {d:?}")
                }
                other => {
                    return Err(MupdateError::Protocol(format!(
                        "waiting for {tag}: unexpected {other:?}"
                    )))
                }
            }
        }
    }

    /// The next response.
    async fn read(&mut self) -> Result<Response, MupdateError> {
        loop {
            match self.framer.take(&mut self.buf) {
                Frame::Message(frame) => {
                    return parse_response(&frame).map_err(|e| {
                        MupdateError::Protocol(format!(
                            "{e}: {}",
                            String::from_utf8_lossy(&frame[..frame.len().min(200)])
                        ))
                    })
                }
                Frame::LiteralWanted => continue,
                Frame::Refused(e) => return Err(MupdateError::Protocol(e.to_string())),
                Frame::Incomplete => {}
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(ANSWER_TIMEOUT, self.stream.read(&mut chunk))
                .await
                .map_err(|_| MupdateError::Timeout(ANSWER_TIMEOUT))??;
            if n == 0 {
                return Err(MupdateError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}
