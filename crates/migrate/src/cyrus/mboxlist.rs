//! Entries of Cyrus's mailboxes database (`imap/mboxlist.c`).
//!
//! - Cyrus 3.5 and later: `N` + the name in database form (levels separated by 0x1F, a domain
//!   before 0x1D) → `%(T e I uniqueid P partition V uidvalidity A %(id rights …) …)`, plus `I` +
//!   uniqueid records (which carry the name as `N`) and `$RACL`/`A` index records we skip.
//! - Cyrus 3.0–3.4: the internal name (`user.fred.Sent`) → the same dlist, without the `N`/`I`
//!   split.
//! - Cyrus 2.4: the internal name → `mbtype partition acl`, the ACL as `id<TAB>rights<TAB>…`.
//!
//! The type `T` starts with `e` for mail (or directly with flags for old mail entries); flags
//! `d` deleted, `r` remote, `z` reserved, `m` moving and `i` intermediate mark entries that hold
//! no mailbox here; `f` is the Sieve-script mailbox; `l` says the mailbox keeps the legacy
//! named directory layout.

use super::dlist::{self, Value};
use super::header::acl_text;

/// One mailbox of the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxRecord {
    /// Internal name: levels joined by `.`, a `.` inside a level written `^`.
    pub name: String,
    /// None in Cyrus 2.4 (its `cyrus.header` has it).
    pub uniqueid: Option<String>,
    /// The partition name (`partition-NAME` in imapd.conf).
    pub partition: String,
    /// `id<TAB>rights<TAB>…`.
    pub acl: String,
    /// The entry's copy of UIDVALIDITY (3.x), used when the index has none.
    pub uidvalidity: Option<u32>,
    /// What the entry holds.
    pub kind: Kind,
    /// The `l` flag: the mailbox lives under its name, not under its uniqueid.
    pub legacy_dirs: bool,
}

/// What an entry holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A mail mailbox: imported.
    Mail,
    /// A user's Sieve scripts (Cyrus 3.x `#sieve`): read for the scripts, not imported.
    Sieve,
    /// Anything else (calendar, deleted, remote…): skipped, with the type letters.
    Other(String),
}

/// What the database holds besides mailboxes that concerns an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// An entry in a virtual domain (not supported yet).
    Domain(String),
    /// An entry whose value could not be read: key and reason.
    Unreadable(String, String),
}

/// The mailboxes and the entries skipped, from the database's records.
pub fn entries(records: &[(Vec<u8>, Vec<u8>)]) -> (Vec<MailboxRecord>, Vec<Skipped>) {
    let split_layout = records.iter().any(|(k, v)| {
        k.first() == Some(&b'I') && dlist::parse(v).is_ok_and(|(d, _)| d.get("N").is_some())
    });
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (key, value) in records {
        let name = if split_layout {
            match key.split_first() {
                Some((b'N', rest)) => match dbname_to_internal(rest) {
                    Ok(n) => n,
                    Err(domain) => {
                        skipped.push(Skipped::Domain(domain));
                        continue;
                    }
                },
                _ => continue,
            }
        } else {
            if key.first() == Some(&b'$') || key.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(key).into_owned();
            if let Some((domain, _)) = text.split_once('!') {
                skipped.push(Skipped::Domain(domain.to_string()));
                continue;
            }
            text
        };
        match entry(name.clone(), value) {
            Ok(r) => out.push(r),
            Err(why) => skipped.push(Skipped::Unreadable(name, why)),
        }
    }
    (out, skipped)
}

/// The mailboxes of a Cyrus 3.x `ctl_mboxlist -d` dump: one JSON object whose members are
/// internal names, each `{"uniqueid", "partition", "acl": {id: rights}, "uidvalidity",
/// "mbtype", …}` (numbers as strings).
pub fn from_json_dump(text: &[u8]) -> Result<(Vec<MailboxRecord>, Vec<Skipped>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not a JSON dump: {e}"))?;
    let object = value.as_object().ok_or("the dump is not a JSON object")?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (name, entry) in object {
        if let Some((domain, _)) = name.split_once('!') {
            skipped.push(Skipped::Domain(domain.to_string()));
            continue;
        }
        let field = |k: &str| entry.get(k).and_then(serde_json::Value::as_str);
        let Some(partition) = field("partition") else {
            skipped.push(Skipped::Unreadable(name.clone(), "no partition".into()));
            continue;
        };
        let mut acl = String::new();
        if let Some(map) = entry.get("acl").and_then(serde_json::Value::as_object) {
            for (id, rights) in map {
                acl.push_str(&format!("{id}\t{}\t", rights.as_str().unwrap_or_default()));
            }
        }
        let kind_text = field("mbtype").unwrap_or("e");
        out.push(MailboxRecord {
            name: name.clone(),
            uniqueid: field("uniqueid").map(str::to_string),
            partition: partition.to_string(),
            acl,
            uidvalidity: field("uidvalidity").and_then(|v| v.parse().ok()),
            legacy_dirs: kind_text.contains('l'),
            kind: kind_of(kind_text),
        });
    }
    Ok((out, skipped))
}

/// A database name (levels joined by 0x1F) as an internal name; a domain is an error carrying it.
pub fn dbname_to_internal(b: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(b);
    if let Some((domain, _)) = text.split_once('\x1d') {
        return Err(domain.to_string());
    }
    Ok(text
        .split('\x1f')
        .map(|level| level.replace('.', "^"))
        .collect::<Vec<_>>()
        .join("."))
}

fn entry(name: String, value: &[u8]) -> Result<MailboxRecord, String> {
    if value.starts_with(b"%(") {
        let (d, _) = dlist::parse(value).map_err(|(at, what)| format!("at {at}: {what}"))?;
        let kind_text = d
            .get("T")
            .and_then(Value::text)
            .unwrap_or_else(|| "e".into());
        return Ok(MailboxRecord {
            name,
            uniqueid: d.get("I").and_then(Value::text),
            partition: d
                .get("P")
                .and_then(Value::text)
                .ok_or("the entry names no partition")?,
            acl: d.get("A").map(acl_text).unwrap_or_default(),
            uidvalidity: d
                .get("V")
                .and_then(Value::number)
                .and_then(|v| u32::try_from(v).ok()),
            legacy_dirs: kind_text.contains('l'),
            kind: kind_of(&kind_text),
        });
    }
    // Cyrus 2.4: "mbtype partition acl" (2.2 and before: "partition acl").
    let text = String::from_utf8_lossy(value);
    let mut parts = text.splitn(3, ' ');
    let first = parts.next().unwrap_or_default();
    let (mbtype, partition, acl) = match first.parse::<u32>() {
        Ok(t) => (
            t,
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        ),
        Err(_) => {
            let rest = text.split_once(' ').map(|(_, r)| r).unwrap_or_default();
            (0, first, rest)
        }
    };
    if partition.is_empty() {
        return Err("the entry names no partition".into());
    }
    // 2.4's MBTYPE bits: 1 remote, 2 reserve, 4 netnews, 8 moving, 16 deleted.
    let kind = if mbtype == 0 {
        Kind::Mail
    } else {
        Kind::Other(format!("2.4 mbtype {mbtype}"))
    };
    Ok(MailboxRecord {
        name,
        uniqueid: None,
        partition: partition.to_string(),
        acl: acl.to_string(),
        uidvalidity: None,
        kind,
        legacy_dirs: true,
    })
}

fn kind_of(t: &str) -> Kind {
    let flags = t.strip_prefix('e').unwrap_or(t);
    let first_is_type = t
        .chars()
        .next()
        .is_some_and(|c| matches!(c, 'a' | 'b' | 'c' | 'n' | 'p' | 's'));
    if first_is_type
        || flags
            .chars()
            .any(|c| matches!(c, 'd' | 'r' | 'z' | 'm' | 'i'))
    {
        return Kind::Other(t.to_string());
    }
    if flags.contains('f') {
        return Kind::Sieve;
    }
    Kind::Mail
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAILBOXES: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/mailboxes.db");

    #[test]
    fn cyrus_3_6_database_lists_mail_and_sieve_mailboxes() {
        let records = super::super::twoskip::parse(MAILBOXES).unwrap();
        let (boxes, skipped) = entries(&records);
        assert!(skipped.is_empty(), "{skipped:?}");
        let names: Vec<&str> = boxes.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "shared",
                "shared.board",
                "user.alice",
                "user.alice.#sieve",
                "user.alice.Drafts",
                "user.alice.Sent",
                "user.alice.Work",
                "user.alice.Work.2024",
                "user.bob",
                "user.bob.#sieve",
                "user.bob.Archive",
                "user.carol",
                "user.carol.#sieve",
                "user.carol.Filed"
            ]
        );
        let board = &boxes[1];
        assert_eq!(board.acl, "anyone\tlrs\talice\tlrswipkxtecda\tbob\tlrs\t");
        assert_eq!(board.uniqueid.as_deref(), Some("5oibks421hd3iwrxnqtt78bk"));
        assert_eq!(board.partition, "default");
        assert_eq!(board.uidvalidity, Some(1796612040));
        assert_eq!(board.kind, Kind::Mail);
        assert_eq!(boxes[3].kind, Kind::Sieve);
    }

    #[test]
    fn cyrus_3_0_entries_are_keyed_by_internal_name() {
        let records = vec![
            (b"$RACL".to_vec(), b"x".to_vec()),
            (
                b"user.fred".to_vec(),
                b"%(I abc P default V 7 A %(fred lrswipkxtecda))".to_vec(),
            ),
            (
                b"user.fred.Trash".to_vec(),
                b"%(T ed I d P default)".to_vec(),
            ),
            (b"example.com!user.x".to_vec(), b"%(P default)".to_vec()),
        ];
        let (boxes, skipped) = entries(&records);
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[0].name, "user.fred");
        assert_eq!(boxes[0].kind, Kind::Mail);
        assert_eq!(boxes[1].kind, Kind::Other("ed".into()));
        assert_eq!(skipped, [Skipped::Domain("example.com".into())]);
    }

    #[test]
    fn cyrus_2_4_entries_are_type_partition_acl() {
        let records = vec![
            (
                b"user.fred".to_vec(),
                b"0 default fred\tlrswipkxtecda\t".to_vec(),
            ),
            (
                b"user.fred.x".to_vec(),
                b"1 server!default fred\tlr\t".to_vec(),
            ),
            (b"bad".to_vec(), b"".to_vec()),
        ];
        let (boxes, skipped) = entries(&records);
        assert_eq!(boxes[0].acl, "fred\tlrswipkxtecda\t");
        assert_eq!(boxes[0].partition, "default");
        assert_eq!(boxes[0].kind, Kind::Mail);
        assert!(matches!(boxes[1].kind, Kind::Other(_)));
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn cyrus_3_6_json_dump_gives_the_same_entries() {
        let dump = br#"{
"shared.board": {"name": "shared.board", "mtime": "1796612039", "uidvalidity": "1796612040", "createdmodseq": "1", "foldermodseq": "3", "mbtype": "e", "partition": "default", "acl": {"anyone": "lrs", "alice": "lrswipkxtecda", "bob": "lrs"}, "uniqueid": "5oibks421hd3iwrxnqtt78bk", "name_history": []},
"user.alice.#sieve": {"name": "user.alice.#sieve", "mtime": "1796612040", "uidvalidity": "1796612041", "createdmodseq": "1", "foldermodseq": "1", "mbtype": "f", "partition": "default", "acl": {"alice": "lrswipkxtecdan"}, "uniqueid": "jjh44pctbqrt530apmxdk5sw", "name_history": []}
}"#;
        let (boxes, skipped) = from_json_dump(dump).unwrap();
        assert!(skipped.is_empty());
        let records = super::super::twoskip::parse(MAILBOXES).unwrap();
        let (from_db, _) = entries(&records);
        let board = from_db.iter().find(|b| b.name == "shared.board").unwrap();
        // serde_json keeps an object's members sorted, so the ACL's entries come in identifier
        // order rather than Cyrus's (the same rights either way).
        fn sorted(acl: &str) -> Vec<Vec<&str>> {
            let fields: Vec<&str> = acl.split('\t').filter(|f| !f.is_empty()).collect();
            let mut pairs: Vec<_> = fields.chunks(2).map(<[&str]>::to_vec).collect();
            pairs.sort();
            pairs
        }
        assert_eq!(sorted(&boxes[0].acl), sorted(&board.acl));
        let without_acl = |b: &MailboxRecord| MailboxRecord {
            acl: String::new(),
            ..b.clone()
        };
        assert_eq!(without_acl(&boxes[0]), without_acl(board));
        assert_eq!(boxes[1].kind, Kind::Sieve);
        assert!(from_json_dump(b"[1]").is_err());
        assert!(from_json_dump(b"{").is_err());
    }

    #[test]
    fn database_names_map_dots_inside_levels_to_carets() {
        assert_eq!(
            dbname_to_internal(b"user\x1ffred\x1fa.b").unwrap(),
            "user.fred.a^b"
        );
        assert_eq!(
            dbname_to_internal(b"example.com\x1duser\x1ffred"),
            Err("example.com".to_string())
        );
    }
}
