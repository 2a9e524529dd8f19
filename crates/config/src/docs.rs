//! Text generated from the option table: the configuration reference (`docs/configuration.md`)
//! and the commented effective `imapd.conf` the embedded default writes out.

use std::fmt::Write;

use crate::options::{OptionSpec, OPTIONS, PATTERN_OPTIONS};
use crate::parse::Config;
use crate::value::Value;

/// The Markdown reference of every option.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from crates/config/src/options.rs by `DARIUS_BLESS=1 cargo test -p config`; \
         a test fails when this file is stale. -->\n\n\
         Darius reads an `imapd.conf`-style file (`darius serve -C FILE`): one `option: value` per \
         line, `#` starts a comment line, booleans are `1/0`, `yes/no`, `on/off` or `true/false`, \
         `@include: FILE` reads another file. Option names are Cyrus's wherever Cyrus has the option. \
         An unknown option is a warning naming the closest known one; a bad value stops start-up \
         with `file:line: option: what is wrong`.\n\n\
         | option | type | default | description |\n|---|---|---|---|\n",
    );
    for spec in OPTIONS.iter().chain(PATTERN_OPTIONS) {
        let name = if PATTERN_OPTIONS.iter().any(|p| p.name == spec.name) {
            format!("{}NAME", spec.name)
        } else {
            spec.name.to_string()
        };
        let default = if spec.default.is_empty() {
            "(empty)".to_string()
        } else {
            format!("`{}`", spec.default)
        };
        let _ = writeln!(
            out,
            "| `{name}` | {} | {default} | {} |",
            spec.kind.describe(),
            spec.description.replace('|', "\\|")
        );
    }
    out
}

/// The effective configuration as a commented `imapd.conf`: every option with its description;
/// options the configuration sets are live lines, the rest are commented-out defaults.
pub fn render_imapd_conf(config: &Config, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    for (name, path) in config.partitions() {
        let _ = writeln!(
            out,
            "\n# Mail partition `{name}`.\npartition-{name}: {}",
            path.display()
        );
    }
    for spec in OPTIONS {
        let _ = writeln!(out, "\n# {}", wrap_comment(spec));
        let value = config.value(spec.name).map(value_text).unwrap_or_default();
        if config.is_explicit(spec.name) {
            let _ = writeln!(out, "{}: {value}", spec.name);
        } else {
            let _ = writeln!(out, "#{}: {value}", spec.name);
        }
    }
    out
}

fn wrap_comment(spec: &OptionSpec) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for word in spec.description.split_whitespace() {
        let current = lines
            .last_mut()
            .expect("lines starts non-empty and only grows");
        if !current.is_empty() && current.len() + word.len() >= 96 {
            lines.push(word.to_string());
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    lines.join("\n# ")
}

/// A value written back in `imapd.conf` syntax.
fn value_text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Bool(b) => {
            if *b {
                "yes".into()
            } else {
                "no".into()
            }
        }
        Value::Int(n) => n.to_string(),
        Value::Path(p) => p
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        Value::Listen(l) => l.as_ref().map(ToString::to_string).unwrap_or_default(),
        Value::List(l) => l.join(" "),
        Value::Facility(f) => f.to_string(),
    }
}
