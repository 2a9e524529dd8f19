//! A mailbox's `cyrus.header` (`imap/mailbox.c`, `mailbox_read_header`): the names of its user
//! flags (keywords), by bit number in the index records, and its uniqueid, quota root and ACL.
//!
//! After the magic (with Jim Morris's quotation) come, in Cyrus 3.x, one dlist line
//! `%(T e N name I uniqueid Q quotaroot A %(id rights …) U (flag …))` where `NIL` marks a
//! removed flag's slot; in Cyrus 2.4, three lines: `quotaroot<TAB>uniqueid`, the flag names
//! separated by spaces, and the ACL as `id<TAB>rights<TAB>…`.

use std::path::Path;

use super::dlist::{self, Value};
use super::{read_bounded, CyrusError};

/// The magic that opens every `cyrus.header`, quotation included.
pub const MAGIC: &[u8] = b"\xa1\x02\x8b\x0dCyrus mailbox header\n\
\"The best thing about this system was that it had lots of goals.\"\n\
\t--Jim Morris on Andrew\n";
/// Most user flags a Cyrus mailbox has (four 32-bit words of each index record).
pub const MAX_USER_FLAGS: usize = 128;
/// Largest header file we read.
const MAX_FILE: u64 = 1 << 20;

/// What `cyrus.header` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The internal mailbox name (3.x only).
    pub name: Option<String>,
    /// The mailbox's uniqueid, which keys seen databases.
    pub uniqueid: Option<String>,
    /// The quota root governing the mailbox.
    pub quotaroot: Option<String>,
    /// The ACL in Cyrus's text form, `id<TAB>rights<TAB>…`.
    pub acl: String,
    /// User flag names by bit number; `None` for an unused slot.
    pub flags: Vec<Option<String>>,
}

/// Reads the `cyrus.header` at `path`.
pub fn read_file(path: &Path) -> Result<Header, CyrusError> {
    let bytes = read_bounded(path, MAX_FILE)?;
    parse(&bytes).map_err(|(offset, what)| CyrusError::format(path, offset as u64, what))
}

/// Parses a `cyrus.header`'s bytes; an error is (offset, what).
pub fn parse(b: &[u8]) -> Result<Header, (usize, String)> {
    let Some(rest) = b.strip_prefix(MAGIC) else {
        return Err((0, "not a cyrus.header (bad magic)".into()));
    };
    let base = MAGIC.len();
    if rest.starts_with(b"%(") {
        let (v, _) = dlist::parse(rest).map_err(|(at, what)| (base + at, what))?;
        return Ok(from_dlist(&v));
    }
    legacy(rest).map_err(|(at, what)| (base + at, what))
}

fn from_dlist(v: &Value) -> Header {
    let mut h = Header {
        name: v.get("N").and_then(Value::text),
        uniqueid: v.get("I").and_then(Value::text),
        quotaroot: v.get("Q").and_then(Value::text),
        acl: v.get("A").map(acl_text).unwrap_or_default(),
        flags: Vec::new(),
    };
    if let Some(Value::List(items)) = v.get("U") {
        for item in items.iter().take(MAX_USER_FLAGS) {
            h.flags
                .push(item.text().filter(|t| t != "NIL" && !t.is_empty()));
        }
    }
    h
}

/// An ACL dlist map `%(id rights …)` as `id<TAB>rights<TAB>…`.
pub fn acl_text(v: &Value) -> String {
    let mut out = String::new();
    if let Value::Map(pairs) = v {
        for (id, rights) in pairs {
            out.push_str(&String::from_utf8_lossy(id));
            out.push('\t');
            out.push_str(&rights.text().unwrap_or_default());
            out.push('\t');
        }
    }
    out
}

/// The Cyrus 2.4 form: three lines after the magic.
fn legacy(rest: &[u8]) -> Result<Header, (usize, String)> {
    let mut lines = rest.split(|&c| c == b'\n');
    let first = lines.next().unwrap_or_default();
    let (quotaroot, uniqueid) = match first.iter().position(|&c| c == b'\t') {
        Some(tab) => (&first[..tab], Some(&first[tab + 1..])),
        None => (first, None),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Some(flags_line) = lines.next() else {
        return Err((
            first.len(),
            "cyrus.header ends before its flag names".into(),
        ));
    };
    let flags = flags_line
        .split(|&c| c == b' ')
        .take(MAX_USER_FLAGS)
        .map(|f| (!f.is_empty()).then(|| text(f)))
        .collect::<Vec<_>>();
    let acl = lines.next().map(text).unwrap_or_default();
    let mut flags = flags;
    while flags.last().is_some_and(Option::is_none) {
        flags.pop();
    }
    Ok(Header {
        name: None,
        uniqueid: uniqueid.filter(|u| !u.is_empty()).map(text),
        quotaroot: (!quotaroot.is_empty()).then(|| text(quotaroot)),
        acl,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &[u8] = include_bytes!("../../tests/fixtures/cyrus36/alice.cyrus.header");

    #[test]
    fn cyrus_3_6_header_names_flags_by_bit() {
        let h = parse(ALICE).unwrap();
        assert_eq!(h.name.as_deref(), Some("user.alice"));
        assert_eq!(h.uniqueid.as_deref(), Some("5i2xkkhm4ypc9lyozh9n8wel"));
        assert_eq!(h.quotaroot.as_deref(), Some("user.alice"));
        assert_eq!(h.acl, "alice\tlrswipkxtecdan\t");
        let names: Vec<_> = h.flags.iter().map(|f| f.as_deref().unwrap()).collect();
        assert_eq!(names, ["$Forwarded", "Project-X", "$Label1", "NonJunk"]);
    }

    #[test]
    fn cyrus_2_4_header_has_three_lines() {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(
            b"user.fred\t1a2b3c4d5e6f7a8b\n$Forwarded  Junk \nfred\tlrswipkxtecda\tanyone\tlr\t\n",
        );
        let h = parse(&b).unwrap();
        assert_eq!(h.quotaroot.as_deref(), Some("user.fred"));
        assert_eq!(h.uniqueid.as_deref(), Some("1a2b3c4d5e6f7a8b"));
        assert_eq!(
            h.flags,
            [
                Some("$Forwarded".to_string()),
                None,
                Some("Junk".to_string())
            ]
        );
        assert_eq!(h.acl, "fred\tlrswipkxtecda\tanyone\tlr\t");
    }

    #[test]
    fn removed_flag_slots_stay_empty() {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(b"%(T e N shared I x A %(anyone lrs) U (one NIL three))\n");
        let h = parse(&b).unwrap();
        assert_eq!(h.flags, [Some("one".into()), None, Some("three".into())]);
    }

    #[test]
    fn bad_magic_or_truncation_is_an_error() {
        assert!(parse(b"hello").is_err());
        for cut in 0..ALICE.len() {
            let _ = parse(&ALICE[..cut]);
        }
        assert!(parse(&ALICE[..MAGIC.len() + 10]).is_err());
    }
}
