//! Typed option values and the parsing of one value by its [`Kind`].

use std::fmt;
use std::path::PathBuf;

use crate::options::Kind;

/// A listener address: `host:port`, or disabled (empty value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenAddr {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Syslog facilities by their Cyrus spelling (`syslog_facility: LOCAL6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogFacility {
    Mail,
    User,
    Daemon,
    Auth,
    Local(u8),
}

impl SyslogFacility {
    /// The facility number of RFC 5424 §6.2.1.
    pub fn code(self) -> u8 {
        match self {
            SyslogFacility::User => 1,
            SyslogFacility::Mail => 2,
            SyslogFacility::Daemon => 3,
            SyslogFacility::Auth => 4,
            SyslogFacility::Local(n) => 16 + n,
        }
    }

    fn parse(text: &str) -> Option<SyslogFacility> {
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("LOG_").unwrap_or(&upper);
        match name {
            "MAIL" => Some(SyslogFacility::Mail),
            "USER" => Some(SyslogFacility::User),
            "DAEMON" => Some(SyslogFacility::Daemon),
            "AUTH" => Some(SyslogFacility::Auth),
            _ => {
                let n: u8 = name.strip_prefix("LOCAL")?.parse().ok()?;
                (n <= 7).then_some(SyslogFacility::Local(n))
            }
        }
    }
}

impl fmt::Display for SyslogFacility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyslogFacility::Mail => f.write_str("MAIL"),
            SyslogFacility::User => f.write_str("USER"),
            SyslogFacility::Daemon => f.write_str("DAEMON"),
            SyslogFacility::Auth => f.write_str("AUTH"),
            SyslogFacility::Local(n) => write!(f, "LOCAL{n}"),
        }
    }
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    Path(Option<PathBuf>),
    Listen(Option<ListenAddr>),
    List(Vec<String>),
    Facility(SyslogFacility),
}

impl Value {
    /// Parses `text` as a value of `kind`, or says what is wrong in words fit for
    /// `file:line: option: <reason>`.
    pub fn parse(kind: &Kind, text: &str) -> Result<Value, String> {
        match kind {
            Kind::Str => Ok(Value::Str(text.to_string())),
            Kind::Bool => parse_bool(text).map(Value::Bool),
            Kind::Int { min, max } => parse_int(text, *min, *max).map(Value::Int),
            Kind::Size => parse_size(text).map(Value::Int),
            Kind::Path => Ok(Value::Path((!text.is_empty()).then(|| PathBuf::from(text)))),
            Kind::AbsPath => parse_abs_path(text),
            Kind::Listen => parse_listen(text).map(Value::Listen),
            Kind::List => Ok(Value::List(
                text.split_whitespace().map(str::to_string).collect(),
            )),
            Kind::Enum(choices) => parse_enum(text, choices),
            Kind::Facility => SyslogFacility::parse(text)
                .map(Value::Facility)
                .ok_or_else(|| {
                    format!("{text:?} is not a syslog facility (MAIL, LOCAL0..LOCAL7, ...)")
                }),
        }
    }
}

/// Cyrus accepts 1/0, yes/no, on/off, true/false, and t/f, y/n — case-insensitively.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "on" | "true" | "t" => Ok(true),
        "0" | "no" | "n" | "off" | "false" | "f" => Ok(false),
        _ => Err(format!(
            "{text:?} is not a boolean (use yes/no, on/off, true/false or 1/0)"
        )),
    }
}

fn parse_int(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if n < min || n > max {
        return Err(format!("{n} is out of range ({min} to {max})"));
    }
    Ok(n)
}

/// A byte count, optionally with a K/M/G suffix (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, factor) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (bytes, or a number with K, M or G)"))?;
    n.checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn parse_abs_path(text: &str) -> Result<Value, String> {
    if text.is_empty() {
        return Ok(Value::Path(None));
    }
    let path = PathBuf::from(text);
    if !path.is_absolute() {
        return Err(format!("{text:?} is not an absolute path"));
    }
    Ok(Value::Path(Some(path)))
}

fn parse_enum(text: &str, choices: &[&str]) -> Result<Value, String> {
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(text))
        .map(|c| Value::Str((*c).to_string()))
        .ok_or_else(|| format!("{text:?} is not one of: {}", choices.join(", ")))
}

/// `host:port`, `[v6]:port`, or empty to disable the listener.
fn parse_listen(text: &str) -> Result<Option<ListenAddr>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not host:port (or empty to disable)");
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
        (host, port)
    } else {
        text.rsplit_once(':').ok_or_else(bad)?
    };
    if host.is_empty() || (host.contains(':') && !text.starts_with('[')) {
        return Err(bad());
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number"))?;
    Ok(Some(ListenAddr {
        host: host.to_string(),
        port,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cyrus_boolean_spelling_is_accepted() {
        for t in ["1", "yes", "on", "true", "YES", "On", "t", "y"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "no", "off", "false", "NO", "Off", "f", "n"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn listen_addresses_parse_v4_v6_and_empty() {
        assert_eq!(parse_listen(""), Ok(None));
        assert_eq!(
            parse_listen("127.0.0.1:143"),
            Ok(Some(ListenAddr {
                host: "127.0.0.1".into(),
                port: 143
            }))
        );
        assert_eq!(
            parse_listen("[::1]:993"),
            Ok(Some(ListenAddr {
                host: "::1".into(),
                port: 993
            }))
        );
        assert!(parse_listen("::1:993").is_err());
        assert!(parse_listen("localhost").is_err());
        assert!(parse_listen("localhost:99999").is_err());
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("10K"), Ok(10240));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn facilities_take_cyrus_spellings() {
        assert_eq!(
            SyslogFacility::parse("local6"),
            Some(SyslogFacility::Local(6))
        );
        assert_eq!(
            SyslogFacility::parse("LOG_MAIL"),
            Some(SyslogFacility::Mail)
        );
        assert_eq!(SyslogFacility::parse("LOCAL8"), None);
        assert_eq!(SyslogFacility::Local(6).code(), 22);
    }
}
