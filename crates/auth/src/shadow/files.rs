//! Reading `/etc/passwd` (passwd(5)) and `/etc/shadow` (shadow(5)), bounded: a file larger than
//! [`MAX_FILE_BYTES`] is an error, a line longer than [`MAX_LINE_BYTES`] is skipped, and only
//! one line is held in memory at a time. A line that does not parse is skipped with a reason
//! (a [`Problem`]), never a panic; blank lines and `#` comments are skipped silently, as the C
//! library's `files` source does. The first entry with the user's name wins, as in `getpwnam`.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::ShadowError;

/// The largest passwd or shadow file read (a million users fit in well under this).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// The longest line read; longer ones are skipped as malformed.
pub const MAX_LINE_BYTES: usize = 8192;

/// A line of a passwd or shadow file that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

/// The passwd(5) fields this source uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PasswdEntry {
    /// Field 2: `x` (the hash is in the shadow file) or an old-style crypt hash.
    pub password: String,
}

/// The shadow(5) fields this source uses; dates are days since 1970-01-01, `None` when empty.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ShadowEntry {
    pub hash: String,
    pub last_change: Option<i64>,
    pub max_age: Option<i64>,
    pub inactive: Option<i64>,
    pub expire: Option<i64>,
}

/// One line's verdict: an entry for some name, nothing (blank, comment), or malformed.
enum Parsed<T> {
    Entry {
        name: String,
        entry: T,
    },
    Nothing,
    Malformed {
        name: Option<String>,
        reason: String,
    },
}

/// `user`'s passwd entry, if any; malformed lines naming `user` are returned as problems.
pub(crate) fn find_passwd(
    path: &Path,
    user: &str,
) -> Result<(Option<PasswdEntry>, Vec<Problem>), ShadowError> {
    find(path, user, parse_passwd)
}

/// `user`'s shadow entry, if any (a missing shadow file has none: an old-style system).
pub(crate) fn find_shadow(
    path: &Path,
    user: &str,
) -> Result<(Option<ShadowEntry>, Vec<Problem>), ShadowError> {
    match find(path, user, parse_shadow) {
        Err(ShadowError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => {
            Ok((None, Vec::new()))
        }
        other => other,
    }
}

fn find<T>(
    path: &Path,
    user: &str,
    parse: fn(&[u8]) -> Parsed<T>,
) -> Result<(Option<T>, Vec<Problem>), ShadowError> {
    let mut found = None;
    let mut problems = Vec::new();
    for_each_line(path, |line, bytes| {
        match bytes.map(parse) {
            Ok(Parsed::Entry { name, entry }) if name == user => {
                found = Some(entry);
                return ControlFlow::Break(());
            }
            Ok(Parsed::Malformed { name, reason }) if name.as_deref() == Some(user) => {
                problems.push(problem(path, line, reason));
            }
            Err(reason) if line_names(user, reason.1) => {
                problems.push(problem(path, line, reason.0.to_string()));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    })?;
    Ok((found, problems))
}

/// Every skipped line of the file at `path` (at most `limit` of them), for a configuration check.
pub(crate) fn problems(
    path: &Path,
    parse: Which,
    limit: usize,
) -> Result<Vec<Problem>, ShadowError> {
    let mut problems = Vec::new();
    for_each_line(path, |line, bytes| {
        let reason = match bytes {
            Err((reason, _)) => Some(reason.to_string()),
            Ok(bytes) => match parse {
                Which::Passwd => malformed_reason(parse_passwd(bytes)),
                Which::Shadow => malformed_reason(parse_shadow(bytes)),
            },
        };
        if let Some(reason) = reason {
            problems.push(problem(path, line, reason));
        }
        if problems.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(problems)
}

/// Which file format [`problems`] checks.
#[derive(Clone, Copy)]
pub(crate) enum Which {
    Passwd,
    Shadow,
}

fn malformed_reason<T>(parsed: Parsed<T>) -> Option<String> {
    match parsed {
        Parsed::Malformed { reason, .. } => Some(reason),
        Parsed::Entry { .. } | Parsed::Nothing => None,
    }
}

fn problem(path: &Path, line: usize, reason: String) -> Problem {
    Problem {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

/// Whether the start of an over-long line (`head`) names `user`.
fn line_names(user: &str, head: &[u8]) -> bool {
    head.split(|&b| b == b':').next() == Some(user.as_bytes())
}

/// A line, or why it was not read (with its first bytes, to tell whose it was).
type Line<'a> = Result<&'a [u8], (&'static str, &'a [u8])>;

/// Calls `each` with every line of `path` (numbered from 1, without its newline) until it
/// breaks, reading at most [`MAX_FILE_BYTES`] and holding at most one line.
fn for_each_line(
    path: &Path,
    mut each: impl FnMut(usize, Line<'_>) -> ControlFlow<()>,
) -> Result<(), ShadowError> {
    let read_err = |source| ShadowError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut reader = BufReader::new(file.take(MAX_FILE_BYTES + 1));
    let mut buf = Vec::with_capacity(256);
    let mut total: u64 = 0;
    let mut number = 0;
    loop {
        buf.clear();
        number += 1;
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(read_err)?;
        if n == 0 {
            return Ok(());
        }
        total += n as u64;
        let line = if buf.last() == Some(&b'\n') {
            buf.pop();
            Ok(buf.as_slice())
        } else if buf.len() > MAX_LINE_BYTES {
            total += skip_line(&mut reader).map_err(read_err)?;
            Err(("line longer than 8192 bytes", buf.as_slice()))
        } else {
            Ok(buf.as_slice()) // the last line, without a newline
        };
        if total > MAX_FILE_BYTES {
            return Err(ShadowError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_FILE_BYTES,
            });
        }
        if each(number, line).is_break() {
            return Ok(());
        }
    }
}

/// Reads to the end of the current line without keeping it; the bytes read.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(skipped + at as u64 + 1);
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
                skipped += n as u64;
            }
        }
    }
}

/// The `:`-separated fields of a line that is meant to be an entry.
fn fields(line: &[u8], count: usize) -> Parsed<Vec<&str>> {
    if line.is_empty() || line.starts_with(b"#") {
        return Parsed::Nothing;
    }
    let name = line
        .split(|&b| b == b':')
        .next()
        .and_then(|n| std::str::from_utf8(n).ok())
        .map(str::to_string);
    let malformed = |reason: String| Parsed::Malformed {
        name: name.clone(),
        reason,
    };
    if line.starts_with(b"+") || line.starts_with(b"-") {
        return malformed("a NIS compat entry (+/-), not supported".into());
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return malformed("not UTF-8".into());
    };
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() != count {
        return malformed(format!("{} fields, expected {count}", fields.len()));
    }
    if fields[0].is_empty() {
        return malformed("an empty user name".into());
    }
    Parsed::Entry {
        name: fields[0].to_string(),
        entry: fields,
    }
}

/// passwd(5): `name:password:UID:GID:GECOS:directory:shell`.
fn parse_passwd(line: &[u8]) -> Parsed<PasswdEntry> {
    match fields(line, 7) {
        Parsed::Entry { name, entry } => {
            if !all_digits(entry[2]) || !all_digits(entry[3]) {
                return Parsed::Malformed {
                    name: Some(name),
                    reason: "a UID or GID that is not a number".into(),
                };
            }
            Parsed::Entry {
                name,
                entry: PasswdEntry {
                    password: entry[1].to_string(),
                },
            }
        }
        Parsed::Nothing => Parsed::Nothing,
        Parsed::Malformed { name, reason } => Parsed::Malformed { name, reason },
    }
}

/// shadow(5): `name:hash:lastchg:min:max:warn:inactive:expire:reserved`.
fn parse_shadow(line: &[u8]) -> Parsed<ShadowEntry> {
    match fields(line, 9) {
        Parsed::Entry { name, entry } => {
            let days: Option<Vec<Option<i64>>> = entry[2..8].iter().map(|f| day(f)).collect();
            let Some(days) = days else {
                return Parsed::Malformed {
                    name: Some(name),
                    reason: "a date or age field that is not a number".into(),
                };
            };
            Parsed::Entry {
                name,
                entry: ShadowEntry {
                    hash: entry[1].to_string(),
                    last_change: days[0],
                    max_age: days[2],
                    inactive: days[4],
                    expire: days[5],
                },
            }
        }
        Parsed::Nothing => Parsed::Nothing,
        Parsed::Malformed { name, reason } => Parsed::Malformed { name, reason },
    }
}

fn all_digits(field: &str) -> bool {
    !field.is_empty() && field.len() <= 10 && field.bytes().all(|b| b.is_ascii_digit())
}

/// An optional day count: empty (or `-1`, which some tools write for "unset") is `None`;
/// `Some(None)` is returned for those and `None` for a field that is not a number.
fn day(field: &str) -> Option<Option<i64>> {
    match field {
        "" | "-1" => Some(None),
        f if f.len() <= 12 && f.bytes().all(|b| b.is_ascii_digit()) => f.parse().ok().map(Some),
        _ => None,
    }
}
