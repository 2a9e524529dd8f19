//! The semantic checks over the shared Sieve differential corpus (`../shared/corpus/sieve/`):
//! every script that requires only supported capabilities checks clean, except the ones that
//! both Cyrus and Dovecot refuse at PUTSCRIPT, each with its error; the ones that require an
//! extension not implemented yet are refused as unsupported, naming it. Skipped with a note when
//! the corpus is not beside the repository (or beside the worktrees).

mod support;

/// Scripts requiring an extension for later, with the capability refused first.
const LATER: &[(&str, &str)] = &[
    ("core_fileinto_inbox_prefix.sieve", "mailbox"),
    ("currentdate.sieve", "date"),
    ("date_bad_header.sieve", "date"),
    ("date_zone.sieve", "date"),
    ("duplicate_discard_second.sieve", "duplicate"),
    ("duplicate_header_handle.sieve", "duplicate"),
    ("editheader_add.sieve", "editheader"),
    ("editheader_delete.sieve", "editheader"),
    ("editheader_protected.sieve", "editheader"),
    ("editheader_redirect.sieve", "editheader"),
    ("encoded_character.sieve", "encoded-character"),
    ("environment.sieve", "environment"),
    ("err_ihave_error.sieve", "ihave"),
    ("err_runtime_fileinto_var.sieve", "mailbox"),
    ("foreverypart_mime.sieve", "foreverypart"),
    ("ihave_branch.sieve", "ihave"),
    ("include_global_vars.include-sub.sieve", "include"),
    ("include_global_vars.sieve", "include"),
    ("include_missing.sieve", "include"),
    ("include_optional.sieve", "include"),
    ("include_personal.sieve", "include"),
    ("mailbox_exists.sieve", "mailbox"),
    ("mailbox_fileinto_create.sieve", "mailbox"),
    ("mailbox_utf8_name.sieve", "mailbox"),
    ("regex_capture.sieve", "regex"),
    ("specialuse_exists.sieve", "special-use"),
    ("specialuse_fileinto.sieve", "special-use"),
    ("variables_length_quotewildcard.sieve", "mailbox"),
    ("variables_match_greedy.sieve", "mailbox"),
    ("variables_match_vars.sieve", "mailbox"),
    ("variables_modifier_precedence.sieve", "mailbox"),
    ("variables_modifiers.sieve", "mailbox"),
];

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
    let (mut clean, mut later, mut invalid) = (0, 0, 0);
    for path in scripts {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let text = std::fs::read(&path).expect("script");
        let tree = sieve::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = sieve::check(&tree, &sieve::Capabilities::all());
        if let Some((_, capability)) = LATER.iter().find(|(n, _)| *n == name) {
            let e = result.expect_err(name);
            assert_eq!(
                e.message,
                format!("unsupported capability \"{capability}\""),
                "{name}"
            );
            later += 1;
        } else if let Some((_, error)) = INVALID.iter().find(|(n, _)| *n == name) {
            assert_eq!(result.expect_err(name).to_string(), *error, "{name}");
            invalid += 1;
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            clean += 1;
        }
    }
    assert_eq!((later, invalid), (LATER.len(), INVALID.len()));
    assert!(clean >= 40, "only {clean} scripts checked clean");
}
