//! Every script of the shared Sieve differential corpus (`tests/corpus/sieve/`, real scripts
//! that Cyrus and Dovecot were given) parses, and prints back to text that parses to the same
//! tree. Skipped with a note when the corpus is not beside the repository (or beside the
//! worktrees).

mod support;

#[test]
fn shared_corpus_scripts_parse() {
    let Some(scripts) = support::shared_corpus_scripts("shared_corpus_scripts_parse") else {
        return;
    };
    for path in scripts {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let text = std::fs::read(&path).expect("script");
        let mut tree = sieve::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut again = sieve::parse(tree.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{name} printed back: {e}"));
        tree.clear_positions();
        again.clear_positions();
        assert_eq!(tree, again, "{name} printed back");
        if name == "err_syntax_semicolon.sieve" {
            // `keep` with the missing `;` takes `discard` as its test: that is grammar, and it
            // is the interpreter's argument check (no test for `keep`) that refuses the script.
            let keep = &tree.commands[0];
            assert_eq!(keep.name, "keep");
            assert!(
                matches!(&keep.tests, Some(sieve::Tests::Single(t)) if t.name == "discard"),
                "{keep:?}"
            );
        }
    }
}
