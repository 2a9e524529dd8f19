//! What the directory holds in etcd, and under which keys (docs/murder.md, "The directory").
//!
//! Under the Murder's prefix (`murder_etcd_prefix`, `/darius` by default):
//! - `PREFIX/mbox/NAME`: one mailbox, by its internal name (`user.ann.Sent`,
//!   `example.com!user.bob`), a JSON [`MailboxRecord`]. It is created by a compare-and-swap on
//!   the key's absence, so no two servers can ever hold one name.
//! - `PREFIX/held/SERVER/NAME`: empty, present exactly while `mbox/NAME` names `SERVER`
//!   (written in the same transactions), so a backend finds its own entries without reading
//!   the whole directory.
//! - `PREFIX/server/NAME`: one backend, a JSON [`ServerRecord`], written with the backend's
//!   lease: it disappears when the backend stops renewing it, which is how the others learn it
//!   is down.
//!
//! Records are read back with bounds: a value that is not valid JSON of the right shape is
//! reported and skipped, never trusted.

use mailstore::{MailboxEntry, MailboxType};
use serde::{Deserialize, Serialize};
use types::MailboxName;

/// A mailbox's state in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Claimed by `server`, which is creating it (Cyrus's "reserved"): not served yet, but no
    /// other server may take the name.
    Reserved,
    /// Held and served by `server`.
    Active,
}

/// The directory entry of one mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxRecord {
    pub state: State,
    /// The backend holding it.
    pub server: String,
    /// Its partition on that backend (empty while reserved).
    #[serde(default)]
    pub partition: String,
    #[serde(default)]
    pub uniqueid: String,
    /// The ACL in Cyrus's stored form (`id<TAB>rights<TAB>…`).
    #[serde(default)]
    pub acl: String,
    /// RFC 6154 special-use attributes.
    #[serde(default)]
    pub special_use: Vec<String>,
}

impl MailboxRecord {
    /// A reservation of a name by `server`.
    pub fn reserved(server: &str) -> MailboxRecord {
        MailboxRecord {
            state: State::Reserved,
            server: server.to_string(),
            partition: String::new(),
            uniqueid: String::new(),
            acl: String::new(),
            special_use: Vec::new(),
        }
    }

    /// The active entry of a mailbox `server` holds.
    pub fn active(server: &str, entry: &MailboxEntry) -> MailboxRecord {
        MailboxRecord {
            state: State::Active,
            server: server.to_string(),
            partition: entry.partition.clone(),
            uniqueid: entry.uniqueid.clone(),
            acl: entry.acl.clone(),
            special_use: entry.special_use.clone(),
        }
    }

    /// The entry another server's copy of the directory keeps for this mailbox.
    pub fn remote_entry(&self, name: MailboxName) -> MailboxEntry {
        MailboxEntry {
            name,
            uniqueid: self.uniqueid.clone(),
            partition: format!("{}!{}", self.server, self.partition),
            acl: self.acl.clone(),
            mailbox_type: MailboxType::Remote,
            special_use: self.special_use.clone(),
            created_modseq: 0,
            modified_modseq: 0,
        }
    }

    /// Whether this record says what the local `entry` says (same server assumed).
    pub fn matches(&self, entry: &MailboxEntry) -> bool {
        self.state == State::Active
            && self.partition == entry.partition
            && self.uniqueid == entry.uniqueid
            && self.acl == entry.acl
            && self.special_use == entry.special_use
    }

    pub fn encode(&self) -> Vec<u8> {
        // A record of strings always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<MailboxRecord> {
        serde_json::from_slice(bytes).ok()
    }
}

/// What a backend publishes about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// `host:port` of its services; absent when it runs none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lmtp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sieve: Option<String>,
    /// How many mailboxes it holds (placement sends new ones to the least loaded).
    #[serde(default)]
    pub mailboxes: u64,
    /// Unix seconds it (re)started.
    #[serde(default)]
    pub started: i64,
    /// What its IMAP service offers a user after login: frontends offer only what every
    /// live backend does (absent in records of servers that publish none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_capabilities: Option<Vec<String>>,
}

impl ServerRecord {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<ServerRecord> {
        serde_json::from_slice(bytes).ok()
    }
}

/// The keys of one Murder's directory.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (`/darius`); a trailing `/` is dropped.
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.trim_end_matches('/').to_string(),
        }
    }

    /// The prefix of every mailbox key.
    pub fn mailboxes(&self) -> Vec<u8> {
        format!("{}/mbox/", self.prefix).into_bytes()
    }

    pub fn mailbox(&self, name: &MailboxName) -> Vec<u8> {
        format!("{}/mbox/{}", self.prefix, name.as_str()).into_bytes()
    }

    /// The mailbox a key names, if it is a mailbox key of this Murder.
    pub fn mailbox_of(&self, key: &[u8]) -> Option<MailboxName> {
        let rest = key.strip_prefix(self.mailboxes().as_slice())?;
        let name = std::str::from_utf8(rest).ok()?;
        MailboxName::try_from(name).ok()
    }

    /// The index key saying `server` holds `name`.
    pub fn held(&self, server: &str, name: &MailboxName) -> Vec<u8> {
        format!("{}/held/{server}/{}", self.prefix, name.as_str()).into_bytes()
    }

    /// The prefix of `server`'s index keys.
    pub fn held_by(&self, server: &str) -> Vec<u8> {
        format!("{}/held/{server}/", self.prefix).into_bytes()
    }

    /// The mailbox an index key of `server` names.
    pub fn held_name(&self, server: &str, key: &[u8]) -> Option<MailboxName> {
        let rest = key.strip_prefix(self.held_by(server).as_slice())?;
        MailboxName::try_from(std::str::from_utf8(rest).ok()?).ok()
    }

    /// The prefix of every server key.
    pub fn servers(&self) -> Vec<u8> {
        format!("{}/server/", self.prefix).into_bytes()
    }

    pub fn server(&self, name: &str) -> Vec<u8> {
        format!("{}/server/{name}", self.prefix).into_bytes()
    }

    /// The server a key names, if it is a server key of this Murder.
    pub fn server_of(&self, key: &[u8]) -> Option<String> {
        let rest = key.strip_prefix(self.servers().as_slice())?;
        let name = std::str::from_utf8(rest).ok()?;
        (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
    }

    /// The prefix of the whole Murder (for one watch of everything).
    pub fn all(&self) -> Vec<u8> {
        format!("{}/", self.prefix).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let k = Keys::new("/darius/");
        let name = MailboxName::try_from("example.com!user.ann.Sent").expect("name");
        let key = k.mailbox(&name);
        assert_eq!(key, b"/darius/mbox/example.com!user.ann.Sent");
        assert_eq!(k.mailbox_of(&key), Some(name));
        assert_eq!(k.server_of(&k.server("b1")), Some("b1".to_string()));
        assert_eq!(k.server_of(b"/darius/server/"), None);
        assert_eq!(k.mailbox_of(b"/other/mbox/user.ann"), None);
        assert_eq!(k.mailbox_of(b"/darius/mbox/\xff"), None);
    }

    #[test]
    fn records_round_trip_and_bad_values_are_refused() {
        let r = MailboxRecord::reserved("b1");
        assert_eq!(MailboxRecord::decode(&r.encode()), Some(r));
        assert_eq!(MailboxRecord::decode(b"{\"state\":\"gone\"}"), None);
        assert_eq!(MailboxRecord::decode(b"\x00\x01"), None);
        let s = ServerRecord {
            imap: Some("127.0.0.1:143".into()),
            mailboxes: 3,
            ..ServerRecord::default()
        };
        assert_eq!(ServerRecord::decode(&s.encode()), Some(s.clone()));
        let with_capabilities = ServerRecord {
            imap_capabilities: Some(vec!["IMAP4rev1".into(), "CONDSTORE".into()]),
            ..s
        };
        let encoded = with_capabilities.encode();
        assert_eq!(ServerRecord::decode(&encoded), Some(with_capabilities));
        // A record written before capabilities were published still reads.
        let old = ServerRecord::decode(br#"{"imap":"127.0.0.1:143","mailboxes":3,"started":0}"#);
        assert_eq!(old.map(|r| r.imap_capabilities), Some(None));
    }

    #[test]
    fn a_remote_entry_names_server_and_partition() {
        let r = MailboxRecord {
            state: State::Active,
            server: "b2".into(),
            partition: "p1".into(),
            uniqueid: "u".into(),
            acl: "ann\tlrswipkxtecda\t".into(),
            special_use: vec![],
        };
        let e = r.remote_entry(MailboxName::try_from("user.ann").expect("name"));
        assert_eq!(e.remote_server(), Some("b2"));
        assert_eq!(e.remote_partition(), Some("p1"));
    }
}
