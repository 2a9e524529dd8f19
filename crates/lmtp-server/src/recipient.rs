//! What an RCPT address may name. The local part is a user name with an optional `+detail`;
//! the user name must pass the rule `darius user add` applies (`auth::validate_username`), so a
//! hierarchy separator is never taken from an address: `bob.secret` is not `user.bob.secret`, it
//! is no user at all, refused exactly like an unknown user so that replies reveal nothing about
//! anyone's folders. `+detail` is dropped and the mail goes to the INBOX (as Cyrus does without
//! the `p` right on `INBOX.detail`, which comes with ACLs).
//!
//! Domains: like Cyrus without virtual domains, any domain is accepted by default and only the
//! local part counts (the MTA in front decides which domains are local). With
//! `lmtp_strict_domains` only `servername` and `lmtp_local_domains` are accepted.

use std::collections::HashMap;

use lmtp_proto::{codes, Address, Reply};
use mailservice::Authorized;
use types::MailboxName;

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

/// The user a local part names (`user` or `user+detail`), folded as `case` says; `None` when
/// it is not a valid user name, which the caller answers like an unknown user.
pub(crate) fn user_of(local: &str, case: RcptCase) -> Option<String> {
    let user = local.split_once('+').map_or(local, |(user, _detail)| user);
    let user = match case {
        RcptCase::Downcase => user.to_lowercase(),
        RcptCase::AsWritten => user.to_string(),
    };
    auth::validate_username(&user).ok()?;
    Some(user)
}

/// The one reply for every recipient that is not a user here, whatever the reason (no such
/// user, not a user name, a folder path): the same words each time, so RCPT is no oracle.
pub(crate) fn unknown_user() -> Reply {
    Reply::new(550, codes::BAD_MAILBOX, "Mailbox unknown")
}

/// The reply for a domain that is not local under `lmtp_strict_domains`.
pub(crate) fn foreign_domain() -> Reply {
    Reply::new(550, codes::BAD_MAILBOX, "Not a local domain")
}

/// An accepted recipient.
pub(crate) struct Recipient {
    pub address: Address,
    pub target: Authorized,
}

/// The distinct mailboxes a transaction's recipients resolve to, and which one each recipient
/// has. One message is stored once per mailbox per transaction, however many recipients name
/// it (`alice`, `ALICE@localhost`, `alice+lists`), whatever `duplicatesuppression` says.
pub(crate) struct Targets {
    pub unique: Vec<Authorized>,
    /// For each recipient in RCPT order, its index in `unique`.
    pub of_recipient: Vec<usize>,
}

impl Targets {
    pub(crate) fn of(recipients: &[Recipient]) -> Targets {
        let mut index: HashMap<&MailboxName, usize> = HashMap::with_capacity(recipients.len());
        let mut unique = Vec::new();
        let mut of_recipient = Vec::with_capacity(recipients.len());
        for r in recipients {
            let at = *index.entry(r.target.name()).or_insert_with(|| {
                unique.push(r.target.clone());
                unique.len() - 1
            });
            of_recipient.push(at);
        }
        Targets {
            unique,
            of_recipient,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_part_is_a_user_name_with_an_optional_detail() {
        let case = RcptCase::Downcase;
        assert_eq!(user_of("Alice", case).as_deref(), Some("alice"));
        assert_eq!(user_of("alice+Lists.x", case).as_deref(), Some("alice"));
        assert_eq!(
            user_of("Alice", RcptCase::AsWritten).as_deref(),
            Some("Alice")
        );
        for not_a_user in ["bob.secret", "bob/secret", "bo*", "b%", "", "+x", "a b"] {
            assert_eq!(user_of(not_a_user, case), None, "{not_a_user:?}");
        }
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
