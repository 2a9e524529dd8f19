//! Opening the mail store and the mail service from the configuration — the same way for the
//! server and for tools that work on the files while the server is stopped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use mailservice::{MailService, ServiceConfig};
use mailstore::{Store, StoreConfig};

/// What the admin requests work on.
pub struct Backend {
    pub passwords: Arc<auth::PasswordDb>,
    pub service: MailService,
    /// SASL: the mechanisms offered and who may act as whom, for every protocol.
    pub sasl: Arc<auth::sasl_login::SaslLogins>,
    /// The failed-login penalty every protocol's logins share.
    pub login_penalty: Arc<auth::LoginPenalty>,
    /// `configdirectory`, named in what admin commands report.
    pub config_directory: PathBuf,
    /// The netnews settings (`newsacl`, `newspathdb`).
    pub news: news::NewsConfig,
    /// The Murder's directory when this server is part of one (`darius serve` only).
    pub murder: Option<std::sync::Arc<murder::Directory>>,
    /// The bridge to a Cyrus mupdate master, when `mupdate_server` is set (`darius serve`
    /// only).
    pub mupdate: Option<std::sync::Arc<murder::mupdate::Bridge>>,
    /// A Murder frontend's IMAP server once it runs (`darius serve`): `user add` creates the
    /// new user's INBOX on a backend through it.
    pub frontend_imap: std::sync::OnceLock<std::sync::Arc<imap_server::ImapServer>>,
}

/// Who opens the service: the server runs the notification methods; a tool only forwards to
/// `darius notifyd` when `notifysocket` is set (two processes never run the methods, and a
/// short-lived command never starts sending the webhook's queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opener {
    /// `darius serve`.
    Server,
    /// Every other command.
    Tool,
}

impl Backend {
    /// The backend for a command other than `darius serve`.
    pub fn open(config: &config::Config) -> Result<Backend> {
        Backend::open_as(config, Opener::Tool)
    }

    /// The backend, opened by `opener`. With `murder_users: etcd` the password database is
    /// in the Murder's etcd, whose requests run on the current runtime if there is one.
    pub fn open_as(config: &config::Config, opener: Opener) -> Result<Backend> {
        let dir = config.configdirectory();
        let passwords = match crate::murder::etcd_users(config)? {
            Some(users) => auth::PasswordDb::open_etcd(dir, users)?,
            None => auth::PasswordDb::open(dir)?,
        };
        let passwords = Arc::new(
            passwords
                .with_login_throttle(login_throttle(config)?)
                .with_sources(password_sources(config)?)
                .with_secrets(secret_policy(config))
                .with_auto_transition(config.bool("sasl_auto_transition"))
                .with_cache_ttl(std::time::Duration::from_secs(config.int("auth_cache_ttl")))
                .with_identity(login_identity(config)?),
        );
        let login_penalty = Arc::new(auth::LoginPenalty::new(
            std::time::Duration::from_millis(config.int("auth_failure_delay")),
            crate::serve::client_limit_exceptions(config)?,
        ));
        let service = open_service_as(config, opener)?;
        let sasl = Arc::new(sasl_logins(config, &passwords, service.admins_list())?);
        Ok(Backend {
            sasl,
            passwords,
            login_penalty,
            service,
            config_directory: dir.to_path_buf(),
            news: crate::netnews::news_config(config)?,
            murder: None,
            mupdate: None,
            frontend_imap: std::sync::OnceLock::new(),
        })
    }
}

/// The SASL policy from `sasl_mech_list`, `allowanonymouslogin`, `proxyservers`, `admins`,
/// `loginuseacl` and the OAuth options (a bad JWKS file stops start-up); `admins` is the
/// service's live list.
fn sasl_logins(
    config: &config::Config,
    passwords: &Arc<auth::PasswordDb>,
    admins: types::LiveList,
) -> Result<auth::sasl_login::SaslLogins> {
    let mech_list = auth::sasl_login::SaslConfig::parse_mech_list(
        config.list("sasl_mech_list").iter().map(String::as_str),
    )
    .map_err(anyhow::Error::msg)?;
    let settings = auth::oauth::OauthSettings {
        jwks_file: config.path("oauth_jwks_file").map(Path::to_path_buf),
        issuer: config.str("oauth_issuer").to_string(),
        audience: config.str("oauth_audience").to_string(),
        username_claim: config.str("oauth_username_claim").to_string(),
    };
    let verifier = auth::oauth::JwksVerifier::from_settings(&settings)?;
    let wants_oauth = mech_list
        .iter()
        .any(|m| matches!(m, sasl::Mechanism::OAuthBearer | sasl::Mechanism::XOAuth2));
    if wants_oauth && verifier.is_none() {
        anyhow::bail!("sasl_mech_list: OAUTHBEARER and XOAUTH2 need oauth_jwks_file");
    }
    let sasl_config = auth::sasl_login::SaslConfig {
        mech_list,
        allow_anonymous: config.bool("allowanonymouslogin"),
        hostname: crate::imap::servername(config),
        proxy_servers: config.list("proxyservers").to_vec(),
        admins,
        login_use_acl: config.bool("loginuseacl"),
    };
    let logins = auth::sasl_login::SaslLogins::new(Arc::clone(passwords), sasl_config);
    Ok(match verifier {
        Some(verifier) => logins.with_token_verifier(Arc::new(verifier)),
        None => logins,
    })
}

/// `sasl_pwcheck_method`: where network logins' passwords are checked, in order.
fn password_sources(config: &config::Config) -> Result<Vec<auth::PasswordSource>> {
    let methods = config.list("sasl_pwcheck_method");
    if methods.is_empty() {
        anyhow::bail!("sasl_pwcheck_method: empty; name at least one of auxprop, shadow, pam");
    }
    methods
        .iter()
        .map(|method| match method.as_str() {
            "auxprop" => Ok(auth::PasswordSource::Auxprop),
            "shadow" => {
                let system = auth::shadow::ShadowFiles::system();
                Ok(auth::PasswordSource::Shadow(auth::shadow::ShadowFiles::at(
                    config.path("passwd_file").unwrap_or(system.passwd_path()),
                    config.path("shadow_file").unwrap_or(system.shadow_path()),
                )))
            }
            "pam" => pam_source(config),
            "saslauthd" => {
                anyhow::bail!("sasl_pwcheck_method: {method}: not supported yet")
            }
            other => {
                anyhow::bail!(
                    "sasl_pwcheck_method: unknown method {other:?} (auxprop, shadow, pam)"
                )
            }
        })
        .collect()
}

/// Which shared-secret forms passwords are stored with: SCRAM always, with
/// `sasl_scram_iteration_counter` iterations; CRAM-MD5 only when `sasl_mech_list` names it;
/// the password itself, for APOP, only with `allowapop`.
pub fn secret_policy(config: &config::Config) -> auth::SecretPolicy {
    let iterations = u32::try_from(config.int("sasl_scram_iteration_counter"))
        .ok()
        .and_then(std::num::NonZeroU32::new)
        .unwrap_or(auth::SecretPolicy::default().scram_iterations);
    auth::SecretPolicy {
        scram_iterations: iterations,
        cram_md5: config
            .list("sasl_mech_list")
            .iter()
            .any(|m| m.eq_ignore_ascii_case("CRAM-MD5")),
        apop: config.bool("allowapop"),
    }
}

/// `krb5_realm`; `None` when empty.
fn krb5_realm(config: &config::Config) -> Option<String> {
    let realm = config.str("krb5_realm");
    (!realm.is_empty()).then(|| realm.to_string())
}

/// `krb5_equiv_file`, or its other name `krb_equiv_file`.
fn krb5_equiv_file(config: &config::Config) -> Result<Option<PathBuf>> {
    match (
        config.path("krb5_equiv_file"),
        config.path("krb_equiv_file"),
    ) {
        (Some(a), Some(b)) if a != b => anyhow::bail!(
            "krb5_equiv_file ({}) and krb_equiv_file ({}) name different files; set one",
            a.display(),
            b.display()
        ),
        (a, b) => Ok(a.or(b).map(PathBuf::from)),
    }
}

/// The identity rules of logins (`krb5_realm`, the `krb.equiv` map, `loginrealms`,
/// `auth_mech`, the virtual domains), naming server addresses with the system's resolver for
/// `virtdomains: on`.
fn login_identity(config: &config::Config) -> Result<auth::identity::LoginIdentity> {
    let mechanism =
        auth::authz::Mechanism::try_from(config.str("auth_mech")).map_err(anyhow::Error::msg)?;
    Ok(auth::identity::LoginIdentity::new(
        krb5_realm(config),
        krb5_equiv_file(config)?,
        config.list("loginrealms").to_vec(),
        mechanism,
        domains(config)?,
    )
    .with_reverse_lookup(Arc::new(crate::server_name::SystemResolver)))
}

/// `pam`: `pam_service` (IMAP's) and `pam_timeout`.
#[cfg(feature = "pam")]
fn pam_source(config: &config::Config) -> Result<auth::PasswordSource> {
    let service = auth::pam::PamService::try_from(config.str("pam_service"))
        .map_err(|e| anyhow::anyhow!("pam_service: {e}"))?;
    let timeout = std::time::Duration::from_secs(config.int("pam_timeout"));
    Ok(auth::PasswordSource::Pam(auth::pam::PamSource::new(
        service, timeout,
    )))
}

/// A build without the `pam` feature has no PAM source: say so rather than run without it.
#[cfg(not(feature = "pam"))]
fn pam_source(_config: &config::Config) -> Result<auth::PasswordSource> {
    anyhow::bail!(
        "sasl_pwcheck_method: pam: this build of darius has no PAM support \
         (build it with `cargo build --release --features pam`, which needs libpam0g-dev)"
    )
}

/// `auth_failures_per_host`, `auth_failure_window` and `client_limit_exceptions`.
fn login_throttle(config: &config::Config) -> Result<auth::ThrottleConfig> {
    let exempt = crate::serve::client_limit_exceptions(config)?;
    Ok(auth::ThrottleConfig {
        max_failures: u32::try_from(config.int("auth_failures_per_host")).unwrap_or(u32::MAX),
        window: std::time::Duration::from_secs(config.int("auth_failure_window")),
        exempt,
    })
}

/// `maxmessagesize`; 0 means no configured limit, but never more than the store's hard ceiling
/// (`mailstore::MAX_MESSAGE_SIZE`, the largest RFC822.SIZE an IMAP4rev1 client can read): the
/// limit the servers announce (APPENDLIMIT, SIZE) and enforce before inviting data.
pub fn max_message_size(config: &config::Config) -> u64 {
    match config.int("maxmessagesize") {
        0 => mailstore::MAX_MESSAGE_SIZE,
        n => n.min(mailstore::MAX_MESSAGE_SIZE),
    }
}

/// The notifier, when the configuration asks for notifications (`mailnotifier`,
/// `event_notifier`, `sievenotifier`, or `notifysocket` set explicitly) and `opener` may run
/// it ([`Opener`]); else nobody is told and Sieve sends its `mailto:` notifications itself.
fn mail_notifier(
    config: &config::Config,
    namespace: &mailservice::Namespace,
    opener: Opener,
) -> Result<Arc<dyn mailservice::EventSink>> {
    let socket = config.is_explicit("notifysocket");
    let wanted = ["mailnotifier", "event_notifier", "sievenotifier"]
        .iter()
        .any(|name| !config.str(name).is_empty())
        || socket;
    if !wanted || (opener == Opener::Tool && !socket) {
        return Ok(Arc::new(mailservice::NoEvents));
    }
    let notifier =
        notify::Notifier::start(notifier_config(config, namespace)?).map_err(anyhow::Error::msg)?;
    Ok(Arc::new(notifier))
}

/// The notification options (see docs/notifications.md); `notifysocket` only when set
/// explicitly.
pub fn notifier_config(
    config: &config::Config,
    namespace: &mailservice::Namespace,
) -> Result<notify::NotifierConfig> {
    let method = |name: &str| -> Result<Option<notify::MethodName>> {
        match config.str(name) {
            "" => Ok(None),
            text => notify::MethodName::parse(text)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{name}: {e}")),
        }
    };
    let render = notify::RenderContext::new(crate::imap::servername(config), namespace.clone())
        .with_extra_params(&config.list("event_extra_params").join(" "))
        .map_err(|e| anyhow::anyhow!("event_extra_params: {e}"))?;
    let secs = |name: &str| std::time::Duration::from_secs(config.int(name));
    let settings = notify::Settings {
        sendmail: sieve_settings(config).sendmail,
        mailto_rate: u32::try_from(config.int("notify_mailto_rate")).unwrap_or(u32::MAX),
        external: config.path("notify_external").map(Path::to_path_buf),
        external_timeout: secs("notify_external_timeout"),
        external_max: usize::try_from(config.int("notify_external_max")).unwrap_or(usize::MAX),
        webhook_url: config.str("notify_webhook_url").to_string(),
        webhook_retry_min: secs("notify_webhook_retry_min"),
        webhook_retry_max: secs("notify_webhook_retry_max"),
        webhook_queue_max: config.int("notify_webhook_queue_max"),
        webhook_dir: config.configdirectory().join("notify").join("webhook"),
    };
    Ok(notify::NotifierConfig {
        mail: method("mailnotifier")?,
        event: method("event_notifier")?,
        event_groups: notify::notifier::parse_groups(config.list("event_groups"))
            .map_err(anyhow::Error::msg)?,
        sieve: method("sievenotifier")?,
        render,
        socket: config
            .is_explicit("notifysocket")
            .then(|| config.path("notifysocket").map(Path::to_path_buf))
            .flatten(),
        settings,
    })
}

/// The virtual-domain settings (`virtdomains`, `defaultdomain`, `localdomains`, with
/// `servername` as another name of the default domain).
pub fn domains(config: &config::Config) -> Result<types::Domains> {
    let mode = types::DomainMode::parse(config.str("virtdomains")).with_context(|| {
        format!(
            "virtdomains: {:?} is not off, userid or on",
            config.str("virtdomains")
        )
    })?;
    let lower = |d: &str| d.trim_end_matches('.').to_ascii_lowercase();
    let default = config.str("defaultdomain");
    if !default.is_empty() && !types::domain::is_domain_name(&lower(default)) {
        anyhow::bail!("defaultdomain: {default:?} is not a domain name");
    }
    let mut local_names: Vec<String> = config
        .list("localdomains")
        .iter()
        .map(|d| lower(d))
        .collect();
    local_names.push(lower(&crate::imap::servername(config)));
    Ok(types::Domains {
        mode,
        default_domain: (!default.is_empty()).then(|| lower(default)),
        local_names,
    })
}

/// The namespace the configuration gives (`altnamespace`, `unixhierarchysep`, the prefixes).
pub fn namespace(config: &config::Config) -> mailservice::Namespace {
    // A bad `virtdomains` stops the start when the service opens; here it falls back to off.
    let domains = domains(config).unwrap_or_default();
    let namespace = match config.bool("altnamespace") {
        true => mailservice::Namespace::alternate(
            config.bool("unixhierarchysep"),
            config.str("userprefix"),
            config.str("sharedprefix"),
        ),
        false => mailservice::Namespace::new(config.bool("unixhierarchysep")),
    };
    namespace.with_domains(domains)
}

/// Sieve at delivery: the `sieve_*` options, `sendmail`, `servername`.
pub fn sieve_settings(config: &config::Config) -> mailservice::SieveSettings {
    let defaults = mailservice::SieveSettings::default();
    let mut limits = defaults.limits.clone();
    limits.max_redirects = usize::try_from(config.int("sieve_maxredirects")).unwrap_or(usize::MAX);
    mailservice::SieveSettings {
        limits,
        vacation_min: config.int("sieve_vacation_min_response"),
        vacation_max: config.int("sieve_vacation_max_response"),
        duplicate_max: config.int("sieve_duplicate_max_expiration"),
        // `sendmail` is an absolute path option: read as a path (as a string it trips the
        // typed getter's debug assertion and stops every debug-build server at start).
        sendmail: mailservice::sendmail::Sendmail::new(
            config
                .path("sendmail")
                .unwrap_or(std::path::Path::new("/usr/sbin/sendmail")),
        ),
        hostname: crate::imap::servername(config),
        lmtp_reject: config.bool("sieve_use_lmtp_reject"),
        ..defaults
    }
}

/// The service for a command other than `darius serve`.
pub fn open_service(config: &config::Config) -> Result<MailService> {
    open_service_as(config, Opener::Tool)
}

/// `quotawarn`, `quotawarnkb`, `quotawarnmsg` and `lmtp_strict_quota` (SIGHUP reads them
/// again).
pub fn quota_config(config: &config::Config) -> mailservice::QuotaConfig {
    mailservice::QuotaConfig {
        warn_percent: u8::try_from(config.int("quotawarn")).unwrap_or(100),
        warn_kib: config.int("quotawarnkb"),
        warn_messages: config.int("quotawarnmsg"),
        strict_delivery: config.bool("lmtp_strict_quota"),
    }
}

/// The service, opened by `opener`.
pub fn open_service_as(config: &config::Config, opener: Opener) -> Result<MailService> {
    let mut store_config = StoreConfig::new(
        config.configdirectory(),
        config.partitions().clone(),
        config.str("defaultpartition"),
    );
    store_config.max_message_size = Some(max_message_size(config));
    if let Some(dir) = config.path("sievedir") {
        store_config.sieve_directory = dir.to_path_buf();
    }
    store_config.index_cache_bytes =
        usize::try_from(config.int("index_cache_bytes")).unwrap_or(usize::MAX);
    store_config.expunge_mode = match config.str("expunge_mode") {
        "immediate" => mailstore::ExpungeMode::Immediate,
        _ => mailstore::ExpungeMode::Delayed,
    };
    store_config.news_prefix = crate::netnews::news_prefix(config)?;
    let store = Store::open(store_config).context("opening the mail store")?;
    let service_config = ServiceConfig {
        admins: config.list("admins").to_vec().into(),
        unix_hierarchy_sep: config.bool("unixhierarchysep"),
        domains: crate::mail::domains(config)?,
    };
    let quota = quota_config(config);
    let service = MailService::new(store, service_config)
        .with_access(access_config(config)?)
        .with_quota(quota)
        .with_events(mail_notifier(config, &namespace(config), opener)?)
        .with_delivery_filter(std::sync::Arc::new(mailservice::SieveFilter::new(
            sieve_settings(config),
        )))
        .with_sieve(crate::sieve::script_limits(config));
    Ok(service
        .with_delete_mode(delete_mode(config)?)
        .with_namespace(namespace(config)))
}

/// `delete_mode` and `deletedprefix` (one top-level name).
fn delete_mode(config: &config::Config) -> Result<mailservice::DeleteMode> {
    if config.str("delete_mode") == "immediate" {
        return Ok(mailservice::DeleteMode::Immediate);
    }
    let given = config.str("deletedprefix");
    let prefix = types::MailboxName::try_from(given)
        .ok()
        .filter(|p| p.parent().is_none())
        .with_context(|| format!("deletedprefix: {given:?} is not a top-level mailbox name"))?;
    Ok(mailservice::DeleteMode::Delayed { prefix })
}

/// The authorization mechanism (`auth_mech` and its files) and `defaultacl`.
fn access_config(config: &config::Config) -> Result<mailservice::AccessConfig> {
    let mechanism =
        auth::authz::Mechanism::try_from(config.str("auth_mech")).map_err(anyhow::Error::msg)?;
    let authz = auth::authz::AuthzConfig {
        mechanism,
        groups_file: config.path("auth_groups_file").map(PathBuf::from),
        krb5_realm: krb5_realm(config),
        krb5_equiv_file: krb5_equiv_file(config)?,
    };
    let default_acl = types::Acl::try_from(config.str("defaultacl"))
        .map_err(|e| anyhow::anyhow!("defaultacl: {e}"))?;
    Ok(mailservice::AccessConfig {
        authorizer: auth::authz::authorizer(&authz),
        default_acl,
    })
}
