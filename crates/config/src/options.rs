//! The option table: every `imapd.conf` option Darius knows, with its type, default and a one-line
//! description. Names are Cyrus's wherever Cyrus has the option, so a Cyrus admin's file reads the
//! same here; options Cyrus configures elsewhere (listeners live in `cyrus.conf` there) are ours.
//!
//! A default may name `{configdirectory}`; it is expanded when a file is read.

/// How an option's value is written and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Str,
    /// `1/0`, `yes/no`, `on/off`, `true/false`.
    Bool,
    /// A whole number within bounds.
    Int { min: u64, max: u64 },
    /// Bytes, with an optional `K`, `M` or `G` suffix.
    Size,
    /// A file or directory path; empty means unset.
    Path,
    /// An absolute path; empty means unset.
    AbsPath,
    /// `host:port` for a listener; empty disables it.
    Listen,
    /// Words separated by white space.
    List,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// A syslog facility name such as `LOCAL6`.
    Facility,
}

impl Kind {
    /// How the kind is described in the configuration reference.
    pub fn describe(&self) -> String {
        match self {
            Kind::Str => "string".into(),
            Kind::Bool => "boolean".into(),
            Kind::Int { min, max } if *max == u64::from(u32::MAX) => format!("integer ≥ {min}"),
            Kind::Int { min, max } => format!("integer {min}–{max}"),
            Kind::Size => "size (bytes, K, M, G)".into(),
            Kind::Path => "path".into(),
            Kind::AbsPath => "absolute path".into(),
            Kind::Listen => "host:port or empty".into(),
            Kind::List => "space-separated list".into(),
            Kind::Enum(choices) => format!("one of {}", choices.join(", ")),
            Kind::Facility => "syslog facility".into(),
        }
    }
}

/// Whether this build acts on an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The server honours the option.
    Supported,
    /// Known (Cyrus has it, or a later issue brings it) but not acted on yet. Setting it stops
    /// start-up, whatever the value: a security option that silently does nothing is worse than
    /// an error, and even the documented default is not what the server does until the option
    /// is implemented. The issue that implements an option switches it to `Supported`.
    NotYet,
}

/// One option of the table.
#[derive(Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub description: &'static str,
    pub support: Support,
}

/// An option this build honours.
const fn opt(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    description: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        default,
        description,
        support: Support::Supported,
    }
}

/// An option this build knows but does not act on yet: setting it is an error (see
/// [`Support::NotYet`]).
const fn not_yet(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    description: &'static str,
) -> OptionSpec {
    OptionSpec {
        support: Support::NotYet,
        ..opt(name, kind, default, description)
    }
}

const U32: u64 = u32::MAX as u64;

/// Options whose name holds a name of the admin's choosing: after a prefix (`partition-`),
/// or before a suffix (a pattern starting with `_`, such as `_password`).
pub static PATTERN_OPTIONS: &[OptionSpec] = &[
    opt(
        "partition-",
        Kind::AbsPath,
        "",
        "`partition-NAME: /path` defines the mail partition NAME rooted at /path. The name `news` is reserved for netnews. With `virtdomains`, a partition named after a domain (`partition-example.com`) takes that domain's new top-level mailboxes (its users' INBOXes and shared mailboxes) instead of `defaultpartition`.",
    ),
    opt(
        "_authname",
        Kind::Str,
        "",
        "`NAME_authname: identity` (Cyrus's per-server form): in a Murder, the identity this server logs in as at the backend whose `murder_server_name` is NAME, instead of `proxy_authname`.",
    ),
    opt(
        "_password",
        Kind::Str,
        "",
        "`NAME_password: secret` (Cyrus's per-server form): the password this server logs in with at the backend NAME, instead of `proxy_password`. A frontend may then leave `proxy_password` empty when every backend has its own.",
    ),
];

/// The admin's name in `key` if `key` is an option of the pattern `pattern` (see
/// [`PATTERN_OPTIONS`]): `b1` for `b1_password`, `spool` for `partition-spool`.
pub fn pattern_name<'a>(pattern: &str, key: &'a str) -> Option<&'a str> {
    let name = if pattern.starts_with('_') {
        key.strip_suffix(pattern)
    } else {
        key.strip_prefix(pattern)
    };
    name.filter(|n| !n.is_empty())
}

/// Every fixed-name option, in the order the reference lists them.
pub static OPTIONS: &[OptionSpec] = &[
    // -- locations ------------------------------------------------------------------------------
    opt("configdirectory", Kind::AbsPath, "",
        "Directory for the server's databases, sockets, session files and logs. Required."),
    opt("defaultpartition", Kind::Str, "default",
        "Partition for new top-level mailboxes when none is chosen; child mailboxes inherit their parent's."),
    opt("servername", Kind::Str, "",
        "The server's host name as shown in greetings and generated IDs; empty means the machine's host name."),
    // -- listeners -----------------------------------------------------------------------------
    opt("listen_imap", Kind::Listen, "", "Address for IMAP with STARTTLS (RFC 9051); empty disables it."),
    opt("listen_imaps", Kind::Listen, "", "Address for IMAP over implicit TLS (RFC 8314); empty disables it."),
    opt("listen_pop3", Kind::Listen, "", "Address for POP3 with STLS (RFC 1939, RFC 2595); empty disables it."),
    opt("listen_pop3s", Kind::Listen, "", "Address for POP3 over implicit TLS (RFC 8314); empty disables it. Needs `tls_server_cert` and `tls_server_key`."),
    opt("listen_lmtp", Kind::Listen, "",
        "Address for LMTP delivery over TCP (RFC 2033); empty disables it. LMTP takes mail for any user without authentication: bind it to loopback or a network only your MTAs reach."),
    opt("listen_sieve", Kind::Listen, "",
        "Address for ManageSieve (RFC 5804) with STARTTLS, Cyrus's `timsieved` (port 4190); empty disables it. Users upload, check, list, activate, fetch, rename and delete their Sieve scripts; an administrator manages another user's by authenticating with that user as the SASL authorization identity."),
    not_yet("listen_metrics", Kind::Listen, "", "Address for the Prometheus metrics endpoint; empty disables it."),
    opt("lmtpsocket", Kind::Path, "",
        "UNIX socket for LMTP delivery from the local MTA; empty disables it. Whoever can connect can deliver to any user without a password: `lmtpsocket_mode` and `lmtpsocket_group` decide who that is."),
    opt("lmtpsocket_mode", Kind::Enum(&["0600", "0660", "0666"]), "0660",
        "Permissions of `lmtpsocket`: `0600` lets only the server's own user (and root) deliver; `0660` also the members of `lmtpsocket_group`; `0666` every local account (Cyrus's socket mode, leaving the protection to the directories above the socket)."),
    opt("lmtpsocket_group", Kind::Str, "",
        "Group given to `lmtpsocket` (a name from /etc/group or a number); empty keeps the server's own group. For Postfix's `lmtp:unix:` transport use `postfix` with mode `0660`, and let that group search the directories above the socket. The server must be root or a member of the group."),
    opt("adminsocket", Kind::Path, "{configdirectory}/socket/admin",
        "UNIX socket (mode 0600) through which `darius user …` and other tools talk to the running server."),
    // -- administrators and access ---------------------------------------------------------------
    opt("admins", Kind::List, "",
        "Users who are administrators: they may see and change every mailbox, ACL and quota."),
    opt("defaultacl", Kind::Str, "anyone lrs",
        "ACL given to a new top-level mailbox outside `user` (a shared mailbox), as white-space separated identifier/rights pairs (RFC 4314 rights, `-identifier` for negative rights); empty gives none. A new `user.NAME` gets `NAME` with every right; any other new mailbox copies its closest existing parent's ACL. Mailboxes stored before ACLs existed read as the ACL they would have been given."),
    opt("auth_mech", Kind::Enum(&["unix", "krb5"]), "unix",
        "How ACL identifiers are understood (Cyrus's `auth_mech`): `unix` takes userids and `group:NAME`, with groups from /etc/group and `auth_groups_file`; `krb5` takes Kerberos principals (`name.instance@REALM` or `name/instance@REALM`, the realm defaulting to `krb5_realm`), with `*` wildcards (`*`, `*.*@FOO.COM`, `*.*@*`) and no groups."),
    opt("auth_groups_file", Kind::Path, "",
        "With `auth_mech: unix`, a file of groups beside /etc/group, one `group: member, member` line per group (`#` starts a comment); it is read again when it changes. Empty reads only /etc/group."),
    opt("krb5_realm", Kind::Str, "",
        "With `auth_mech: krb5`, and for GSSAPI logins, the local Kerberos realm: principals without a realm are in it, and its principals are shown without it. Empty: no local realm."),
    opt("krb5_equiv_file", Kind::Path, "",
        "With `auth_mech: krb5`, and for GSSAPI logins, an identity map in `krb.equiv` format (`principal localname` lines) applied when identifiers are canonicalised; read again when it changes. Empty: no map."),
    opt("allowanonymouslogin", Kind::Bool, "0",
        "Let IMAP `LOGIN anonymous` with any password in as the anonymous identity: only ACL entries for `anyone` and `anonymous` apply to it, it owns no mailbox, keeps no `\\Seen` and no subscriptions, and may not create or rename mailboxes (an ACL of `anyone lr` makes a public read-only archive). The plaintext rule (`allowplaintext`) applies as to any LOGIN. Off, `LOGIN anonymous` is refused without a password check, as in Cyrus, so a user named `anonymous` cannot log in. SASL ANONYMOUS is not offered yet."),
    opt("krb_equiv_file", Kind::Path, "",
        "Another name for `krb5_equiv_file`; setting both to different files stops start-up."),
    opt("loginrealms", Kind::List, "",
        "Realms whose Kerberos identities may log in besides the local one (`krb5_realm`), as in Cyrus. With `auth_mech: krb5` every login's identity (LOGIN or any SASL mechanism, proxy authorization identities included) is a Kerberos principal: the `krb5_equiv_file` map applies first (a mapped principal logs in as its local name from any realm), `user@krb5_realm` logs in as `user` over SASL (IMAP LOGIN does not strip the local realm yet), and an identity of another realm is refused unless that realm is listed (compared without regard to case), keeping its realm when it logs in: `bob@OTHER.ORG` is another user than `bob`. With `auth_mech: unix`, user ids are not principals and are kept as typed (`user@domain` is an ordinary user id, as `darius user import-sasldb` makes them); a GSSAPI login's identity is a principal under either, and follows these rules with `krb5_realm` and `krb5_equiv_file`."),
    opt("loginuseacl", Kind::Bool, "0",
        "Let an authenticated identity log in as another user (a SASL authorization identity) when it holds the `a` right on that user's INBOX, besides `admins` and `proxyservers`."),
    opt("proxyservers", Kind::List, "",
        "Identities that may act as any user: a SASL exchange authenticated as one of them may name another user as its authorization identity (proxy login, RFC 4422 §3.4.1), as `admins` may. Anyone else asking for a different authorization identity is refused with `NO [AUTHORIZATIONFAILED]`."),
    // -- namespace --------------------------------------------------------------------------------
    opt("altnamespace", Kind::Bool, "0",
        "Show the user's personal mailboxes beside INBOX instead of below it (Cyrus's alternate namespace: `user.NAME.work` is `work`), other users' under `userprefix` and shared ones under `sharedprefix`. Administrators keep seeing internal names, as in Cyrus. Cyrus 3 turns this on by default; Darius keeps the classic namespace unless asked."),
    opt("userprefix", Kind::Str, "Other Users",
        "With `altnamespace`, the prefix under which other users' mailboxes appear (`Other Users.bob.work`). It may not be empty or hold `.` or `/`."),
    opt("sharedprefix", Kind::Str, "Shared Folders",
        "With `altnamespace`, the prefix under which shared mailboxes appear (`Shared Folders.shared.board`). It may not be empty or hold `.` or `/`, nor equal `userprefix`."),
    opt("unixhierarchysep", Kind::Bool, "0",
        "Use `/` instead of `.` as the hierarchy separator shown to clients (Cyrus 3 defaults to on; Darius keeps `.`)."),
    // -- virtual domains ----------------------------------------------------------------------------
    opt("virtdomains", Kind::Enum(&["off", "userid", "on"]), "off",
        "Virtual domains (Cyrus's option): `off` keeps one flat user space (`alice@example.com` is an ordinary userid); `userid` takes the domain from the login name (`alice@example.com` is user `alice` of domain `example.com`, whose mailboxes are `example.com!user.alice…` inside and look as always to her); `on` also gives a login without a domain the domain of the server address the client connected to (its reverse DNS name without the first label). Users of `defaultdomain` are written without a domain. See docs/virtual-domains.md."),
    opt("defaultdomain", Kind::Str, "",
        "With `virtdomains`: the domain of users who log in without one and of every mailbox stored without a domain (so turning `virtdomains` on keeps existing users working); `alice@defaultdomain` is `alice`. Empty: only logins without a domain are in it."),
    opt("localdomains", Kind::List, "",
        "With `virtdomains`: other names of `defaultdomain` (besides `servername`): LMTP recipients and logins in them are users of the default domain."),
    // -- authentication -----------------------------------------------------------------------------
    opt("sasl_pwcheck_method", Kind::List, "auxprop",
        "Where network logins' passwords are checked, tried in order until one accepts: `auxprop` (Darius's password database, `darius user`), `shadow` (`passwd_file` and `shadow_file`: yescrypt, SHA-512, SHA-256 and bcrypt crypt(3) hashes; locked and expired accounts refused; the server must be able to read the shadow file, e.g. as a member of group `shadow`) and `pam` (the system's PAM stack: service `pam_service` for IMAP logins; `pam_authenticate` then `pam_acct_mgmt`, so expired and locked accounts are refused; each check answered within `pam_timeout`; needs a build with the `pam` feature, otherwise naming it stops start-up). Every source's answers go into the verified-credentials cache (`auth_cache_ttl`): a remembered success logs in again without a PAM transaction. `saslauthd` is not supported yet: naming it stops start-up."),
    opt("passwd_file", Kind::AbsPath, "/etc/passwd",
        "With `shadow` in `sasl_pwcheck_method`, the passwd file naming the users (a hash in its second field serves when the shadow file has no entry)."),
    opt("shadow_file", Kind::AbsPath, "/etc/shadow",
        "With `shadow` in `sasl_pwcheck_method`, the shadow file holding the users' hashes and password ageing."),
    opt("pam_service", Kind::Str, "imap",
        "With `pam` in `sasl_pwcheck_method`, the PAM service (file under /etc/pam.d) that checks IMAP logins; POP3 and ManageSieve use `pop` and `sieve`, their SASL service names, as Cyrus does. Letters, digits, `.`, `_` and `-`."),
    opt("pam_timeout", Kind::Int { min: 1, max: 300 }, "10",
        "With `pam` in `sasl_pwcheck_method`, seconds a PAM check may take; past that the login is answered `NO [UNAVAILABLE]` and the module's thread is left to finish. At most 16 such threads run at once (hung ones included); beyond that PAM logins are unavailable until some end."),
    opt("sasl_mech_list", Kind::List, "",
        "SASL mechanisms offered (AUTHENTICATE), e.g. `SCRAM-SHA-256 PLAIN`. Empty offers every mechanism that can work on the connection: SCRAM-SHA-256(-PLUS) and SCRAM-SHA-1(-PLUS) (the -PLUS ones on TLS only), PLAIN and LOGIN where plaintext is allowed (TLS, loopback, `allowplaintext`), EXTERNAL with a verified client certificate, ANONYMOUS with `allowanonymouslogin`. CRAM-MD5 is offered only when listed here, since it needs a recoverable secret that is stored only then. SCRAM and CRAM-MD5 prove secrets kept in the password database, so they are offered only with `auxprop` in `sasl_pwcheck_method` or with `sasl_auto_transition`. DIGEST-MD5 (historic, RFC 6331) and other unknown names stop start-up."),
    opt("sasl_auto_transition", Kind::Bool, "0",
        "After a successful plaintext login (LOGIN, PLAIN), store the shared-secret forms (SCRAM, and CRAM-MD5 when `sasl_mech_list` names it) that the user's password database record lacks. A user another source (`shadow`) accepted and the database does not know is added to it with that password, as Cyrus SASL's `auto_transition` does; an existing record with a different password is left alone. Off, a login writes nothing."),
    opt("sasl_scram_iteration_counter", Kind::Int { min: 4096, max: 65536 }, "4096",
        "PBKDF2 iteration count of new SCRAM-SHA-1 and SCRAM-SHA-256 secrets (Cyrus SASL's `scram_iteration_counter`, whose default this is). The bounds are the ones Cyrus SASL's client accepts: RFC 7677's minimum of 4096, and at most 65536. Existing secrets keep their count until the password changes; every login's client computes this many iterations."),
    opt("auth_cache_ttl", Kind::Int { min: 0, max: 86400 }, "3600",
        "Seconds a password that checked out is accepted again for the same user without another hash computation (the verified-credentials cache, in memory only, keyed by an HMAC of the password); a wrong password is remembered for at most 60 seconds. `user passwd` and `user del` drop the user's entries at once. 0 turns the cache off."),
    opt("keytab", Kind::Path, "",
        "Kerberos 5 keytab holding the service principals' keys for GSSAPI (`imap/HOST@REALM`, HOST being `servername`); the server names it to Kerberos (`KRB5_KTNAME`) at start-up. Empty: Kerberos's default (`KRB5_KTNAME` from the environment, else `/etc/krb5.keytab`). GSSAPI needs a build with the `gssapi` feature; a build without it warns that the keytab is not used."),
    opt("sasl_keytab", Kind::Path, "",
        "Cyrus 3's name for `keytab` (the SASL library's option); set one of the names, or the same file in both."),
    opt("srvtab", Kind::Path, "",
        "The seed's legacy name for `keytab`; set one of the names, or the same file in both."),
    opt("oauth_jwks_file", Kind::AbsPath, "",
        "JSON Web Key Set (RFC 7517) of the OAuth issuer's public signature keys, against which OAUTHBEARER and XOAUTH2 bearer tokens (JWT access tokens: RS256/384/512, PS256/384/512, ES256, ES384, EdDSA) are verified offline; empty turns OAuth off. Read at start (a bad file stops start-up) and again whenever it changes; at most 1 MiB. A token must carry `exp`; `nbf` and `iat` are checked too, with 60 seconds of clock leeway."),
    opt("oauth_issuer", Kind::Str, "",
        "With `oauth_jwks_file`, the `iss` claim a token must carry (e.g. `https://id.example.org/realms/mail`); empty accepts any issuer."),
    opt("oauth_audience", Kind::Str, "",
        "With `oauth_jwks_file`, a value the token's `aud` claim (a string or an array) must hold, e.g. the client ID the issuer gives this server; empty accepts any audience."),
    opt("oauth_username_claim", Kind::Str, "email",
        "With `oauth_jwks_file`, the token claim that names the user (Dovecot's default, `email`; `preferred_username` and `sub` are common too). Its value is the user name as it is, so it must be the Darius user name; for XOAUTH2 the client's `user=` must match it."),
    opt("allowplaintext", Kind::Bool, "0",
        "Allow plaintext logins (LOGIN, PLAIN) without TLS on non-loopback connections. Loopback connections are always allowed."),
    opt("allowapop", Kind::Bool, "0",
        "Let POP3 clients log in with APOP (RFC 1939 §7). Its digest is MD5 of the greeting's timestamp followed by the password, which nothing but the password itself can compute: with this on, the password database keeps a recoverable copy of every password it is given (`darius user add` and `user passwd`, and `sasl_auto_transition`'s stores), so whoever reads the database (mode 0600) has the passwords. APOP is offered (a timestamp in the greeting) only where that database is used: `auxprop` in `sasl_pwcheck_method`, or `sasl_auto_transition`. A user whose password was set while the option was off has no copy and cannot use APOP until the password is set again. Off, no copy is stored and stored copies are not used (a password set meanwhile drops its copy). Cyrus's default is on, but Cyrus offers APOP only when its sasldb holds plaintext passwords; Darius stores none unless asked, hence off."),
    opt("maxlogins_per_user", Kind::Int { min: 0, max: U32 }, "0",
        "Most concurrent logged-in sessions one user may hold; 0 for no limit."),
    opt("auth_failures_per_host", Kind::Int { min: 0, max: U32 }, "20",
        "Failed authentications from one client host (an IPv4 address or an IPv6 /64) within `auth_failure_window` after which further attempts from it are answered `NO [UNAVAILABLE]` without a password check for `auth_failure_window` seconds, and the host is logged. Counted per host, never per user, so nobody can lock a user out from another address. Hosts in `client_limit_exceptions` are never throttled. 0 turns throttling off."),
    opt("auth_failure_delay", Kind::Int { min: 0, max: 15000 }, "2000",
        "Milliseconds a first failed authentication waits before it is answered. The delay doubles with each recent failure from the same client host or for the same user, up to 15 s (failures are forgotten 15 minutes after the last); a successful login is never delayed. Hosts in `client_limit_exceptions` are counted per user only. The wait holds no thread. 0 turns the penalty off."),
    opt("auth_max_failures", Kind::Int { min: 1, max: 100 }, "3",
        "Failed authentications after which the connection is closed (`* BYE`)."),
    opt("auth_failure_window", Kind::Int { min: 1, max: 86400 }, "300",
        "Seconds over which `auth_failures_per_host` counts failures, and for which a throttled host is then refused."),
    // -- TLS --------------------------------------------------------------------------------------
    opt("tls_server_cert", Kind::Path, "", "PEM file with the server's certificate chain."),
    opt("tls_server_key", Kind::Path, "", "PEM file with the server certificate's private key."),
    opt("tls_client_ca_file", Kind::Path, "",
        "PEM file of the CAs whose client certificates are accepted. A client may then present a certificate at the TLS handshake (one that does not chain to these CAs is refused there); with one, IMAP offers SASL EXTERNAL, which logs in as the identity `tls_client_identity` takes from it. Empty asks clients for no certificate."),
    opt("tls_client_identity", Kind::Enum(&["cn", "email"]), "cn",
        "Which part of a verified client certificate names the user for SASL EXTERNAL: `cn`, the subject's common name (as Cyrus), or `email`, its first e-mail subject alternative name (else the subject's emailAddress)."),
    // -- limits -----------------------------------------------------------------------------------
    opt("maxmessagesize", Kind::Size, "100M",
        "Largest message accepted by APPEND and LMTP, advertised as APPENDLIMIT and SIZE; 0 for no configured limit (4 GiB - 1, the largest RFC822.SIZE IMAP4rev1 can express, still applies). Messages that do not fit the free disk space are refused too."),
    opt("maxline", Kind::Size, "64K",
        "Longest command line (outside literals) accepted; a longer one gets `BAD` and is skipped. Before login at most 16K applies."),
    opt("maxliteral", Kind::Size, "64K",
        "Largest literal accepted in a command other than APPEND (APPEND is bounded by `maxmessagesize`). Before login at most 8K applies, and a whole command at most 16K."),
    opt("prelogin_timeout", Kind::Int { min: 10, max: 3600 }, "60",
        "Seconds a connection has, in total, to log in, whatever it sends meanwhile; also the longest a write to a client that has not logged in may take."),
    opt("maxconnections", Kind::Int { min: 1, max: U32 }, "16384",
        "Most simultaneous connections one listener serves; further clients wait in the listen backlog."),
    opt("maxconnections_per_host", Kind::Int { min: 0, max: U32 }, "300",
        "Most simultaneous connections one client host (an IPv4 address or an IPv6 /64) may hold open, over all TCP listeners together, logged in or not; further ones get a one-line refusal (`* BYE`, `421 4.7.0`) and are closed, and the host is logged once. 0 for no limit. Named after Cyrus's `maxlogins_per_host`, which counts only logged-in sessions; Dovecot's `mail_max_userip_connections` counts per user and address after login. The default leaves room for an office behind one NAT address (a mail client opens up to about five connections per account)."),
    opt("client_limit_exceptions", Kind::List, "127.0.0.0/8 ::1",
        "Client addresses and networks (`192.0.2.0/24`, `2001:db8::/32`) exempt from `maxconnections_per_host` and from `auth_failures_per_host`, like Postfix's `smtpd_client_event_limit_exceptions`: front ends such as a webmail or proxy that bring many users from one address. Loopback by default."),
    opt("timeout", Kind::Int { min: 30, max: U32 }, "30",
        "Minutes of inactivity after which an authenticated IMAP session is logged out (RFC 9051 §5.4 minimum: 30); also the longest a write to its client may take."),
    opt("poptimeout", Kind::Int { min: 10, max: U32 }, "10",
        "Minutes of inactivity after which a logged-in POP3 session is closed (RFC 1939 §3 minimum: 10); also the longest a write to its client may take. Marked messages are not expunged then: only QUIT does that."),
    opt("popminpoll", Kind::Int { min: 0, max: 1440 }, "0",
        "Minutes that must pass between two POP3 logins of one user; a login sooner gets `-ERR [LOGIN-DELAY]` and CAPA announces `LOGIN-DELAY` (RFC 2449). 0 for no limit. The last login is remembered in memory: a restart forgets it."),
    opt("popexpiretime", Kind::Str, "-1",
        "Days, announced by CAPA as `EXPIRE` (RFC 2449 §6.7), that messages may stay on the server after retrieval; `-1` announces `EXPIRE NEVER`. `0` means the server deletes retrieved messages: messages retrieved with RETR are then expunged at QUIT like those marked with DELE. Darius deletes nothing on its own for other values: it is a promise to clients, kept by an expiry job of the admin's."),
    opt("popuseimapflags", Kind::Bool, "1",
        "POP3 uses the IMAP flags: messages an IMAP client marked `\\Deleted` are not offered, and messages retrieved with RETR get `\\Seen` at QUIT, so that an IMAP client (or webmail) of the same user shows them as read. Cyrus's option of the same name defaults to 0; Darius defaults to 1, as Dovecot behaves."),
    opt("index_cache_bytes", Kind::Size, "64M",
        "Memory for the mail store's database page caches, all databases together (the mailboxes database, the duplicate-delivery database and the open per-user indexes), however many users there are. The operating system's file cache comes on top and is given back under pressure."),
    // -- quotas, delivery, notification -------------------------------------------------------------
    opt("quotawarn", Kind::Int { min: 0, max: 100 }, "90",
        "Percentage of a quota root's limit (storage or messages) from which SELECT and EXAMINE send `* OK [ALERT]` naming the root and its usage, to an identity who may remove messages there (`t`, `e` or `x`); others get no warning."),
    opt("quotawarnkb", Kind::Int { min: 0, max: U32 }, "0",
        "With a storage limit: warn (see `quotawarn`) only when fewer than this many KiB are left. 0: the percentage alone decides."),
    opt("quotawarnmsg", Kind::Int { min: 0, max: U32 }, "0",
        "With a message limit: warn (see `quotawarn`) only when fewer than this many messages are left. 0: the percentage alone decides."),
    opt("lmtp_strict_quota", Kind::Bool, "0",
        "LMTP: refuse a message that would take its quota root over a limit (`452 4.2.2`), as APPEND does. Off (Cyrus's default): delivery is refused only once the root is already over, so one message of any size may take it past the limit and the next waits."),
    opt("singleinstancestore", Kind::Bool, "1",
        "Store one file per partition for a message delivered to many recipients and hard-link the rest."),
    opt("lmtp_downcase_rcpt", Kind::Bool, "1",
        "Fold the user part of LMTP recipients (before any `+`) to lower case before looking up the mailbox; a `+detail` is kept as written, as in Cyrus."),
    opt("postuser", Kind::Str, "",
        "LMTP: the local part that addresses shared mailboxes. With `postuser: bb`, RCPT `bb+shared.board@…` delivers to the shared mailbox `shared.board` (the detail in the client's namespace form, so `bb+shared/board` under `unixhierarchysep`) when it exists and the delivering identity, `anonymous` for LMTP, holds `p` there (for instance `anyone p`); otherwise the recipient is refused with the same `550 5.1.1` as an unknown user, so RCPT never reveals which mailboxes exist. Users' mailboxes are not reached this way (`user+detail` is their address). Empty (the default): no such address; `bb` is then an ordinary user name."),
    opt("lmtp_auth", Kind::Bool, "0",
        "LMTP: offer AUTH (RFC 4954) on TLS connections (after STARTTLS) and on `lmtpsocket`, with the SASL mechanisms IMAP offers there (`sasl_mech_list`); never on plain TCP. A client that authenticates delivers as that user: their rights, not `anonymous`'s, decide which `+detail` folders and shared mailboxes take its mail (`p`). Off: AUTH is not advertised and answered `502`."),
    opt("lmtp_strict_domains", Kind::Bool, "0",
        "Refuse LMTP recipients (`550 5.1.1`) whose domain is neither `servername` nor in `lmtp_local_domains`. Off, as in Cyrus without virtual domains: any domain is accepted and only the local part (`user` or `user+detail`) counts, since the MTA in front already decided the mail is local."),
    opt("lmtp_local_domains", Kind::List, "",
        "With `lmtp_strict_domains`: the domains besides `servername` whose recipients LMTP accepts (compared without regard to case)."),
    opt("duplicatesuppression", Kind::Bool, "1",
        "LMTP: a message whose Message-ID a mailbox received in the last 3 days is acknowledged but not stored there again."),
    opt("sendmail", Kind::AbsPath, "/usr/sbin/sendmail",
        "The command Sieve hands outgoing mail to (redirect, vacation replies, reject bounces, notifications), run without a shell as `sendmail -i -f SENDER -- RECIPIENT…` with the message on stdin (the null sender as `<>`); Postfix's and Exim's `sendmail` both take this form. A redirect or bounce it refuses answers the LMTP recipient `451` so the message is not lost."),
    opt("sieve_use_lmtp_reject", Kind::Bool, "1",
        "Sieve `reject` refuses the message in the LMTP reply (`550 5.7.1` with the script's reason) rather than sending a bounce (RFC 5429 §2.1 prefers the protocol-level refusal). `ereject` always refuses in the reply."),
    opt("sieve_vacation_min_response", Kind::Int { min: 0, max: U32 }, "259200",
        "Seconds: the shortest period between two vacation replies to one sender a script may ask for (`:days`, `:seconds`); shorter ones are raised to it (RFC 5230 §4.1, RFC 6131 §2). Cyrus's default, 3 days."),
    opt("sieve_vacation_max_response", Kind::Int { min: 0, max: U32 }, "7776000",
        "Seconds: the longest period between two vacation replies to one sender; longer ones are lowered to it. Cyrus's default, 90 days."),
    opt("sieve_duplicate_max_expiration", Kind::Int { min: 0, max: U32 }, "7776000",
        "Seconds: the longest a Sieve `duplicate` test (RFC 7352) remembers a message; longer `:seconds` are lowered to it. Cyrus's default, 90 days."),
    opt("sievedir", Kind::Path, "{configdirectory}/sieve",
        "Directory of the users' Sieve scripts (`user/USER/`, with an `active` link to the active one) and of the global ones (`global/`, for `include :global`); see docs/on-disk-format.md."),
    opt("sieve_maxscripts", Kind::Int { min: 1, max: 10_000 }, "5",
        "Most Sieve scripts one user may keep; another PUTSCRIPT is refused `NO (QUOTA/MAXSCRIPTS)`. Cyrus's default."),
    opt("sieve_maxscriptsize", Kind::Int { min: 1, max: 1024 }, "32",
        "Largest Sieve script, in kilobytes (KiB); a larger PUTSCRIPT or CHECKSCRIPT is refused `NO (QUOTA/MAXSIZE)`, a literal over it unread. Cyrus's default and unit."),
    opt("sieve_maxredirects", Kind::Int { min: 0, max: 1000 }, "5",
        "Most `redirect` actions one Sieve script may take for one message; announced by ManageSieve as MAXREDIRECTS."),
    // -- notifications --------------------------------------------------------------------------
    opt("mailnotifier", Kind::Str, "",
        "Notification method for new mail (the MAIL class: one RFC 5423 MessageNew event per stored message, as JSON): `log`, `external` or `webhook` (see docs/notifications.md); empty sends none. `mailto` is refused here, as in Cyrus: it is only for Sieve."),
    opt("event_notifier", Kind::Str, "",
        "Notification method for RFC 5423 store events (the EVENT class), chosen by `event_groups`: `log`, `external` or `webhook`; empty sends none."),
    opt("event_groups", Kind::List, "message mailbox",
        "The events `event_notifier` sends, by group: `message` (MessageNew, MessageAppend, MessageExpunge), `flags` (MessageTrash, FlagsSet, FlagsClear, MessageRead), `mailbox` (MailboxCreate, MailboxDelete, MailboxRename), `subscription`, `access` (AclChange, Login, Logout), `quota`. Cyrus's names and default."),
    opt("event_extra_params", Kind::List, "timestamp",
        "Extra fields added to event notifications where they apply (Cyrus's names, e.g. `timestamp`, `service`, `clientAddress`, `flagNames`, `vnd.cmu.unseenMessages`). An unknown name stops start-up."),
    opt("sievenotifier", Kind::Str, "",
        "The method every Sieve `notify` action (RFC 5435) goes to (`log`, `mailto`, `external`, `webhook`). Empty (the default): `mailto:` URIs are sent by the `mailto` method and other URIs are logged as unsupported. Cyrus uses it only when a script names no method; RFC 5435 scripts always name one, so here it routes them all."),
    opt("notifysocket", Kind::Path, "{configdirectory}/socket/notify",
        "The UNIX datagram socket of a separate `darius notifyd` process. Only when set explicitly do servers send their notifications there (without waiting; dropped and counted when `notifyd` is not running) instead of running the methods themselves."),
    opt("notify_mailto_rate", Kind::Int { min: 1, max: U32 }, "30",
        "The `mailto` method sends at most this many notification mails per user in any hour; beyond, notifications are dropped, counted and logged."),
    opt("notify_external", Kind::AbsPath, "",
        "The program the `external` method runs, without a shell, as `PROGRAM -c CLASS -p PRIORITY -u USER -m MAILBOX [-f FROM]` (Cyrus's arguments) with the notification's JSON and a newline on its standard input."),
    opt("notify_external_timeout", Kind::Int { min: 1, max: 3600 }, "10",
        "Seconds one run of `notify_external` may take before it is killed."),
    opt("notify_external_max", Kind::Int { min: 1, max: 1000 }, "4",
        "Runs of `notify_external` at once at most; further notifications wait in the method's queue (10000 at most; beyond, they are dropped and counted)."),
    opt("notify_webhook_url", Kind::Str, "",
        "Where the `webhook` method POSTs each notification's JSON: `http://host[:port]/path` (https is refused; put a local TLS proxy in front)."),
    opt("notify_webhook_retry_min", Kind::Int { min: 1, max: 3600 }, "1",
        "Seconds before the first retry of a webhook POST that failed (no connection, a timeout, a status other than 2xx); each further retry waits twice as long, up to `notify_webhook_retry_max`."),
    opt("notify_webhook_retry_max", Kind::Int { min: 1, max: 86400 }, "300",
        "Seconds between webhook retries at most."),
    opt("notify_webhook_queue_max", Kind::Int { min: 1, max: U32 }, "100000",
        "Webhook notifications waiting in the on-disk queue (`{configdirectory}/notify/webhook`) at most; beyond, new ones are dropped and counted while the receiver is away."),
    // -- netnews -----------------------------------------------------------------------------------
    opt("newsprefix", Kind::Str, "",
        "Mailbox name the newsgroups of `partition-news` are shown under (`netnews` shows `comp.lang.rust` as `netnews.comp.lang.rust`); empty shows them at the top level. Changing it takes `darius syncnews` and a fresh `collectnews` (the old mailboxes go, new ones come)."),
    opt("newsacl", Kind::Str, "anyone lr",
        "ACL a newsgroup's mailbox is created with, as identifier/rights pairs like `defaultacl`. With `s` (`anyone lrs`) each reader keeps their own `\\Seen`; other flags need `w` and are shared by all readers; no ACL lets a client add, expunge or rename articles (only the news server does)."),
    opt("newstradspoolmap", Kind::Path, "",
        "INN's `tradspool.map`, which turns the storage tokens of INN's feeds and of `expire -z` into group and article number. Empty: `tradspool.map` in the directory above `partition-news` (INN's `pathspool` when `patharticles` is its `articles` directory, as in Debian)."),
    opt("newssocket", Kind::Path, "{configdirectory}/socket/news",
        "UNIX socket through which `darius collectnews`, `rmnews` and `syncnews` reach the running server; it takes those three requests only. Bound only when `partition-news` is set."),
    opt("newssocket_group", Kind::Str, "news",
        "Group given to `newssocket` (mode 0660), so the news server's user runs `rmnews` and `collectnews` without being the mail server's. Empty, or a group this system lacks: mode 0600, the server's own user and root only."),
    // -- housekeeping ---------------------------------------------------------------------------
    opt("tombstone_days", Kind::Int { min: 0, max: U32 }, "90",
        "Days the store remembers which messages were expunged (one small tombstone per message), so a client resynchronising with QRESYNC (RFC 7162) is told exactly which of its messages are gone. A client last in sync before that gets a full resynchronisation instead. Older tombstones are pruned shortly after start and then once a day. 0 keeps them forever. Cyrus keeps expunged index records until `cyr_expire -X` cleans them out."),
    opt("expunge_mode", Kind::Enum(&["delayed", "immediate"]), "delayed",
        "What EXPUNGE (and UID EXPUNGE, CLOSE, MOVE, POP3 DELE) does with a message. `delayed` (as in Cyrus 3): clients stop seeing it at once and it no longer counts against quota, but its file and record are kept for `expunge_days` so that `darius unexpunge` can restore it. `immediate`: the file is unlinked at once."),
    opt("expunge_days", Kind::Int { min: 0, max: U32 }, "7",
        "Days a message expunged under `expunge_mode: delayed` is kept before it is purged (Cyrus's `cyr_expire -X`). The server purges once a day; `darius expire` purges on demand. 0 purges at the next run."),
    opt("delete_mode", Kind::Enum(&["delayed", "immediate"]), "delayed",
        "What DELETE does with a mailbox. `delayed` (as in Cyrus 3): the mailbox and its children are renamed to a hidden name under `deletedprefix`, invisible to clients, for `delete_days`, so that `darius undelete` can restore them. `immediate`: they are removed at once."),
    opt("delete_days", Kind::Int { min: 0, max: U32 }, "7",
        "Days a mailbox deleted under `delete_mode: delayed` is kept before it is removed (Cyrus's `cyr_expire -D`). The server removes them once a day; `darius expire` does on demand."),
    opt("deletedprefix", Kind::Str, "DELETED",
        "Top-level name under which `delete_mode: delayed` hides deleted mailboxes (`DELETED.user.bob.Trash.5F3A9C10`: the old name and the deletion time in hexadecimal). Names under it are refused to clients."),
    // -- logging ----------------------------------------------------------------------------------
    // -- the Murder (docs/murder.md) -----------------------------------------------------------
    opt("murder_role", Kind::Enum(&["none", "backend", "frontend", "unified"]), "none",
        "This server's part in a Murder (mailboxes spread over several servers, the directory in etcd; docs/murder.md): `backend` holds mailboxes and publishes them in the directory; `frontend` holds no mail and proxies every client and delivery to the backend holding the mailbox; `unified` does both. `none`: a single server, no directory."),
    opt("murder_server_name", Kind::Str, "",
        "This server's name in the directory (`SERVER` of Cyrus's `SERVER!PARTITION`); empty takes `servername`. Must be unique in the Murder and stay the same across restarts."),
    opt("murder_etcd_endpoints", Kind::List, "",
        "The etcd members holding the directory, as `host:port`, `http://host:port` or `https://host:port`; any member answering will do. Required with `murder_role`."),
    opt("murder_etcd_prefix", Kind::Str, "/darius",
        "Key prefix of this Murder's directory in etcd, so that several Murders (or other applications) can share one etcd cluster."),
    opt("murder_etcd_ca_file", Kind::AbsPath, "",
        "CA certificates (PEM) that etcd's server certificates must chain to, for `https://` endpoints; empty trusts none but a certificate pinned by nothing (https then fails)."),
    opt("murder_etcd_cert_file", Kind::AbsPath, "",
        "Client certificate (PEM) presented to etcd, when etcd asks for one (`--client-cert-auth`)."),
    opt("murder_etcd_key_file", Kind::AbsPath, "",
        "Private key (PEM) of `murder_etcd_cert_file`."),
    opt("murder_etcd_user", Kind::Str, "",
        "User name for etcd's own authentication (`etcdctl auth enable`); empty sends none."),
    opt("murder_etcd_password", Kind::Str, "",
        "Password of `murder_etcd_user`."),
    opt("murder_lease_ttl", Kind::Int { min: 2, max: 3600 }, "10",
        "Seconds a backend stays alive in the directory after it last renewed its lease (renewed every third of it). A backend that stops answering for longer is shown as down: its mailboxes answer `NO [UNAVAILABLE]` and its LMTP recipients a temporary failure."),
    opt("murder_advertise_host", Kind::Str, "",
        "The address other servers of the Murder reach this backend's services at (the listeners' ports are added); empty takes the listeners' own addresses, which must then not be a wildcard."),
    opt("murder_users", Kind::Enum(&["local", "etcd"]), "local",
        "Where a Murder's servers find their users' passwords: `local` (each server's own password database, PAM or Kerberos, kept alike by the site) or `etcd` (one password database in the Murder's etcd under `murder_etcd_prefix` + `/users/`, the records Darius's own database holds: argon2id hashes, SCRAM secrets, the APOP copy with `allowapop`; `darius user add|passwd|del|list` on any server works everywhere, and the local file is left untouched). With `etcd`, a record read for a login is kept for `auth_cache_ttl`, and dropped as soon as it changes on any server (a watch of etcd); while etcd is out of reach, users read within that time still log in, others get a temporary failure (`NO [UNAVAILABLE]`), and user changes fail. Needs `murder_role` and the `murder_etcd_*` options, for `darius user` as for `darius serve`."),
    opt("proxy_authname", Kind::Str, "proxy",
        "The identity a frontend logs in to backends as, naming the client's user as SASL authorization identity; backends list it in `proxyservers`."),
    opt("proxy_password", Kind::Str, "",
        "The password of `proxy_authname` at the backends. Required on a `frontend` or `unified` server; a `backend` without it proxies nothing (it answers LIST and ACL questions about other servers' mailboxes from its copy of the directory, and `NO [UNAVAILABLE]` for their messages)."),
    opt("lmtp_proxy_idle_max", Kind::Int { min: 0, max: 1000 }, "8",
        "On a `frontend` or `unified` server: how many LMTP connections to each backend are kept open between deliveries, for the next ones to use (Cyrus's `lmtpproxyd` keeps its backends too); a delivery that finds none idle opens a new one. 0 closes each connection after its delivery."),
    opt("lmtp_proxy_idle_timeout", Kind::Int { min: 1, max: 86400 }, "60",
        "Seconds a kept LMTP connection to a backend may wait unused before the frontend closes it (`lmtp_proxy_idle_max`). Connections to a backend the directory shows down, or at a new address, are closed too."),
    opt("suppress_capabilities", Kind::List, "",
        "IMAP capabilities never shown, as Cyrus's option (for instance `CONDSTORE QRESYNC`), compared without regard to case; one not shown cannot be turned on with ENABLE either. A backend of a Murder publishes what it shows, and frontends offer only the extensions every live backend shows."),
    opt("proxy_tls", Kind::Enum(&["auto", "on", "off"]), "auto",
        "TLS between this server and the backends it proxies to or relays deliveries to (IMAP, POP3, LMTP, ManageSieve, and XFER's connection to its target), and a Cyrus `mupdate_server` (whatever the role): `auto` sends STARTTLS (STLS in POP3) whenever the other server offers it (a Darius backend with `tls_server_cert` does) and stays plain with one that does not; `on` refuses a backend that does not offer it (that backend is then unavailable); `off` never asks. In every mode a backend whose certificate does not chain to `tls_server_ca_file` (or the system's CAs) or does not name the host or IP address of its directory address is not used: it is unavailable, never reached in plain instead. Cyrus has no such option (its proxies start TLS whenever the backend offers it)."),
    opt("tls_server_ca_file", Kind::Path, "",
        "PEM file of the CAs whose certificates are trusted when this server is the client: a frontend's connections to its backends and the bridge's to a mupdate master (`proxy_tls`). Empty trusts the system's CA certificates. Cyrus's option of the same name. Not used for clients' certificates (`tls_client_ca_file`) nor for etcd (`murder_etcd_ca_file`)."),
    opt("tls_client_cert", Kind::Path, "",
        "PEM file of the certificate chain this server presents when a backend asks for one during STARTTLS (a backend with `tls_client_ca_file`); with `tls_client_key`. Empty presents none. Cyrus's option."),
    opt("tls_client_key", Kind::Path, "",
        "PEM file of the private key of `tls_client_cert`. Cyrus's option."),
    opt("mupdate_server", Kind::Str, "",
        "A Cyrus Murder's `mupdate` master (RFC 3656) this backend pushes its mailboxes to, so that Cyrus frontends route its users here (docs/murder.md, MUPDATE): `host`, or Cyrus's `host:port` (`[address]:port` for IPv6); empty pushes nothing. For a server that holds mail: `murder_role` `none`, `backend` or `unified`."),
    opt("mupdate_port", Kind::Int { min: 1, max: 65535 }, "3905",
        "TCP port of the `mupdate` master, when `mupdate_server` names none."),
    opt("mupdate_username", Kind::Str, "",
        "The identity this server acts as at the `mupdate` master (SASL authorization identity); empty acts as `mupdate_authname`."),
    opt("mupdate_authname", Kind::Str, "",
        "The identity this server logs in to the `mupdate` master as (SASL PLAIN); the master must list it in its `admins`."),
    opt("mupdate_password", Kind::Str, "",
        "The password of `mupdate_authname` at the `mupdate` master."),
    opt("mupdate_retry_delay", Kind::Int { min: 1, max: 3600 }, "20",
        "Seconds between attempts to reach the `mupdate` master after one failed. A connection that breaks is replaced at once, and every new connection pushes all of this server's mailboxes."),
    opt("syslog_prefix", Kind::Str, "darius", "Tag that starts every syslog message."),
    opt("syslog_facility", Kind::Facility, "LOCAL6", "Syslog facility for the server's messages."),
    opt("syslog_socket", Kind::Path, "/dev/log",
        "UNIX datagram socket of the syslog daemon; empty turns syslog off."),
];

/// The spec for `name`, whether a fixed name or a pattern like `partition-NAME`.
pub fn lookup(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name).or_else(|| {
        PATTERN_OPTIONS
            .iter()
            .find(|o| pattern_name(o.name, name).is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn every_default_parses_as_its_kind() {
        for o in OPTIONS {
            let default = o.default.replace("{configdirectory}", "/var/lib/darius");
            assert!(
                Value::parse(&o.kind, &default).is_ok(),
                "{}: {:?}",
                o.name,
                o.default
            );
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = OPTIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn partition_names_are_a_pattern() {
        assert_eq!(lookup("partition-news").map(|o| o.name), Some("partition-"));
        assert!(lookup("partition-").is_none());
    }
}
