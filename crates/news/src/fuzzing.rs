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

/// Decodes `data` as a news article file (wire format or bare LF). The message must have
/// CRLF line ends only and be no longer than twice the file; a wire-format article without
/// bare LFs must come back from re-encoding as it went in. Panics only on a bug.
pub fn article(data: &[u8]) {
    let Ok(message) = mailstore::decode_article(data, None) else {
        return;
    };
    assert!(message.len() <= 2 * data.len(), "grew past twice the input");
    for (at, &b) in message.iter().enumerate() {
        if b == b'\n' {
            assert!(at > 0 && message[at - 1] == b'\r', "bare LF at {at}");
        }
    }
    // A wire-format file whose every line ends CRLF and is dot-stuffed as an encoder would
    // have (a leading dot doubled) comes back from re-encoding byte for byte.
    let Some(body) = data.strip_suffix(b".\r\n") else {
        return;
    };
    let encoder_made = (body.is_empty() || body.ends_with(b"\r\n"))
        && body
            .split_inclusive(|&b| b == b'\n')
            .all(|l| l.ends_with(b"\r\n") && (l[0] != b'.' || l.get(1) == Some(&b'.')));
    if !encoder_made {
        return;
    }
    let mut again = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            again.push(b'.');
        }
        again.extend_from_slice(line);
    }
    again.extend_from_slice(b".\r\n");
    assert_eq!(again, data, "wire round trip");
}
