//! The INN harness itself (`common/inn.rs`), against the real INN: groups, posts, crossposts
//! and a MIME article land in the tradspool at `group/with/slashes/N`, the Darius feed gets one
//! line per article, tokens name the files through `tradspool.map`, `ctlinnd cancel` removes
//! files, `expireover`/`expire -z` list what expired and INN's RMPROC removes it, and
//! `ctlinnd rmgroup` drops a group from `active`. No Darius server is involved: the netnews
//! commands' tests build on these facts.
#![allow(clippy::unwrap_used)]

mod common;

use common::inn::Inn;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

const ONE: &str = "darius.test.one";
const TWO: &str = "darius.test.two.deep";

fn plain(group: &str, id: &str) -> String {
    format!(
        "From: Alice <alice@example.org>\nNewsgroups: {group}\nSubject: plain {id}\n\
         Message-ID: <{id}@example.org>\n\nHello.\n.A line with a leading dot\nBye.\n"
    )
}

fn crosspost(id: &str) -> String {
    format!(
        "From: Bob <bob@example.org>\nNewsgroups: {ONE},{TWO}\nSubject: crossposted\n\
         Message-ID: <{id}@example.org>\n\nIn both groups.\n"
    )
}

fn mime(group: &str, id: &str) -> String {
    format!(
        "From: Carol <carol@example.org>\nNewsgroups: {group}\nSubject: MIME\n\
         Message-ID: <{id}@example.org>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\n\
         Preamble.\n--b1\nContent-Type: text/plain; charset=utf-8\n\nText part.\n\
         --b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n\
         AAECAwQFBgc=\n--b1--\n"
    )
}

/// The spool file of `group`'s article `number`.
fn article_path(inn: &Inn, group: &str, number: u64) -> PathBuf {
    inn.spool()
        .join(group.replace('.', "/"))
        .join(number.to_string())
}

/// `tradspool.map`: newsgroup (with slashes) → number.
fn tradspool_map(inn: &Inn) -> HashMap<String, u32> {
    std::fs::read_to_string(inn.tradspool_map())
        .unwrap()
        .lines()
        .map(|line| {
            let (name, number) = line.split_once(' ').unwrap();
            (name.to_string(), number.parse().unwrap())
        })
        .collect()
}

/// A tradspool token (`@` + 36 hex digits + `@`, 18 bytes): its method byte (0), class byte
/// (1), newsgroup number and article number. INN 2.7.1 on amd64 copies each number, made
/// big-endian with `htonl`, as an 8-byte `unsigned long`: the newsgroup number is bytes 2..6
/// and the article number bytes 10..14, big-endian, and bytes 6..10 and 14..18 are zero.
fn decode_token(token: &str) -> (u8, u8, u32, u32) {
    let hex = token.strip_prefix('@').unwrap().strip_suffix('@').unwrap();
    assert_eq!(hex.len(), 36, "{token}");
    let bytes: Vec<u8> = (0..18)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(&bytes[6..10], &[0, 0, 0, 0], "{token}");
    assert_eq!(&bytes[14..18], &[0, 0, 0, 0], "{token}");
    let group = u32::from_be_bytes(bytes[2..6].try_into().unwrap());
    let number = u32::from_be_bytes(bytes[10..14].try_into().unwrap());
    (bytes[0], bytes[1], group, number)
}

/// The `active` line of `group`, if any.
fn active_line(inn: &Inn, group: &str) -> Option<String> {
    std::fs::read_to_string(inn.active())
        .unwrap()
        .lines()
        .find(|line| line.split(' ').next() == Some(group))
        .map(str::to_string)
}

#[test]
fn posts_crossposts_and_mime_land_in_tradspool_with_feed_lines() {
    let Some(inn) = Inn::start() else {
        return;
    };
    assert!(inn.wireformat());
    inn.newgroup(ONE);
    inn.newgroup(TWO);
    assert_eq!(
        active_line(&inn, TWO).unwrap(),
        format!("{TWO} 0000000000 0000000001 y")
    );

    let plain_token = inn.post(&plain(ONE, "plain1"));
    let cross_token = inn.post(&crosspost("cross1"));
    let mime_token = inn.post(&mime(TWO, "mime1"));

    // Files at group/with/slashes/N; the crosspost is one file hard-linked into both groups.
    let one1 = article_path(&inn, ONE, 1);
    let one2 = article_path(&inn, ONE, 2);
    let two1 = article_path(&inn, TWO, 1);
    let two2 = article_path(&inn, TWO, 2);
    for path in [&one1, &one2, &two1, &two2] {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{} is a regular file",
            path.display()
        );
    }
    let (cross_a, cross_b) = (
        std::fs::metadata(&one2).unwrap(),
        std::fs::metadata(&two1).unwrap(),
    );
    assert_eq!(cross_a.ino(), cross_b.ino(), "the crosspost is a hard link");
    assert_eq!(cross_a.nlink(), 2);
    assert_eq!(std::fs::metadata(&one1).unwrap().nlink(), 1);

    // Wire format: CRLF line ends, dot-stuffing, the final "." line, and the Xref innd added.
    let stored = std::fs::read(&one1).unwrap();
    let text = String::from_utf8(stored.clone()).unwrap();
    assert!(
        text.ends_with("Hello.\r\n..A line with a leading dot\r\nBye.\r\n.\r\n"),
        "{text:?}"
    );
    assert!(!text.replace("\r\n", "").contains('\n'), "{text:?}");
    assert!(
        text.contains(&format!("\r\nXref: darius-test.example {ONE}:1\r\n")),
        "{text:?}"
    );
    let mime_text = std::fs::read_to_string(&two2).unwrap();
    assert!(mime_text.contains("\r\n--b1\r\nContent-Type: application/octet-stream\r\n"));
    assert!(
        mime_text.ends_with("AAECAwQFBgc=\r\n--b1--\r\n.\r\n"),
        "{mime_text:?}"
    );

    // One feed line per article: token, Message-ID, every group:number.
    assert_eq!(
        inn.take_feed(),
        vec![
            format!("{plain_token} <plain1@example.org> {ONE}:1"),
            format!("{cross_token} <cross1@example.org> {ONE}:2 {TWO}:1"),
            format!("{mime_token} <mime1@example.org> {TWO}:2"),
        ]
    );
    assert_eq!(inn.take_feed(), Vec::<String>::new(), "nothing new");

    // Tokens: method 5 (tradspool), class 0, the primary group's number in tradspool.map and
    // the article number.
    let map = tradspool_map(&inn);
    for (token, group, number) in [
        (&plain_token, ONE, 1),
        (&cross_token, ONE, 2),
        (&mime_token, TWO, 2),
    ] {
        let (method, class, ngnum, artnum) = decode_token(token);
        assert_eq!((method, class), (5, 0), "{token}");
        assert_eq!(map[&group.replace('.', "/")], ngnum, "{token} in {map:?}");
        assert_eq!(artnum, number, "{token}");
    }
    assert_eq!(
        active_line(&inn, ONE).unwrap(),
        format!("{ONE} 0000000002 0000000001 y")
    );
}

#[test]
fn without_wireformat_articles_are_stored_with_bare_lf() {
    let Some(inn) = Inn::start_with(false) else {
        return;
    };
    assert!(!inn.wireformat());
    inn.newgroup(ONE);
    inn.post(&plain(ONE, "lf1"));
    let text = std::fs::read_to_string(article_path(&inn, ONE, 1)).unwrap();
    assert!(!text.contains('\r'), "{text:?}");
    assert!(
        text.ends_with("\n\nHello.\n.A line with a leading dot\nBye.\n"),
        "{text:?}"
    );
    assert!(
        text.contains(&format!("\nXref: darius-test.example {ONE}:1\n")),
        "{text:?}"
    );
}

#[test]
fn cancel_expire_rmproc_and_rmgroup() {
    let Some(inn) = Inn::start() else {
        return;
    };
    inn.newgroup(ONE);
    inn.newgroup(TWO);
    inn.post(&plain(ONE, "keep")); // one:1
    inn.post(&crosspost("gone")); // one:2, two:1
    inn.post(&plain(TWO, "old")); // two:2
    inn.post(&crosspost("cross")); // one:3, two:3
    inn.post(&mime(TWO, "mimeold")); // two:4
    assert_eq!(inn.take_feed().len(), 5);

    // ctlinnd cancel removes the file and every link; no feed line for it.
    inn.cancel("<gone@example.org>");
    assert!(!article_path(&inn, ONE, 2).exists());
    assert!(!article_path(&inn, TWO, 1).exists());
    assert!(article_path(&inn, ONE, 1).exists());
    assert_eq!(inn.take_feed(), Vec::<String>::new());

    // Expiring TWO lists its own articles as paths relative to patharticles; the crosspost
    // stays, as it has not expired out of ONE.
    let list = inn.expire_list(TWO);
    let mut listed: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    let two_dir = TWO.replace('.', "/");
    assert_eq!(listed, vec![format!("{two_dir}/2"), format!("{two_dir}/4")]);
    assert!(article_path(&inn, TWO, 2).exists(), "-z removes nothing");
    inn.run_rmproc(
        &list,
        &inn.fastrm().iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!article_path(&inn, TWO, 2).exists());
    assert!(!article_path(&inn, TWO, 4).exists());
    assert!(article_path(&inn, TWO, 3).exists());

    // Expiring everything in both: every link of the crosspost is listed.
    let list = inn.expire_list("darius.test.*");
    let listed = std::fs::read_to_string(&list).unwrap();
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "darius/test/one/1",
            "darius/test/one/3",
            &format!("{two_dir}/3")
        ]
    );

    // rmgroup drops the group from active (the files stay).
    inn.rmgroup(TWO);
    assert_eq!(active_line(&inn, TWO), None);
    assert!(active_line(&inn, ONE).is_some());
    assert!(article_path(&inn, TWO, 3).exists());
}
