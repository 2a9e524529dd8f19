//! The `imapd.conf` reader against files as admins write them.
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use config::{
    parse_file, parse_str, render_imapd_conf, render_markdown, ConfigError, ConfigErrors, Kind,
    Support, OPTIONS,
};

const BASE: &str = "configdirectory: /var/lib/darius\n";
/// Appended when a test's text names no partition, since a configuration needs one.
const PARTITION: &str = "partition-default: /srv/mail\n";

fn parse(extra: &str) -> Result<config::Config, ConfigErrors> {
    let partition = if extra.contains("partition-") {
        ""
    } else {
        PARTITION
    };
    parse_str(&format!("{BASE}{extra}{partition}"), "test.conf").map(|(c, _)| c)
}

/// Every error message of a refused text, one per line, as the admin sees them.
fn errors(text: &str) -> Vec<String> {
    let err = parse_str(text, "test.conf").expect_err("the text is refused");
    err.to_string().lines().map(str::to_string).collect()
}

/// The one error of a refused text.
fn only(errors: ConfigErrors) -> ConfigError {
    let mut errors = errors.into_vec();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

fn bad_value_line(err: ConfigErrors) -> (usize, String, String) {
    match only(err) {
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
fn sample(kind: &Kind) -> String {
    match kind {
        Kind::Str => "something".into(),
        Kind::Bool => "on".into(),
        Kind::Int { min, max } => 42.clamp(*min, *max).to_string(),
        Kind::Size => "10M".into(),
        Kind::Path | Kind::AbsPath => "/srv/mail/x".into(),
        Kind::Listen => "127.0.0.1:9999".into(),
        Kind::List => "a b c".into(),
        Kind::Enum(choices) => choices[0].into(),
        Kind::Facility => "LOCAL3".into(),
    }
}

#[test]
fn every_supported_option_in_the_table_parses_when_set() {
    let supported = OPTIONS
        .iter()
        .filter(|o| o.support == Support::Supported && o.name != "configdirectory");
    for spec in supported {
        let mut text = format!("{}: {}\n", spec.name, sample(&spec.kind));
        if spec.name == "defaultpartition" {
            text.push_str("partition-something: /srv/s\npartition-default: /srv/d\n");
        }
        let config = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert!(config.is_explicit(spec.name), "{}", spec.name);
    }
}

#[test]
fn every_option_not_supported_yet_is_refused_when_set() {
    let not_yet: Vec<_> = OPTIONS
        .iter()
        .filter(|o| o.support == Support::NotYet)
        .collect();
    // Each issue that implements an option turns it `Supported`; these still wait for theirs.
    assert!(!not_yet.is_empty(), "the table marks the ignored options");
    for spec in not_yet {
        let text = format!("{}: {}\n", spec.name, sample(&spec.kind));
        let err = only(parse(&text).unwrap_err());
        assert_eq!(
            err.to_string(),
            format!("test.conf:2: {}: not supported yet", spec.name)
        );
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
        "# a comment\n\n   # indented comment\nduplicatesuppression: no\nunixhierarchysep:   true  \n\
         allowplaintext: off\nsingleinstancestore: 0\nadmins: admin  cyrus\n",
    )
    .unwrap();
    assert!(!config.bool("duplicatesuppression"));
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
    let (line, option, reason) = bad_value_line(parse("\nallowplaintext: maybe\n").unwrap_err());
    assert_eq!((line, option.as_str()), (3, "allowplaintext"));
    assert!(reason.contains("not a boolean"), "{reason}");
}

#[test]
fn bad_integer_and_out_of_range_are_refused() {
    let (line, option, reason) = bad_value_line(parse("maxconnections: lots\n").unwrap_err());
    assert_eq!((line, option.as_str()), (2, "maxconnections"));
    assert!(reason.contains("whole number"), "{reason}");
    let (_, _, reason) = bad_value_line(parse("prelogin_timeout: 3601\n").unwrap_err());
    assert!(reason.contains("out of range"), "{reason}");
    let (_, option, _) = bad_value_line(parse("timeout: 5\n").unwrap_err());
    assert_eq!(
        option, "timeout",
        "RFC 9051 forbids an autologout under 30 minutes"
    );
}

#[test]
fn tombstone_days_defaults_to_90_and_0_keeps_them_forever() {
    assert_eq!(parse("").unwrap().int("tombstone_days"), 90);
    assert_eq!(
        parse("tombstone_days: 0\n").unwrap().int("tombstone_days"),
        0
    );
    assert_eq!(
        parse("tombstone_days: 7\n").unwrap().int("tombstone_days"),
        7
    );
    let (_, option, reason) = bad_value_line(parse("tombstone_days: -1\n").unwrap_err());
    assert_eq!(option, "tombstone_days");
    assert!(reason.contains("whole number"), "{reason}");
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
    let err = parse_str("admins: a\npartition-default: /p\n", "x.conf").unwrap_err();
    assert!(
        err.to_string().starts_with("x.conf: configdirectory:"),
        "{err}"
    );
    let err = parse_str("configdirectory: rel\npartition-default: /p\n", "x.conf").unwrap_err();
    assert_eq!(
        bad_value_line_named(err, "x.conf"),
        (1, "configdirectory".to_string())
    );
}

fn bad_value_line_named(err: ConfigErrors, file_name: &str) -> (usize, String) {
    match only(err) {
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
    assert_eq!(
        err.to_string(),
        "test.conf:2: admins: missing `:` after the option name"
    );
    let err = parse("!!\n").unwrap_err();
    assert_eq!(err.to_string(), "test.conf:2: expected `option: value`");
}

#[test]
fn a_listener_without_the_colon_after_its_name_says_missing_colon() {
    // The value's own colon must not be taken for the separator.
    let err = parse("listen_imap 127.0.0.1:1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.conf:2: listen_imap: missing `:` after the option name"
    );
}

#[test]
fn options_not_supported_yet_stop_start_up_whatever_the_value() {
    for text in ["listen_metrics: 127.0.0.1:9100", "listen_metrics: "] {
        let option = text.split(':').next().unwrap();
        assert_eq!(
            errors(&format!("{BASE}{PARTITION}\n{text}\n")),
            [format!("test.conf:4: {option}: not supported yet")],
            "{text}"
        );
    }
}

#[test]
fn every_error_in_the_file_is_reported_at_once_in_line_order() {
    let text = format!(
        "{BASE}{PARTITION}timeout: 5\nfrob\nlisten_metrics: 127.0.0.1:1\nmaxconnections: x\n\
         listen_imap 127.0.0.1:1\ntimeout: 60\n"
    );
    assert_eq!(
        errors(&text),
        [
            "test.conf:3: timeout: 5 is out of range (30 to 4294967295)",
            "test.conf:4: frob: missing `:` after the option name",
            "test.conf:5: listen_metrics: not supported yet",
            "test.conf:6: maxconnections: \"x\" is not a whole number",
            "test.conf:7: listen_imap: missing `:` after the option name",
            "test.conf:8: timeout: already set at test.conf:3",
        ]
    );
}

#[test]
fn errors_in_an_included_file_come_in_reading_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.conf"),
        format!("{BASE}{PARTITION}timeout: 1\n@include: extra.conf\nmaxline: huge\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("extra.conf"), "maxconnections: 0\n").unwrap();
    let err = parse_file(&dir.path().join("main.conf")).unwrap_err();
    let main = dir.path().join("main.conf").display().to_string();
    let extra = dir.path().join("extra.conf").display().to_string();
    let lines: Vec<String> = err.to_string().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{main}:3: timeout:")),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with(&format!("{extra}:1: maxconnections:")),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(&format!("{main}:5: maxline:")),
        "{lines:?}"
    );
}

#[test]
fn a_configuration_without_a_partition_names_the_option_to_add() {
    assert_eq!(
        errors(BASE),
        [
            "test.conf: partition-default: no mail partition is configured; add \
          `partition-default: /path/to/mail` (an absolute path)"
        ]
    );
    let text = format!("{BASE}defaultpartition: big\n");
    assert!(
        errors(&text)[0].contains("add `partition-big: "),
        "the hint follows defaultpartition: {:?}",
        errors(&text)
    );
}

#[test]
fn defaultpartition_must_name_a_configured_partition() {
    let text = format!("{BASE}partition-main: /srv/a\ndefaultpartition: big\n");
    assert_eq!(
        errors(&text),
        [
            "test.conf:3: defaultpartition: no `partition-big` line defines partition `big` \
          (configured: main)"
        ]
    );
}

#[test]
fn a_missing_file_is_named_once_with_the_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.conf");
    let err = parse_file(&path).unwrap_err();
    // What `{:#}` (anyhow, the binary) prints: the error and every source below it.
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert_eq!(
        chain.matches("No such file or directory").count(),
        1,
        "{chain}"
    );
    assert_eq!(chain.matches("absent.conf").count(), 1, "{chain}");
}

#[test]
fn sizes_are_written_back_with_their_unit() {
    let config = parse("maxmessagesize: 100M\nmaxline: 65536\nmaxliteral: 1000\n").unwrap();
    let text = render_imapd_conf(&config, "sizes");
    assert!(text.contains("\nmaxmessagesize: 100M\n"), "{text}");
    assert!(text.contains("\nmaxline: 64K\n"), "{text}");
    assert!(text.contains("\nmaxliteral: 1000\n"), "{text}");
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
        &format!("{BASE}{PARTITION}altnamespce: yes\nfrobnicate: 1\n"),
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
        "t.conf:3: unknown option `altnamespce` ignored; did you mean `altnamespace`?"
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
        "admins: boss\nmaxconnections: x\n",
    )
    .unwrap();
    let err = parse_file(&dir.path().join("main.conf")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("extra.conf:2: maxconnections:"), "{text}");
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

#[test]
fn namespace_prefixes_must_be_one_level_and_distinct() {
    for (text, reason) in [
        (
            "userprefix: Other.Users",
            "userprefix: may not hold a hierarchy separator",
        ),
        (
            "sharedprefix: a/b",
            "sharedprefix: may not hold a hierarchy separator",
        ),
        ("userprefix:", "userprefix: may not be empty"),
        (
            "sharedprefix: Other Users",
            "sharedprefix: may not equal `userprefix`",
        ),
    ] {
        let found = errors(&format!("{BASE}{PARTITION}\n{text}\n"));
        assert!(
            found.len() == 1 && found[0].contains(reason),
            "{text}: {found:?}"
        );
    }
    let config =
        parse("altnamespace: yes\nuserprefix: Others\nsharedprefix: Public\n").expect("accepted");
    assert!(config.bool("altnamespace"));
    assert_eq!(config.str("userprefix"), "Others");
    assert_eq!(config.str("sharedprefix"), "Public");
}

#[test]
fn per_server_credentials_take_cyrus_s_server_name_form() {
    let config = parse(
        "proxy_authname: murder\nproxy_password: shared\nb1_password: one\nb2_authname: \
         other\nb2_password: two\n",
    )
    .unwrap();
    assert_eq!(config.per_name("b1", "_password"), Some("one"));
    assert_eq!(config.per_name("b2", "_authname"), Some("other"));
    assert_eq!(config.per_name("b1", "_authname"), None);
    assert_eq!(config.per_name("b3", "_password"), None);
    let mut names = config.names_with("_password");
    names.sort();
    assert_eq!(names, ["b1", "b2"]);
    // The fixed options stay themselves, not the credentials of servers `proxy`, `mupdate`.
    assert_eq!(config.str("proxy_password"), "shared");
    assert_eq!(config.per_name("proxy", "_password"), None);
    assert!(!config.names_with("_authname").contains(&"proxy"));
    // A bare suffix names no server: unknown (a warning), not a credential.
    let (config, warnings) = config::parse_str(
        "configdirectory: /tmp/c\npartition-default: /tmp/p\n_password: x\n",
        "test.conf",
    )
    .unwrap();
    assert!(config.names_with("_password").is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

/// The manual page `darius-imapd.conf(5)` in `packaging/man/`: current with the option table,
/// and groff reads it without a warning.
#[test]
fn manual_page_is_current_and_well_formed() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/man/darius-imapd.conf.5");
    let page = config::render_man_page(env!("CARGO_PKG_VERSION"));
    if std::env::var_os("DARIUS_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "packaging/man/darius-imapd.conf.5 is stale: run `DARIUS_BLESS=1 cargo test -p config` \
         and commit it"
    );
    for spec in OPTIONS {
        assert!(
            page.contains(&spec.name.replace('-', "\\-")),
            "{} is not in the page",
            spec.name
        );
    }
    if !interop::have_program("/usr/bin/groff", "groff-base") {
        return;
    }
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.trim().is_empty(), "groff: {warnings}");
}

#[path = "../../../tests/support/interop.rs"]
mod interop;
