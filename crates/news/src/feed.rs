//! What the news server tells us, as text: feed lines naming articles, `Xref` header fields,
//! storage tokens, and the `active` file.
//!
//! A feed line names one article, in any of the forms INN writes or `fastrm` reads:
//! - a path relative to the spool (`comp/lang/rust/1234`) or absolute under it;
//! - `group:number` items, as INN's `R` feed item (the `Xref` field without the host) writes
//!   them, one per group the article was filed in;
//! - a storage token (`@…@`) of the tradspool method, as INN's `n` feed item and `expire -z`
//!   write them; it needs INN's `tradspool.map` to name the group.
//!
//! Several items may share a line (INN's `Wn R` feeds write `TOKEN group:n group:m`); they
//! are taken together as one article.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::NewsError;

/// Longest feed line taken; a longer one is reported and skipped.
pub const MAX_LINE: usize = 8 * 1024;

/// At most this many `group:number` items are taken from one line or `Xref` field (INN's own
/// crosspost limit is far below).
pub const MAX_GROUPS: usize = 256;

/// A group and article number where the spool has the article.
pub type Placement = (String, u32);

/// What one line names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedLine {
    /// Every group and number the line gives, the first being where the file is read from.
    pub placements: Vec<Placement>,
    /// The line named the article by its storage token (the article itself, in every group
    /// it was filed in, as opposed to one of its links).
    pub by_token: bool,
}

/// Decodes one feed line. `Ok(None)` for a blank or comment line. A Message-ID (`<…>`, as
/// INN's `m` feed item writes it) is passed over.
pub fn parse_line(
    line: &str,
    spool: &Path,
    map: Option<&TradspoolMap>,
) -> Result<Option<FeedLine>, NewsError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(NewsError::Input(format!(
            "a line of {} octets (limit {MAX_LINE})",
            line.len()
        )));
    }
    let mut filed: Vec<Placement> = Vec::new();
    let mut token: Option<Placement> = None;
    let mut path: Option<Placement> = None;
    for item in line.split_ascii_whitespace() {
        if item.starts_with('<') && item.ends_with('>') {
            continue;
        }
        if item.starts_with('@') {
            let map = map.ok_or_else(|| {
                NewsError::Input(format!(
                    "{item}: a storage token needs INN's tradspool.map (`newspathdb`)"
                ))
            })?;
            token = Some(decode_token(item, map)?);
        } else if let Some(p) = group_item(item) {
            if filed.len() < MAX_GROUPS && !filed.contains(&p) {
                filed.push(p);
            }
        } else {
            path = Some(path_placement(item, spool)?);
        }
    }
    // The file is read where the token or path says; the `group:number` items add the
    // groups it was crossposted to.
    let by_token = token.is_some();
    let first = token.or(path);
    if let Some(first) = first {
        filed.retain(|p| *p != first);
        filed.insert(0, first);
    }
    if filed.is_empty() {
        return Err(NewsError::Input(format!("{line:?} names no article")));
    }
    Ok(Some(FeedLine {
        placements: filed,
        by_token,
    }))
}

/// Whether `name` can be a newsgroup's: dot-separated parts, none empty, of visible ASCII
/// other than `/`, `\\` and `:` (so its spool path stays inside the spool whatever a feed or
/// an `Xref` field says).
pub fn valid_group(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'\\' | b':'))
        })
}

/// `group:number`, when `item` is one.
fn group_item(item: &str) -> Option<Placement> {
    let (group, number) = item.rsplit_once(':')?;
    if !valid_group(group) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u32 = number.parse().ok().filter(|&n| n > 0)?;
    Some((group.to_string(), number))
}

/// The group and number a tradspool path stands for (`comp/lang/rust/1234`), relative to the
/// spool or absolute under it.
pub fn path_placement(item: &str, spool: &Path) -> Result<Placement, NewsError> {
    let path = Path::new(item);
    let relative = if path.is_absolute() {
        path.strip_prefix(spool).map_err(|_| {
            NewsError::Input(format!("{item} is not under the spool {}", spool.display()))
        })?
    } else {
        path
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in relative.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| NewsError::Input(format!("{item}: not UTF-8")))?,
            ),
            std::path::Component::CurDir => {}
            _ => return Err(NewsError::Input(format!("{item}: not a spool path"))),
        }
    }
    let number = parts
        .pop()
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| NewsError::Input(format!("{item}: no article number at its end")))?;
    let group = parts.join(".");
    if parts.iter().any(|p| p.contains('.')) || !valid_group(&group) {
        return Err(NewsError::Input(format!("{item}: no newsgroup directory")));
    }
    Ok((group, number))
}

/// The `group:number` items of an `Xref` header field body (`host group:n group:m`).
pub fn xref_placements(body: &str) -> Vec<Placement> {
    let mut out: Vec<Placement> = Vec::new();
    for item in body.split_ascii_whitespace() {
        if let Some(p) = group_item(item) {
            if out.len() < MAX_GROUPS && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The body of the first `Xref` field of a header section, unfolded.
pub fn xref_field(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            return None;
        }
        let Some((name, body)) = line.split_once(':') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("xref") {
            continue;
        }
        let mut value = body.trim().to_string();
        while let Some(next) = lines.peek() {
            if next.starts_with([' ', '\t']) {
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            } else {
                break;
            }
        }
        return Some(value);
    }
    None
}

/// INN's `tradspool.map`: newsgroup numbers (as tradspool tokens carry them) to names.
#[derive(Clone, Debug, Default)]
pub struct TradspoolMap {
    by_number: HashMap<u32, String>,
}

impl TradspoolMap {
    /// Reads the map (INN's `PATHSPOOL/tradspool.map`: one `group/with/slashes number` per
    /// line; dotted names are taken too).
    pub fn read(path: &Path) -> Result<TradspoolMap, NewsError> {
        let text = std::fs::read_to_string(path).map_err(|e| NewsError::io(path, e))?;
        Ok(TradspoolMap::parse(&text))
    }

    /// The map from its text; lines that are not `group number` are passed over.
    pub fn parse(text: &str) -> TradspoolMap {
        let mut by_number = HashMap::new();
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            if let (Some(group), Some(number)) = (words.next(), words.next()) {
                let group = group.replace('/', ".");
                if let (Ok(n), true) = (number.parse::<u32>(), valid_group(&group)) {
                    by_number.insert(n, group);
                }
            }
        }
        TradspoolMap { by_number }
    }

    /// Reads the map if it exists (INN writes it once a tradspool group has an article).
    pub fn read_if_present(path: &Path) -> Result<Option<TradspoolMap>, NewsError> {
        match path.try_exists() {
            Ok(true) => Self::read(path).map(Some),
            Ok(false) => Ok(None),
            Err(e) => Err(NewsError::io(path, e)),
        }
    }
}

/// The storage method byte of a tradspool token (INN's `storage.conf` method numbering).
pub const TRADSPOOL_METHOD: u8 = 5;

/// The group and article number a tradspool storage token stands for. A token is `@`, 36
/// hexadecimal digits, `@`: the method, the storage class, then 16 octets where tradspool
/// keeps the group's number in `tradspool.map` and the article number, each a C `unsigned
/// long` holding a big-endian 32-bit value: on 64-bit machines the group number is in octets
/// 2–5 and the article number in 10–13 (6–9 and 14–17 zero); on 32-bit ones they are in
/// 2–5 and 6–9.
pub fn decode_token(text: &str, map: &TradspoolMap) -> Result<Placement, NewsError> {
    let hex = text
        .strip_prefix('@')
        .and_then(|t| t.strip_suffix('@'))
        .filter(|h| h.len() == 36 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| NewsError::Input(format!("{text}: not a storage token")))?;
    let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
    let method = byte(0);
    if method != TRADSPOOL_METHOD {
        return Err(NewsError::Input(format!(
            "{text}: storage method {method} is not tradspool; only a tradspool spool can be \
             shown as mailboxes"
        )));
    }
    let word = |at: usize| u32::from_be_bytes([byte(at), byte(at + 1), byte(at + 2), byte(at + 3)]);
    let group_number = word(2);
    let article = match word(6) {
        0 => word(10),
        narrow => narrow,
    };
    let group = map.by_number.get(&group_number).ok_or_else(|| {
        NewsError::Input(format!(
            "{text}: newsgroup number {group_number} is not in tradspool.map"
        ))
    })?;
    if article == 0 {
        return Err(NewsError::Input(format!("{text}: article number 0")));
    }
    Ok((group.clone(), article))
}

/// One line of INN's `active` file: `group high low status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveGroup {
    pub name: String,
    /// `y` (posting allowed), `m` (moderated), `n` (no local posting), `j`, `x`, `=other`.
    pub status: String,
}

impl ActiveGroup {
    /// Whether readers see the group: statuses `y`, `m` and `n` (not `j`unk, `x` (no local
    /// articles) or `=` aliases).
    pub fn is_shown(&self) -> bool {
        matches!(self.status.as_str(), "y" | "m" | "n")
    }
}

/// Reads an `active` file. Lines that are not four fields are reported in the error.
pub fn read_active(path: &Path) -> Result<Vec<ActiveGroup>, NewsError> {
    let text = std::fs::read_to_string(path).map_err(|e| NewsError::io(path, e))?;
    let mut groups = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        match fields.as_slice() {
            [name, _high, _low, status] => groups.push(ActiveGroup {
                name: name.to_string(),
                status: status.to_string(),
            }),
            _ => {
                return Err(NewsError::Input(format!(
                    "{} line {}: not `group high low status`",
                    path.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(groups)
}

/// The spool path of an article (of a group [`valid_group`] accepts: every name this module
/// hands out).
pub fn article_path(spool: &Path, group: &str, number: u32) -> PathBuf {
    spool.join(group.replace('.', "/")).join(number.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn map() -> TradspoolMap {
        let mut by_number = HashMap::new();
        by_number.insert(3, "comp.lang.rust".to_string());
        TradspoolMap { by_number }
    }

    #[test]
    fn the_map_names_groups_with_slashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tradspool.map");
        std::fs::write(&path, "control 1\njunk 3\ndarius/test/one 4\n").unwrap();
        let map = TradspoolMap::read(&path).unwrap();
        let token = "@050000000004000000000000000200000000@";
        assert_eq!(
            decode_token(token, &map).unwrap(),
            ("darius.test.one".into(), 2)
        );
    }

    #[test]
    fn lines_in_every_form() {
        let spool = Path::new("/spool");
        let p = |l| {
            parse_line(l, spool, Some(&map()))
                .unwrap()
                .unwrap()
                .placements
        };
        assert_eq!(p("comp/lang/rust/12"), vec![("comp.lang.rust".into(), 12)]);
        assert_eq!(
            p("/spool/comp/lang/rust/12"),
            vec![("comp.lang.rust".into(), 12)]
        );
        assert_eq!(
            p("misc.test:4 comp.lang.rust:12"),
            vec![("misc.test".into(), 4), ("comp.lang.rust".into(), 12)]
        );
        // The token names where the file is; the items add the crossposts (INN's `Wnm R`
        // line: token, Message-ID, Xref items). 64-bit layout, then 32-bit.
        let token = "@050000000003000000000000001200000000@";
        let line = parse_line(
            &format!("{token} <x@example.org> misc.test:4 comp.lang.rust:18"),
            spool,
            Some(&map()),
        )
        .unwrap()
        .unwrap();
        assert!(line.by_token);
        assert_eq!(
            line.placements,
            vec![("comp.lang.rust".into(), 18), ("misc.test".into(), 4)]
        );
        assert_eq!(
            p("@050000000003000000120000000000000000@"),
            vec![("comp.lang.rust".into(), 18)]
        );
        assert!(
            !parse_line("comp/lang/rust/12", spool, None)
                .unwrap()
                .unwrap()
                .by_token
        );
        assert_eq!(parse_line("  ", spool, None).unwrap(), None);
    }

    #[test]
    fn bad_lines_are_errors_not_guesses() {
        let spool = Path::new("/spool");
        for bad in [
            "/elsewhere/comp/1",
            "comp/lang/rust/x",
            "../etc/1",
            "1234",
            "@05@",
            "@010000000003000000120000000000000000@",
            "@050000000009000000120000000000000000@",
            "@050000000003000000000000000000000000@",
            "..:3",
            "/x:3",
            "a..b:3",
            ".a:3",
            "a/b:3",
        ] {
            assert!(parse_line(bad, spool, Some(&map())).is_err(), "{bad}");
        }
        assert!(parse_line("@050000000003000000120000000000000000@", spool, None).is_err());
        let long = "a/".repeat(MAX_LINE);
        assert!(parse_line(&long, spool, None).is_err());
    }

    #[test]
    fn xref_fields_are_found_and_unfolded() {
        let header = b"Subject: x\r\nXREF: news.example\r\n comp.lang.rust:5\tmisc.test:9\r\n\r\n";
        let body = xref_field(header).unwrap();
        assert_eq!(
            xref_placements(&body),
            vec![("comp.lang.rust".into(), 5), ("misc.test".into(), 9)]
        );
        assert_eq!(xref_field(b"Subject: x\r\n\r\nXref: a b:1\r\n"), None);
    }

    #[test]
    fn active_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("active");
        std::fs::write(
            &path,
            "comp.lang.rust 0000000012 0000000001 y\njunk 0 1 j\nx.y 1 1 =comp.lang.rust\n",
        )
        .unwrap();
        let groups = read_active(&path).unwrap();
        assert_eq!(groups.len(), 3);
        assert!(groups[0].is_shown());
        assert!(!groups[1].is_shown());
        assert!(!groups[2].is_shown());
        std::fs::write(&path, "broken line\n").unwrap();
        assert!(read_active(&path).is_err());
    }
}
