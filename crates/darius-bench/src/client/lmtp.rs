//! A small async LMTP client (RFC 2033): LHLO once, then MAIL / RCPT / DATA per message, one
//! reply per accepted recipient after the data.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::imap::ClientError;
use super::net::{BoxStream, Endpoint};

/// One SMTP-style reply: the code and the text of its last line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

pub struct LmtpClient {
    io: BufReader<BoxStream>,
    timeout: Duration,
}

/// What happened to one delivery.
#[derive(Debug)]
pub enum Outcome {
    /// Every recipient got a 2xx after the data.
    Delivered,
    /// The server refused a step; the reply says which.
    Refused(Reply),
}

impl LmtpClient {
    pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, ep.connect())
            .await
            .map_err(|_| ClientError::Timeout)??;
        let mut c = Self {
            io: BufReader::new(stream),
            timeout,
        };
        let greeting = c.reply().await?;
        if greeting.code != 220 {
            return Err(ClientError::Malformed(format!(
                "LMTP greeting {greeting:?}"
            )));
        }
        c.send(b"LHLO darius-bench\r\n").await?;
        let lhlo = c.reply().await?;
        if lhlo.code != 250 {
            return Err(ClientError::Malformed(format!("LHLO answered {lhlo:?}")));
        }
        Ok(c)
    }

    /// Delivers `message` (CRLF line ends, not yet dot-stuffed) to `rcpts`.
    pub async fn deliver(
        &mut self,
        from: &str,
        rcpts: &[String],
        message: &[u8],
    ) -> Result<Outcome, ClientError> {
        self.send(format!("MAIL FROM:<{from}>\r\n").as_bytes())
            .await?;
        let r = self.reply().await?;
        if !r.is_positive() {
            return Ok(Outcome::Refused(r));
        }
        let mut accepted = 0;
        let mut refused = None;
        for rcpt in rcpts {
            self.send(format!("RCPT TO:<{rcpt}>\r\n").as_bytes())
                .await?;
            let r = self.reply().await?;
            if r.is_positive() {
                accepted += 1;
            } else {
                refused.get_or_insert(r);
            }
        }
        if accepted == 0 {
            self.send(b"RSET\r\n").await?;
            self.reply().await?;
            return Ok(Outcome::Refused(refused.unwrap_or(Reply {
                code: 0,
                text: "no recipients".into(),
            })));
        }
        self.send(b"DATA\r\n").await?;
        let r = self.reply().await?;
        if r.code != 354 {
            return Ok(Outcome::Refused(r));
        }
        self.send(&dot_stuff(message)).await?;
        for _ in 0..accepted {
            let r = self.reply().await?;
            if !r.is_positive() {
                refused.get_or_insert(r);
            }
        }
        Ok(refused.map_or(Outcome::Delivered, Outcome::Refused))
    }

    pub async fn quit(&mut self) -> Result<(), ClientError> {
        self.send(b"QUIT\r\n").await?;
        self.reply().await.map(|_| ())
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        super::send_within(&mut self.io, bytes, self.timeout).await
    }

    /// Reads a possibly multi-line reply (`250-…` lines, then `250 …`).
    async fn reply(&mut self) -> Result<Reply, ClientError> {
        tokio::time::timeout(self.timeout, self.reply_untimed())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    async fn reply_untimed(&mut self) -> Result<Reply, ClientError> {
        loop {
            let mut line = String::new();
            if self.io.read_line(&mut line).await? == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let line = line.trim_end();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| ClientError::Malformed(format!("LMTP reply {line:?}")))?;
            if line.as_bytes().get(3) == Some(&b'-') {
                continue;
            }
            let text = line.get(4..).unwrap_or("").to_owned();
            return Ok(Reply { code, text });
        }
    }
}

/// The DATA payload: lines starting with `.` get another `.`, then the `CRLF . CRLF` end.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_terminates() {
        assert_eq!(
            dot_stuff(b".a\r\nb.\r\n..c\r\n"),
            b"..a\r\nb.\r\n...c\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b"no newline"), b"no newline\r\n.\r\n");
    }
}
