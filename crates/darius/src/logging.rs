//! The two log sinks: human-readable lines on stderr, and syslog datagrams with the configured
//! facility (default LOCAL6) and Cyrus's severities.
//!
//! Severity comes from the event's level (ERROR → ERR, WARN → WARNING, INFO → INFO), unless the
//! event carries a `severity` field (`"crit"`, `"err"`, `"warning"`, `"notice"`, `"info"`),
//! which wins: authentications are logged with `severity = "notice"`, errors that need an admin
//! at once with `severity = "crit"`. Secrets are `types::Secret`, whose `Debug` is redacted, so a
//! field can never leak one.
//!
//! Client text reaches log lines (an ID value, a user name in a `badlogin:` line, a mailbox
//! name, an LMTP address). Both sinks escape control characters in every record
//! ([`escape_controls`]), so a CR or LF from a literal can never start a forged line of its
//! own: this is the one place that defends every protocol's log lines.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use types::civil::civil_from_days;

/// Sets up both sinks from the configuration. Call once, early.
pub fn init(config: &config::Config) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // rustls warns on every client that sends an IP address as SNI (OpenSSL-based clients such
    // as isync do when given one); that is the client's quirk, not an event for the admin.
    if let Ok(directive) = "rustls=error".parse() {
        filter = filter.add_directive(directive);
    }
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(EscapingStderr)
        .with_target(false);
    let syslog = config.path("syslog_socket").map(|path| SyslogLayer {
        socket: UnixDatagram::unbound().ok(),
        path: path.to_path_buf(),
        facility: config.syslog_facility().code(),
        tag: config.str("syslog_prefix").to_string(),
        pid: std::process::id(),
    });
    // A second init (tests in one process) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(syslog)
        .try_init();
}

/// `text` with every control character written as an escape (`\r`, `\n`, `\t`, `\x07`,
/// `\u{85}`), except those `keep` allows.
fn escape_controls(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !c.is_control() || keep(c) => out.push(c),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// The stderr sink's writer: one formatted record per write, its final LF kept and every other
/// control character escaped. ESC stays: the formatter colours the level with it, and
/// tracing-subscriber already escapes ESC (and the other terminal controls) inside messages.
struct EscapingStderr;

impl<'a> MakeWriter<'a> for EscapingStderr {
    type Writer = EscapingStderr;

    fn make_writer(&'a self) -> EscapingStderr {
        EscapingStderr
    }
}

impl std::io::Write for EscapingStderr {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        let (body, end) = match record.strip_suffix(b"\n") {
            Some(body) => (body, "\n"),
            None => (record, ""),
        };
        let text = String::from_utf8_lossy(body);
        let escaped = escape_controls(&text, |c| c == '\x1b');
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(escaped.as_bytes())?;
        stderr.write_all(end.as_bytes())?;
        Ok(record.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// RFC 5424 §6.2.1 severities, by Cyrus's names.
fn severity_code(name: &str) -> Option<u8> {
    match name.to_ascii_lowercase().as_str() {
        "emerg" => Some(0),
        "alert" => Some(1),
        "crit" => Some(2),
        "err" | "error" => Some(3),
        "warning" | "warn" => Some(4),
        "notice" => Some(5),
        "info" => Some(6),
        "debug" => Some(7),
        _ => None,
    }
}

fn level_code(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

struct SyslogLayer {
    socket: Option<UnixDatagram>,
    path: PathBuf,
    facility: u8,
    tag: String,
    pid: u32,
}

#[derive(Default)]
struct Fields {
    message: String,
    severity: Option<u8>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "severity" => self.severity = severity_code(value),
            "message" => self.message.push_str(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(socket) = &self.socket else { return };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let severity = fields
            .severity
            .unwrap_or_else(|| level_code(event.metadata().level()));
        if severity > 6 {
            return;
        }
        // RFC 3164 §4.1, as glibc's syslog(3) writes it to /dev/log.
        let line = format!(
            "<{}>{} {}[{}]: {}",
            u16::from(self.facility) * 8 + u16::from(severity),
            rfc3164_timestamp(SystemTime::now()),
            self.tag,
            self.pid,
            escape_controls(&fields.message, |_| false)
        );
        // Syslog is best effort: a missing or full socket must never stall or fail a session.
        let _ = socket.send_to(line.as_bytes(), &self.path);
    }
}

/// `Mmm dd hh:mm:ss` in UTC.
fn rfc3164_timestamp(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (_, month, day) = civil_from_days(days as i64);
    let month_name = MONTHS.get(month as usize - 1).copied().unwrap_or("Jan");
    format!(
        "{month_name} {day:>2} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_the_rfc3164_shape() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 31 + 3_661);
        assert_eq!(rfc3164_timestamp(t), "Feb  1 01:01:01");
    }

    #[test]
    fn control_characters_are_escaped_so_no_record_spans_two_lines() {
        let forged = "name=x\r\nbadlogin: forged\t\x07\u{85}";
        let escaped = escape_controls(forged, |_| false);
        assert_eq!(escaped, "name=x\\r\\nbadlogin: forged\\t\\x07\\u{85}");
        assert!(!escaped.contains(['\r', '\n']));
        assert!(matches!(
            escape_controls("plain text", |_| false),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape_controls("\x1b[2m\n", |c| c == '\x1b'), "\x1b[2m\\n");
    }

    #[test]
    fn severity_names_follow_syslog() {
        assert_eq!(severity_code("notice"), Some(5));
        assert_eq!(severity_code("CRIT"), Some(2));
        assert_eq!(severity_code("loud"), None);
    }
}
