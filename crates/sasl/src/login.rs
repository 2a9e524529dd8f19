//! LOGIN (draft-murchison-sasl-login): the server asks `Username:` then `Password:`; an initial
//! response, as some clients send, is the user name.

use std::sync::Arc;

use types::Secret;

use crate::{field, Credentials, FailureReason, Step, Success};

pub(crate) struct Login {
    credentials: Arc<dyn Credentials>,
    user: Option<String>,
    /// `Username:` has been sent.
    challenged: bool,
}

const USERNAME: &[u8] = b"Username:";
const PASSWORD: &[u8] = b"Password:";

impl Login {
    pub(crate) fn new(credentials: Arc<dyn Credentials>) -> Login {
        Login {
            credentials,
            user: None,
            challenged: false,
        }
    }

    pub(crate) fn start(&mut self) -> Step {
        self.challenged = true;
        Step::Challenge(USERNAME.to_vec())
    }

    /// An empty initial response (`=`) is taken as no initial response.
    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        if response.is_empty() && !self.challenged {
            return self.start();
        }
        self.challenged = true;
        let result = match self.user.take() {
            None => field::non_empty_text(response, "empty user name").map(|user| {
                self.user = Some(user.to_string());
                Step::Challenge(PASSWORD.to_vec())
            }),
            Some(user) => self.verify(&user, response),
        };
        result.unwrap_or_else(Step::from)
    }

    fn verify(&self, user: &str, response: &[u8]) -> Result<Step, FailureReason> {
        let password = Secret::new(field::non_empty_text(response, "empty password")?.to_string());
        match self.credentials.verify_plain(user, &password) {
            Ok(true) => Ok(Step::Done(Success {
                authcid: user.to_string(),
                authzid: None,
                additional_data: None,
                trace: None,
            })),
            Ok(false) => Err(FailureReason::WrongCredentials),
            Err(e) => Err(FailureReason::Unavailable(e.0)),
        }
    }
}
