//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/maildir_uidlist.rs`) and the
//! corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::maildir::uidlist;

/// Parses `data` as a `dovecot-uidlist`. What parses must write back (version 3) to a file
/// that parses to the same list. Panics only on a bug.
pub fn uidlist(data: &[u8]) {
    let Ok(list) = uidlist::parse(data) else {
        return;
    };
    assert!(list.uidvalidity > 0 || data.starts_with(b"1"), "{list:?}");
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
