//! Runs the netnews fuzz targets' entry points (`news::fuzzing`) over their committed corpora
//! (`tests/corpus_feed/`, `tests/corpus_article/`), so stable `cargo test` exercises what
//! `cargo +nightly fuzz run news_feed_line` and `news_article` do, plus random token soups and
//! random mutations of the corpora through the same entry points.

use proptest::prelude::*;

#[path = "../../../tests/support/fuzz_corpus.rs"]
mod fuzz_corpus;

use fuzz_corpus::{mutated, run_corpus};

#[test]
fn feed_corpus_runs_clean() {
    run_corpus("corpus_feed", 6, news::fuzzing::feed_line);
}

#[test]
fn article_corpus_runs_clean() {
    run_corpus("corpus_article", 5, news::fuzzing::article);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_feed_tokens_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            "comp", "/", ".", "..", "lang", "12", "0", "4294967296", ":", " ", "\t", "\n", "@",
            "05", "0000000003", "00000000", "<a@b>", "misc.test:4", "/spool/", "Xref:", "#",
            "\u{e9}", "\r",
        ]),
        0..40,
    )) {
        news::fuzzing::feed_line(data.concat().as_bytes());
    }

    #[test]
    fn random_articles_run_clean(data in proptest::collection::vec(
        prop::sample::select(vec![
            ".", "..", "\r\n", "\n", "\r", "a", "Subject: x", ".\r\n", "\r\n.\r\n", "\0", " ",
        ]),
        0..60,
    )) {
        news::fuzzing::article(data.concat().as_bytes());
    }

    #[test]
    fn mutated_feed_corpus_runs_clean(data in mutated("corpus_feed")) {
        news::fuzzing::feed_line(&data);
    }

    #[test]
    fn mutated_article_corpus_runs_clean(data in mutated("corpus_article")) {
        news::fuzzing::article(&data);
    }
}
