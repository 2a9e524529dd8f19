//! Virtual domains (Cyrus's `virtdomains`): which domain a userid belongs to and how it is
//! written. With domains on, a user of the default domain is written without it (`alice`),
//! any other as `alice@example.com` with the domain in lower case; internal mailbox names of a
//! domain carry it in front, `example.com!user.alice` (see [`crate::MailboxName`]).

/// `virtdomains`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DomainMode {
    /// One flat user space: `alice@example.com` is an ordinary userid.
    #[default]
    Off,
    /// The domain comes from the login name.
    Userid,
    /// As `Userid`, and a login without a domain takes the one of the server address the
    /// client connected to (its reverse name without the first label).
    On,
}

impl DomainMode {
    pub fn parse(text: &str) -> Option<DomainMode> {
        match text.to_ascii_lowercase().as_str() {
            "off" | "0" | "no" | "false" | "" => Some(DomainMode::Off),
            "userid" => Some(DomainMode::Userid),
            "on" | "1" | "yes" | "true" => Some(DomainMode::On),
            _ => None,
        }
    }
}

/// The virtual-domain settings every layer reads the same way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domains {
    pub mode: DomainMode,
    /// `defaultdomain` (lower case): users of it are written without a domain, and its
    /// mailboxes carry none. `None`: no default domain (only domain-less logins are in it).
    pub default_domain: Option<String>,
    /// Other names of the default domain (`servername`, `localdomains`), lower case.
    pub local_names: Vec<String>,
}

impl Domains {
    /// Domains off: today's flat user space.
    pub fn off() -> Domains {
        Domains::default()
    }

    pub fn enabled(&self) -> bool {
        self.mode != DomainMode::Off
    }

    /// Whether `domain` (any case, a trailing dot allowed) is the default domain or one of its
    /// other names.
    pub fn is_default(&self, domain: &str) -> bool {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        self.default_domain
            .iter()
            .chain(self.local_names.iter())
            .any(|d| {
                d.strip_suffix('.')
                    .unwrap_or(d)
                    .eq_ignore_ascii_case(domain)
            })
    }

    /// The canonical form of a userid: with domains on, a domain is lower-cased and the default
    /// domain left out (`Alice@Example.COM` → `Alice@example.com`, `bob@defaultdomain` →
    /// `bob`); with domains off the userid as written. `None` when the part after the last `@`
    /// is not a domain name (with domains on).
    pub fn canonical_userid(&self, userid: &str) -> Option<String> {
        if !self.enabled() {
            return Some(userid.to_string());
        }
        // Cyrus also takes `user%domain` (for clients that cannot send an `@`); `%` is never
        // part of a user name.
        let split = userid.rsplit_once('@').or_else(|| userid.rsplit_once('%'));
        match split {
            None => Some(userid.to_string()),
            Some((local, domain)) => {
                if local.is_empty() || !is_domain_name(domain) {
                    return None;
                }
                if self.is_default(domain) {
                    Some(local.to_string())
                } else {
                    Some(format!("{local}@{}", domain.to_ascii_lowercase()))
                }
            }
        }
    }

    /// Whether the canonical userid `userid` is one of `names` (a configured list such as
    /// `admins` or `proxyservers`), each name compared in its canonical form
    /// (`admin@DefaultDomain` is `admin`).
    pub fn lists(&self, names: &[String], userid: &str) -> bool {
        names
            .iter()
            .any(|name| self.canonical_userid(name).as_deref() == Some(userid))
    }

    /// The local part and the domain (`None`: the default domain) of a canonical userid.
    pub fn split<'a>(&self, userid: &'a str) -> (&'a str, Option<&'a str>) {
        if !self.enabled() {
            return (userid, None);
        }
        match userid.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && is_domain_name(domain) => {
                (local, Some(domain))
            }
            _ => (userid, None),
        }
    }

    /// The domain of a canonical userid (`None`: the default domain).
    pub fn domain_of<'a>(&self, userid: &'a str) -> Option<&'a str> {
        self.split(userid).1
    }

    /// `local` qualified with `domain` (`None`: the default domain, written bare).
    pub fn qualify(local: &str, domain: Option<&str>) -> String {
        match domain {
            Some(d) => format!("{local}@{d}"),
            None => local.to_string(),
        }
    }

    /// With domain mode `on`, the domain a login without one takes from the name of the
    /// server address the client reached: the name without its first label (`mail.example.com`
    /// → `example.com`), unless that is the default domain.
    pub fn domain_of_server_name(&self, host: &str) -> Option<String> {
        if self.mode != DomainMode::On {
            return None;
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        let (_, domain) = host.split_once('.')?;
        (is_domain_name(domain) && !self.is_default(domain)).then(|| domain.to_ascii_lowercase())
    }
}

/// Whether `text` is a domain name as mail addresses use them: dot-separated labels of ASCII
/// letters, digits and `-`, none empty, at most 253 bytes (a trailing dot is not accepted).
pub fn is_domain_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Domains {
        Domains {
            mode: DomainMode::Userid,
            default_domain: Some("example.org".into()),
            local_names: vec!["mail.example.org".into()],
        }
    }

    #[test]
    fn userids_are_canonical_with_domains_on() {
        let d = on();
        assert_eq!(d.canonical_userid("alice").as_deref(), Some("alice"));
        assert_eq!(
            d.canonical_userid("Alice@One.EXAMPLE").as_deref(),
            Some("Alice@one.example")
        );
        assert_eq!(
            d.canonical_userid("bob@example.org").as_deref(),
            Some("bob")
        );
        assert_eq!(d.canonical_userid("bob@EXAMPLE.ORG.").as_deref(), None);
        assert_eq!(
            d.canonical_userid("bob@mail.example.org").as_deref(),
            Some("bob")
        );
        assert_eq!(d.canonical_userid("@x.example"), None);
        assert_eq!(
            d.canonical_userid("bob%One.Example").as_deref(),
            Some("bob@one.example")
        );
        assert_eq!(
            d.canonical_userid("bob%example.org").as_deref(),
            Some("bob")
        );
        assert_eq!(d.canonical_userid("a@b c"), None);
        assert_eq!(d.split("alice@one.example"), ("alice", Some("one.example")));
        assert_eq!(d.split("alice"), ("alice", None));
        let off = Domains::off();
        assert_eq!(
            off.canonical_userid("Alice@One.EXAMPLE").as_deref(),
            Some("Alice@One.EXAMPLE")
        );
        assert_eq!(off.split("alice@one.example"), ("alice@one.example", None));
        let admins = [
            "admin@EXAMPLE.ORG".to_string(),
            "pm@One.Example".to_string(),
        ];
        assert!(d.lists(&admins, "admin") && d.lists(&admins, "pm@one.example"));
        assert!(!d.lists(&admins, "admin@example.org") && !d.lists(&admins, "pm"));
        assert!(off.lists(&admins, "admin@EXAMPLE.ORG") && !off.lists(&admins, "admin"));
    }

    #[test]
    fn server_names_give_a_domain_only_in_mode_on() {
        let mut d = on();
        assert_eq!(d.domain_of_server_name("imap.one.example"), None);
        d.mode = DomainMode::On;
        assert_eq!(
            d.domain_of_server_name("imap.One.Example.").as_deref(),
            Some("one.example")
        );
        assert_eq!(d.domain_of_server_name("mail.example.org"), None);
        assert_eq!(d.domain_of_server_name("localhost"), None);
    }

    #[test]
    fn domain_names() {
        for good in ["example.com", "a", "x-1.y"] {
            assert!(is_domain_name(good), "{good}");
        }
        for bad in ["", "a..b", ".a", "a.", "a b", "a!b", "a_b"] {
            assert!(!is_domain_name(bad), "{bad}");
        }
        assert_eq!(DomainMode::parse("userid"), Some(DomainMode::Userid));
        assert_eq!(DomainMode::parse("maybe"), None);
    }
}
