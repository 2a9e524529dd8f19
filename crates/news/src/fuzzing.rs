//! The entry points shared by the fuzz targets (`fuzz/fuzz_targets/news_feed_line.rs`,
//! `news_article.rs`) and the corpus tests that run them on stable `cargo test`. Not part of
//! the stable API.

use std::path::Path;

use crate::feed::{self, TradspoolMap};

/// Parses `data` as feed lines (and as an `Xref` field and a `tradspool.map`). Whatever parses must name groups and numbers a spool path can be made
/// of. Panics only on a bug.
pub fn feed_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let map = TradspoolMap::parse(&text);
    let spool = Path::new("/spool");
    for line in text.lines() {
        let Ok(Some(parsed)) = feed::parse_line(line, spool, Some(&map)) else {
            continue;
        };
        assert!(!parsed.placements.is_empty(), "{line:?}");
        assert!(parsed.placements.len() <= feed::MAX_GROUPS + 2, "{line:?}");
        for (group, number) in &parsed.placements {
            assert!(*number > 0, "{line:?}");
            assert!(!group.is_empty(), "{line:?}");
            let path = feed::article_path(spool, group, *number);
            assert!(path.starts_with(spool), "{line:?} -> {}", path.display());
        }
    }
    for p in feed::xref_placements(&text) {
        assert!(p.1 > 0 && !p.0.is_empty());
    }
    let _ = feed::xref_field(data);
}

