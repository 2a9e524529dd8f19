//! The checked configuration: every option of the table with its value, and typed getters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::value::{ListenAddr, SyslogFacility, Value};

/// A read and checked configuration: every option of the table has a value (its default unless
/// the file set it).
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) values: BTreeMap<&'static str, Value>,
    pub(crate) explicit: BTreeSet<&'static str>,
    pub(crate) partitions: BTreeMap<String, PathBuf>,
    /// The text options of a suffix pattern (`b1_password`), by their whole name.
    pub(crate) patterned: BTreeMap<String, String>,
    pub(crate) source: String,
}

impl Config {
    /// `NAME_SUFFIX` (Cyrus's per-server options such as `b1_password`), when the file sets
    /// it: `suffix` is the pattern, `_password`.
    pub fn per_name(&self, name: &str, suffix: &str) -> Option<&str> {
        self.patterned
            .get(&format!("{name}{suffix}"))
            .map(String::as_str)
    }

    /// Every name the file sets a `NAME_SUFFIX` option for.
    pub fn names_with(&self, suffix: &str) -> Vec<&str> {
        self.patterned
            .keys()
            .filter_map(|k| crate::options::pattern_name(suffix, k))
            .collect()
    }

    /// The options whose values differ between `self` and `other` (a file read again),
    /// partitions and suffix-pattern options included, in name order.
    pub fn differences(&self, other: &Config) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .values
            .iter()
            .filter(|(name, value)| other.values.get(*name) != Some(value))
            .map(|(name, _)| name.to_string())
            .collect();
        for (name, path) in self.partitions.iter().chain(&other.partitions) {
            if self.partitions.get(name) != Some(path) || other.partitions.get(name) != Some(path) {
                out.insert(format!("partition-{name}"));
            }
        }
        for (name, value) in self.patterned.iter().chain(&other.patterned) {
            if self.patterned.get(name) != Some(value) || other.patterned.get(name) != Some(value) {
                out.insert(name.clone());
            }
        }
        out.into_iter().collect()
    }

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
