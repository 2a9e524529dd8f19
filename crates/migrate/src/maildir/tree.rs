//! The Maildir++ layout Dovecot uses by default: INBOX is the root directory, every other
//! folder a directory beside `cur/` named `.` + the folder's name with `.` between hierarchy
//! levels (`.Sent`, `.Work.Projects`), each level in modified UTF-7 (RFC 3501 §5.1.3). And
//! Dovecot's `subscriptions` file in the root.

use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::lines::{LineError, LineReader};
use crate::maildir::error::{MigrateError, Result, SyntaxError};

/// One folder of a Maildir++ tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFolder {
    pub dir: PathBuf,
    /// The folder's hierarchy levels in UTF-8; empty for INBOX.
    pub levels: Vec<String>,
}

/// The folders under `root` (INBOX first, then by directory name). A directory counts as a
/// folder when it has a `cur/` directory.
pub fn folders(root: &Path) -> Result<Vec<TreeFolder>> {
    let mut out = Vec::new();
    if root.join("cur").is_dir() {
        out.push(TreeFolder {
            dir: root.to_path_buf(),
            levels: Vec::new(),
        });
    }
    let mut found = Vec::new();
    let entries = fs::read_dir(root).map_err(|e| MigrateError::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| MigrateError::io(root, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(folder) = name.strip_prefix('.') else {
            continue;
        };
        if folder.is_empty() || folder == "." || !entry.path().join("cur").is_dir() {
            continue;
        }
        found.push((name.clone(), folder.to_string(), entry.path()));
    }
    found.sort();
    for (_, folder, dir) in found {
        let levels = decode_levels(folder.split('.'))
            .map_err(|what| MigrateError::Refused(format!("{}: {what}", dir.display())))?;
        out.push(TreeFolder { dir, levels });
    }
    Ok(out)
}

/// Hierarchy levels from their modified UTF-7 forms.
pub fn decode_levels<'a>(levels: impl Iterator<Item = &'a str>) -> Result<Vec<String>, String> {
    levels
        .map(|l| {
            if l.is_empty() {
                return Err("empty hierarchy level in the folder name".to_string());
            }
            imap_proto::mutf7::decode(l.as_bytes())
                .map_err(|e| format!("folder name level {l:?} is not modified UTF-7: {e}"))
        })
        .collect()
}

/// The directory name of a non-INBOX folder: `.` + its levels in modified UTF-7, `.` between.
pub fn dir_name(levels: &[&str]) -> String {
    let encoded: Vec<String> = levels
        .iter()
        .map(|l| imap_proto::mutf7::encode(l))
        .collect();
    format!(".{}", encoded.join("."))
}

/// Parses Dovecot's `subscriptions`: version 2 (`V<TAB>2`, an empty line, then one name a
/// line with a TAB between hierarchy levels) or version 1 (one name a line, `.` between
/// levels). Each name as its levels, in modified UTF-7 as written; `INBOX` is one level.
pub fn parse_subscriptions(input: impl BufRead) -> Result<Vec<Vec<String>>, SyntaxError> {
    let mut lines = LineReader::new(input, 4096);
    let mut names = Vec::new();
    let mut separator = '.';
    loop {
        let line = match lines.next_line() {
            Ok(Some(l)) => String::from_utf8_lossy(l).into_owned(),
            Ok(None) => return Ok(names),
            Err(LineError::TooLong(n)) => return Err(SyntaxError::new(n, "line too long")),
            Err(LineError::Io(e)) => return Err(SyntaxError::new(lines.line + 1, e.to_string())),
        };
        if lines.line == 1 {
            if let Some(version) = line.strip_prefix("V\t") {
                if version.trim() != "2" {
                    return Err(SyntaxError::new(1, format!("unknown version {version:?}")));
                }
                separator = '\t';
                continue;
            }
        }
        if line.is_empty() {
            continue;
        }
        names.push(line.split(separator).map(str::to_string).collect());
    }
}

/// Writes a version 2 `subscriptions` file; each name as its levels in UTF-8.
pub fn write_subscriptions(
    out: &mut impl std::io::Write,
    names: &[Vec<String>],
) -> std::io::Result<()> {
    out.write_all(b"V\t2\n\n")?;
    for levels in names {
        let encoded: Vec<String> = levels
            .iter()
            .map(|l| imap_proto::mutf7::encode(l))
            .collect();
        writeln!(out, "{}", encoded.join("\t"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_subscription_versions_give_levels() {
        let v2 = parse_subscriptions(&b"V\t2\n\nArchive\nWork\tProjects\nCaf&-AOk-\n"[..]).unwrap();
        assert_eq!(
            v2,
            [vec!["Archive"], vec!["Work", "Projects"], vec!["Caf&-AOk-"]]
        );
        let v1 = parse_subscriptions(&b"Sent\nWork.Projects\n"[..]).unwrap();
        assert_eq!(v1, [vec!["Sent"], vec!["Work", "Projects"]]);
        assert!(parse_subscriptions(&b"V\t9\n"[..]).is_err());
        let mut out = Vec::new();
        write_subscriptions(&mut out, &[vec!["Work".into(), "Café".into()]]).unwrap();
        assert_eq!(out, b"V\t2\n\nWork\tCaf&AOk-\n");
    }

    #[test]
    fn folder_names_are_decoded_from_modified_utf7() {
        let levels = decode_levels("Caf&-AOk-.Caf&AOk-".split('.')).unwrap();
        assert_eq!(levels, ["Caf&AOk-", "Café"]);
        assert_eq!(dir_name(&["Work", "Café"]), ".Work.Caf&AOk-");
        assert!(decode_levels("a..b".split('.')).is_err());
    }
}
