//! Quota decisions (RFC 9208 with Cyrus's rules), beside the access checks, so that every
//! protocol obeys the same ones:
//!
//! - **Normal inserts** (APPEND, COPY, MOVE into another root, a Sieve `fileinto`): refused
//!   when the result would exceed a limit ([`QuotaRule::Insert`]). A user's RENAME into
//!   another root is checked the same way beforehand (administrators are not refused).
//! - **Delivery** (LMTP): allowed while the root is *not already over* a limit, so one message
//!   of any size may take it past; once over, refused until usage falls
//!   ([`QuotaRule::Deliver`]; `lmtp_strict_quota` makes delivery use the insert rule).
//! - **Warnings**: SELECT of a mailbox whose root uses `quotawarn` percent of a limit or more
//!   (and, with `quotawarnkb`/`quotawarnmsg`, has less than that much room left) warns an
//!   identity who may remove messages there (`t`, `e` or `x`).
//! - **Who**: SETQUOTA is for administrators; GETQUOTA for administrators, for a root within
//!   the identity's own hierarchy, and for a root mailbox the identity may read; GETQUOTAROOT
//!   needs `r` on the mailbox (administrators: `l`, which they always have).
//!
//! The store applies the rule under the lock that makes check and insert atomic
//! ([`mailstore::QuotaPolicy`]).

use mailstore::{QuotaLimits, QuotaPolicy, QuotaRepairReport, QuotaUsage, StoreError};
use types::{MailboxName, Rights};

use crate::access::{Authorized, Identity, Operation};
use crate::error::ServiceError;
use crate::MailService;

type Result<T> = std::result::Result<T, ServiceError>;

/// The quota options of the configuration (SIGHUP may change them:
/// [`MailService::set_quota_config`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    /// `quotawarn`: percent of a limit from which SELECT warns.
    pub warn_percent: u8,
    /// `quotawarnkb`: warn only when fewer KiB than this are left (0: no such condition).
    pub warn_kib: u64,
    /// `quotawarnmsg`: warn only when fewer messages than this are left (0: no condition).
    pub warn_messages: u64,
    /// `lmtp_strict_quota`: delivery refused when the message would exceed a limit, as APPEND.
    pub strict_delivery: bool,
}

impl Default for QuotaConfig {
    fn default() -> QuotaConfig {
        QuotaConfig {
            warn_percent: 90,
            warn_kib: 0,
            warn_messages: 0,
            strict_delivery: false,
        }
    }
}

/// One root: its limits and what it uses now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaReport {
    pub root: MailboxName,
    pub limits: QuotaLimits,
    pub usage: QuotaUsage,
}

/// How an insert is judged (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaRule {
    /// APPEND, COPY, MOVE: the result must stay within every limit.
    Insert,
    /// Delivery: allowed unless usage is already over a limit.
    Deliver,
}

impl QuotaPolicy for QuotaRule {
    fn admit(
        &self,
        _root: &MailboxName,
        limits: QuotaLimits,
        usage: QuotaUsage,
        adding: QuotaUsage,
    ) -> bool {
        let (bytes, messages) = match self {
            QuotaRule::Insert => (adding.storage_bytes, adding.messages),
            QuotaRule::Deliver => (0, 0),
        };
        let storage_ok = limits.storage_kib.is_none_or(|kib| {
            usage.storage_bytes.saturating_add(bytes) <= kib.saturating_mul(1024)
        });
        let messages_ok = limits
            .messages
            .is_none_or(|max| usage.messages.saturating_add(messages) <= max);
        storage_ok && messages_ok
    }
}

impl MailService {
    /// The rule deliveries are judged by (see `lmtp_strict_quota`).
    pub(crate) fn delivery_rule(&self) -> QuotaRule {
        if self.quota_config().strict_delivery {
            QuotaRule::Insert
        } else {
            QuotaRule::Deliver
        }
    }

    /// Whether delivery to `target` would be refused by its quota root now (LMTP asks at
    /// RCPT, before the message is sent; the decision that counts is made again, atomically,
    /// when the message is stored).
    pub fn quota_refuses_delivery(&self, target: &Authorized) -> Result<bool> {
        let Some(r) = self.governing_report(target.name())? else {
            return Ok(false);
        };
        let one = QuotaUsage::one_message(0);
        Ok(!self.delivery_rule().admit(&r.root, r.limits, r.usage, one))
    }

    /// RENAME by a user into another quota root: refused with `OVERQUOTA` when what moves
    /// would take that root past a limit (as Cyrus does for users; administrators may). A
    /// check before the rename, not atomic with it.
    pub(crate) fn rename_within_quota(&self, from: &MailboxName, to: &MailboxName) -> Result<()> {
        match self.store.rename_quota_delta(from, to)? {
            Some((root, limits, usage, adding))
                if !QuotaRule::Insert.admit(&root, limits, usage, adding) =>
            {
                Err(StoreError::OverQuota(root.to_string()).into())
            }
            _ => Ok(()),
        }
    }

    /// GETQUOTA: the root named (client form) with its limits and usage.
    pub fn get_quota(&self, identity: &Identity, client_root: &str) -> Result<QuotaReport> {
        let root = self
            .namespace
            .quota_root_to_internal(identity, client_root)?;
        if !identity.reaches(&root) {
            return Err(ServiceError::NoSuchQuotaRoot);
        }
        let report = self
            .quota_report(&root)?
            .ok_or(ServiceError::NoSuchQuotaRoot)?;
        // A domain's root (reached, so the identity's own domain) is every user's business
        // there, as GETQUOTAROOT shows it to them.
        if identity.administers(&root) || identity.owns(&root) || root.is_domain_root() {
            return Ok(report);
        }
        match self.decide(identity, &root, Operation::Read) {
            Ok(_) => Ok(report),
            // Not a mailbox, or one the identity may not read: as if there were no such root,
            // unless the identity can see the mailbox (then it is a refusal).
            Err(ServiceError::PermissionDenied) => Err(ServiceError::PermissionDenied),
            Err(_) => Err(ServiceError::NoSuchQuotaRoot),
        }
    }

    /// GETQUOTAROOT: the roots governing a mailbox (client form) that the identity may read,
    /// or, for an administrator, see (at most one root: the nearest), each with its limits
    /// and usage; with the mailbox's internal name.
    pub fn get_quota_root(
        &self,
        identity: &Identity,
        client_mailbox: &str,
    ) -> Result<Vec<QuotaReport>> {
        let operation = if identity.is_admin() {
            Operation::Lookup
        } else {
            Operation::Read
        };
        let mailbox = self.authorize(identity, client_mailbox, operation)?;
        Ok(self.governing_report(mailbox.name())?.into_iter().collect())
    }

    /// SETQUOTA (administrators only): sets the limits of a root, creating it when first
    /// named. Empty limits remove the limits, not the root. A root must be a mailbox or have
    /// a mailbox below it (as Cyrus requires: a mistyped name makes no root).
    pub fn set_quota(
        &self,
        identity: &Identity,
        client_root: &str,
        limits: QuotaLimits,
    ) -> Result<QuotaReport> {
        if !identity.is_admin() {
            return Err(ServiceError::PermissionDenied);
        }
        let root = self
            .namespace
            .quota_root_to_internal(identity, client_root)?;
        // A domain's administrator sets quotas within it; the whole domain's root
        // (`example.com!`) is for a global administrator.
        if !identity.administers(&root) || (root.is_domain_root() && !identity.is_global_admin()) {
            return Err(ServiceError::PermissionDenied);
        }
        let report = self.set_quota_internal_quietly(&root, limits)?;
        self.report_quota(
            crate::events::EventKind::QuotaChange,
            &crate::access::Actor::of(identity),
            &report,
        );
        Ok(report)
    }

    /// SETQUOTA by internal name, for the operator's tools.
    pub fn set_quota_internal(
        &self,
        root: &MailboxName,
        limits: QuotaLimits,
    ) -> Result<QuotaReport> {
        let report = self.set_quota_internal_quietly(root, limits)?;
        let operator = crate::access::Actor::of(&self.operator());
        self.report_quota(crate::events::EventKind::QuotaChange, &operator, &report);
        Ok(report)
    }

    /// SETQUOTA's work, reporting nothing (the callers report who asked).
    fn set_quota_internal_quietly(
        &self,
        root: &MailboxName,
        limits: QuotaLimits,
    ) -> Result<QuotaReport> {
        if self.store.list_mailboxes(Some(root))?.is_empty() {
            return Err(ServiceError::NoSuchMailbox);
        }
        self.store.set_quota_root(root, limits)?;
        self.quota_report(root)?
            .ok_or(ServiceError::NoSuchQuotaRoot)
    }

    /// Every root at or below `prefix` (all roots without one), for `darius quota`.
    pub fn quota_list(&self, prefix: Option<&MailboxName>) -> Result<Vec<QuotaReport>> {
        let mut out = Vec::new();
        for (root, limits) in self.store.quota_roots()? {
            if prefix.is_some_and(|p| !root.is_within(p)) {
                continue;
            }
            let usage = self.store.quota_usage(&root)?;
            out.push(QuotaReport {
                root,
                limits,
                usage,
            });
        }
        Ok(out)
    }

    /// `quota -f`: recomputes usage from the index and reports each correction; `roots`
    /// limits it to those roots. Roots are never removed.
    pub fn quota_repair(&self, roots: Option<&[MailboxName]>) -> Result<QuotaRepairReport> {
        self.store.repair_quota(roots).map_err(|e| match e {
            StoreError::NoSuchQuotaRoot(_) => ServiceError::NoSuchQuotaRoot,
            other => other.into(),
        })
    }

    /// Removes a root (its mailboxes fall to the enclosing root, if any). Answers whether it
    /// existed.
    pub fn quota_remove(&self, root: &MailboxName) -> Result<bool> {
        Ok(self.store.remove_quota_root(root)?)
    }

    /// The `[ALERT]` text SELECT sends when the mailbox's root is nearly full, for an identity
    /// who can do something about it (may remove messages: `t`, `e` or `x`).
    pub fn quota_warning(
        &self,
        identity: &Identity,
        mailbox: &Authorized,
    ) -> Result<Option<String>> {
        let may_clean = Rights::DELETE_MESSAGES
            .union(Rights::EXPUNGE)
            .union(Rights::DELETE_MAILBOX);
        if !mailbox.rights().intersects(may_clean) {
            return Ok(None);
        }
        let Some(r) = self.governing_report(mailbox.name())? else {
            return Ok(None);
        };
        let q = self.quota_config();
        // One resource: near its limit by `quotawarn` percent and, when set, by what is left.
        let near = |what: &str, used: u64, limit: Option<u64>, warn_left: u64, unit: &str| {
            let limit = limit?;
            let pct = used.saturating_mul(100).checked_div(limit).unwrap_or(100);
            let left = limit.saturating_sub(used);
            let near = pct >= u64::from(q.warn_percent) && (warn_left == 0 || left < warn_left);
            near.then(|| format!("{pct}% of the {what} limit ({used} of {limit} {unit})"))
        };
        let storage_kib = r.usage.storage_kib();
        let parts: Vec<String> = [
            near(
                "storage",
                storage_kib,
                r.limits.storage_kib,
                q.warn_kib,
                "KiB",
            ),
            near(
                "message",
                r.usage.messages,
                r.limits.messages,
                q.warn_messages,
                "messages",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            return Ok(None);
        }
        let shown = self.namespace.to_client(identity, &r.root);
        Ok(Some(format!(
            "Quota root {shown} is at {}",
            parts.join(" and ")
        )))
    }

    /// The root governing `name`, with its limits and usage.
    pub(crate) fn governing_report(&self, name: &MailboxName) -> Result<Option<QuotaReport>> {
        let Some((root, limits)) = self.store.governing_quota_root(name)? else {
            return Ok(None);
        };
        let usage = self.store.quota_usage(&root)?;
        Ok(Some(QuotaReport {
            root,
            limits,
            usage,
        }))
    }

    fn quota_report(&self, root: &MailboxName) -> Result<Option<QuotaReport>> {
        let Some(limits) = self.store.quota_limits(root)? else {
            return Ok(None);
        };
        Ok(Some(QuotaReport {
            root: root.clone(),
            limits,
            usage: self.store.quota_usage(root)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(bytes: u64, messages: u64) -> QuotaUsage {
        QuotaUsage {
            storage_bytes: bytes,
            messages,
        }
    }

    #[test]
    fn insert_must_fit_and_delivery_only_needs_to_start_within() {
        let root = MailboxName::try_from("user.a").unwrap_or_else(|_| unreachable!());
        let limits = QuotaLimits {
            storage_kib: Some(10),
            messages: Some(3),
        };
        let admit = |rule: QuotaRule, u, add| rule.admit(&root, limits, u, add);
        // Exactly at the limit fits; one byte more does not.
        assert!(admit(QuotaRule::Insert, usage(0, 0), usage(10 * 1024, 1)));
        assert!(!admit(QuotaRule::Insert, usage(1, 0), usage(10 * 1024, 1)));
        assert!(!admit(QuotaRule::Insert, usage(0, 3), usage(1, 1)));
        // Delivery: any size while not over; refused once over either limit.
        assert!(admit(
            QuotaRule::Deliver,
            usage(10 * 1024, 3),
            usage(1 << 30, 1)
        ));
        assert!(!admit(
            QuotaRule::Deliver,
            usage(10 * 1024 + 1, 0),
            usage(1, 1)
        ));
        assert!(!admit(QuotaRule::Deliver, usage(0, 4), usage(1, 1)));
        // No limits: anything goes.
        let none = QuotaLimits::default();
        assert!(QuotaRule::Insert.admit(&root, none, usage(u64::MAX, u64::MAX), usage(1, 1)));
    }
}
