//! The parts of a Cyrus `imapd.conf` an import needs, and where Cyrus keeps each file.
//!
//! Paths (`imap/mboxname.c`, `imap/user.c`, `lib/util.c`):
//! - a mailbox's directory is `PARTITION/uuid/U0/U1/UNIQUEID` (Cyrus 3.5 and later, unless the
//!   entry has the `l` flag) or, the legacy layout, `PARTITION[/H]/user/fred/Sent` where `H`
//!   (with `hashimapspool`) is the first letter of the second level (`f` of `fred`; the first
//!   level when there is one), lowercased, `q` when not a letter; `metapartition-NAME` moves
//!   `cyrus.header`/`cyrus.index` when `metapartition_files` says so;
//! - a user's seen and subscriptions databases are `CONFIGDIR/user/uuid/U0/U1/INBOXID/seen.db`
//!   and `sub.db`, or `CONFIGDIR/user/H/USER.seen` and `.sub` (always hashed);
//! - a user's Sieve directory is `SIEVEDIR/uuid/U0/U1/INBOXID` or `SIEVEDIR/H/USER`, with the
//!   active script's bytecode linked as `defaultbc`;
//! - quota roots are files `CONFIGDIR/quota/H/ROOT` (the quotalegacy backend), or a `quotas.db`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{read_bounded, CyrusError};

/// What an import reads from `imapd.conf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CyrusConfig {
    /// Cyrus's `configdirectory` (databases, quota files, per-user files).
    pub configdirectory: PathBuf,
    /// `partition-NAME` → directory.
    pub partitions: BTreeMap<String, PathBuf>,
    /// `metapartition-NAME` → directory, used for the files `metapartition_files` names.
    pub metapartitions: BTreeMap<String, PathBuf>,
    /// Whether `metapartition_files` holds `header` and `index` (the files we read).
    pub meta_header_index: bool,
    /// Where users' Sieve directories are.
    pub sievedir: PathBuf,
    /// Whether named mailbox directories sit under a one-letter hash directory.
    pub hashimapspool: bool,
    /// Whether hash directories are `A`–`W` from a hash of the name, not its first letter.
    pub fulldirhash: bool,
    /// Whether virtual domains are on (the import refuses them).
    pub virtdomains: bool,
    /// The first level of mailboxes a delayed delete hid (`DELETED`).
    pub deletedprefix: String,
    /// Where the mailboxes database is (`mboxlist_db_path`, else `CONFIGDIR/mailboxes.db`).
    pub mailboxes_db: PathBuf,
    /// Where the annotations database is (`annotation_db_path`, else
    /// `CONFIGDIR/annotations.db`): mailboxes' special-use attributes.
    pub annotations_db: PathBuf,
    /// `quota_db`: `quotalegacy` (the default) or a database backend for `quotas.db`.
    pub quota_db: String,
}

/// Reads the `imapd.conf` at `path`.
pub fn read_file(path: &Path) -> Result<CyrusConfig, CyrusError> {
    let bytes = read_bounded(path, 1 << 20)?;
    parse(&String::from_utf8_lossy(&bytes)).map_err(|(line, what)| {
        CyrusError::format(path, line as u64, format!("line {line}: {what}"))
    })
}

fn truthy(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "1" | "yes" | "on" | "t" | "true"
    )
}

/// Parses `imapd.conf` text; an error is (line number, what).
pub fn parse(text: &str) -> Result<CyrusConfig, (usize, String)> {
    let mut options: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            options.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let get = |k: &str| options.get(k).map(String::as_str);
    let Some(configdirectory) = get("configdirectory") else {
        return Err((0, "no configdirectory".into()));
    };
    let configdirectory = PathBuf::from(configdirectory);
    let by_prefix = |prefix: &str| {
        options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), PathBuf::from(v))))
            .collect::<BTreeMap<_, _>>()
    };
    let partitions = by_prefix("partition-");
    if partitions.is_empty() {
        return Err((0, "no partition-NAME option".into()));
    }
    let meta_files = get("metapartition_files").unwrap_or_default();
    Ok(CyrusConfig {
        mailboxes_db: get("mboxlist_db_path")
            .map(PathBuf::from)
            .unwrap_or_else(|| configdirectory.join("mailboxes.db")),
        annotations_db: get("annotation_db_path")
            .map(PathBuf::from)
            .unwrap_or_else(|| configdirectory.join("annotations.db")),
        partitions,
        metapartitions: by_prefix("metapartition-"),
        meta_header_index: meta_files.contains("header") && meta_files.contains("index"),
        sievedir: PathBuf::from(get("sievedir").unwrap_or("/usr/sieve")),
        hashimapspool: get("hashimapspool").is_some_and(truthy),
        fulldirhash: get("fulldirhash").is_some_and(truthy),
        virtdomains: get("virtdomains").is_some_and(|v| v != "off" && !v.is_empty() && v != "0"),
        deletedprefix: get("deletedprefix").unwrap_or("DELETED").to_string(),
        quota_db: get("quota_db").unwrap_or("quotalegacy").to_string(),
        configdirectory,
    })
}

/// Cyrus's one-letter hash directory of `name` (`dir_hash_c` without `fulldirhash`).
pub fn hash_letter(name: &str) -> char {
    match name.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some(c) if c.is_ascii_lowercase() => c,
        _ => 'q',
    }
}

/// Cyrus's `fulldirhash` hash directory of `name` (up to its first `.`), `A`–`W`.
pub fn full_hash_letter(name: &str) -> char {
    let mut n: u32 = 0;
    for &c in name.as_bytes().iter().take_while(|&&c| c != b'.') {
        n = ((n << 3) ^ (n >> 5)) ^ u32::from(c);
    }
    char::from(b'A' + (n % 23) as u8)
}

impl CyrusConfig {
    /// The hash directory letter this configuration uses for `name`.
    pub fn hash(&self, name: &str) -> char {
        if self.fulldirhash {
            full_hash_letter(name)
        } else {
            hash_letter(name)
        }
    }

    /// `uuid/U0/U1/ID` below `root`.
    pub fn uuid_dir(root: &Path, id: &str) -> PathBuf {
        let mut chars = id.chars();
        let a = chars.next().unwrap_or('_');
        let b = chars.next().unwrap_or('_');
        root.join("uuid")
            .join(a.to_string())
            .join(b.to_string())
            .join(id)
    }

    /// The legacy directory of the internal mailbox `name` below `root`.
    pub fn legacy_dir(&self, root: &Path, name: &str) -> PathBuf {
        let levels: Vec<&str> = name.split('.').collect();
        let mut dir = root.to_path_buf();
        if self.hashimapspool {
            let key = levels
                .get(1)
                .or(levels.first())
                .copied()
                .unwrap_or_default();
            dir.push(self.hash(key).to_string());
        }
        for level in levels {
            dir.push(level);
        }
        dir
    }

    /// Directories where the mailbox's message files may be, most likely first.
    pub fn mailbox_dirs(
        &self,
        partition: &str,
        name: &str,
        uniqueid: Option<&str>,
    ) -> Vec<PathBuf> {
        let Some(root) = self.partitions.get(partition) else {
            return Vec::new();
        };
        let mut dirs = Vec::new();
        if let Some(id) = uniqueid {
            dirs.push(Self::uuid_dir(root, id));
        }
        dirs.push(self.legacy_dir(root, name));
        dirs
    }

    /// Where `cyrus.header` and `cyrus.index` are for a mailbox whose messages are in `dir`.
    pub fn meta_dir(&self, partition: &str, data_dir: &Path) -> PathBuf {
        if self.meta_header_index {
            if let (Some(meta), Some(root)) = (
                self.metapartitions.get(partition),
                self.partitions.get(partition),
            ) {
                if let Ok(rest) = data_dir.strip_prefix(root) {
                    return meta.join(rest);
                }
            }
        }
        data_dir.to_path_buf()
    }

    /// A user's per-user database file (`seen` or `sub`): the uuid form first, then legacy.
    pub fn user_db_paths(&self, user: &str, inbox_id: Option<&str>, suffix: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let users = self.configdirectory.join("user");
        if let Some(id) = inbox_id {
            out.push(Self::uuid_dir(&users, id).join(format!("{suffix}.db")));
        }
        out.push(
            users
                .join(self.hash(user).to_string())
                .join(format!("{user}.{suffix}")),
        );
        out
    }

    /// A user's Sieve directories: the uuid form first, then legacy.
    pub fn sieve_dirs(&self, user: &str, inbox_id: Option<&str>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(id) = inbox_id {
            out.push(Self::uuid_dir(&self.sievedir, id));
        }
        out.push(self.sievedir.join(self.hash(user).to_string()).join(user));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# test\nconfigdirectory: /c\npartition-default: /p\n\
partition-two: /q\nsievedir: /s\nhashimapspool: true\nvirtdomains: off\n";

    #[test]
    fn debian_style_configuration_is_read() {
        let c = parse(CONF).unwrap();
        assert_eq!(c.configdirectory, Path::new("/c"));
        assert_eq!(c.partitions.len(), 2);
        assert_eq!(c.mailboxes_db, Path::new("/c/mailboxes.db"));
        assert!(c.hashimapspool && !c.virtdomains);
        assert!(parse("partition-default: /p\n").is_err());
        assert!(parse("configdirectory: /c\n").is_err());
    }

    #[test]
    fn paths_follow_cyrus_hashing() {
        let c = parse(CONF).unwrap();
        assert_eq!(
            c.mailbox_dirs("default", "user.fred.Sent", Some("ab12")),
            [
                PathBuf::from("/p/uuid/a/b/ab12"),
                PathBuf::from("/p/f/user/fred/Sent")
            ]
        );
        assert_eq!(
            c.legacy_dir(Path::new("/p"), "shared"),
            PathBuf::from("/p/s/shared")
        );
        assert_eq!(
            c.legacy_dir(Path::new("/p"), "9lives.x"),
            PathBuf::from("/p/x/9lives/x")
        );
        assert_eq!(
            c.user_db_paths("fred", None, "seen"),
            [PathBuf::from("/c/user/f/fred.seen")]
        );
        assert_eq!(c.sieve_dirs("7up", None), [PathBuf::from("/s/q/7up")]);
        assert!(('A'..='W').contains(&full_hash_letter("fred")));
    }
}
