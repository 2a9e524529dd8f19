//! Protocol layer: the `imapd.conf` reader and the typed table of every option Darius knows.
//!
//! Owns: the syntax of `imapd.conf` (Cyrus's `option: value` lines), the option table (type,
//! default and one-line description of each option), validation with `file:line` errors, the
//! generated configuration reference and the commented effective configuration.
//! Must not: open sockets, create directories or act on any value; callers do that.
//!
//! Later issues add their options to [`options::OPTIONS`]; `docs/configuration.md` is generated
//! from it and a test fails when the file is stale. An option the server does not act on yet is
//! in the table as [`Support::NotYet`]: setting it stops start-up, until the issue that
//! implements it makes it `Supported`.

mod docs;
mod error;
mod options;
mod parse;
mod typed;
mod value;

pub use docs::{render_imapd_conf, render_man_page, render_markdown};
pub use error::{ConfigError, ConfigErrors, Warning};
pub use options::{lookup, Kind, OptionSpec, Support, OPTIONS, PATTERN_OPTIONS};
pub use parse::{parse_file, parse_str};
pub use typed::Config;
pub use value::{ListenAddr, SyslogFacility, Value};

/// The fuzz target's body (shared with the corpus test so stable `cargo test` runs it too):
/// parsing never panics, and an accepted configuration survives rendering and re-reading.
#[doc(hidden)]
pub fn fuzz_round_trip(text: &str) {
    let Ok((config, _)) = parse_str(text, "fuzz.conf") else {
        return;
    };
    let rendered = render_imapd_conf(&config, "fuzz");
    let (again, _) = match parse_str(&rendered, "again.conf") {
        Ok(c) => c,
        Err(e) => panic!("rendered configuration does not re-read: {e}\n{rendered}"),
    };
    for spec in OPTIONS {
        assert_eq!(
            config.value(spec.name),
            again.value(spec.name),
            "{}",
            spec.name
        );
    }
}
