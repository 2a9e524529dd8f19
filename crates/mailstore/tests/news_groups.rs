//! Newsgroup indexes: articles for several groups added in one call.
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, create, name, uid};
use mailstore::{FsyncPolicy, NewsArticle, Store};

fn article(n: u32) -> NewsArticle {
    NewsArticle {
        number: uid(n),
        message: format!("From: a@example.org\r\nSubject: article {n}\r\n\r\nbody\r\n")
            .into_bytes(),
        arrived: 1_700_000_000,
    }
}

#[test]
fn several_groups_take_their_articles_and_a_mail_mailbox_refuses_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir, FsyncPolicy::Never);
    c.news_prefix = Some("netnews".into());
    let s = Store::open(c).unwrap();
    let rust = s
        .create_newsgroup("comp.lang.rust", "anyone\tlrs")
        .unwrap()
        .name;
    let test = s.create_newsgroup("misc.test", "anyone\tlrs").unwrap().name;
    let mail = create(&s, "netnews.mail");
    let outcomes = s
        .add_articles_to_groups(vec![
            (rust.clone(), vec![article(2), article(1), article(2)]),
            (mail.clone(), vec![article(1)]),
            (test.clone(), vec![article(5)]),
        ])
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    for (group, outcome) in &outcomes {
        match group.as_str() {
            "netnews.comp.lang.rust" => assert_eq!(outcome.as_ref().unwrap().added, [1, 2]),
            "netnews.misc.test" => assert_eq!(outcome.as_ref().unwrap().added, [5]),
            "netnews.mail" => assert!(outcome.as_ref().unwrap_err().is_refusal()),
            other => panic!("unexpected outcome for {other}"),
        }
    }
    assert_eq!(
        s.indexed_articles(&rust, &[uid(1), uid(2)]).unwrap(),
        [1, 2]
    );
    assert_eq!(s.indexed_articles(&test, &[uid(5)]).unwrap(), [5]);
    assert_eq!(s.newsgroup_next(&test).unwrap(), 6);
    // Read again: known, and a late number below the group's newest is too old.
    let again = s
        .add_articles_to_groups(vec![(rust.clone(), vec![article(1), article(2)])])
        .unwrap();
    assert_eq!(again[0].1.as_ref().unwrap().known, [1, 2]);
    let late = s.add_articles(&test, vec![article(3)]).unwrap();
    assert_eq!(late.too_old, [3]);
    assert!(s
        .add_articles(&name("netnews.gone"), vec![article(1)])
        .is_err());
}
