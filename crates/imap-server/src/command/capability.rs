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
        capabilities(config, &stage)
    }

    /// What this connection offers SASL (see `auth::sasl_login`).
    pub(crate) fn sasl_channel(&self) -> auth::sasl_login::SaslChannel {
        let tls = self.transport.is_tls();
        auth::sasl_login::SaslChannel {
            protocol: auth::Protocol::Imap,
            peer: self.info.peer.ip(),
            plaintext_ok: self
                .info
                .plaintext_login_allowed(tls, self.server.config.allow_plaintext),
            channel_bindings: self.channel_bindings(),
            external_identity: self.transport.peer_certificate().and_then(|cert| {
                net::x509::client_identity(cert, self.server.config.tls_client_identity)
            }),
            kerberos: self.server.config.kerberos.clone(),
        }
    }

    /// The TLS connection's channel bindings: `tls-exporter` (TLS 1.3) and
    /// `tls-server-end-point` (when the certificate defines one); none without TLS.
    fn channel_bindings(&self) -> Vec<sasl::ChannelBinding> {
        if !self.transport.is_tls() {
            return Vec::new();
        }
        let exporter = self
            .transport
            .tls_exporter()
            .map(|data| sasl::ChannelBinding {
                kind: sasl::ChannelBindingType::TlsExporter,
                data,
            });
        let end_point =
            self.server
                .config
                .tls_server_end_point
                .clone()
                .map(|data| sasl::ChannelBinding {
                    kind: sasl::ChannelBindingType::TlsServerEndPoint,
                    data,
                });
        exporter.into_iter().chain(end_point).collect()
    }
}
