//! RCPT (RFC 5321 §4.1.1.3, RFC 2033 §4.2): the recipient's parameters, domain and address
//! checked, the mailbox it reaches found by the mail service; a mailbox of this server is
//! accepted here (or refused when its quota root is over), one another server holds is relayed
//! to that backend (module `proxy`), whose reply the client hears.

use lmtp_proto::{codes, Address, RcptParams, Reply};
use mailservice::{Authorized, Backend, DeliveryAddress, MailService, ServiceError};

use super::{Accepted, Session};
use crate::proxy::RelaySettings;
use crate::recipient::{
    address_of, foreign_domain, not_authorized, unknown_domain, unknown_user, Recipient,
};
use crate::MAX_RECIPIENTS;

/// Where RCPT found a recipient's mailbox.
enum Found {
    /// Here; `full` when its quota root refuses more mail now.
    Local { target: Authorized, full: bool },
    /// On `server` (a Murder backend), reached as the directory says (`None`: unknown there).
    Remote {
        server: String,
        backend: Option<Backend>,
    },
}

impl Session {
    pub(super) async fn rcpt(&mut self, to: Address, params: RcptParams) {
        let Some(tx) = self.transaction.as_ref() else {
            return self.reply(Reply::new(503, codes::BAD_SEQUENCE, "Need MAIL command"));
        };
        if tx.chunks.is_some() {
            // RFC 3030 §2: the recipients are all named before the first chunk.
            return self.reply(Reply::new(503, codes::BAD_SEQUENCE, "RCPT after BDAT"));
        }
        let ignore_quota = params
            .other
            .iter()
            .any(|(k, v)| k == "IGNOREQUOTA" && v.is_none());
        let unsupported = params
            .other
            .iter()
            .any(|(k, v)| k != "IGNOREQUOTA" || v.is_some());
        if params.notify.is_some() || params.orcpt.is_some() || unsupported {
            return self.reply(Reply::new(
                555,
                codes::INVALID_ARGUMENTS,
                "RCPT parameters are not supported",
            ));
        }
        if ignore_quota && !self.trusted {
            return self.reply(Reply::new(
                555,
                codes::NOT_AUTHORIZED,
                "IGNOREQUOTA is for trusted clients only",
            ));
        }
        if tx.accepted.len() >= MAX_RECIPIENTS {
            return self.reply(Reply::new(
                452,
                codes::TOO_MANY_RECIPIENTS,
                "Too many recipients",
            ));
        }
        let domains = self.server.service.domains();
        // With virtual domains the domain picks the user's domain (checked below, with the
        // store); without, it must be local under `lmtp_strict_domains`.
        let domain = match to.domain.as_deref() {
            Some(d) if domains.enabled() && !domains.is_default(d) => {
                Some(d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase())
            }
            _ => None,
        };
        if !domains.enabled()
            && !self
                .server
                .config
                .local_domains
                .contains(to.domain.as_deref())
        {
            return self.reply(foreign_domain());
        }
        let config = &self.server.config;
        let address = match domains.enabled() && to.local.contains('@') {
            true => None,
            false => address_of(
                &to.local,
                config.rcpt_case,
                config.postuser.as_deref(),
                domain.as_deref(),
            ),
        };
        let Some(address) = address else {
            return self.reply(unknown_user());
        };
        let sender = tx.identity.clone();
        let found = self
            .server
            .service
            .blocking(move |service| {
                if let Some(domain) = &domain {
                    if !service.hosts_domain(domain)? {
                        return Err(ServiceError::UnknownDomain);
                    }
                }
                let target = service.delivery_target(&sender, &address)?;
                if let Some(remote) = remote_home(service, &address, &target)? {
                    let backend = service.cluster().and_then(|c| c.backend(&remote.server));
                    return Ok(Found::Remote {
                        server: remote.server,
                        backend,
                    });
                }
                // Refused now rather than after DATA when the root is already over (Cyrus).
                let full = !ignore_quota && service.quota_refuses_delivery(&target)?;
                Ok(Found::Local { target, full })
            })
            .await;
        match found {
            Ok(Found::Local { full: true, .. }) => self.reply(crate::delivery::over_quota()),
            Ok(Found::Local {
                target,
                full: false,
            }) => {
                if let Some(tx) = self.transaction.as_mut() {
                    tx.accepted.push(Accepted::Local(Recipient {
                        address: to,
                        target,
                        ignore_quota,
                    }));
                }
                self.reply(Reply::new(250, codes::DESTINATION_OK, "Ok"));
            }
            Ok(Found::Remote { server, backend }) => {
                self.relay_rcpt(&server, backend, to, ignore_quota).await;
            }
            Err(ServiceError::NoSuchMailbox | ServiceError::BadName(_)) => {
                self.reply(unknown_user());
            }
            Err(ServiceError::PermissionDenied) => self.reply(not_authorized()),
            Err(ServiceError::UnknownDomain) => self.reply(unknown_domain()),
            Err(e) => {
                tracing::error!("{}: looking up recipient {to}: {e}", self.id);
                self.reply(Reply::new(
                    451,
                    codes::SYSTEM_TEMPORARY,
                    "Temporary failure looking up the recipient",
                ));
            }
        }
    }

    /// RCPT of a recipient whose mailbox `server` holds: relayed there, and the client hears
    /// the backend's reply (module `proxy`).
    async fn relay_rcpt(
        &mut self,
        server: &str,
        backend: Option<Backend>,
        to: Address,
        ignore_quota: bool,
    ) {
        let config = &self.server.config;
        let login = config.proxy.as_ref().map(|l| l.at(server));
        let settings = RelaySettings {
            servername: &config.servername,
            login: login.as_ref(),
            tls: &config.proxy_tls,
            timeout: config.timeout,
        };
        let Some(tx) = self.transaction.as_mut() else {
            return;
        };
        let (reply, leg) = tx
            .relay
            .rcpt(&settings, server, backend, &to, ignore_quota)
            .await;
        tracing::info!(
            "{}: recipient {to} relayed to {server}: {}",
            self.id,
            reply.code
        );
        if let Some(leg) = leg {
            tx.accepted.push(Accepted::Relayed { leg, address: to });
        }
        self.reply(reply);
    }
}

/// The server holding the mailbox a recipient's mail goes to, when it is not this one: for a
/// user (`user+detail` too) the server of their INBOX, for a shared mailbox its own. `None`
/// without a cluster.
fn remote_home(
    service: &MailService,
    address: &DeliveryAddress,
    target: &Authorized,
) -> Result<Option<mailservice::RemoteMailbox>, ServiceError> {
    match address {
        DeliveryAddress::User { user, .. } => {
            service.remote_of_name(&service.namespace().user_inbox(user)?)
        }
        DeliveryAddress::Shared { .. } => service.remote_of(target),
    }
}
