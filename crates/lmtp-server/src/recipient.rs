//! What an RCPT address may name. The local part is `user`, `user+detail`, `+shared.mailbox`
//! or, when `postuser` is set, `postuser+shared.mailbox`. The user part is folded as `lmtp_downcase_rcpt` says (the
//! detail never is, as in Cyrus) and must pass the rule `darius user add` applies
//! (`auth::validate_username`); which mailbox the address then reaches is the mail service's
//! decision ([`mailservice::DeliveryAddress`]): a detail mailbox or shared mailbox needs the
//! `p` right, and a userid's dot never becomes a hierarchy separator (`bob.secret` is not
//! `user.bob.secret`). Every recipient that is not deliverable is refused in the same words,
//! so that replies reveal nothing about anyone's folders, except a shared mailbox the
//! deliverer may see but not post to: `550 5.7.1`.
//!
//! Domains: like Cyrus without virtual domains, any domain is accepted by default and only the
//! local part counts (the MTA in front decides which domains are local). With
//! `lmtp_strict_domains` only `servername` and `lmtp_local_domains` are accepted. With
//! virtual domains (`virtdomains`) the domain selects the user's domain instead:
//! `alice@one.example` is user `alice@one.example`, the default domain's names (`defaultdomain`,
//! `servername`, `localdomains`) are the default domain, and a domain with no mailbox here is
//! refused (`550 5.1.2`).

use lmtp_proto::{codes, Address, Reply};
use mailservice::{Authorized, DeliveryAddress};

/// Which recipient domains are this server's.
#[derive(Clone, Debug)]
pub enum LocalDomains {
    /// Every domain (Cyrus's behaviour without `virtdomains`): the MTA has already routed the
    /// mail here, so the domain carries no meaning.
    Any,
    /// Only these (`servername` and `lmtp_local_domains`), compared without regard to ASCII
    /// case or a trailing dot. An address without a domain is always local.
    Only(Vec<String>),
}

impl LocalDomains {
    pub(crate) fn contains(&self, domain: Option<&str>) -> bool {
        let (LocalDomains::Only(list), Some(domain)) = (self, domain) else {
            return true;
        };
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        list.iter().any(|d| {
            let d = d.strip_suffix('.').unwrap_or(d);
            d.eq_ignore_ascii_case(domain)
        })
    }
}

/// How the user part of a local part is folded (`lmtp_downcase_rcpt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RcptCase {
    /// Fold to lower case before looking the user up (Cyrus's default).
    Downcase,
    /// Look the user up as written.
    AsWritten,
}

/// What a local part (`user`, `user+detail`, `postuser+name`) of the virtual domain `domain`
/// (`None`: the default domain, or domains off) addresses; `None` when the user part is not a
/// valid user name, which the caller answers like an unknown user. The part before the first
/// `+` is folded as `case` says and compared with `postuser` (when set) after folding, as
/// Cyrus does; the detail is kept as written.
pub(crate) fn address_of(
    local: &str,
    case: RcptCase,
    postuser: Option<&str>,
    domain: Option<&str>,
) -> Option<DeliveryAddress> {
    let (user, detail) = match local.split_once('+') {
        Some((user, detail)) => (user, Some(detail)),
        None => (local, None),
    };
    let user = match case {
        RcptCase::Downcase => user.to_lowercase(),
        RcptCase::AsWritten => user.to_string(),
    };
    // `+name` with no user (Cyrus's `deliver -m name` without users) is the postuser form.
    if user.is_empty() || postuser.is_some_and(|p| p == user) {
        return Some(DeliveryAddress::Shared {
            name: detail?.to_string(),
            domain: domain.map(str::to_string),
        });
    }
    if domain.is_some() && user.contains('@') {
        return None;
    }
    let user = types::Domains::qualify(&user, domain);
    auth::validate_username(&user).ok()?;
    Some(DeliveryAddress::User {
        user,
        detail: detail.map(str::to_string),
    })
}

/// The one reply for every recipient that is not a user here, whatever the reason (no such
/// user, not a user name, a folder path): the same words each time, so RCPT is no oracle.
pub(crate) fn unknown_user() -> Reply {
    Reply::new(550, codes::BAD_MAILBOX, "Mailbox unknown")
}

/// The reply for a shared mailbox the delivering identity sees but may not post to (`p`).
pub(crate) fn not_authorized() -> Reply {
    Reply::new(550, codes::NOT_AUTHORIZED, "Permission denied")
}

/// The reply for a domain with no mailbox here, with virtual domains.
pub(crate) fn unknown_domain() -> Reply {
    Reply::new(550, codes::BAD_DESTINATION_SYSTEM, "Domain unknown")
}

/// The reply for a domain that is not local under `lmtp_strict_domains`.
pub(crate) fn foreign_domain() -> Reply {
    Reply::new(550, codes::BAD_MAILBOX, "Not a local domain")
}

/// An accepted recipient.
pub(crate) struct Recipient {
    pub address: Address,
    pub target: Authorized,
    /// IGNOREQUOTA from a trusted client.
    pub ignore_quota: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(user: &str, detail: Option<&str>) -> Option<DeliveryAddress> {
        Some(DeliveryAddress::User {
            user: user.into(),
            detail: detail.map(Into::into),
        })
    }

    #[test]
    fn a_local_part_is_a_user_name_with_an_optional_detail() {
        let case = RcptCase::Downcase;
        assert_eq!(address_of("Alice", case, None, None), user("alice", None));
        assert_eq!(
            address_of("Alice+Lists.X", case, None, None),
            user("alice", Some("Lists.X")),
            "the detail is not folded"
        );
        assert_eq!(
            address_of("Alice", RcptCase::AsWritten, None, None),
            user("Alice", None)
        );
        assert_eq!(address_of("a+", case, None, None), user("a", Some("")));
        assert_eq!(
            address_of("a+b+c", case, None, None),
            user("a", Some("b+c"))
        );
        assert_eq!(
            address_of("John.Doe", case, None, None),
            user("john.doe", None),
            "a dotted userid is a user name; the service decides whether it has an INBOX"
        );
        for not_a_user in ["bob/secret", "bo*", "b%", "", "a b", "a^b"] {
            assert_eq!(
                address_of(not_a_user, case, None, None),
                None,
                "{not_a_user:?}"
            );
        }
    }

    #[test]
    fn the_postuser_addresses_shared_mailboxes() {
        let case = RcptCase::Downcase;
        let shared = |name: &str| {
            Some(DeliveryAddress::Shared {
                name: name.to_string(),
                domain: None,
            })
        };
        assert_eq!(
            address_of("bb+shared.Board", case, Some("bb"), None),
            shared("shared.Board")
        );
        assert_eq!(
            address_of("BB+shared.board", case, Some("bb"), None),
            shared("shared.board")
        );
        assert_eq!(
            address_of("bb", case, Some("bb"), None),
            None,
            "no mailbox named"
        );
        assert_eq!(
            address_of("BB+x", RcptCase::AsWritten, Some("bb"), None),
            user("BB", Some("x"))
        );
        assert_eq!(address_of("bb+x", case, None, None), user("bb", Some("x")));
        assert_eq!(
            address_of("+shared.x", case, None, None),
            shared("shared.x")
        );
        assert_eq!(
            address_of("+shared.x", case, Some("bb"), None),
            shared("shared.x")
        );
    }

    #[test]
    fn a_virtual_domain_qualifies_the_user_and_the_shared_mailbox() {
        let case = RcptCase::Downcase;
        let d = Some("one.example");
        assert_eq!(
            address_of("Alice", case, None, d),
            user("alice@one.example", None)
        );
        assert_eq!(
            address_of("alice+x", case, None, d),
            user("alice@one.example", Some("x"))
        );
        assert_eq!(
            address_of("+shared.news", case, None, d),
            Some(DeliveryAddress::Shared {
                name: "shared.news".into(),
                domain: Some("one.example".into())
            })
        );
        assert_eq!(address_of("a@b", case, None, d), None, "one domain only");
    }

    #[test]
    fn strict_domains_compare_without_case_or_trailing_dot() {
        let only = LocalDomains::Only(vec!["mail.example.org".into(), "Example.NET.".into()]);
        assert!(only.contains(None), "no domain is local");
        assert!(only.contains(Some("MAIL.example.org")));
        assert!(only.contains(Some("example.net")));
        assert!(only.contains(Some("example.net.")));
        assert!(!only.contains(Some("evil.example")));
        assert!(!only.contains(Some("example.net.evil.example")));
        assert!(LocalDomains::Any.contains(Some("evil.example")));
    }
}
