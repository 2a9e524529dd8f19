//! The `imapd.conf` reader against files as admins write them.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use config::{
    parse_file, parse_str, render_imapd_conf, render_markdown, ConfigError, Kind, OPTIONS,
};

const BASE: &str = "configdirectory: /var/lib/darius\n";

fn parse(extra: &str) -> Result<config::Config, ConfigError> {
    parse_str(&format!("{BASE}{extra}"), "test.conf").map(|(c, _)| c)
}

fn bad_value_line(err: ConfigError) -> (usize, String, String) {
    match err {
        ConfigError::BadValue {
            file,
            line,
            option,
            reason,
        } => {
            assert_eq!(file, "test.conf");
            (line, option, reason)
        }
        other => panic!("expected a bad value, got {other}"),
    }
}

/// A value of the right kind for each option, so that every option is exercised.
fn sample(kind: &Kind) -> &'static str {
    match kind {
        Kind::Str => "something",
        Kind::Bool => "on",
        Kind::Int { .. } => "42",
        Kind::Size => "10M",
        Kind::Path | Kind::AbsPath => "/srv/mail/x",
        Kind::Listen => "127.0.0.1:9999",
        Kind::List => "a b c",
        Kind::Enum(choices) => choices[0],
        Kind::Facility => "LOCAL3",
    }
}

#[test]
fn every_option_in_the_table_parses_when_set() {
    for spec in OPTIONS.iter().filter(|o| o.name != "configdirectory") {
        let text = format!("{}: {}\n", spec.name, sample(&spec.kind));
        let config = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(config.is_explicit(spec.name), "{}", spec.name);
    }
}

#[test]
fn defaults_apply_when_the_file_is_silent() {
    let config = parse("").unwrap();
    assert_eq!(config.str("defaultpartition"), "default");
    assert_eq!(config.str("defaultacl"), "anyone lrs");
    assert_eq!(config.int("quotawarn"), 90);
    assert!(config.bool("singleinstancestore"));
    assert!(!config.bool("altnamespace"));
    assert_eq!(config.listen("listen_imap"), None);
    assert_eq!(
        config.path("adminsocket").unwrap().to_str(),
        Some("/var/lib/darius/socket/admin"),
        "defaults naming {{configdirectory}} are expanded"
    );
}

#[test]
fn comments_blank_lines_and_cyrus_booleans_are_understood() {
    let config = parse(
        "# a comment\n\n   # indented comment\naltnamespace: yes\nunixhierarchysep:   true  \n\
         allowplaintext: off\nsingleinstancestore: 0\nadmins: admin  cyrus\n",
    )
    .unwrap();
    assert!(config.bool("altnamespace"));
    assert!(config.bool("unixhierarchysep"));
    assert!(!config.bool("allowplaintext"));
    assert!(!config.bool("singleinstancestore"));
    assert_eq!(config.list("admins"), ["admin", "cyrus"]);
}

#[test]
fn partitions_are_collected_by_name() {
    let config = parse("partition-default: /srv/a\npartition-big: /srv/b\n").unwrap();
    let names: Vec<_> = config.partitions().keys().cloned().collect();
    assert_eq!(names, ["big", "default"]);
    assert_eq!(config.partitions()["big"].to_str(), Some("/srv/b"));
}

#[test]
fn bad_boolean_names_file_line_and_option() {
    let (line, option, reason) = bad_value_line(parse("\naltnamespace: maybe\n").unwrap_err());
    assert_eq!((line, option.as_str()), (3, "altnamespace"));
    assert!(reason.contains("not a boolean"), "{reason}");
}

#[test]
fn bad_integer_and_out_of_range_are_refused() {
    let (line, option, reason) = bad_value_line(parse("quotawarn: lots\n").unwrap_err());
    assert_eq!((line, option.as_str()), (2, "quotawarn"));
    assert!(reason.contains("whole number"), "{reason}");
    let (_, _, reason) = bad_value_line(parse("quotawarn: 101\n").unwrap_err());
    assert!(reason.contains("out of range"), "{reason}");
    let (_, option, _) = bad_value_line(parse("timeout: 5\n").unwrap_err());
    assert_eq!(
        option, "timeout",
        "RFC 9051 forbids an autologout under 30 minutes"
    );
}

#[test]
fn bad_size_listener_path_and_facility_are_refused() {
    let cases = [
        ("maxmessagesize: 10Q\n", "maxmessagesize", "not a size"),
        ("listen_imap: 127.0.0.1\n", "listen_imap", "host:port"),
        ("listen_imap: 127.0.0.1:70000\n", "listen_imap", "port"),
        (
            "partition-default: relative/path\n",
            "partition-default",
            "absolute",
        ),
        (
            "syslog_facility: LOCAL9\n",
            "syslog_facility",
            "syslog facility",
        ),
    ];
    for (text, expected_option, expected_reason) in cases {
        let (line, option, reason) = bad_value_line(parse(text).unwrap_err());
        assert_eq!((line, option.as_str()), (2, expected_option), "{text}");
        assert!(reason.contains(expected_reason), "{text}: {reason}");
    }
}

#[test]
fn configdirectory_must_be_absolute_and_present() {
    let err = parse_str("admins: a\n", "x.conf").unwrap_err();
    assert!(
        err.to_string().starts_with("x.conf: configdirectory:"),
        "{err}"
    );
    let err = parse_str("configdirectory: rel\n", "x.conf").unwrap_err();
    assert_eq!(
        bad_value_line_named(err, "x.conf"),
        (1, "configdirectory".to_string())
    );
}

fn bad_value_line_named(err: ConfigError, file_name: &str) -> (usize, String) {
    match err {
        ConfigError::BadValue {
            file, line, option, ..
        } => {
            assert_eq!(file, file_name);
            (line, option)
        }
        other => panic!("expected a bad value, got {other}"),
    }
}

#[test]
fn a_line_without_a_colon_is_a_syntax_error() {
    let err = parse("admins admin\n").unwrap_err();
    assert_eq!(err.to_string(), "test.conf:2: expected `option: value`");
}

#[test]
fn a_repeated_option_is_refused_naming_the_first() {
    let err = parse("admins: a\nadmins: b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.conf:3: admins: already set at test.conf:2"
    );
}

#[test]
fn unknown_options_warn_with_the_closest_name() {
    let (config, warnings) = parse_str(
        &format!("{BASE}altnamespce: yes\nfrobnicate: 1\n"),
        "t.conf",
    )
    .unwrap();
    assert!(
        !config.bool("altnamespace"),
        "the misspelt option is not applied"
    );
    assert_eq!(warnings.len(), 2);
    assert_eq!(
        warnings[0].to_string(),
        "t.conf:2: unknown option `altnamespce` ignored; did you mean `altnamespace`?"
    );
    assert_eq!(
        warnings[1].suggestion, None,
        "nothing is close to frobnicate"
    );
}

#[test]
fn includes_are_read_relative_to_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.conf"),
        format!("{BASE}@include: extra.conf\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("extra.conf"),
        "admins: boss\nquotawarn: x\n",
    )
    .unwrap();
    let err = parse_file(&dir.path().join("main.conf")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("extra.conf:2: quotawarn:"), "{text}");
}

#[test]
fn the_effective_config_reparses_to_the_same_values() {
    let config =
        parse("admins: admin\nlisten_imap: 127.0.0.1:1143\npartition-default: /srv/m\n").unwrap();
    let text = render_imapd_conf(&config, "generated for a test");
    let (again, warnings) = parse_str(&text, "again.conf").unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    for spec in OPTIONS {
        assert_eq!(
            config.value(spec.name),
            again.value(spec.name),
            "{}",
            spec.name
        );
    }
    assert_eq!(config.partitions(), again.partitions());
}

#[test]
fn configuration_reference_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("DARIUS_BLESS").is_some() {
        std::fs::write(&path, render_markdown()).unwrap();
        return;
    }
    assert!(
        committed == render_markdown(),
        "docs/configuration.md is stale: run `DARIUS_BLESS=1 cargo test -p config` and commit it"
    );
}
