//! EXTERNAL (RFC 4422 Appendix A): the identity comes from outside SASL (a verified TLS client
//! certificate); the client's one message is the authorization identity it asks for, or empty.

use crate::{field, Step, Success};

pub(crate) struct External {
    identity: String,
}

impl External {
    pub(crate) fn new(identity: String) -> External {
        External { identity }
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        match field::authzid(response) {
            Ok(authzid) => Step::Done(Success {
                authcid: self.identity.clone(),
                authzid,
                additional_data: None,
                trace: None,
            }),
            Err(reason) => reason.into(),
        }
    }
}
