//! Mailbox referrals (RFC 2193): a client that showed it understands them, by an RLIST or
//! RLSUB, is sent to the backend holding a mailbox instead of being proxied there, as Cyrus's
//! frontends do: SELECT, EXAMINE, APPEND and DELETE of another server's mailbox answer
//! `NO [REFERRAL imap://user;AUTH=*@host:port/mailbox]` (RFC 5092 URL). Every other client,
//! and every other command, is proxied as before.
//!
//! The URL's host is the backend's IMAP address as the directory publishes it (its `host:port`,
//! the address frontends connect to), the user is the session's, and `;AUTH=*` lets the client
//! pick any mechanism there (RFC 5092 §3.2). A backend that is down or runs no IMAP service
//! gives no referral: the command is proxied, and answers `NO [UNAVAILABLE]` as before.

use imap_proto::command::Mailbox;
use imap_proto::response::Code;
use mailservice::RemoteMailbox;

use crate::command::Reply;
use crate::connection::Session;

/// Whether the client is sent referrals (RFC 2193 §4: only a client that used RLIST or RLSUB
/// is known to understand them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Referrals {
    /// Proxied to the backend (every client until it sends RLIST or RLSUB).
    #[default]
    Proxy,
    /// Referred to the backend.
    Refer,
}

impl Session {
    /// The referral to give instead of proxying a command on `mailbox` (as the client named
    /// it), held by `remote`; `None` when the command is to be proxied.
    pub(crate) fn referral(&self, remote: &RemoteMailbox, mailbox: &Mailbox) -> Option<Reply> {
        if self.referrals != Referrals::Refer || !self.proxying() {
            return None;
        }
        let user = self.state.identity()?.user().to_string();
        let backend = self.service().cluster()?.backend(&remote.server)?;
        let address = backend.imap.filter(|_| backend.alive)?;
        let url = imap_url(&user, &address, mailbox.as_str());
        Some(Reply::no(
            Some(Code::Other {
                name: "REFERRAL".into(),
                text: Some(url),
            }),
            "Remote mailbox",
        ))
    }
}

/// `imap://user;AUTH=*@host:port/mailbox` (RFC 5092 §6: `"imap://" iuserinfo "@" iserver
/// "/" enc-mailbox`); the user and the mailbox (UTF-8) percent-encoded where they are not
/// `achar`/`bchar`.
fn imap_url(user: &str, address: &str, mailbox: &str) -> String {
    format!(
        "imap://{};AUTH=*@{address}/{}",
        percent_encode(user, UrlPart::User),
        percent_encode(mailbox, UrlPart::Mailbox)
    )
}

/// Which rule of RFC 5092 §11 a component follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UrlPart {
    /// `enc-user = 1*achar`.
    User,
    /// `enc-mailbox = 1*bchar` (`bchar = achar / ":" / "@" / "/"`).
    Mailbox,
}

/// Percent-encodes every byte of `text` its part does not allow as itself.
fn percent_encode(text: &str, part: UrlPart) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        // achar = unreserved / sub-delims-sh / "&" / "=" / "~" (RFC 5092 §11, RFC 3986 §2.3).
        let achar = byte.is_ascii_alphanumeric() || b"-._~!$'()*+,&=".contains(&byte);
        let bchar = achar || b":@/".contains(&byte);
        if achar || (part == UrlPart::Mailbox && bchar) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5092_url_encodes_user_and_mailbox() {
        assert_eq!(
            imap_url("ann", "10.0.0.2:143", "INBOX.Work"),
            "imap://ann;AUTH=*@10.0.0.2:143/INBOX.Work"
        );
        assert_eq!(
            imap_url("bob@example.com", "b1:143", "shared/Café [x] 100%"),
            "imap://bob%40example.com;AUTH=*@b1:143/shared/Caf%C3%A9%20%5Bx%5D%20100%25"
        );
        assert_eq!(percent_encode("a;b:c", UrlPart::User), "a%3Bb%3Ac");
    }
}
