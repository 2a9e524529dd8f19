//! CAPABILITY (RFC 9051 §6.1.1). On a Murder frontend, after login, only what every live
//! backend offers, and MAILBOX-REFERRALS (RFC 2193 §4).

use auth::sasl_login::{ChannelSettings, SaslChannel};
use imap_proto::response::Data;

use crate::capability::{capabilities, narrow, Stage, MAILBOX_REFERRALS};
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
        let authenticated = !matches!(self.state, State::NotAuthenticated);
        let stage = Stage {
            tls,
            authenticated,
            plaintext_ok: self
                .info
                .plaintext_login_allowed(tls, config.allow_plaintext),
            mechanisms: if authenticated {
                Vec::new()
            } else {
                self.server.sasl.offered(&self.sasl_channel())
            },
        };
        let mut caps = capabilities(config, &stage);
        if authenticated && self.proxying() {
            caps = self.narrowed_by_backends(caps);
            caps.push(MAILBOX_REFERRALS.into());
        }
        if crate::xfer::target::offered(self) {
            caps.push(crate::xfer::CAPABILITY.into());
        }
        caps
    }

    /// `caps` without what a live backend does not offer, by the lists the backends
    /// published in the directory (one that published none does not narrow it). Read at each
    /// CAPABILITY from the directory copy in memory, so a backend that joins or leaves counts
    /// from then on.
    fn narrowed_by_backends(&self, caps: Vec<String>) -> Vec<String> {
        let Some(cluster) = self.service().cluster() else {
            return caps;
        };
        let here = cluster.this_server();
        let lists: Vec<Vec<String>> = cluster
            .backends()
            .into_iter()
            .filter(|b| b.alive && b.imap.is_some() && b.name != here)
            .filter_map(|b| b.imap_capabilities)
            .collect();
        narrow(caps, &lists)
    }

    /// Whether CAPABILITY shows `name` to this session now (what it does not show cannot be
    /// enabled).
    pub(crate) fn offers(&self, name: &str) -> bool {
        self.capabilities()
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// What this connection offers SASL (see `auth::sasl_login`): on TLS, the channel
    /// bindings `tls-exporter` (TLS 1.3) and `tls-server-end-point` (when the certificate
    /// defines one).
    pub(crate) fn sasl_channel(&self) -> SaslChannel {
        let config = &self.server.config;
        let end_point = config.tls_cert.as_ref().and_then(|c| c.end_point());
        SaslChannel::new(
            &self.transport,
            ChannelSettings {
                protocol: auth::Protocol::Imap,
                peer: self.info.peer.ip(),
                plaintext_ok: self
                    .info
                    .plaintext_login_allowed(self.transport.is_tls(), config.allow_plaintext),
                client_identity: Some(config.tls_client_identity),
                server_end_point: end_point.as_deref(),
                kerberos: config.kerberos.as_ref(),
            },
        )
    }
}
