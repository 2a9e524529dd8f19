//! A small async ManageSieve client (RFC 5804), enough to install a user's Sieve script before a
//! delivery run and take it away after: greeting, AUTHENTICATE PLAIN, PUTSCRIPT, SETACTIVE,
//! DELETESCRIPT, LOGOUT. Commands are written and server lines read with the I/O-free
//! `managesieve-proto` codec.

use std::time::Duration;

use managesieve_proto::{
    read_server_line, Command, Item, ReplyLimits, Response, ScriptName, ServerLine, Status,
};
use tokio::io::{AsyncReadExt as _, BufReader};

use super::imap::ClientError;
use super::net::{BoxStream, Endpoint};

/// The most data lines (capabilities, LISTSCRIPTS lines) before one response: a server that
/// sends more is not one to benchmark against.
const MAX_DATA_LINES: usize = 1024;

/// A connection to a ManageSieve server.
pub struct SieveClient {
    io: BufReader<BoxStream>,
    /// Bytes read but not yet taken as lines.
    buf: Vec<u8>,
    limits: ReplyLimits,
    timeout: Duration,
}

/// A command's answer: the data lines, then the response that closed it.
pub struct Answer {
    pub data: Vec<Vec<Item>>,
    pub response: Response,
}

impl Answer {
    /// `Ok` for `OK`, else an error naming `what` and the server's words.
    fn ok(self, what: &str) -> Result<Answer, ClientError> {
        match self.response.status {
            Status::Ok => Ok(self),
            Status::No | Status::Bye => Err(ClientError::Malformed(format!(
                "{what}: {:?} {:?} {}",
                self.response.status,
                self.response.code,
                self.response.text.as_deref().unwrap_or("")
            ))),
        }
    }
}

impl SieveClient {
    /// Connects and reads the greeting (the capability listing and its `OK`).
    pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, ep.connect())
            .await
            .map_err(|_| ClientError::Timeout)??;
        let mut c = Self {
            io: BufReader::new(stream),
            buf: Vec::new(),
            limits: ReplyLimits::default(),
            timeout,
        };
        let greeting = c.answer().await?.ok("greeting")?;
        if capability(&greeting.data, "SIEVE").is_none() {
            return Err(ClientError::Malformed(
                "the greeting announces no SIEVE capability".into(),
            ));
        }
        Ok(c)
    }

    /// AUTHENTICATE PLAIN with the initial response; `authzid` acts for another user (an
    /// administrator managing that user's scripts, where the server allows it).
    pub async fn login(
        &mut self,
        authzid: Option<&str>,
        user: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let initial = sasl::client::plain(authzid, user, password)
            .map_err(|e| ClientError::Malformed(format!("PLAIN for {user}: {e}")))?;
        let cmd = Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(initial),
        };
        self.command(&cmd).await?.ok("AUTHENTICATE")?;
        Ok(())
    }

    /// PUTSCRIPT `name` with `script`.
    pub async fn put_script(
        &mut self,
        name: &ScriptName,
        script: &[u8],
    ) -> Result<(), ClientError> {
        let cmd = Command::PutScript {
            name: name.clone(),
            script: script.to_vec(),
        };
        self.command(&cmd).await?.ok("PUTSCRIPT")?;
        Ok(())
    }

    /// SETACTIVE `name`; `None` deactivates every script.
    pub async fn set_active(&mut self, name: Option<&ScriptName>) -> Result<(), ClientError> {
        let cmd = Command::SetActive {
            name: name.cloned(),
        };
        self.command(&cmd).await?.ok("SETACTIVE")?;
        Ok(())
    }

    /// DELETESCRIPT `name`; a script that is not there counts as deleted.
    pub async fn delete_script(&mut self, name: &ScriptName) -> Result<(), ClientError> {
        let cmd = Command::DeleteScript { name: name.clone() };
        let answer = self.command(&cmd).await?;
        if answer.response.code == Some(managesieve_proto::RespCode::NonExistent) {
            return Ok(());
        }
        answer.ok("DELETESCRIPT")?;
        Ok(())
    }

    /// LOGOUT; the server's `OK` (or `BYE`) ends the session.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        self.command(&Command::Logout).await.map(|_| ())
    }

    /// Sends `cmd` and reads its answer.
    pub async fn command(&mut self, cmd: &Command) -> Result<Answer, ClientError> {
        let mut line = cmd.encode();
        line.extend_from_slice(b"\r\n");
        super::send_within(&mut self.io, &line, self.timeout).await?;
        self.answer().await
    }

    /// Reads data lines up to the response that closes them.
    async fn answer(&mut self) -> Result<Answer, ClientError> {
        let mut data = Vec::new();
        loop {
            match self.line().await? {
                ServerLine::Response(response) => return Ok(Answer { data, response }),
                ServerLine::Data(items) => {
                    if data.len() >= MAX_DATA_LINES {
                        return Err(ClientError::Malformed(format!(
                            "more than {MAX_DATA_LINES} data lines before a response"
                        )));
                    }
                    data.push(items);
                }
            }
        }
    }

    async fn line(&mut self) -> Result<ServerLine, ClientError> {
        tokio::time::timeout(self.timeout, self.line_untimed())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    async fn line_untimed(&mut self) -> Result<ServerLine, ClientError> {
        loop {
            match read_server_line(&self.buf, &self.limits) {
                Ok(Some((line, used))) => {
                    self.buf.drain(..used);
                    return Ok(line);
                }
                Ok(None) => {}
                Err(e) => return Err(ClientError::Malformed(e.to_string())),
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

/// The value of capability `name` (case-insensitive) in a greeting's or CAPABILITY's lines.
pub fn capability(lines: &[Vec<Item>], name: &str) -> Option<String> {
    lines.iter().find_map(|items| match items.as_slice() {
        [Item::String(n), rest @ ..] if n.eq_ignore_ascii_case(name.as_bytes()) => {
            match rest.first() {
                Some(Item::String(v)) => Some(String::from_utf8_lossy(v).into_owned()),
                _ => Some(String::new()),
            }
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_values_are_found_by_name() {
        let lines = vec![
            vec![
                Item::String(b"IMPLEMENTATION".to_vec()),
                Item::String(b"X".to_vec()),
            ],
            vec![
                Item::String(b"Sieve".to_vec()),
                Item::String(b"fileinto body".to_vec()),
            ],
            vec![Item::String(b"STARTTLS".to_vec())],
        ];
        assert_eq!(
            capability(&lines, "SIEVE").as_deref(),
            Some("fileinto body")
        );
        assert_eq!(capability(&lines, "starttls").as_deref(), Some(""));
        assert_eq!(capability(&lines, "NOTIFY"), None);
    }
}
