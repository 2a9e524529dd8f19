//! Service layer: namespace, access decisions, quotas, delivery and events, on top of the store.
//!
//! Owns: every "may this identity do this" decision, so that IMAP, POP3, LMTP and the proxy
//! enforce the same rules. Must not: know any protocol's syntax or sequence numbers.
//!
//! The protocol servers never hold the store itself: they resolve a client's mailbox name with
//! [`MailService::authorize`], which applies the namespace and the access rules and returns an
//! [`Authorized`] mailbox, and every mailbox operation takes one. Access follows each
//! mailbox's ACL (RFC 4314, with Cyrus's negative and implicit rights): see [`acl`].

mod access;
pub mod acl;
mod cluster;
mod deleted;
mod delivery;
mod emit;
mod error;
pub mod events;
mod maildrop;
mod namespace;
mod ops;
mod quota;
pub mod sendmail;
mod sieve_filter;
mod sieve_scripts;
mod transfer;

pub use access::{is_user_inbox, Authorized, Identity, Need, Operation, ANONYMOUS};
pub use acl::AccessConfig;
pub use cluster::{
    remote_of_entry, Backend, Cluster, DirectoryError, ProxyLogin, RemoteMailbox, ServerLogin,
};
pub use deleted::{DeleteMode, DeletedMailbox};
pub use delivery::{
    AfterStore, Decision, DeliveryAddress, DeliveryFilter, DeliveryOptions, DeliveryRecipient,
    DeliveryReport, Envelope, FilterMessage, ImplicitKeep, Placement,
};
pub use error::ServiceError;
pub use events::{
    AclInfo, Event, EventGroup, EventKind, EventSink, MailboxRef, MessageInfo, NoEvents, Origin,
    QuotaInfo, SieveNotification,
};
pub use maildrop::MaildropClaim;
pub use mailstore::{
    AppendItem, AppendOutcome, AppendSource, Change, CopyOutcome, Delivered, Expunge, FlagChange,
    InternalDate, MailboxEntry, MailboxStatus, MessageFile, MessageRecord, PruneReport,
    QuotaLimits, QuotaRepairReport, QuotaUsage, RecordFields, SelectSnapshot, StoreError,
    StoreFlagsOutcome, UidSelection, UsageCorrection, VanishedSince, MAX_KEYWORDS,
};
pub use mailstore::{ImportedMessage, ScriptVersion, SieveScriptInfo};
pub use namespace::{userid_of, Namespace};
pub use quota::{QuotaConfig, QuotaReport, QuotaRule};
pub use sendmail::{Sendmail, SendmailError};
pub use sieve_filter::{SieveFilter, SieveSettings};
pub use sieve_scripts::{SieveConfig, SieveError};
pub use transfer::{IncomingState, OutgoingMailbox, TransferClaim, TransferRecovery};

use mailstore::Store;
use types::MailboxName;

/// Settings the service needs from the configuration.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// `admins` (SIGHUP may change it: every holder of the list sees the change).
    pub admins: types::LiveList,
    /// `unixhierarchysep`: `/` instead of `.` towards clients.
    pub unix_hierarchy_sep: bool,
    /// `virtdomains`, `defaultdomain`, `localdomains`.
    pub domains: types::Domains,
}

/// The mail service; cheap to clone and share between sessions.
#[derive(Clone)]
pub struct MailService {
    store: Store,
    config: std::sync::Arc<ServiceConfig>,
    access: std::sync::Arc<AccessConfig>,
    namespace: Namespace,
    /// Shared by every clone, so a reload reaches all of them.
    quota: std::sync::Arc<std::sync::RwLock<QuotaConfig>>,
    /// Where deliveries decide their mailboxes (Sieve, when it lands).
    filter: std::sync::Arc<dyn DeliveryFilter>,
    /// Who hears of delivered messages (`mailnotifier`).
    events: std::sync::Arc<dyn EventSink>,
    /// The INBOXes POP3 sessions hold (see [`MaildropClaim`]).
    claims: std::sync::Arc<maildrop::Claims>,
    /// Limits on users' Sieve scripts (module `sieve_scripts`).
    sieve: std::sync::Arc<SieveConfig>,
    /// What DELETE does (module `deleted`).
    delete_mode: std::sync::Arc<DeleteMode>,
    /// The Murder this server is part of (module `cluster`); `None` for a single server.
    cluster: Option<std::sync::Arc<dyn Cluster>>,
    /// The hierarchies being moved to another server, and the writes under way (module
    /// `transfer`).
    transfers: std::sync::Arc<transfer::Transfers>,
}

impl MailService {
    pub fn new(store: Store, config: ServiceConfig) -> MailService {
        let namespace =
            Namespace::new(config.unix_hierarchy_sep).with_domains(config.domains.clone());
        MailService {
            store,
            config: std::sync::Arc::new(config),
            access: std::sync::Arc::new(AccessConfig::default()),
            namespace,
            quota: std::sync::Arc::new(std::sync::RwLock::new(QuotaConfig::default())),
            filter: std::sync::Arc::new(ImplicitKeep),
            events: std::sync::Arc::new(NoEvents),
            claims: std::sync::Arc::default(),
            sieve: std::sync::Arc::default(),
            delete_mode: std::sync::Arc::new(DeleteMode::Immediate),
            cluster: None,
            transfers: std::sync::Arc::default(),
        }
    }

    /// The same service deciding each delivery's mailboxes with `filter` instead of
    /// [`ImplicitKeep`].
    pub fn with_delivery_filter(
        mut self,
        filter: std::sync::Arc<dyn DeliveryFilter>,
    ) -> MailService {
        self.filter = filter;
        self
    }

    /// The same service reporting events to `events` instead of [`NoEvents`].
    pub fn with_events(mut self, events: std::sync::Arc<dyn EventSink>) -> MailService {
        self.events = events;
        self
    }

    /// The same service deciding with `access` (the authorization mechanism and
    /// `defaultacl`) instead of the default (userids, no groups, `anyone lrs`).
    pub fn with_access(mut self, access: AccessConfig) -> MailService {
        self.access = std::sync::Arc::new(access);
        self
    }

    /// The same service with the configuration's quota options instead of the defaults.
    pub fn with_quota(mut self, quota: QuotaConfig) -> MailService {
        self.quota = std::sync::Arc::new(std::sync::RwLock::new(quota));
        self
    }

    /// The quota options now.
    pub fn quota_config(&self) -> QuotaConfig {
        match self.quota.read() {
            Ok(q) => *q,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Replaces the quota options for every clone of this service (SIGHUP).
    pub fn set_quota_config(&self, quota: QuotaConfig) {
        match self.quota.write() {
            Ok(mut q) => *q = quota,
            Err(poisoned) => *poisoned.into_inner() = quota,
        }
    }

    /// The store below the service, for the repair tools (`reconstruct`, `check`), which act
    /// as the administrator on whole mailboxes and databases, beneath every access rule.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Uses `namespace` (the alternate one, say) instead of the standard one the
    /// configuration's separator gave.
    pub fn with_namespace(mut self, namespace: Namespace) -> MailService {
        self.namespace = namespace.with_domains(self.config.domains.clone());
        self
    }

    /// Runs `work` on tokio's blocking pool (the store is synchronous); a task that panicked
    /// comes back as a store failure, so callers handle one error type.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&MailService) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let service = self.clone();
        match tokio::task::spawn_blocking(move || work(&service)).await {
            Ok(result) => result,
            Err(e) => Err(ServiceError::Store(StoreError::Corrupt {
                what: "blocking task".into(),
                detail: e.to_string(),
            })),
        }
    }

    /// The server's own administrator, for local tools (the admin socket, `darius mailbox`):
    /// an administrator who is no user and owns no mailbox.
    pub fn operator(&self) -> Identity {
        Identity::new("", true)
    }

    /// The identity of a user who has proved who they are (a canonical userid: with virtual
    /// domains `alice@example.com`, or `alice` in the default domain), with the groups the
    /// authorization mechanism places them in (looked up once, here: a session keeps them).
    /// An `admins` entry with a domain administers that domain only.
    pub fn identity(&self, user: &str) -> Identity {
        // `admins` compared as logins are: `postmaster@DefaultDomain` is `postmaster`.
        let admin = self
            .namespace
            .domains()
            .lists(&self.config.admins.get(), user);
        self.namespace
            .owner_identity(user)
            .with_admin(admin)
            .with_groups(self.access.authorizer.groups(user))
    }

    /// `admins`, as configured now.
    pub fn admins(&self) -> std::sync::Arc<Vec<String>> {
        self.config.admins.get()
    }

    /// The live `admins` list itself: the SASL policy shares it, and a reload replaces it.
    pub fn admins_list(&self) -> types::LiveList {
        self.config.admins.clone()
    }

    /// The virtual-domain settings.
    pub fn domains(&self) -> &types::Domains {
        self.namespace.domains()
    }

    /// Whether the virtual domain `domain` is one this server holds mail for: the default
    /// domain and its other names, or a domain with at least one mailbox.
    pub fn hosts_domain(&self, domain: &str) -> Result<bool, ServiceError> {
        let domains = self.namespace.domains();
        if !domains.enabled() || domains.is_default(domain) {
            return Ok(true);
        }
        match MailboxName::domain_root(&domain.to_ascii_lowercase()) {
            Some(root) => Ok(self.store.has_mailbox_within(&root)?),
            None => Ok(false),
        }
    }

    /// The unauthenticated identity (`anonymous`): only `anyone` and `anonymous` entries
    /// apply to it, and it owns no mailbox.
    pub fn anonymous_identity(&self) -> Identity {
        Identity::anonymous()
    }
}

/// A service on a store in `dir` (one partition), for the crate's unit tests.
#[cfg(test)]
pub(crate) fn service_for_tests(
    dir: &std::path::Path,
    admins: &[&str],
    unix_hierarchy_sep: bool,
) -> MailService {
    let partitions = [("default".to_string(), dir.join("spool"))].into();
    let config = mailstore::StoreConfig::new(dir.join("conf"), partitions, "default");
    #[allow(clippy::unwrap_used)]
    let store = Store::open(config).unwrap();
    MailService::new(
        store,
        ServiceConfig {
            admins: admins
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .into(),
            unix_hierarchy_sep,
            domains: types::Domains::off(),
        },
    )
}
