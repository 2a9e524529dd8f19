//! Text generated from the option table: the configuration reference (`docs/configuration.md`)
//! and the commented effective `imapd.conf` the embedded default writes out.

use std::fmt::Write;

use crate::options::{Kind, OptionSpec, Support, OPTIONS, PATTERN_OPTIONS};
use crate::typed::Config;
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
         with `file:line: option: what is wrong`; every error in the file is reported at once, \
         in line order.\n\n\
         Options marked **not supported yet** are known (most are Cyrus's) but this build does \
         not act on them: setting one, to any value, stops start-up with \
         `file:line: option: not supported yet`, because an option that is accepted and silently \
         ignored is worse than an error. Their defaults say what the option will do once \
         implemented. Not supported yet: ",
    );
    let not_yet: Vec<String> = OPTIONS
        .iter()
        .filter(|o| o.support == Support::NotYet)
        .map(|o| format!("`{}`", o.name))
        .collect();
    out.push_str(&not_yet.join(", "));
    out.push_str(
        ".\n\n| option | type | default | supported | description |\n|---|---|---|---|---|\n",
    );
    for spec in OPTIONS.iter().chain(PATTERN_OPTIONS) {
        let name = if !PATTERN_OPTIONS.iter().any(|p| p.name == spec.name) {
            spec.name.to_string()
        } else if spec.name.starts_with('_') {
            format!("NAME{}", spec.name)
        } else {
            format!("{}NAME", spec.name)
        };
        let default = if spec.default.is_empty() {
            "(empty)".to_string()
        } else {
            format!("`{}`", spec.default)
        };
        let support = match spec.support {
            Support::Supported => "yes",
            Support::NotYet => "**not supported yet**",
        };
        let _ = writeln!(
            out,
            "| `{name}` | {} | {default} | {support} | {} |",
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
        if spec.support == Support::NotYet {
            let _ = writeln!(out, "# Not supported yet: setting it stops start-up.");
        }
        let value = config
            .value(spec.name)
            .map(|v| value_text(&spec.kind, v))
            .unwrap_or_default();
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

/// A value written back in `imapd.conf` syntax; sizes with the largest unit that is exact
/// (`100M`, not `104857600`).
fn value_text(kind: &Kind, value: &Value) -> String {
    match value {
        Value::Int(n) if *kind == Kind::Size => size_text(*n),
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

fn size_text(bytes: u64) -> String {
    for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] {
        if bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// `darius-imapd.conf(5)`: the option table as a manual page (roff, `man` macros). Named so
/// beside Cyrus's own `imapd.conf(5)`, which a site migrating has installed too.
pub fn render_man_page(version: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".\\\" Generated from crates/config/src/options.rs by `DARIUS_BLESS=1 cargo test -p config`.\n\
         .TH DARIUS-IMAPD.CONF 5 \"\" \"darius {version}\" \"File Formats\"\n\
         .SH NAME\n\
         darius-imapd.conf \\- configuration file of the Darius mail store server\n\
         .SH SYNOPSIS\n\
         .B /etc/darius/imapd.conf\n\
         .SH DESCRIPTION\n\
         Darius reads an imapd.conf\\-style file (\\fBdarius \\-C\\fR \\fIFILE\\fR \\fBserve\\fR): one\n\
         \\fIoption\\fB:\\fR \\fIvalue\\fR per line; a line starting with \\fB#\\fR is a comment;\n\
         booleans are 1/0, yes/no, on/off or true/false; \\fB@include:\\fR \\fIFILE\\fR reads\n\
         another file. Option names are Cyrus's wherever Cyrus has the option. An unknown option\n\
         is a warning naming the closest known one; a bad value stops start\\-up with\n\
         \\fIfile\\fB:\\fIline\\fB:\\fR \\fIoption\\fB:\\fR what is wrong. An option marked\n\
         \\(lqnot supported yet\\(rq stops start\\-up when set, to any value.\n\
         .PP\n\
         \\fBpartition\\-\\fINAME\\fR names the directory of mail partition \\fINAME\\fR.\n\
         .SH OPTIONS"
    );
    for spec in OPTIONS.iter().chain(PATTERN_OPTIONS) {
        let name = if !PATTERN_OPTIONS.iter().any(|p| p.name == spec.name) {
            roff(spec.name)
        } else if spec.name.starts_with('_') {
            format!("\\fINAME\\fB{}", roff(spec.name))
        } else {
            format!("{}\\fINAME\\fB", roff(spec.name))
        };
        let default = if spec.default.is_empty() {
            "(empty)".to_string()
        } else {
            roff(spec.default)
        };
        let _ = writeln!(
            out,
            ".TP\n.BR \"{name}\" \" ({}; default: {default}{})\"\n{}",
            roff(&spec.kind.describe()),
            match spec.support {
                Support::Supported => "",
                Support::NotYet => "; not supported yet",
            },
            roff_text(spec.description)
        );
    }
    let _ = writeln!(
        out,
        ".SH FILES\n\
         .TP\n.I /etc/darius/imapd.conf\nThe packaged configuration.\n\
         .SH SEE ALSO\n\
         .BR darius (8),\n\
         .BR imapd.conf (5)"
    );
    out
}

/// Text safe in a roff argument or line: backslashes and dashes escaped, and every character
/// beyond ASCII as its Unicode escape (`\[u2014]`), which groff reads without `preconv`.
fn roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "\\[u{:04X}]", u32::from(c));
            }
        }
    }
    out
}

/// A paragraph: as [`roff`], Markdown backticks dropped, and no line starting with `.` or `'`
/// (a control line).
fn roff_text(text: &str) -> String {
    let text = roff(&text.replace('`', ""));
    text.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
