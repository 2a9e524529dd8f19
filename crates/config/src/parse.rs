//! Reading `imapd.conf`: Cyrus syntax (`option: value`, `#` comments, blank lines,
//! `@include: file`), every value checked against the option table.
//!
//! A bad value stops start-up with `file:line: option: what is wrong`; an unknown option is a
//! warning that names the closest known one; a repeated option is an error, as in Cyrus.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::options::{lookup, OPTIONS, PATTERN_OPTIONS};
use crate::value::{ListenAddr, SyslogFacility, Value};

/// `@include` may nest this deep; deeper is surely a loop.
const MAX_INCLUDE_DEPTH: usize = 8;

/// A file that stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}:{line}: {option}: {reason}")]
    BadValue {
        file: String,
        line: usize,
        option: String,
        reason: String,
    },
    #[error("{file}: {option}: {reason}")]
    Missing {
        file: String,
        option: &'static str,
        reason: &'static str,
    },
}

/// Something worth telling the admin that does not stop start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub option: String,
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: unknown option `{}` ignored",
            self.file, self.line, self.option
        )?;
        if let Some(s) = self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

/// A read and checked configuration: every option of the table has a value (its default unless
/// the file set it).
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, Value>,
    explicit: BTreeSet<&'static str>,
    partitions: BTreeMap<String, PathBuf>,
    source: String,
}

/// Reads and checks `path`.
pub fn parse_file(path: &Path) -> Result<(Config, Vec<Warning>), ConfigError> {
    let mut reader = Reader::default();
    reader.read_file(path, 0)?;
    reader.finish(path.display().to_string())
}

/// Checks `text` as if read from a file called `file` (used by tests and the embedded default).
/// `@include` is refused here, since there is no directory to resolve it against.
pub fn parse_str(text: &str, file: &str) -> Result<(Config, Vec<Warning>), ConfigError> {
    let mut reader = Reader::default();
    reader.read_text(text, file, None, 0)?;
    reader.finish(file.to_string())
}

struct Setting {
    file: String,
    line: usize,
    text: String,
}

#[derive(Default)]
struct Reader {
    settings: BTreeMap<String, Setting>,
    warnings: Vec<Warning>,
}

impl Reader {
    fn read_file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.read_text(&text, &path.display().to_string(), path.parent(), depth)
    }

    fn read_text(
        &mut self,
        text: &str,
        file: &str,
        dir: Option<&Path>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let syntax = |reason: String| ConfigError::Syntax {
                file: file.into(),
                line,
                reason,
            };
            let (key, value) = trimmed
                .split_once(':')
                .ok_or_else(|| syntax("expected `option: value`".into()))?;
            let (key, value) = (key.trim(), value.trim());
            if key == "@include" {
                self.include(value, dir, depth).map_err(|e| match e {
                    ConfigError::Io { path, source } => {
                        syntax(format!("@include {path}: {source}"))
                    }
                    other => other,
                })?;
                continue;
            }
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            {
                return Err(syntax(format!("{key:?} is not a valid option name")));
            }
            self.set(key.to_ascii_lowercase(), value, file, line)?;
        }
        Ok(())
    }

    fn include(
        &mut self,
        target: &str,
        dir: Option<&Path>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let io = |reason: &str| ConfigError::Io {
            path: target.to_string(),
            source: std::io::Error::other(reason.to_string()),
        };
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(io("includes nest too deep"));
        }
        let dir = dir.ok_or_else(|| io("@include needs a configuration file"))?;
        self.read_file(&dir.join(target), depth + 1)
    }

    fn set(
        &mut self,
        key: String,
        value: &str,
        file: &str,
        line: usize,
    ) -> Result<(), ConfigError> {
        if lookup(&key).is_none() {
            let suggestion = closest_option(&key);
            self.warnings.push(Warning {
                file: file.into(),
                line,
                option: key,
                suggestion,
            });
            return Ok(());
        }
        if let Some(first) = self.settings.get(&key) {
            return Err(ConfigError::BadValue {
                file: file.into(),
                line,
                option: key,
                reason: format!("already set at {}:{}", first.file, first.line),
            });
        }
        let setting = Setting {
            file: file.into(),
            line,
            text: value.to_string(),
        };
        self.settings.insert(key, setting);
        Ok(())
    }

    fn finish(self, source: String) -> Result<(Config, Vec<Warning>), ConfigError> {
        let configdir = match self.settings.get("configdirectory") {
            Some(s) if !s.text.is_empty() => s.text.clone(),
            _ => {
                return Err(ConfigError::Missing {
                    file: source,
                    option: "configdirectory",
                    reason: "must be set to an absolute path",
                })
            }
        };
        let mut config = Config {
            values: BTreeMap::new(),
            explicit: BTreeSet::new(),
            partitions: BTreeMap::new(),
            source,
        };
        for spec in OPTIONS {
            let (text, setting) = match self.settings.get(spec.name) {
                Some(s) => (s.text.clone(), Some(s)),
                None => (spec.default.replace("{configdirectory}", &configdir), None),
            };
            let value = Value::parse(&spec.kind, &text)
                .map_err(|reason| bad_value(spec.name, setting, reason))?;
            if setting.is_some() {
                config.explicit.insert(spec.name);
            }
            config.values.insert(spec.name, value);
        }
        for (key, setting) in &self.settings {
            for pattern in PATTERN_OPTIONS.iter().filter(|p| key.starts_with(p.name)) {
                let name = &key[pattern.name.len()..];
                match Value::parse(&pattern.kind, &setting.text) {
                    Ok(Value::Path(Some(path))) => {
                        config.partitions.insert(name.to_string(), path);
                    }
                    Ok(_) => {}
                    Err(reason) => return Err(bad_value(key, Some(setting), reason)),
                }
            }
        }
        Ok((config, self.warnings))
    }
}

fn bad_value(option: &str, setting: Option<&Setting>, reason: String) -> ConfigError {
    let (file, line) = setting.map_or((String::from("(default)"), 0), |s| (s.file.clone(), s.line));
    ConfigError::BadValue {
        file,
        line,
        option: option.to_string(),
        reason,
    }
}

/// The known option nearest to `unknown` by edit distance, when it is near enough to be a typo.
fn closest_option(unknown: &str) -> Option<&'static str> {
    let names = OPTIONS
        .iter()
        .map(|o| o.name)
        .chain(PATTERN_OPTIONS.iter().map(|o| o.name));
    let (best, distance) = names
        .map(|n| (n, edit_distance(unknown, n)))
        .min_by_key(|(_, d)| *d)?;
    (distance <= (unknown.len() / 3).max(2)).then_some(best)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Config {
    /// Where the configuration came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The value of a fixed-name option. Every name in the table has one.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Whether the file set `name` (as opposed to it taking its default).
    pub fn is_explicit(&self, name: &str) -> bool {
        self.explicit.contains(name)
    }

    pub fn str(&self, name: &str) -> &str {
        match self.value(name) {
            Some(Value::Str(s)) => s,
            other => unknown(name, other, ""),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.value(name) {
            Some(Value::Bool(b)) => *b,
            other => unknown(name, other, false),
        }
    }

    pub fn int(&self, name: &str) -> u64 {
        match self.value(name) {
            Some(Value::Int(n)) => *n,
            other => unknown(name, other, 0),
        }
    }

    pub fn path(&self, name: &str) -> Option<&Path> {
        match self.value(name) {
            Some(Value::Path(p)) => p.as_deref(),
            other => unknown(name, other, None),
        }
    }

    pub fn listen(&self, name: &str) -> Option<&ListenAddr> {
        match self.value(name) {
            Some(Value::Listen(l)) => l.as_ref(),
            other => unknown(name, other, None),
        }
    }

    pub fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Some(Value::List(l)) => l,
            other => unknown(name, other, &[]),
        }
    }

    /// The required config directory (checked when the file was read).
    pub fn configdirectory(&self) -> &Path {
        self.path("configdirectory").unwrap_or(Path::new("/"))
    }

    pub fn syslog_facility(&self) -> SyslogFacility {
        match self.value("syslog_facility") {
            Some(Value::Facility(f)) => *f,
            other => unknown("syslog_facility", other, SyslogFacility::Local(6)),
        }
    }

    /// `partition-NAME` settings, by NAME.
    pub fn partitions(&self) -> &BTreeMap<String, PathBuf> {
        &self.partitions
    }
}

/// A getter was asked for a name missing from the table, or for the wrong type: a bug in the
/// caller, caught by tests in debug builds; release builds fall back to the type's empty value.
fn unknown<T>(name: &str, found: Option<&Value>, fallback: T) -> T {
    debug_assert!(
        false,
        "option {name} read with the wrong type or not in the table: {found:?}"
    );
    fallback
}
