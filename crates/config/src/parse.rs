//! Reading `imapd.conf`: Cyrus syntax (`option: value`, `#` comments, blank lines,
//! `@include: file`), every value checked against the option table.
//!
//! The reader does not stop at the first problem: it reads the whole file (and its includes)
//! and reports every error at once, in the order the lines were read, each as
//! `file:line: option: what is wrong`, so that an admin fixes the file in one go. An unknown
//! option is a warning that names the closest known one; a repeated option is an error, as in
//! Cyrus; an option this build does not act on yet is an error ("not supported yet").

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{ConfigError, ConfigErrors, Warning};
use crate::options::{lookup, pattern_name, Support, OPTIONS, PATTERN_OPTIONS};
use crate::typed::Config;
use crate::value::Value;

/// `@include` may nest this deep; deeper is surely a loop.
const MAX_INCLUDE_DEPTH: usize = 8;
/// Sort key of errors that belong to no line (a missing option): after all the others.
const NO_LINE: usize = usize::MAX;

/// Reads and checks `path`.
pub fn parse_file(path: &Path) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let mut reader = Reader::default();
    if let Err(e) = reader.read_file(path, 0) {
        return Err(ConfigErrors::new(vec![ConfigError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }]));
    }
    reader.finish(path.display().to_string())
}

/// Checks `text` as if read from a file called `file` (used by tests and the embedded default).
/// `@include` is refused here, since there is no directory to resolve it against.
pub fn parse_str(text: &str, file: &str) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let mut reader = Reader::default();
    reader.read_text(text, file, None, 0);
    reader.finish(file.to_string())
}

struct Setting {
    file: String,
    line: usize,
    text: String,
    /// Position in reading order (across includes), for sorting errors.
    order: usize,
}

#[derive(Default)]
struct Reader {
    settings: BTreeMap<String, Setting>,
    warnings: Vec<Warning>,
    /// Errors with their position in reading order.
    errors: Vec<(usize, ConfigError)>,
    /// Lines read so far, across includes.
    lines_read: usize,
}

/// How one non-comment line splits.
enum Line<'a> {
    Option { name: &'a str, value: &'a str },
    MissingColon { name: &'a str },
    Garbage,
}

/// `name: value`; also `name : value`. A line whose first word is followed by a space instead
/// of a colon is `MissingColon` (`listen_imap 127.0.0.1:143` must not split at the port's colon).
fn split_line(line: &str) -> Line<'_> {
    let end = line
        .find(|c: char| c == ':' || c.is_whitespace())
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    match rest.trim_start().strip_prefix(':') {
        Some(value) => Line::Option {
            name,
            value: value.trim(),
        },
        None if is_option_name(name) => Line::MissingColon { name },
        None => Line::Garbage,
    }
}

fn is_option_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

impl Reader {
    fn read_file(&mut self, path: &Path, depth: usize) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        self.read_text(&text, &path.display().to_string(), path.parent(), depth);
        Ok(())
    }

    fn error(&mut self, order: usize, error: ConfigError) {
        self.errors.push((order, error));
    }

    fn read_text(&mut self, text: &str, file: &str, dir: Option<&Path>, depth: usize) {
        for (index, raw) in text.lines().enumerate() {
            self.lines_read += 1;
            let order = self.lines_read;
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
            match split_line(trimmed) {
                Line::Garbage => self.error(order, syntax("expected `option: value`".into())),
                Line::MissingColon { name } => {
                    let option = name.to_ascii_lowercase();
                    let file = file.into();
                    self.error(order, ConfigError::MissingColon { file, line, option });
                }
                Line::Option {
                    name: "@include",
                    value,
                } => {
                    if let Err(reason) = self.include(value, dir, depth) {
                        self.error(order, syntax(format!("@include {value}: {reason}")));
                    }
                }
                Line::Option { name, .. } if !is_option_name(name) => {
                    self.error(
                        order,
                        syntax(format!("{name:?} is not a valid option name")),
                    );
                }
                Line::Option { name, value } => {
                    self.set(name.to_ascii_lowercase(), value, file, line, order);
                }
            }
        }
    }

    /// Reads an included file in place; `Err` says why it could not be read.
    fn include(&mut self, target: &str, dir: Option<&Path>, depth: usize) -> Result<(), String> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err("includes nest too deep".into());
        }
        let dir = dir.ok_or("@include needs a configuration file")?;
        self.read_file(&dir.join(target), depth + 1)
            .map_err(|e| e.to_string())
    }

    fn set(&mut self, key: String, value: &str, file: &str, line: usize, order: usize) {
        let Some(spec) = lookup(&key) else {
            let suggestion = closest_option(&key);
            self.warnings.push(Warning {
                file: file.into(),
                line,
                option: key,
                suggestion,
            });
            return;
        };
        let file = file.to_string();
        if spec.support == Support::NotYet {
            self.error(
                order,
                ConfigError::NotSupported {
                    file,
                    line,
                    option: key,
                },
            );
            return;
        }
        if let Some(first) = self.settings.get(&key) {
            let reason = format!("already set at {}:{}", first.file, first.line);
            self.error(
                order,
                ConfigError::BadValue {
                    file,
                    line,
                    option: key,
                    reason,
                },
            );
            return;
        }
        let text = value.to_string();
        let setting = Setting {
            file,
            line,
            text,
            order,
        };
        self.settings.insert(key, setting);
    }

    fn finish(mut self, source: String) -> Result<(Config, Vec<Warning>), ConfigErrors> {
        let configdir = match self.settings.get("configdirectory") {
            Some(s) if !s.text.is_empty() => s.text.clone(),
            _ => {
                let reason = "must be set to an absolute path".to_string();
                let option = "configdirectory".to_string();
                let file = source.clone();
                self.error(
                    NO_LINE,
                    ConfigError::Missing {
                        file,
                        option,
                        reason,
                    },
                );
                String::new()
            }
        };
        let mut config = Config {
            values: BTreeMap::new(),
            explicit: BTreeSet::new(),
            partitions: BTreeMap::new(),
            patterned: BTreeMap::new(),
            source,
        };
        for spec in OPTIONS {
            let setting = self.settings.get(spec.name);
            let text = match setting {
                Some(s) => s.text.clone(),
                None => spec.default.replace("{configdirectory}", &configdir),
            };
            match Value::parse(&spec.kind, &text) {
                Ok(value) => {
                    config.values.insert(spec.name, value);
                }
                Err(reason) => self.errors.push(bad_value(spec.name, setting, reason)),
            }
            if setting.is_some() {
                config.explicit.insert(spec.name);
            }
        }
        self.collect_partitions(&mut config);
        self.check_default_partition(&config);
        self.check_namespace_prefixes(&config);
        if self.errors.is_empty() {
            return Ok((config, self.warnings));
        }
        // Stable: errors of one line keep the order they were found in.
        self.errors.sort_by_key(|(order, _)| *order);
        Err(ConfigErrors::new(
            self.errors.into_iter().map(|(_, e)| e).collect(),
        ))
    }

    fn collect_partitions(&mut self, config: &mut Config) {
        for (key, setting) in &self.settings {
            // A fixed option (`proxy_password`) is no pattern's.
            if OPTIONS.iter().any(|o| o.name == key) {
                continue;
            }
            for pattern in PATTERN_OPTIONS {
                let Some(name) = pattern_name(pattern.name, key) else {
                    continue;
                };
                match Value::parse(&pattern.kind, &setting.text) {
                    Ok(Value::Path(Some(path))) => {
                        config.partitions.insert(name.to_string(), path);
                    }
                    Ok(Value::Str(text)) => {
                        config.patterned.insert(key.clone(), text);
                    }
                    Ok(_) => {}
                    Err(reason) => self.errors.push(bad_value(key, Some(setting), reason)),
                }
            }
        }
    }

    /// `userprefix` and `sharedprefix` are first levels of client names: neither may be empty,
    /// hold a hierarchy separator, or equal the other.
    fn check_namespace_prefixes(&mut self, config: &Config) {
        let get = |name: &str| match config.values.get(name) {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        };
        let (users, shared) = (get("userprefix"), get("sharedprefix"));
        for (option, value) in [("userprefix", &users), ("sharedprefix", &shared)] {
            let reason = if value.is_empty() {
                "may not be empty"
            } else if value.contains(['.', '/']) {
                "may not hold a hierarchy separator (`.` or `/`)"
            } else if option == "sharedprefix" && value == &users {
                "may not equal `userprefix`"
            } else {
                continue;
            };
            let setting = self.settings.get(option);
            self.errors
                .push(bad_value(option, setting, reason.to_string()));
        }
    }

    /// A store needs at least one partition, and `defaultpartition` must name one of them. A
    /// `partition-NAME` line whose value was refused already has its own error.
    fn check_default_partition(&mut self, config: &Config) {
        let Some(Value::Str(default)) = config.values.get("defaultpartition") else {
            return;
        };
        let defined: Vec<&str> = self
            .settings
            .keys()
            .filter_map(|k| k.strip_prefix("partition-"))
            .collect();
        if defined.contains(&default.as_str()) {
            return;
        }
        let setting = self.settings.get("defaultpartition");
        let error = if defined.is_empty() {
            let reason = format!(
                "no mail partition is configured; add `partition-{default}: /path/to/mail` \
                 (an absolute path)"
            );
            let (file, option) = (config.source.clone(), format!("partition-{default}"));
            (
                NO_LINE,
                ConfigError::Missing {
                    file,
                    option,
                    reason,
                },
            )
        } else {
            let reason = format!(
                "no `partition-{default}` line defines partition `{default}` (configured: {})",
                defined.join(", ")
            );
            match setting {
                Some(_) => bad_value("defaultpartition", setting, reason),
                None => {
                    let (file, option) = (config.source.clone(), "defaultpartition".into());
                    (
                        NO_LINE,
                        ConfigError::Missing {
                            file,
                            option,
                            reason,
                        },
                    )
                }
            }
        };
        self.errors.push(error);
    }
}

fn bad_value(option: &str, setting: Option<&Setting>, reason: String) -> (usize, ConfigError) {
    let (file, line, order) = setting.map_or((String::from("(default)"), 0, NO_LINE), |s| {
        (s.file.clone(), s.line, s.order)
    });
    let option = option.to_string();
    (
        order,
        ConfigError::BadValue {
            file,
            line,
            option,
            reason,
        },
    )
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
