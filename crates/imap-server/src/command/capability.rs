//! CAPABILITY (RFC 9051 §6.1.1).

use imap_proto::response::Data;

use crate::capability::{capabilities, Stage};
use crate::command::Reply;
use crate::connection::Session;
use crate::state::State;

pub(crate) fn run(session: &mut Session) -> Reply {
    let caps = session.capabilities();
    session.out.data(Data::Capability(caps));
    Reply::ok("Capability completed")
}

impl Session {
    pub(crate) fn capabilities(&self) -> Vec<String> {
        let config = &self.server.config;
        let tls = self.transport.is_tls();
        let stage = Stage {
            tls,
            authenticated: !matches!(self.state, State::NotAuthenticated),
            plaintext_ok: self
                .info
                .plaintext_login_allowed(tls, config.allow_plaintext),
        };
        capabilities(config, &stage)
    }
}
