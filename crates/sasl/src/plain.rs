//! PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd`.

use std::sync::Arc;

use types::Secret;

use crate::{field, Credentials, FailureReason, Step, Success};

pub(crate) struct Plain {
    credentials: Arc<dyn Credentials>,
    /// The server has sent its empty challenge: the next response must be the message.
    challenged: bool,
}

impl Plain {
    pub(crate) fn new(credentials: Arc<dyn Credentials>) -> Plain {
        Plain {
            credentials,
            challenged: false,
        }
    }

    pub(crate) fn start(&mut self) -> Step {
        self.challenged = true;
        Step::Challenge(Vec::new())
    }

    /// RFC 4616 §2: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`; authcid and passwd
    /// are `1*SAFE` (non-empty, no NUL); an empty authzid means none. An empty response (no
    /// initial response `=`) asks the client for the message with an empty challenge, once.
    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        if response.is_empty() && !self.challenged {
            return self.start();
        }
        match self.check(response) {
            Ok(step) => step,
            Err(reason) => reason.into(),
        }
    }

    fn check(&self, response: &[u8]) -> Result<Step, FailureReason> {
        let mut parts = response.splitn(3, |&b| b == 0);
        let (Some(authzid), Some(authcid), Some(passwd)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(FailureReason::Malformed("PLAIN needs two NUL separators"));
        };
        let authzid = field::authzid(authzid)?;
        let authcid = field::non_empty_text(authcid, "empty authcid")?;
        // A third NUL would be inside the password: `field::text` refuses it.
        let passwd = field::non_empty_text(passwd, "empty password")?;
        let password = Secret::new(passwd.to_string());
        match self.credentials.verify_plain(authcid, &password) {
            Ok(true) => Ok(Step::Done(Success {
                authcid: authcid.to_string(),
                authzid,
                additional_data: None,
                trace: None,
            })),
            Ok(false) => Err(FailureReason::WrongCredentials),
            Err(e) => Err(FailureReason::Unavailable(e.0)),
        }
    }
}
