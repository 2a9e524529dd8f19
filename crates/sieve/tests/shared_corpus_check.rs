//! The semantic checks over the shared Sieve differential corpus (`tests/corpus/sieve/`):
//! every script checks clean, except the ones both Cyrus and Dovecot refuse at PUTSCRIPT, the
//! ones one server accepts but the RFCs make invalid ([`RFC_INVALID`], each with the reason),
//! and the ones that require an extension outside the list ([`UNSUPPORTED`]), refused
//! as unsupported, naming it. Skipped with a note when the corpus is not beside the repository
//! (or beside the worktrees).

mod support;

/// Scripts requiring an extension Darius does not offer, with the capability refused first.
/// `foreverypart` and `mime` (RFC 5703) are not among the extensions to implement; Dovecot
/// accepts the script, Cyrus refuses it as unsupported, as Darius does.
const UNSUPPORTED: &[(&str, &str)] = &[("foreverypart_mime.sieve", "foreverypart")];

/// Scripts one server accepts that the RFCs make invalid: our error, and why.
const RFC_INVALID: &[(&str, &str, &str)] = &[(
    "vacation_addresses_self.sieve",
    "line 2, column 21: \"user65\" is not a valid email address",
    // RFC 5230 §4.5: `:addresses` holds the user's addresses, RFC 5322 addr-specs; "user65"
    // has no domain. Cyrus refuses it at PUTSCRIPT ("address 'user65': syntax error"), as
    // Darius does; Dovecot accepts it.
    "an :addresses entry without a domain is not an addr-spec",
)];

/// Scripts both servers refuse, with our error.
const INVALID: &[(&str, &str)] = &[
    (
        "err_bad_comparator.sieve",
        "line 1, column 23: unknown comparator \"i;no-such\"",
    ),
    (
        "err_syntax_semicolon.sieve",
        "line 2, column 1: the `keep` command takes no test",
    ),
    (
        "err_unknown_command.sieve",
        "line 1, column 1: unknown command `frobnicate`",
    ),
];

#[test]
fn shared_corpus_scripts_check() {
    let Some(scripts) = support::shared_corpus_scripts("shared_corpus_scripts_check") else {
        return;
    };
    let (mut clean, mut unsupported, mut invalid, mut rfc_invalid) = (0, 0, 0, 0);
    for path in scripts {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let text = std::fs::read(&path).expect("script");
        let tree = sieve::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = sieve::check(&tree, &sieve::Capabilities::all());
        if let Some((_, capability)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            let e = result.expect_err(name);
            assert_eq!(
                e.message,
                format!("unsupported capability \"{capability}\""),
                "{name}"
            );
            unsupported += 1;
        } else if let Some((_, error, why)) = RFC_INVALID.iter().find(|(n, _, _)| *n == name) {
            let e = result.expect_err(name);
            assert_eq!(e.to_string(), *error, "{name}: {why}");
            rfc_invalid += 1;
        } else if let Some((_, error)) = INVALID.iter().find(|(n, _)| *n == name) {
            assert_eq!(result.expect_err(name).to_string(), *error, "{name}");
            invalid += 1;
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            clean += 1;
        }
    }
    assert_eq!(
        (unsupported, invalid, rfc_invalid),
        (UNSUPPORTED.len(), INVALID.len(), RFC_INVALID.len())
    );
    assert!(clean >= 74, "only {clean} scripts checked clean");
}
