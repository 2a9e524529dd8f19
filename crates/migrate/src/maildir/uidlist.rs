//! Dovecot's `dovecot-uidlist`: which UID each Maildir file has, and the folder's UIDVALIDITY
//! and next UID.
//!
//! Version 3 (Dovecot 1.0 and later): a header `3 V<uidvalidity> N<nextuid> G<guid> …` (one
//! letter a key, unknown keys ignored), then `UID [EXTENSIONS] :FILENAME` lines, the extensions
//! (`S<size>`, `W<vsize>`, `G<guid>` …) each a letter and a value. Version 1: a header
//! `1 UIDVALIDITY NEXTUID`, then `UID FILENAME` lines. The file name is the message file's
//! name without its `:2,` info part (the part that changes with the flags).

use std::collections::HashMap;
use std::io::BufRead;

use crate::lines::{LineError, LineReader};
use crate::maildir::error::SyntaxError;
use crate::maildir::filename::base_of;

/// Longest uidlist line we read (Dovecot's own lines are a file name and a few numbers).
pub const MAX_LINE: usize = 8 * 1024;

/// What a `dovecot-uidlist` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uidlist {
    pub uidvalidity: u32,
    /// The next UID Dovecot would give (`N`); every listed UID is below it.
    pub next_uid: u32,
    /// The folder's GUID (`G`), as written.
    pub guid: Option<String>,
    /// File name base (the name up to `:`) → UID.
    pub uids: HashMap<String, u32>,
}

impl Uidlist {
    /// The UID of a message file, by its name (with or without the info part).
    pub fn uid_of(&self, file_name: &str) -> Option<u32> {
        self.uids.get(base_of(file_name)).copied()
    }
}

/// Parses a `dovecot-uidlist` (RFC-less: Dovecot's own format, versions 1 and 3).
pub fn parse(input: impl BufRead) -> Result<Uidlist, SyntaxError> {
    let mut lines = LineReader::new(input, MAX_LINE);
    let header = match next(&mut lines)? {
        Some(h) => h,
        None => return Err(SyntaxError::new(1, "empty file: no header line")),
    };
    let mut list = Uidlist::default();
    let version = header_fields(&header, &mut list)?;
    while let Some(line) = next(&mut lines)? {
        if line.is_empty() {
            continue;
        }
        let (uid, name) = match version {
            Version::One => record_v1(&line),
            Version::Three => record_v3(&line),
        }
        .ok_or_else(|| SyntaxError::new(lines.line, format!("bad record {line:?}")))?;
        if uid == 0 {
            return Err(SyntaxError::new(lines.line, "UID 0"));
        }
        let base = base_of(name);
        if base.is_empty() {
            return Err(SyntaxError::new(lines.line, "empty file name"));
        }
        // Written back, a CR before the line end would end the line there.
        if base.contains('\r') {
            return Err(SyntaxError::new(lines.line, "CR in a file name"));
        }
        list.uids.insert(base.to_string(), uid);
    }
    Ok(list)
}

enum Version {
    One,
    Three,
}

/// The next line as text (Dovecot writes file names in UTF-8 or ASCII; other bytes are
/// replaced, which can only make a name not match), without its line end.
fn next<R: BufRead>(lines: &mut LineReader<R>) -> Result<Option<String>, SyntaxError> {
    match lines.next_line() {
        // No file name ends in CR (a last line without its newline may keep the CR of a
        // CRLF, and writing the list back would turn one into a line end): all are dropped.
        Ok(Some(l)) => {
            let end = l.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
            Ok(Some(String::from_utf8_lossy(&l[..end]).into_owned()))
        }
        Ok(None) => Ok(None),
        Err(LineError::TooLong(n)) => Err(SyntaxError::new(
            n,
            format!("line longer than {MAX_LINE} bytes"),
        )),
        Err(LineError::Io(e)) => Err(SyntaxError::new(lines.line + 1, e.to_string())),
    }
}

fn header_fields(header: &str, list: &mut Uidlist) -> Result<Version, SyntaxError> {
    let mut words = header.split_ascii_whitespace();
    match words.next() {
        Some("1") => {
            let mut number = || words.next().and_then(|w| w.parse::<u32>().ok());
            list.uidvalidity = number().ok_or_else(|| SyntaxError::new(1, "no UIDVALIDITY"))?;
            list.next_uid = number().ok_or_else(|| SyntaxError::new(1, "no next UID"))?;
            Ok(Version::One)
        }
        Some("3") => {
            for word in words {
                let Some(key) = word.chars().next() else {
                    continue;
                };
                let value = &word[key.len_utf8()..];
                let number = || {
                    value
                        .parse::<u32>()
                        .map_err(|_| SyntaxError::new(1, format!("bad header field {word:?}")))
                };
                match key {
                    'V' => list.uidvalidity = number()?,
                    'N' => list.next_uid = number()?,
                    'G' => list.guid = Some(value.to_string()),
                    _ => {}
                }
            }
            if list.uidvalidity == 0 {
                return Err(SyntaxError::new(1, "no UIDVALIDITY (V) in the header"));
            }
            Ok(Version::Three)
        }
        other => Err(SyntaxError::new(
            1,
            format!("unknown uidlist version {:?}", other.unwrap_or("")),
        )),
    }
}

/// `UID FILENAME`.
fn record_v1(line: &str) -> Option<(u32, &str)> {
    let (uid, name) = line.split_once(' ')?;
    let name = name.trim_start();
    (!name.is_empty()).then_some(())?;
    Some((uid.parse().ok()?, name))
}

/// `UID [EXTENSION …] :FILENAME`.
fn record_v3(line: &str) -> Option<(u32, &str)> {
    let (uid, rest) = line.split_once(' ')?;
    let at = rest.find(':')?;
    let name = &rest[at + 1..];
    (!name.is_empty()).then_some(())?;
    Some((uid.parse().ok()?, name))
}

/// The `dovecot-uidlist` (version 3) of an exported folder: `records` are (UID, file name
/// base) in ascending UID order.
pub fn write(
    out: &mut impl std::io::Write,
    uidvalidity: u32,
    next_uid: u32,
    guid: Option<&str>,
    records: &[(u32, String)],
) -> std::io::Result<()> {
    write!(out, "3 V{uidvalidity} N{next_uid}")?;
    if let Some(g) = guid {
        write!(out, " G{g}")?;
    }
    writeln!(out)?;
    for (uid, base) in records {
        writeln!(out, "{uid} :{base}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_3_gives_uidvalidity_next_uid_and_each_files_uid() {
        let text = "3 V1796612024 N4 Gc9a15b1ab61f166b713b000083ecc375\n\
                    1 :1796612022.M473320P15220.vm,S=30,W=34\n\
                    3 W36 S32 :1796612022.M495115P15224.vm,S=32,W=36\n";
        let l = parse(text.as_bytes()).unwrap();
        assert_eq!((l.uidvalidity, l.next_uid), (1_796_612_024, 4));
        assert_eq!(l.guid.as_deref(), Some("c9a15b1ab61f166b713b000083ecc375"));
        assert_eq!(
            l.uid_of("1796612022.M473320P15220.vm,S=30,W=34:2,Sab"),
            Some(1)
        );
        assert_eq!(l.uid_of("1796612022.M495115P15224.vm,S=32,W=36"), Some(3));
        assert_eq!(l.uid_of("1796612022.M000000P1.vm"), None);
    }

    #[test]
    fn a_last_line_cut_after_its_cr_reads_as_the_same_name_as_with_its_lf() {
        let head = "3 V1796612024 N4\n1 :1796612022.M1P1.vm";
        let cut = parse(format!("{head}\r").as_bytes()).unwrap();
        let whole = parse(format!("{head}\r\n").as_bytes()).unwrap();
        assert_eq!(cut, whole);
        assert_eq!(cut.uid_of("1796612022.M1P1.vm"), Some(1));
        // The shape the fuzzer found, and one more CR: each must write back to what it read.
        crate::maildir::fuzzing::uidlist(format!("{head}\r").as_bytes());
        crate::maildir::fuzzing::uidlist(format!("{head}\r\r").as_bytes());
        crate::maildir::fuzzing::uidlist(format!("{head}\r\r\n").as_bytes());
        // A CR inside a name (never in a real Maildir) is refused, not misread.
        assert!(parse(b"3 V1 N2\n1 :\r:2,S\n".as_slice()).is_err());
        crate::maildir::fuzzing::uidlist(b"3 V1 N2\n1 :\r:2,S\n");
    }

    #[test]
    fn version_1_has_positional_header_fields() {
        let l = parse(&b"1 12345 7\n5 1035478339.27041_118.foo.org\n"[..]).unwrap();
        assert_eq!((l.uidvalidity, l.next_uid), (12345, 7));
        assert_eq!(l.uid_of("1035478339.27041_118.foo.org:2,S"), Some(5));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_line() {
        assert_eq!(parse(&b""[..]).unwrap_err().line, 1);
        assert_eq!(parse(&b"2 V1\n"[..]).unwrap_err().line, 1);
        assert_eq!(parse(&b"3 N4\n"[..]).unwrap_err().line, 1);
        assert_eq!(parse(&b"3 V1 N4\n1 :a\nx :b\n"[..]).unwrap_err().line, 3);
        assert_eq!(parse(&b"3 V1 N4\n0 :a\n"[..]).unwrap_err().line, 2);
        assert_eq!(parse(&b"3 V1 N4\n1 ::2,S\n"[..]).unwrap_err().line, 2);
        let long = format!("3 V1 N2\n1 :{}\n", "a".repeat(MAX_LINE));
        assert_eq!(parse(long.as_bytes()).unwrap_err().line, 2);
    }

    #[test]
    fn what_is_written_reads_back() {
        let mut out = Vec::new();
        let records = vec![(3, "100.M3P1.darius,S=10,W=12".to_string())];
        write(&mut out, 77, 9, Some("00ff"), &records).unwrap();
        let l = parse(out.as_slice()).unwrap();
        assert_eq!((l.uidvalidity, l.next_uid), (77, 9));
        assert_eq!(l.uid_of("100.M3P1.darius,S=10,W=12:2,S"), Some(3));
    }
}
