//! Small per-user and per-root records: seen state (`imap/seen_db.c`), subscriptions
//! (`imap/mboxlist.c`) and quota roots (`imap/quota_db.c`, `lib/cyrusdb_quotalegacy.c`).

use super::dlist::{self, Value};
use super::mboxlist::dbname_to_internal;
use super::Records;

/// A seen database value: `1 LASTREAD LASTUID LASTCHANGE UIDSET` (version 1), or without the
/// version in older files. Answers the UID set as ranges, bounded by `max_ranges`.
pub fn seen_uids(value: &[u8], max_ranges: usize) -> Result<Vec<(u32, u32)>, String> {
    let text = String::from_utf8_lossy(value);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let set = match fields.as_slice() {
        [] => return Err("empty seen record".into()),
        ["1", _, _, _, set] => *set,
        ["1", _, _, _] | [_, _, _] => "",
        [_, _, _, set] => *set,
        _ => return Err(format!("seen record with {} fields", fields.len())),
    };
    uid_set(set, max_ranges)
}

/// An IMAP-style UID set as Cyrus stores it (`1:5,7,9:*` is not written; `*` is refused).
pub fn uid_set(text: &str, max_ranges: usize) -> Result<Vec<(u32, u32)>, String> {
    let mut out = Vec::new();
    if text.is_empty() {
        return Ok(out);
    }
    for part in text.split(',') {
        if out.len() >= max_ranges {
            return Err(format!("more than {max_ranges} ranges in a UID set"));
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| format!("bad UID {s:?}"));
        let (lo, hi) = match part.split_once(':') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        out.push((lo.min(hi), lo.max(hi)));
    }
    Ok(out)
}

/// A subscription key of `user`'s database as an internal name, or `None` for the version
/// record and names we cannot place. Cyrus 3.5+: `N` + the name in database form, with the
/// user's own mailboxes as `INBOX…`; earlier: the internal name itself.
pub fn subscription(user: &str, key: &[u8], database_form: bool) -> Option<String> {
    if !database_form {
        return (!key.is_empty()).then(|| String::from_utf8_lossy(key).into_owned());
    }
    let rest = key.strip_prefix(b"N")?;
    let name = dbname_to_internal(rest).ok()?;
    if name == "INBOX" {
        return Some(format!("user.{user}"));
    }
    if let Some(sub) = name.strip_prefix("INBOX.") {
        return Some(format!("user.{user}.{sub}"));
    }
    Some(name)
}

/// Whether a subscriptions database uses the 3.5+ database form (it has a version record).
pub fn subscriptions_in_database_form(records: &[(Vec<u8>, Vec<u8>)]) -> bool {
    records.iter().any(|(k, _)| k.as_slice() == b"\x1fVER\x1f")
}

/// A quota root's limits: storage in KiB and messages, `None` for no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaRoot {
    /// The STORAGE limit in KiB.
    pub storage_kib: Option<u64>,
    /// The MESSAGE limit.
    pub messages: Option<u64>,
}

fn limit(n: i64) -> Option<u64> {
    u64::try_from(n).ok()
}

/// A quota value: 3.x `%(S (USED LIMIT) M (USED LIMIT) …)` or 2.4's `USED\nLIMIT\n` (storage
/// only; `-1` is no limit).
pub fn quota(value: &[u8]) -> Result<QuotaRoot, String> {
    if value.starts_with(b"%(") {
        let (d, _) = dlist::parse(value).map_err(|(at, what)| format!("at {at}: {what}"))?;
        let pick = |k: &str| -> Option<u64> {
            match d.get(k)? {
                Value::List(items) => limit(items.get(1)?.signed()?),
                Value::Atom(_) | Value::Map(_) => None,
            }
        };
        return Ok(QuotaRoot {
            storage_kib: pick("S"),
            messages: pick("M"),
        });
    }
    let text = String::from_utf8_lossy(value);
    let mut lines = text.lines();
    let _used = lines.next().ok_or("empty quota file")?;
    let limit_text = lines.next().ok_or("quota file without a limit line")?;
    let n: i64 = limit_text
        .trim()
        .parse()
        .map_err(|_| format!("bad quota limit {limit_text:?}"))?;
    // Later 2.x files may add "M used limit" lines; 2.4 only kept storage.
    let mut root = QuotaRoot {
        storage_kib: limit(n),
        messages: None,
    };
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let ["M", _, lim] = parts.as_slice() {
            root.messages = lim.parse::<i64>().ok().and_then(limit);
        }
    }
    Ok(root)
}

/// The RFC 6154 special-use attributes (`\Sent`…) of mailboxes by uniqueid, from the
/// records of Cyrus 3.x's `annotations.db` (`imap/annotate.c`): key `MBOXID NUL /specialuse
/// NUL USERID NUL` (the owner as `[.OwNeR.]`), value a 32-bit big-endian length padded to 8
/// octets (a C `unsigned long`), then the text. Malformed records are skipped.
pub fn special_uses(records: &Records) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (key, value) in records {
        let mut parts = key.split(|&c| c == 0);
        let (Some(id), Some(entry)) = (parts.next(), parts.next()) else {
            continue;
        };
        if entry != b"/specialuse" || id.is_empty() {
            continue;
        }
        let Some(len) = value.get(..4).and_then(|b| b.try_into().ok()) else {
            continue;
        };
        let len = u32::from_be_bytes(len) as usize;
        let Some(text) = value.get(8..8usize.saturating_add(len)) else {
            continue;
        };
        let uses: Vec<String> = String::from_utf8_lossy(text)
            .split_whitespace()
            .filter(|u| u.starts_with('\\'))
            .map(str::to_string)
            .collect();
        if !uses.is_empty() {
            out.push((String::from_utf8_lossy(id).into_owned(), uses));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_3_6_seen_record_of_a_non_owner() {
        assert_eq!(
            seen_uids(b"1 1796612040 3 1796612040 1,3", 100).unwrap(),
            [(1, 1), (3, 3)]
        );
        assert_eq!(seen_uids(b"1 1 9 1 2:5,9", 100).unwrap(), [(2, 5), (9, 9)]);
        assert_eq!(seen_uids(b"1 1 0 1", 100).unwrap(), []);
        assert!(seen_uids(b"1 1 1 1 x", 100).is_err());
        assert!(seen_uids(b"1 1 1 1 1,2,3", 2).is_err());
    }

    #[test]
    fn cyrus_3_6_subscriptions_are_relative_to_the_user() {
        assert_eq!(
            subscription("alice", b"NINBOX\x1fWork\x1f2024", true).as_deref(),
            Some("user.alice.Work.2024")
        );
        assert_eq!(
            subscription("alice", b"Nshared\x1fboard", true).as_deref(),
            Some("shared.board")
        );
        assert_eq!(
            subscription("alice", b"Nuser\x1fbob", true).as_deref(),
            Some("user.bob")
        );
        assert_eq!(subscription("alice", b"\x1fVER\x1f", true), None);
        assert_eq!(
            subscription("alice", b"user.alice.Sent", false).as_deref(),
            Some("user.alice.Sent")
        );
    }

    #[test]
    fn special_use_annotations_by_mailbox_id() {
        let mut value = 5u32.to_be_bytes().to_vec();
        value.extend_from_slice(&[0, 0, 0, 0]);
        value.extend_from_slice(b"\\Sent\0rest");
        let records = vec![
            (b"abc\0/specialuse\0[.OwNeR.]\0".to_vec(), value.clone()),
            (b"abc\0/comment\0\0".to_vec(), value.clone()),
            (b"def\0/specialuse\0\0".to_vec(), vec![0, 0, 0, 99]),
        ];
        assert_eq!(
            special_uses(&records),
            [("abc".to_string(), vec!["\\Sent".to_string()])]
        );
    }

    #[test]
    fn quota_files_of_3_6_and_2_4() {
        let q = quota(include_bytes!(
            "../../tests/fixtures/cyrus36/quota.user.alice"
        ))
        .unwrap();
        assert_eq!(
            q,
            QuotaRoot {
                storage_kib: Some(5000),
                messages: Some(100)
            }
        );
        let q = quota(b"%(S (0 300) M (2 -1))").unwrap();
        assert_eq!(
            q,
            QuotaRoot {
                storage_kib: Some(300),
                messages: None
            }
        );
        let q = quota(b"123456\n2048\n").unwrap();
        assert_eq!(
            q,
            QuotaRoot {
                storage_kib: Some(2048),
                messages: None
            }
        );
        assert!(quota(b"").is_err());
        assert!(quota(b"%(S (1").is_err());
    }
}
