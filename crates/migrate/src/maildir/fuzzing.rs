//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/maildir_uidlist.rs`) and the
//! corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::maildir::uidlist;

/// Parses `data` as a `dovecot-uidlist`. What parses must write back (version 3) to a file
/// that parses to the same list. Panics only on a bug.
pub fn uidlist(data: &[u8]) {
    let Ok(list) = uidlist::parse(data) else {
        return;
    };
    // Only a version 1 header (first word `1`) may leave UIDVALIDITY 0.
    let header = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let version_one = header
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty())
        == Some(b"1".as_slice());
    assert!(list.uidvalidity > 0 || version_one, "{list:?}");
    assert!(list.uids.values().all(|&u| u > 0), "{list:?}");
    if list.uidvalidity == 0 {
        return;
    }
    let mut records: Vec<(u32, String)> = list.uids.iter().map(|(b, &u)| (u, b.clone())).collect();
    records.sort();
    let mut out = Vec::new();
    uidlist::write(
        &mut out,
        list.uidvalidity,
        list.next_uid,
        list.guid.as_deref(),
        &records,
    )
    .unwrap_or_else(|e| panic!("writing to memory failed: {e}"));
    let again = uidlist::parse(out.as_slice())
        .unwrap_or_else(|e| panic!("written uidlist does not parse: {e:?}"));
    assert_eq!(again, list);
}
