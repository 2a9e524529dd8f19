//! Cyrus's namespaces. In the standard one the user's `user.NAME` is shown as `INBOX` and their
//! other mailboxes as `INBOX.x`; other users' mailboxes as `user.OTHER…`; shared mailboxes by
//! their own names. In the alternate one (`altnamespace`) the user's mailboxes sit beside INBOX
//! (`user.NAME.work` is `work`, so two users may each have a top-level `work`), other users'
//! under `userprefix` (`Other Users.bob.work`) and shared ones under `sharedprefix`
//! (`Shared Folders.shared.board`). Administrators always see internal names, as in Cyrus,
//! so that tools such as `cyradm` address every mailbox alike. With `unixhierarchysep` clients
//! see `/` as the separator, and a `.` typed by a client is stored as `^` (Cyrus does the same,
//! so names survive a switch of separator).
//!
//! With virtual domains (`virtdomains`, see docs/virtual-domains.md) the mailboxes of a domain
//! are `example.com!user.alice…` and `example.com!shared…` inside; a user of the domain, and
//! its domain administrator, see exactly the names above with the domain left out, and never
//! reach a name of another domain. A global administrator sees and types Cyrus's external form,
//! `user.alice.Sent@example.com`.

use types::{Domains, MailboxName, MailboxNameError};

use crate::access::Identity;
use crate::error::ServiceError;

#[derive(Clone, Debug)]
pub struct Namespace {
    unix_sep: bool,
    alt: Option<AltPrefixes>,
    domains: std::sync::Arc<Domains>,
}

/// The alternate namespace's prefixes for other users' and shared mailboxes (no separator).
#[derive(Clone, Debug)]
struct AltPrefixes {
    users: String,
    shared: String,
}

impl Namespace {
    /// The standard namespace.
    pub fn new(unix_hierarchy_sep: bool) -> Namespace {
        Namespace {
            unix_sep: unix_hierarchy_sep,
            alt: None,
            domains: std::sync::Arc::default(),
        }
    }

    /// The same namespace with virtual domains as `domains` says.
    pub fn with_domains(mut self, domains: Domains) -> Namespace {
        self.domains = std::sync::Arc::new(domains);
        self
    }

    /// The virtual-domain settings.
    pub fn domains(&self) -> &Domains {
        &self.domains
    }

    /// The alternate namespace, with `userprefix` and `sharedprefix`. A prefix holding a
    /// separator, or empty, is not usable: the caller checks the configuration first.
    pub fn alternate(
        unix_hierarchy_sep: bool,
        user_prefix: &str,
        shared_prefix: &str,
    ) -> Namespace {
        Namespace {
            unix_sep: unix_hierarchy_sep,
            alt: Some(AltPrefixes {
                users: user_prefix.to_string(),
                shared: shared_prefix.to_string(),
            }),
            domains: std::sync::Arc::default(),
        }
    }

    /// Whether `identity` sees the alternate namespace (never administrators).
    fn alt_for(&self, identity: &Identity) -> Option<&AltPrefixes> {
        self.alt.as_ref().filter(|_| !identity.is_admin())
    }

    /// The separator clients see.
    pub fn separator(&self) -> char {
        if self.unix_sep {
            '/'
        } else {
            '.'
        }
    }

    /// RFC 2342 prefixes as `identity` sees them: personal, other users', shared.
    pub fn prefixes(&self, identity: &Identity) -> (String, String, String) {
        let sep = self.separator();
        match self.alt_for(identity) {
            Some(alt) => (
                String::new(),
                format!("{}{sep}", alt.users),
                format!("{}{sep}", alt.shared),
            ),
            None => (format!("INBOX{sep}"), format!("user{sep}"), String::new()),
        }
    }

    /// The internal name for a name a client typed. With virtual domains a name is taken in
    /// the identity's domain; `NAME@DOMAIN` names a mailbox of DOMAIN, which only a global
    /// administrator may name unless it is the identity's own domain (any other answers as a
    /// missing mailbox, so that nothing of another domain shows through).
    pub fn to_internal(
        &self,
        identity: &Identity,
        client: &str,
    ) -> Result<MailboxName, ServiceError> {
        if !self.domains.enabled() {
            let name = self.to_internal_local(identity, client)?;
            // `example.com!…` is a virtual domain's name: only a global administrator reaches
            // one (left from a time with domains on), and no one makes a new one.
            if name.domain().is_some() && !identity.is_global_admin() {
                return Err(ServiceError::BadName(format!(
                    "{client:?}: the character '!' is not allowed in a mailbox name"
                )));
            }
            return Ok(name);
        }
        let (client, domain) = match self.domain_suffix(client) {
            Some((name, domain)) => {
                let domain =
                    (!self.domains.is_default(domain)).then(|| domain.to_ascii_lowercase());
                (name, domain)
            }
            None => (client, identity.domain().map(str::to_string)),
        };
        if !identity.is_global_admin() && domain.as_deref() != identity.domain() {
            return Err(ServiceError::NoSuchMailbox);
        }
        let local = self.to_internal_local(identity, client)?;
        // A typed `!` must not reach into another domain: the name stays in the one decided.
        if local.domain().is_some() && !identity.is_global_admin() {
            return Err(ServiceError::NoSuchMailbox);
        }
        let name = match local.domain() {
            Some(_) => local,
            None => local
                .in_domain(domain.as_deref())
                .map_err(|e| bad(client, self.separator(), Some(e)))?,
        };
        if name.is_domain_root() {
            return Err(ServiceError::BadName(format!(
                "{client:?}: a whole domain is not a mailbox"
            )));
        }
        Ok(name)
    }

    /// [`Namespace::to_internal`] within the identity's domain: the name without a domain.
    fn to_internal_local(
        &self,
        identity: &Identity,
        client: &str,
    ) -> Result<MailboxName, ServiceError> {
        let sep = self.separator();
        let internal = self.path_to_internal(client);
        let (first, rest) = match internal.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (internal.as_str(), None),
        };
        let inbox = identity.inbox().and_then(|i| i.without_domain());
        if let Some(alt) = self.alt_for(identity) {
            let name = alt_internal(alt, inbox.as_ref(), first, rest, client, sep)?;
            return MailboxName::try_from(name).map_err(|e| bad(client, sep, Some(e)));
        }
        let name = if first.eq_ignore_ascii_case("INBOX") {
            // An identity with no INBOX (anonymous, a dotted userid under `.`): it does not
            // exist, as for any other missing mailbox.
            let inbox = inbox.ok_or(ServiceError::NoSuchMailbox)?;
            match rest {
                Some(rest) => format!("{inbox}.{rest}"),
                None => inbox.to_string(),
            }
        } else {
            internal.clone()
        };
        MailboxName::try_from(name).map_err(|e| bad(client, sep, Some(e)))
    }

    /// The ancestors of a name as a client is shown it, in the same form: `a.b.c` has `a.b`
    /// and `a`; with virtual domains `user.alice.Sent@one.example` has
    /// `user.alice@one.example` and `user@one.example` (the domain stays on every level).
    pub fn client_ancestors(&self, client: &str) -> Vec<String> {
        let (name, suffix) = match self.domain_suffix(client) {
            Some((name, _)) => (name, &client[name.len()..]),
            None => (client, ""),
        };
        let mut out = Vec::new();
        let mut cut = name;
        while let Some(i) = cut.rfind(self.separator()) {
            cut = &name[..i];
            out.push(format!("{cut}{suffix}"));
        }
        out
    }

    /// A client's `NAME@DOMAIN` split at its last `@`, with virtual domains on and a domain
    /// name after it (the domain as typed); `None` for any other name.
    fn domain_suffix<'a>(&self, client: &'a str) -> Option<(&'a str, &'a str)> {
        client
            .rsplit_once('@')
            .filter(|(_, domain)| self.domains.enabled() && types::domain::is_domain_name(domain))
    }

    /// A quota root a client typed: as [`Namespace::to_internal`], and, with virtual domains,
    /// `@example.com` for the whole domain (`example.com!`): any domain for a global
    /// administrator, the identity's own for anyone else (who may read it, not set it).
    pub fn quota_root_to_internal(
        &self,
        identity: &Identity,
        client: &str,
    ) -> Result<MailboxName, ServiceError> {
        if let Some(domain) = client.strip_prefix('@') {
            if self.domains.enabled() {
                let root = MailboxName::domain_root(&domain.to_ascii_lowercase())
                    .ok_or_else(|| bad(client, self.separator(), None))?;
                // Another domain's root is not there for anyone but a global administrator.
                if !identity.reaches(&root) {
                    return Err(ServiceError::NoSuchQuotaRoot);
                }
                return Ok(root);
            }
        }
        self.to_internal(identity, client)
    }

    /// A client's hierarchy path (levels joined by the client's separator) with the internal
    /// separator: under `unixhierarchysep` `/` becomes `.` and a `.` inside a level `^`.
    pub fn path_to_internal(&self, client: &str) -> String {
        if !self.unix_sep {
            return client.to_string();
        }
        client
            .chars()
            .map(|c| match c {
                '.' => '^',
                '/' => '.',
                other => other,
            })
            .collect()
    }

    /// The INBOX of the user `user` (a canonical userid) under this namespace's separator
    /// (see [`user_inbox`]), in the user's domain: `example.com!user.alice` for
    /// `alice@example.com` with virtual domains.
    pub fn user_inbox(&self, user: &str) -> Result<MailboxName, ServiceError> {
        let (local, domain) = self.domains.split(user);
        user_inbox(local, self.unix_sep)?
            .in_domain(domain)
            .map_err(|e| ServiceError::BadName(e.to_string()))
    }

    /// The administrator's view of an internal name (`user.fred.Sent`, or `user/fred/Sent`
    /// under `unixhierarchysep`): how Cyrus names mailboxes in event notifications.
    pub fn admin_view(&self, internal: &MailboxName) -> String {
        self.to_client(&Identity::new("", true).with_inbox(None), internal)
    }

    /// The identity of the user `user` (a canonical userid) as an owner of mailboxes: not an
    /// administrator, with the user's domain and INBOX.
    pub(crate) fn owner_identity(&self, user: &str) -> Identity {
        Identity::new(user, false)
            .with_domain(self.domains.domain_of(user).map(str::to_string))
            .with_inbox(self.user_inbox(user).ok())
    }

    /// The owner's view of an internal name (`INBOX.Sent` for `user.fred.Sent`); a mailbox no
    /// user owns gets the administrator's view.
    pub fn owner_view(&self, internal: &MailboxName) -> String {
        match userid_of(internal) {
            Some(owner) => self.to_client(&self.owner_identity(&owner), internal),
            None => self.admin_view(internal),
        }
    }

    /// The name a client is shown for an internal name: without its domain for an identity
    /// of that domain, as `NAME@DOMAIN` for a global administrator.
    pub fn to_client(&self, identity: &Identity, internal: &MailboxName) -> String {
        let Some(domain) = internal.domain() else {
            return self.to_client_local(identity, internal);
        };
        let Some(local) = internal.without_domain() else {
            return format!("@{domain}");
        };
        let shown = self.to_client_local(identity, &local);
        if identity.domain() == Some(domain) {
            shown
        } else {
            format!("{shown}@{domain}")
        }
    }

    /// [`Namespace::to_client`] of a name within the identity's domain (given without it).
    fn to_client_local(&self, identity: &Identity, internal: &MailboxName) -> String {
        let inbox = identity.inbox().and_then(|i| i.without_domain());
        let text = match (self.alt_for(identity), inbox) {
            (Some(alt), inbox) => alt_client(alt, inbox.as_ref(), internal),
            (None, Some(inbox)) if internal.is_within(&inbox) => {
                format!("INBOX{}", &internal.as_str()[inbox.as_str().len()..])
            }
            (None, _) => internal.to_string(),
        };
        if self.unix_sep {
            text.chars()
                .map(|c| match c {
                    '.' => '/',
                    '^' => '.',
                    other => other,
                })
                .collect()
        } else {
            text
        }
    }
}

/// The INBOX of the user `user`: `user.NAME`. A userid holding a dot (`john.doe`) has one only
/// under `unixhierarchysep`, as `user.john^doe` (Cyrus keeps a userid's dots as `^` in internal
/// names; clients see `user/john.doe`); with the `.` separator its dot would make it another
/// user's folder (`bob.secret` would be `user.bob.secret`), so such a user has no INBOX. A
/// userid holding `^` (which would alias the dotted user's INBOX) or any character a mailbox
/// name may not hold has none either.
pub(crate) fn user_inbox(user: &str, unix_sep: bool) -> Result<MailboxName, ServiceError> {
    if let Some(c) = user.chars().find(|&c| c == '^' || c == '/') {
        return Err(ServiceError::BadName(format!(
            "{user:?} is not a user name with an INBOX: it holds {c:?}"
        )));
    }
    let level = match (user.contains('.'), unix_sep) {
        (false, _) => user.to_string(),
        (true, true) => user.replace('.', "^"),
        (true, false) => {
            return Err(ServiceError::BadName(format!(
                "{user:?} has no INBOX: with the \".\" hierarchy separator a userid holding \
                 a dot cannot own mailboxes (set unixhierarchysep to give it one)"
            )))
        }
    };
    let inbox =
        MailboxName::user_inbox(&level).map_err(|e| ServiceError::BadName(e.to_string()))?;
    if inbox.levels().count() != 2 {
        return Err(ServiceError::BadName(format!(
            "{user:?} is not a user name with an INBOX"
        )));
    }
    Ok(inbox)
}

/// The userid owning a mailbox of the `user` hierarchy: `user.john^doe.x` → `john.doe` (the
/// `^` of an internal name stands for a userid's dot, whatever the separator), qualified with
/// the name's domain (`example.com!user.alice` → `alice@example.com`).
pub fn userid_of(name: &MailboxName) -> Option<String> {
    let local = name.owner_user()?.replace('^', ".");
    Some(Domains::qualify(&local, name.domain()))
}

/// The internal name for a client's name in the alternate namespace (`first` is its first
/// level, `rest` what follows, both with `.` as the separator already).
fn alt_internal(
    alt: &AltPrefixes,
    inbox: Option<&MailboxName>,
    first: &str,
    rest: Option<&str>,
    client: &str,
    sep: char,
) -> Result<String, ServiceError> {
    let prefix_alone = |prefix: &str| {
        ServiceError::BadName(format!(
            "{client:?} is the namespace prefix {prefix:?}, not a mailbox"
        ))
    };
    if first == alt.users {
        let rest = rest.ok_or_else(|| prefix_alone(&alt.users))?;
        return Ok(format!("user.{rest}"));
    }
    if first == alt.shared {
        let rest = rest.ok_or_else(|| prefix_alone(&alt.shared))?;
        if rest == "user" || rest.starts_with("user.") {
            return Err(ServiceError::BadName(format!(
                "{client:?}: users' mailboxes are under {:?}",
                alt.users
            )));
        }
        return Ok(rest.to_string());
    }
    let is_inbox = first.eq_ignore_ascii_case("INBOX");
    let inbox = match inbox {
        Some(inbox) => inbox,
        None if is_inbox => return Err(ServiceError::NoSuchMailbox),
        None => return Err(bad(client, sep, None)),
    };
    Ok(match (is_inbox, rest) {
        (true, None) => inbox.to_string(),
        // Clients that assume INBOX may have children: the same personal mailbox.
        (true, Some(rest)) => format!("{inbox}.{rest}"),
        (false, Some(rest)) => format!("{inbox}.{first}.{rest}"),
        (false, None) => format!("{inbox}.{first}"),
    })
}

/// The alternate namespace's name for an internal name (with `.` as the separator).
fn alt_client(alt: &AltPrefixes, inbox: Option<&MailboxName>, internal: &MailboxName) -> String {
    let text = internal.as_str();
    match inbox {
        Some(inbox) if internal == inbox => return "INBOX".to_string(),
        Some(inbox) if internal.is_within(inbox) => {
            return text[inbox.as_str().len() + 1..].to_string();
        }
        _ => {}
    }
    match text.strip_prefix("user.") {
        Some(rest) => format!("{}.{rest}", alt.users),
        None if text == "user" => alt.users.clone(),
        None => format!("{}.{text}", alt.shared),
    }
}

/// Characters a new mailbox name may not hold (CREATE, RENAME's target), besides those no
/// name may hold at all (controls, `*`, `%`): shell and quoting metacharacters, as Cyrus's
/// mailbox-name policy refuses them, so that names stay safe in scripts and in the paths and
/// logs that carry them. Names that exist already stay reachable whatever they hold.
const REFUSED_IN_NEW_NAMES: &[char] =
    &['!', '"', '/', ';', '<', '>', '?', '\\', '`', '{', '|', '}'];

/// The rule a name must meet to be given to a new mailbox.
pub(crate) fn new_name_rule(name: &MailboxName) -> Result<(), ServiceError> {
    if name.is_domain_root() {
        return Err(ServiceError::BadName(format!(
            "{:?} is a whole domain, not a mailbox",
            name.as_str()
        )));
    }
    // The `!` ending a virtual domain is the name's own; the rule is on the name within it.
    match name
        .local()
        .chars()
        .find(|c| REFUSED_IN_NEW_NAMES.contains(c))
    {
        Some(c) => Err(ServiceError::BadName(format!(
            "{:?}: the character {c:?} is not allowed in a new mailbox name \
             (refused: {})",
            name.as_str(),
            REFUSED_IN_NEW_NAMES.iter().collect::<String>()
        ))),
        None => Ok(()),
    }
}

fn bad(client: &str, sep: char, e: Option<MailboxNameError>) -> ServiceError {
    let reason = match e {
        Some(MailboxNameError::EmptyLevel) => {
            format!("{client:?} has an empty hierarchy level (separator is {sep:?})")
        }
        Some(e) => format!("{client:?}: {e}"),
        None => format!("{client:?}: this user has no INBOX"),
    };
    ServiceError::BadName(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity::new("alice", false)
    }

    #[test]
    fn inbox_maps_to_the_users_hierarchy_in_any_case() {
        let ns = Namespace::new(false);
        assert_eq!(
            ns.to_internal(&alice(), "INBOX").unwrap().as_str(),
            "user.alice"
        );
        assert_eq!(
            ns.to_internal(&alice(), "inbox.Sent").unwrap().as_str(),
            "user.alice.Sent"
        );
        assert_eq!(
            ns.to_internal(&alice(), "user.bob.x").unwrap().as_str(),
            "user.bob.x"
        );
        assert_eq!(
            ns.to_internal(&alice(), "INBOXES").unwrap().as_str(),
            "INBOXES"
        );
    }

    #[test]
    fn internal_names_show_as_inbox_for_their_owner() {
        let ns = Namespace::new(false);
        let name = MailboxName::try_from("user.alice.Sent").unwrap();
        assert_eq!(ns.to_client(&alice(), &name), "INBOX.Sent");
        assert_eq!(
            ns.to_client(&Identity::new("admin", true), &name),
            "user.alice.Sent"
        );
    }

    #[test]
    fn unix_separator_swaps_dots_and_slashes() {
        let ns = Namespace::new(true);
        let internal = ns.to_internal(&alice(), "INBOX/a.b/c").unwrap();
        assert_eq!(internal.as_str(), "user.alice.a^b.c");
        assert_eq!(ns.to_client(&alice(), &internal), "INBOX/a.b/c");
    }

    fn alt(unix: bool) -> Namespace {
        Namespace::alternate(unix, "Other Users", "Shared Folders")
    }

    fn round_trip(ns: &Namespace, who: &Identity, client: &str, internal: &str) {
        let got = ns.to_internal(who, client).unwrap();
        assert_eq!(got.as_str(), internal, "{client} → internal");
        assert_eq!(ns.to_client(who, &got), client, "{internal} → client");
    }

    #[test]
    fn the_alternate_namespace_puts_personal_mailboxes_beside_inbox() {
        let ns = alt(false);
        round_trip(&ns, &alice(), "INBOX", "user.alice");
        round_trip(&ns, &alice(), "work", "user.alice.work");
        round_trip(&ns, &alice(), "work.2026", "user.alice.work.2026");
        round_trip(&ns, &alice(), "user", "user.alice.user");
        round_trip(&ns, &alice(), "Other Users.bob", "user.bob");
        round_trip(&ns, &alice(), "Other Users.bob.work", "user.bob.work");
        round_trip(&ns, &alice(), "Shared Folders.shared.board", "shared.board");
        let bob = Identity::new("bob", false);
        round_trip(&ns, &bob, "work", "user.bob.work");
        round_trip(&ns, &bob, "Other Users.alice.work", "user.alice.work");
        // INBOX children, as clients that assume them type them, are personal mailboxes.
        assert_eq!(
            ns.to_internal(&alice(), "INBOX.x").unwrap().as_str(),
            "user.alice.x"
        );
        assert_eq!(
            ns.prefixes(&alice()),
            (
                String::new(),
                "Other Users.".to_string(),
                "Shared Folders.".to_string()
            )
        );
    }

    #[test]
    fn the_alternate_namespace_with_the_unix_separator() {
        let ns = alt(true);
        round_trip(&ns, &alice(), "work/a.b", "user.alice.work.a^b");
        round_trip(&ns, &alice(), "Other Users/bob/work", "user.bob.work");
        round_trip(&ns, &alice(), "Shared Folders/shared/board", "shared.board");
        assert_eq!(ns.prefixes(&alice()).1, "Other Users/");
    }

    #[test]
    fn prefixes_alone_and_users_under_the_shared_prefix_are_refused() {
        let ns = alt(false);
        for name in ["Other Users", "Shared Folders", "Shared Folders.user.bob"] {
            let err = ns.to_internal(&alice(), name).unwrap_err();
            assert!(matches!(err, ServiceError::BadName(_)), "{name}: {err}");
        }
    }

    #[test]
    fn administrators_see_internal_names_in_the_alternate_namespace() {
        let ns = alt(false);
        let admin = Identity::new("admin", true);
        round_trip(&ns, &admin, "user.alice.work", "user.alice.work");
        round_trip(&ns, &admin, "shared.board", "shared.board");
        assert_eq!(ns.prefixes(&admin).1, "user.");
    }

    #[test]
    fn new_names_may_not_hold_metacharacters() {
        for bad in ["a;b", "a|b", "a`b", "a\\b", "a/b", "q\"x", "x!a!b"] {
            let name = MailboxName::try_from(bad).unwrap();
            let err = new_name_rule(&name).unwrap_err();
            assert!(
                err.to_string()
                    .contains("not allowed in a new mailbox name"),
                "{bad}: {err}"
            );
        }
        for good in [
            "user.alice.R&D",
            "shared.board",
            "a b.c-d_e+f",
            "Entwürfe",
            "x^y",
        ] {
            new_name_rule(&MailboxName::try_from(good).unwrap()).unwrap();
        }
    }

    fn with_domains(ns: Namespace) -> Namespace {
        ns.with_domains(Domains {
            mode: types::DomainMode::Userid,
            default_domain: Some("example.org".into()),
            local_names: Vec::new(),
        })
    }

    #[test]
    fn a_domain_user_sees_names_without_the_domain() {
        let ns = with_domains(Namespace::new(false));
        let alice = ns
            .owner_identity("alice@one.example")
            .with_domain(Some("one.example".into()));
        round_trip(&ns, &alice, "INBOX", "one.example!user.alice");
        round_trip(&ns, &alice, "INBOX.Sent", "one.example!user.alice.Sent");
        round_trip(&ns, &alice, "shared.news", "one.example!shared.news");
        round_trip(&ns, &alice, "user.bob", "one.example!user.bob");
        // Her own domain may be named; another, or a typed `!`, is not there for her.
        assert_eq!(
            ns.to_internal(&alice, "shared.news@one.example")
                .unwrap()
                .as_str(),
            "one.example!shared.news"
        );
        for other in [
            "shared.news@two.example",
            "two.example!shared.news",
            "user.x@example.org",
        ] {
            assert!(
                matches!(
                    ns.to_internal(&alice, other),
                    Err(ServiceError::NoSuchMailbox)
                ),
                "{other}"
            );
        }
        assert_eq!(
            ns.user_inbox("alice@one.example").unwrap().as_str(),
            "one.example!user.alice"
        );
        assert_eq!(
            userid_of(&MailboxName::try_from("one.example!user.alice.x").unwrap()).as_deref(),
            Some("alice@one.example")
        );
    }

    #[test]
    fn a_global_administrator_names_domains_as_cyrus_shows_them() {
        let ns = with_domains(Namespace::new(false));
        let admin = Identity::new("admin", true);
        round_trip(
            &ns,
            &admin,
            "user.alice.Sent@one.example",
            "one.example!user.alice.Sent",
        );
        round_trip(&ns, &admin, "user.alice", "user.alice");
        assert_eq!(
            ns.to_internal(&admin, "user.carol@EXAMPLE.ORG")
                .unwrap()
                .as_str(),
            "user.carol",
            "the default domain is written bare"
        );
        assert_eq!(
            ns.quota_root_to_internal(&admin, "@one.example")
                .unwrap()
                .as_str(),
            "one.example!"
        );
        assert_eq!(
            ns.to_client(&admin, &MailboxName::domain_root("one.example").unwrap()),
            "@one.example"
        );
        let unix = with_domains(Namespace::new(true));
        round_trip(
            &unix,
            &admin,
            "user/john.doe/Sent@one.example",
            "one.example!user.john^doe.Sent",
        );
        // A domain administrator names its own domain's root (to read it: setting it is a
        // global administrator's, see `MailService::set_quota`), no other.
        let postmaster =
            Identity::new("postmaster@one.example", true).with_domain(Some("one.example".into()));
        assert_eq!(
            ns.quota_root_to_internal(&postmaster, "@one.example")
                .unwrap()
                .as_str(),
            "one.example!"
        );
        assert!(matches!(
            ns.quota_root_to_internal(&postmaster, "@two.example"),
            Err(ServiceError::NoSuchQuotaRoot)
        ));
        round_trip(&ns, &postmaster, "user.alice", "one.example!user.alice");
    }

    #[test]
    fn without_domains_a_typed_domain_is_refused_to_users() {
        let ns = Namespace::new(false);
        assert!(matches!(
            ns.to_internal(&alice(), "one.example!user.alice"),
            Err(ServiceError::BadName(_))
        ));
        assert_eq!(
            ns.to_internal(&alice(), "user.bob@one.example")
                .unwrap()
                .as_str(),
            "user.bob@one.example",
            "`@` is an ordinary character"
        );
    }

    #[test]
    fn empty_levels_are_refused_with_a_reason() {
        let ns = Namespace::new(false);
        let err = ns.to_internal(&alice(), "INBOX..x").unwrap_err();
        assert!(err.to_string().contains("empty hierarchy level"), "{err}");
    }
}
