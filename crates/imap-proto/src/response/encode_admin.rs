//! Response encoder, continued: ACL (RFC 4314 §3.6-3.8), QUOTA (RFC 9208 §5) and METADATA
//! (RFC 5464 §4.4) responses.

use super::encode::Enc;
use super::QuotaResource;
use crate::command::{Mailbox, MetadataEntry};
use crate::wire;

impl Enc {
    /// `NAME mailbox`
    pub(super) fn named_mailbox(&self, out: &mut Vec<u8>, name: &str, mailbox: &Mailbox) {
        Self::put(out, name);
        self.mailbox(out, mailbox);
    }

    /// ` astring` for each value.
    pub(super) fn astrings<'s>(
        &self,
        out: &mut Vec<u8>,
        values: impl IntoIterator<Item = &'s String>,
    ) {
        for value in values {
            out.push(b' ');
            self.astring(out, value);
        }
    }

    /// `"ACL" SP mailbox *(SP identifier SP rights)`
    pub(super) fn acl(&self, out: &mut Vec<u8>, mailbox: &Mailbox, entries: &[(String, String)]) {
        self.named_mailbox(out, "ACL ", mailbox);
        self.astrings(
            out,
            entries
                .iter()
                .flat_map(|(identifier, rights)| [identifier, rights]),
        );
    }

    /// `"QUOTA" SP quota-root-name SP quota-list`
    pub(super) fn quota(&self, out: &mut Vec<u8>, root: &str, resources: &[QuotaResource]) {
        Self::put(out, "QUOTA ");
        self.astring(out, root);
        let list: Vec<String> = resources
            .iter()
            .map(|r| format!("{} {} {}", r.name, r.usage, r.limit))
            .collect();
        Self::put(out, &format!(" ({})", list.join(" ")));
    }

    /// `"METADATA" SP mailbox SP entry-values`
    pub(super) fn metadata(&self, out: &mut Vec<u8>, mailbox: &Mailbox, entries: &[MetadataEntry]) {
        self.named_mailbox(out, "METADATA ", mailbox);
        out.extend_from_slice(b" (");
        for (i, (entry, value)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.astring(out, entry);
            out.push(b' ');
            wire::write_nstring(out, value.as_deref(), self.mode());
        }
        out.push(b')');
    }
}
