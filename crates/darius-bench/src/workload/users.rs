//! How user numbers become names: the one place a workload's login names and LMTP recipients
//! are made (`--user`, `--domains`, `--lmtp-domain`).
//!
//! Without `--domains`, user `n` is the `--user` pattern with `%d` replaced by `n`, and its
//! LMTP recipient is that name `@--lmtp-domain` (the bare name when that is empty). With
//! `--domains N`, the users are dealt over the virtual domains `d1.example` … `dN.example` in
//! turn, so that any run of consecutive users (the first `--clients` of `mixed`, say) spans as
//! many domains as it can: user `n` is `LOCAL@dK.example` with K = (n-1) mod N + 1 and LOCAL the
//! pattern applied to (n-1) div N + 1, its place in its domain; that full name is both the
//! login name and the recipient (as a server with Cyrus's `virtdomains: userid` expects). Each
//! domain holds `ceil(users / N)` users at most.

use std::num::NonZeroU32;

/// Makes the names of users `1..=users`.
#[derive(Clone, Debug)]
pub struct UserNames {
    /// `user%d`: `%d` becomes the user's number (in its domain, with domains).
    pattern: String,
    /// Users per virtual domain (`ceil(users / domains)`); `None` without domains.
    per_domain: Option<NonZeroU32>,
    /// The number of virtual domains (`None`: none).
    domains: Option<NonZeroU32>,
    /// The domain of LMTP recipients without virtual domains (empty for bare names).
    lmtp_domain: String,
}

impl UserNames {
    /// Names for `users` users over `domains` virtual domains (0: none, the names are the
    /// pattern's). A pattern that already names a domain cannot be given another one.
    pub fn new(pattern: &str, users: u32, domains: u32, lmtp_domain: &str) -> Result<Self, String> {
        let per_domain = NonZeroU32::new(domains)
            .map(|d| users.max(1).div_ceil(d.get()))
            .and_then(NonZeroU32::new);
        if per_domain.is_some() && pattern.contains('@') {
            return Err(format!(
                "--user {pattern} already has a domain: --domains adds @dN.example itself"
            ));
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            per_domain,
            domains: NonZeroU32::new(domains),
            lmtp_domain: lmtp_domain.to_owned(),
        })
    }

    /// Users per virtual domain, when there are domains.
    pub fn per_domain(&self) -> Option<u32> {
        self.per_domain.map(NonZeroU32::get)
    }

    /// The login name (IMAP, POP3, ManageSieve) of user `n` (1-based).
    pub fn login(&self, n: u32) -> String {
        match self.domains {
            None => self.local(n),
            Some(domains) => {
                let index = n.saturating_sub(1);
                let local = self.local(index / domains.get() + 1);
                format!("{local}@d{}.example", index % domains.get() + 1)
            }
        }
    }

    /// The LMTP recipient address of user `n` (1-based).
    pub fn rcpt(&self, n: u32) -> String {
        if self.per_domain.is_some() || self.lmtp_domain.is_empty() {
            self.login(n)
        } else {
            format!("{}@{}", self.local(n), self.lmtp_domain)
        }
    }

    /// The pattern applied to number `n`.
    fn local(&self, n: u32) -> String {
        self.pattern.replace("%d", &n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(users: u32, domains: u32) -> UserNames {
        UserNames::new("user%d", users, domains, "localhost").unwrap()
    }

    #[test]
    fn without_domains_names_are_the_pattern_and_recipients_take_the_lmtp_domain() {
        let n = names(10, 0);
        assert_eq!(n.per_domain(), None);
        assert_eq!(n.login(1), "user1");
        assert_eq!(n.login(10), "user10");
        assert_eq!(n.rcpt(7), "user7@localhost");
        let bare = UserNames::new("u%d", 3, 0, "").unwrap();
        assert_eq!(bare.rcpt(3), "u3");
    }

    #[test]
    fn a_hundred_domains_of_a_hundred_users_are_dealt_in_turn() {
        let n = names(10_000, 100);
        assert_eq!(n.per_domain(), Some(100));
        assert_eq!(n.login(1), "user1@d1.example");
        assert_eq!(n.login(2), "user1@d2.example");
        assert_eq!(n.login(100), "user1@d100.example");
        assert_eq!(n.login(101), "user2@d1.example");
        assert_eq!(n.login(9_999), "user100@d99.example");
        assert_eq!(n.login(10_000), "user100@d100.example");
    }

    #[test]
    fn with_domains_the_recipient_is_the_login_name_whatever_the_lmtp_domain() {
        let n = names(4, 2);
        for u in 1..=4 {
            assert_eq!(n.rcpt(u), n.login(u));
        }
        assert_eq!(n.rcpt(3), "user2@d1.example");
    }

    #[test]
    fn users_not_a_multiple_of_domains_leave_the_last_domains_one_short() {
        // ceil(10 / 3) = 4: d1 holds four users, d2 and d3 three each.
        let n = names(10, 3);
        assert_eq!(n.per_domain(), Some(4));
        let all: Vec<String> = (1..=10).map(|u| n.login(u)).collect();
        assert_eq!(
            all,
            [
                "user1@d1.example",
                "user1@d2.example",
                "user1@d3.example",
                "user2@d1.example",
                "user2@d2.example",
                "user2@d3.example",
                "user3@d1.example",
                "user3@d2.example",
                "user3@d3.example",
                "user4@d1.example",
            ]
        );
    }

    #[test]
    fn more_domains_than_users_give_one_user_per_domain() {
        let n = names(3, 10);
        assert_eq!(n.per_domain(), Some(1));
        assert_eq!(n.login(1), "user1@d1.example");
        assert_eq!(n.login(3), "user1@d3.example");
    }

    #[test]
    fn every_name_is_distinct() {
        let n = names(1_000, 7);
        let mut all: Vec<String> = (1..=1_000).map(|u| n.login(u)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 1_000);
    }

    #[test]
    fn the_pattern_applies_to_the_number_within_the_domain() {
        let n = UserNames::new("bench-%d-x", 6, 3, "").unwrap();
        assert_eq!(n.login(5), "bench-2-x@d2.example");
    }

    #[test]
    fn a_pattern_with_a_domain_is_refused_with_domains_only() {
        let e = UserNames::new("user%d@example.org", 10, 2, "").unwrap_err();
        assert!(e.contains("--domains"), "{e}");
        let n = UserNames::new("user%d@example.org", 10, 0, "").unwrap();
        assert_eq!(n.login(2), "user2@example.org");
    }
}
