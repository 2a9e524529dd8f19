//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/cyrus_*.rs`) and the
//! committed-corpus runner (`tests/fuzz_corpus.rs`): each parses arbitrary bytes and checks
//! what a successful parse promises, panicking only when a promise is broken.

use crate::cyrus::{header, index, skiplist, twoskip, Records};

/// A twoskip or skiplist file: no panic; the records come back in strictly ascending key
/// order and none is larger than the input.
pub fn twoskip(data: &[u8]) {
    if let Ok(records) = twoskip::parse(data) {
        check_records(data, &records);
    }
    if let Ok(records) = skiplist::parse(data) {
        check_records(data, &records);
    }
}

fn check_records(data: &[u8], records: &Records) {
    for pair in records.windows(2) {
        assert!(pair[0].0 < pair[1].0, "database keys out of order");
    }
    for (k, v) in records {
        assert!(
            k.len() + v.len() <= data.len(),
            "a record larger than its file"
        );
    }
}

/// A `cyrus.index`: no panic; UIDs strictly ascend and the records fit in the input. The
/// same bytes as a `cyrus.header` must not panic either.
pub fn cyrus_index(data: &[u8]) {
    if let Ok(ix) = index::parse(data) {
        for pair in ix.records.windows(2) {
            assert!(pair[0].uid < pair[1].uid, "index UIDs out of order");
        }
        assert!(
            ix.records.len() * 88 <= data.len(),
            "more records than the file holds"
        );
        for r in &ix.records {
            assert!(r.user_flag_bits().all(|b| b < 128));
        }
    }
    let _ = header::parse(data);
}
