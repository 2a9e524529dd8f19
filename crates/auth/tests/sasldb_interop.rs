//! The sasldb reader against files Debian's own tools write now: `saslpasswd2` (package
//! `sasl2-bin`, Cyrus SASL over Berkeley DB), `db_load` (package `db-util`: other page sizes, the
//! other byte order, checksums) and `mdb_load` (package `lmdb-utils`). Without a tool its test
//! notes `SKIPPED` and passes, unless DARIUS_REQUIRE_INTEROP=1 (docs/TESTING.md).
#![allow(clippy::unwrap_used)] // test helpers may panic: a failure is the report

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use auth::sasldb::{self, SasldbFormat};

#[path = "../../../tests/support/interop.rs"]
mod interop;

fn have(program: &str, package: &str) -> bool {
    interop::have_program(program, package)
}

/// Runs `program args…` with `input` on its standard input; it must succeed.
fn run(program: &str, args: &[&str], env: &[(&str, &Path)], input: &[u8]) {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `saslpasswd2 -p -f FILE -c -u REALM USER` with `password` on standard input.
fn saslpasswd2(file: &Path, realm: &str, user: &str, password: &str, conf: Option<&Path>) {
    let env: Vec<(&str, &Path)> = conf.map(|c| ("SASL_CONF_PATH", c)).into_iter().collect();
    let mut args = vec!["-p", "-f", file.to_str().unwrap(), "-c", "-u", realm];
    if conf.is_some() {
        args.push("-n");
    }
    args.push(user);
    run(
        "saslpasswd2",
        &args,
        &env,
        format!("{password}\n").as_bytes(),
    );
}

fn sorted(db: &sasldb::Sasldb) -> Vec<(String, String, String, Vec<u8>)> {
    let mut all: Vec<_> = db
        .entries
        .iter()
        .map(|e| {
            let value = e.value.expose().clone();
            (e.user.clone(), e.realm.clone(), e.property.clone(), value)
        })
        .collect();
    all.sort();
    all
}

/// Many users in three realms (more than one page of buckets) and long passwords (off-page
/// items), as `saslpasswd2` writes them: every password comes back as given.
#[test]
fn saslpasswd2_users_in_several_realms_read_back_with_their_passwords() {
    if !have("saslpasswd2", "sasl2-bin") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sasldb2");
    let realms = [
        "example.org",
        "mail.other-domain.example",
        "third.example.net",
    ];
    let mut expected = Vec::new();
    for i in 0..300 {
        let realm = realms[i % 3];
        let user = format!("a-rather-long-user-name-number-{i}");
        // Every 50th password is longer than a quarter page: an off-page item.
        let password = match i % 50 {
            7 => format!("long {i} ").repeat(200),
            _ => format!("pass word {i} ä"),
        };
        saslpasswd2(&file, realm, &user, &password, None);
        expected.push((
            user,
            realm.to_string(),
            "userPassword".to_string(),
            password.into_bytes(),
        ));
    }
    expected.sort();
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() >= 8 * 4096,
        "{} bytes: too few pages to test buckets",
        bytes.len()
    );
    let db = sasldb::read(&file).unwrap();
    assert_eq!(db.format, SasldbFormat::BerkeleyHashLittleEndian);
    assert_eq!(db.unreadable_keys, 0);
    assert_eq!(sorted(&db), expected);
}

/// With `scram_secret_generate: yes` and `-n` Cyrus SASL stores only a SCRAM secret
/// (`authPassword`), no clear-text password.
#[test]
fn saslpasswd2_scram_only_user_has_an_auth_password_and_no_user_password() {
    if !have("saslpasswd2", "sasl2-bin") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("saslpasswd.conf"), "scram_secret_generate: yes\n").unwrap();
    let file = dir.path().join("sasldb2");
    saslpasswd2(&file, "example.org", "erin", "secret", Some(&conf));
    let db = sasldb::read(&file).unwrap();
    let all = sorted(&db);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].0.as_str(), all[0].2.as_str()),
        ("erin", "authPassword")
    );
    let secret = String::from_utf8(all[0].3.clone()).unwrap();
    assert!(secret.starts_with("SCRAM-SHA-"), "{secret}");
}

/// `db_load`/`mdb_load` input (`-T`): a key line and a value line per pair, with `\00` for NUL
/// and `\\` for a backslash.
fn load_text(pairs: &[(String, String, String, Vec<u8>)]) -> Vec<u8> {
    let mut text = Vec::new();
    for (user, realm, property, value) in pairs {
        writeln!(text, "{user}\\00{realm}\\00{property}").unwrap();
        text.extend_from_slice(value);
        text.push(b'\n');
    }
    text
}

/// Two thousand pairs, some with keys and values spanning several 512-byte pages.
fn many_pairs() -> Vec<(String, String, String, Vec<u8>)> {
    let mut pairs: Vec<_> = (0..2000)
        .map(|i| {
            let user = match i % 400 {
                3 => format!("user{i}-").repeat(150),
                _ => format!("user{i}"),
            };
            let value = match i % 100 {
                9 => format!("value{i}").repeat(700),
                _ => format!("value{i}"),
            };
            let realm = format!("realm{}.example", i % 5);
            (user, realm, "userPassword".to_string(), value.into_bytes())
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn db_load_hash_files_in_both_byte_orders_and_with_checksums_read_every_pair() {
    if !have("db_load", "db-util") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let pairs = many_pairs();
    std::fs::write(&input, load_text(&pairs)).unwrap();
    let cases = [
        (
            "little",
            "1234",
            "0",
            SasldbFormat::BerkeleyHashLittleEndian,
        ),
        ("big", "4321", "0", SasldbFormat::BerkeleyHashBigEndian),
        (
            "checksum",
            "1234",
            "1",
            SasldbFormat::BerkeleyHashLittleEndian,
        ),
    ];
    for (name, lorder, chksum, format) in cases {
        let file = dir.path().join(format!("{name}.db"));
        let lorder = format!("db_lorder={lorder}");
        let chksum = format!("chksum={chksum}");
        let args = [
            "-T",
            "-t",
            "hash",
            "-c",
            &lorder,
            "-c",
            "db_pagesize=512",
            "-c",
            &chksum,
            "-f",
            input.to_str().unwrap(),
            file.to_str().unwrap(),
        ];
        run("db_load", &args, &[], b"");
        let db = sasldb::read(&file).unwrap();
        assert_eq!(db.format, format, "{name}");
        assert_eq!(sorted(&db), pairs, "{name}");
    }
}

#[test]
fn mdb_load_files_with_a_deep_tree_and_overflow_runs_read_every_pair() {
    if !have("mdb_load", "lmdb-utils") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    // LMDB keys are at most 511 bytes: keep the long user names shorter here.
    let pairs: Vec<_> = many_pairs()
        .into_iter()
        .map(|(user, realm, property, value)| {
            (user.chars().take(300).collect(), realm, property, value)
        })
        .collect();
    let mut pairs = pairs;
    pairs.sort();
    std::fs::write(&input, load_text(&pairs)).unwrap();
    let file = dir.path().join("sasldb2");
    run(
        "mdb_load",
        &[
            "-n",
            "-T",
            "-f",
            input.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[],
        b"",
    );
    let db = sasldb::read(&file).unwrap();
    assert_eq!(db.format, SasldbFormat::Lmdb);
    assert_eq!(sorted(&db), pairs);
}
