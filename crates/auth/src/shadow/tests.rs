//! Known-answer vectors and file handling of the `shadow` source. The hashes below were made
//! once on Debian 12 (libxcrypt 4.4.33, whois 5.5.17, OpenSSL 3.0), all of the password
//! `correct horse`, with the command given beside each.

use std::io::Write;

use super::*;

/// `mkpasswd -m yescrypt 'correct horse'`
const YESCRYPT: &str = "$y$j9T$YmSa9VoHoIcWNvBRPLHXH0$5xaXxolQgfzPBQXceCQzkPIsNaM10T4HVk383W7iN74";
/// `mkpasswd -m yescrypt -R 3 'correct horse'` (a lower cost: `j7T`)
const YESCRYPT_COST_3: &str =
    "$y$j7T$wQesy8GJ0NzgeA.jlRnJX/$myEhEpYhQIL1Ss95nxdP5XuPiCMzDiTco6QvcToECU7";
/// `mkpasswd -m sha-512 'correct horse'`
const SHA512: &str = "$6$Xz0HdcypCaA5hidZ$1Zg.CXQAGKsy68wD.GESepZKgj0uf/CE3ql1FKW1T4zlglAa/lje76vKD9nQQ56PTWGWmw8FxDmy/jHgCMXLg.";
/// `mkpasswd -m sha-512 -R 10000 'correct horse'`
const SHA512_ROUNDS: &str = "$6$rounds=10000$t8y4K.6aVWngKZHq$75xIEZmbPjyN3Ed7AJ8olomwU5yi3XnmGgbhnjpo9Hv0i0OjyDH2vtt6vnwH7nvGNgApPidJe9y/7I3rqr9sZ.";
/// `openssl passwd -5 'correct horse'`
const SHA256: &str = "$5$7sKUlgj5q8qujhX5$7jWEuHuHfI1npBuXnlhUdfxbm4gnDCoKKGJuJXu2lH2";
/// `mkpasswd -m sha-256 -R 2000 'correct horse'`
const SHA256_ROUNDS: &str =
    "$5$rounds=2000$1L38dq5dxN2Xh4SY$kN0B7BiVhcUgtDFTDNUnCbHDex9wpw2AbMnuavaaEe/";
/// `mkpasswd -m bcrypt -R 5 'correct horse'`
const BCRYPT_2B: &str = "$2b$05$OoatLdJk/K5NFksHzlFKTe13jmr/WNXMldIFzY3zS7OBCWal4Gnpa";
/// `mkpasswd -m bcrypt-a -R 5 'correct horse'`
const BCRYPT_2A: &str = "$2a$05$jklXvLwPrgyyEaIN4zlVVecFxxFiZeJgM7zhJFotkejIqdwvTkpoi";
/// `mkpasswd` makes no `$2y$`; libxcrypt computes `$2y$` exactly as `$2b$`, which
/// `python3 -c 'import crypt; print(crypt.crypt("correct horse", "$2y$05$OoatLdJk/K5NFksHzlFKTe"))'`
/// confirms: [`BCRYPT_2B`] with its prefix changed.
const BCRYPT_2Y: &str = "$2y$05$OoatLdJk/K5NFksHzlFKTe13jmr/WNXMldIFzY3zS7OBCWal4Gnpa";

const RIGHT: &[u8] = b"correct horse";

#[test]
fn each_scheme_verifies_its_password_and_refuses_others() {
    for hash in [
        YESCRYPT,
        YESCRYPT_COST_3,
        SHA512,
        SHA512_ROUNDS,
        SHA256,
        SHA256_ROUNDS,
        BCRYPT_2B,
        BCRYPT_2A,
        BCRYPT_2Y,
    ] {
        assert_eq!(crypt::verify(hash, RIGHT), Ok(true), "{hash}");
        for wrong in [
            &b"correct horsE"[..],
            b"correct hors",
            b"",
            b"correct horse ",
        ] {
            assert_eq!(
                crypt::verify(hash, wrong),
                Ok(false),
                "{hash} with {wrong:?}"
            );
        }
    }
}

#[test]
fn locked_empty_and_unsupported_hashes_never_verify() {
    let locked = format!("!{SHA512}");
    for (stored, why) in [
        (locked.as_str(), Refusal::Locked),
        ("!", Refusal::Locked),
        ("!!", Refusal::Locked),
        ("*", Refusal::Locked),
        ("*LK*", Refusal::Locked),
        ("", Refusal::NoPassword),
    ] {
        assert_eq!(crypt::verify(stored, RIGHT), Err(why), "{stored:?}");
    }
    for stored in [
        // `mkpasswd -m md5crypt 'correct horse'`-shaped, `mkpasswd -m descrypt`-shaped
        "$1$abcdefgh$0123456789012345678901",
        "ab01234567890",
        "$2x$05$OoatLdJk/K5NFksHzlFKTe13jmr/WNXMldIFzY3zS7OBCWal4Gnpa",
        "$7$whatever",
        "plain text",
    ] {
        assert!(
            matches!(crypt::verify(stored, RIGHT), Err(Refusal::UnusableHash(_))),
            "{stored:?}"
        );
    }
}

#[test]
fn sha_crypt_strings_libxcrypt_would_not_produce_are_refused() {
    // libxcrypt answers `*0` for rounds below 1000 and writes at most 16 salt characters.
    for stored in [
        "$5$rounds=500$nGE/3UOJYoZgKdrK$kN7ubT0.GpeYUIjVavaHPbIGHrWVNBVUQNOWVMxvx90",
        "$5$rounds=+2000$1L38dq5dxN2Xh4SY$kN0B7BiVhcUgtDFTDNUnCbHDex9wpw2AbMnuavaaEe/",
        "$5$rounds=$1L38dq5dxN2Xh4SY$kN0B7BiVhcUgtDFTDNUnCbHDex9wpw2AbMnuavaaEe/",
        "$6$abcdefghijklmnopqrst$q2YZbPhm1LySTIzZVDisu/y2CX1McrFsw529ViOLMxoKT.sfgjBo4aFu.hwtGjEDxRb6mn/TZMj7V4/1AUTLi1",
        "$6$$abc",
        "$6$onlysalt",
        "$5$rounds=2000$kN0B7BiVhcUgtDFTDNUnCbHDex9wpw2AbMnuavaaEe/",
        "$5$7sKUlgj5q8qujhX5$7jWEuHuHfI1npBuXnlhUdfxbm4gnDCoKKGJuJXu2lH",
    ] {
        assert!(
            matches!(crypt::verify(stored, RIGHT), Err(Refusal::UnusableHash(_))),
            "{stored:?}"
        );
    }
}

#[test]
fn yescrypt_parameters_beyond_the_memory_bound_are_refused_uncomputed() {
    // `j9T` is N = 2^12, r = 32 (16 MiB); the digit `I` makes N = 2^21: 8 GiB, which
    // without the bound would be allocated.
    let huge = YESCRYPT.replacen("$j9T$", "$jIT$", 1);
    let params: yescrypt::Params = "jIT".parse().expect("valid parameters, only too costly");
    assert_eq!((params.n(), params.r()), (1 << 21, 32));
    assert!(matches!(
        crypt::verify(&huge, RIGHT),
        Err(Refusal::UnusableHash(_))
    ));
    assert!(matches!(
        crypt::verify("$y$!!$salt$hash", RIGHT),
        Err(Refusal::UnusableHash(_))
    ));
}

/// A passwd and a shadow file in a temp dir.
struct Files {
    _dir: tempfile::TempDir,
    files: ShadowFiles,
}

fn files(passwd: &str, shadow: Option<&str>) -> Files {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("passwd"), passwd).unwrap();
    if let Some(shadow) = shadow {
        std::fs::write(dir.path().join("shadow"), shadow).unwrap();
    }
    let files = ShadowFiles::at(dir.path().join("passwd"), dir.path().join("shadow"));
    Files { _dir: dir, files }
}

fn passwd_line(name: &str, field: &str) -> String {
    format!("{name}:{field}:1000:1000:{name},,,:/home/{name}:/bin/sh\n")
}

fn shadow_line(name: &str, hash: &str, ageing: &str) -> String {
    format!("{name}:{hash}:{ageing}:\n")
}

/// Days since 1970 of "now", as the ageing rules see it.
const TODAY: i64 = 20_000;

fn check(files: &Files, user: &str, password: &[u8]) -> ShadowCheck {
    files.files.verify_on(user, password, TODAY).unwrap()
}

#[test]
fn a_shadow_entry_decides_and_a_wrong_password_is_refused() {
    let f = files(
        &(passwd_line("root", "x") + &passwd_line("alice", "x")),
        Some(
            &(shadow_line("root", "*", "19000:0:99999:7::")
                + &shadow_line("alice", SHA512, "19000:0:99999:7::")),
        ),
    );
    assert_eq!(check(&f, "alice", RIGHT), ShadowCheck::Valid);
    assert_eq!(
        check(&f, "alice", b"wrong"),
        ShadowCheck::Refused(Refusal::WrongPassword)
    );
    assert_eq!(
        check(&f, "root", RIGHT),
        ShadowCheck::Refused(Refusal::Locked)
    );
    assert_eq!(
        check(&f, "bob", RIGHT),
        ShadowCheck::Refused(Refusal::NoSuchUser)
    );
    assert_eq!(
        check(&f, "Alice", RIGHT),
        ShadowCheck::Refused(Refusal::NoSuchUser),
        "names are compared exactly"
    );
}

#[test]
fn the_public_api_checks_against_todays_date() {
    let f = files(
        &passwd_line("alice", "x"),
        Some(&shadow_line("alice", SHA256, "19000:0:99999:7::")),
    );
    let right = Secret::new("correct horse".to_string());
    assert_eq!(f.files.verify("alice", &right).unwrap(), ShadowCheck::Valid);
}

#[test]
fn old_format_hash_in_passwd_works_when_shadow_has_no_entry() {
    let passwd = passwd_line("carol", BCRYPT_2B) + &passwd_line("dave", "x");
    for shadow in [Some("other:*:19000:0:99999:7:::\n"), None] {
        let f = files(&passwd, shadow);
        assert_eq!(check(&f, "carol", RIGHT), ShadowCheck::Valid, "{shadow:?}");
        assert_eq!(
            check(&f, "carol", b"nope"),
            ShadowCheck::Refused(Refusal::WrongPassword)
        );
        assert_eq!(
            check(&f, "dave", RIGHT),
            ShadowCheck::Refused(Refusal::NoShadowEntry)
        );
    }
}

#[test]
fn a_shadow_entry_overrides_a_hash_left_in_passwd() {
    let f = files(
        &passwd_line("erin", SHA256),
        Some(&shadow_line("erin", &format!("!{SHA256}"), "19000:::::")),
    );
    assert_eq!(
        check(&f, "erin", RIGHT),
        ShadowCheck::Refused(Refusal::Locked)
    );
}

#[test]
fn a_malformed_shadow_entry_refuses_instead_of_falling_back_to_passwd() {
    let f = files(
        &passwd_line("erin", SHA256),
        Some("erin:$5$x$y:not-a-day:0:99999:7:::\n"),
    );
    assert_eq!(
        check(&f, "erin", RIGHT),
        ShadowCheck::Refused(Refusal::MalformedShadowEntry)
    );
}

#[test]
fn ageing_fields_refuse_expired_accounts_and_passwords() {
    let today = TODAY;
    let cases = [
        // (lastchg:min:max:warn:inactive:expire, outcome)
        (format!("19000:0:99999:7::{}", today + 1), None),
        (
            format!("19000:0:99999:7::{today}"),
            Some(Refusal::AccountExpired),
        ),
        ("19000:0:99999:7::0".to_string(), None), // 0: shadow(5) says "do not use"; treated as never
        (
            "0:0:99999:7::".to_string(),
            Some(Refusal::MustChangePassword),
        ),
        (":::::".to_string(), None),
        (format!("{}:0:30:7::", today - 29), None),
        (
            format!("{}:0:30:7::", today - 30),
            Some(Refusal::MustChangePassword),
        ),
        (
            format!("{}:0:30:7:5:", today - 34),
            Some(Refusal::MustChangePassword),
        ),
        (
            format!("{}:0:30:7:5:", today - 35),
            Some(Refusal::PasswordInactive),
        ),
        ("1:0:10000:7::".to_string(), None), // max ≥ 10000 days: never
        ("-1:0:-1:7:-1:-1".to_string(), None),
    ];
    for (ageing, refusal) in cases {
        let f = files(
            &passwd_line("alice", "x"),
            Some(&shadow_line("alice", SHA256, &ageing)),
        );
        let expected = refusal.map_or(ShadowCheck::Valid, ShadowCheck::Refused);
        assert_eq!(check(&f, "alice", RIGHT), expected, "{ageing}");
    }
}

#[test]
fn malformed_lines_are_skipped_with_a_reason() {
    let passwd = [
        "# a comment\n",
        "\n",
        "+nis::::::\n",
        "short:x:1000\n",
        "baduid:x:ten:1000::/:/bin/sh\n",
        ":x:1000:1000::/:/bin/sh\n",
        "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
    ]
    .concat();
    let shadow = [
        "alice:not:a:shadow:line\n",
        "alice:$6$x$y:soon:0:99999:7:::\n",
        &shadow_line("alice", SHA512, "19000:0:99999:7::"),
    ]
    .concat();
    let f = files(&passwd, Some(&shadow));
    assert_eq!(
        check(&f, "alice", RIGHT),
        ShadowCheck::Valid,
        "the well-formed entry after the broken ones is used"
    );
    let problems = f.files.problems().unwrap();
    let lines: Vec<(String, usize)> = problems
        .iter()
        .map(|p| {
            (
                p.path.file_name().unwrap().to_string_lossy().into_owned(),
                p.line,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("passwd".to_string(), 3),
            ("passwd".to_string(), 4),
            ("passwd".to_string(), 5),
            ("passwd".to_string(), 6),
            ("shadow".to_string(), 1),
            ("shadow".to_string(), 2),
        ]
    );
    assert!(problems[1].reason.contains("3 fields"), "{}", problems[1]);
    assert!(
        problems[5].reason.contains("not a number"),
        "{}",
        problems[5]
    );
    assert_eq!(
        check(&f, "short", RIGHT),
        ShadowCheck::Refused(Refusal::NoSuchUser)
    );
}

#[test]
fn over_long_lines_and_non_utf8_are_skipped_and_the_rest_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let mut file = std::fs::File::create(&passwd).unwrap();
    file.write_all(b"mallory:x:1000:1000:").unwrap();
    file.write_all(&vec![b'A'; 3 * MAX_LINE_BYTES]).unwrap();
    file.write_all(b":/:/bin/sh\n").unwrap();
    file.write_all(b"bin\xff:x:2:2::/:/bin/sh\n").unwrap();
    file.write_all(passwd_line("alice", SHA512).as_bytes())
        .unwrap();
    file.write_all(b"last:x:3:3::/:/bin/sh").unwrap(); // no final newline
    drop(file);
    let f = ShadowFiles::at(&passwd, dir.path().join("absent"));
    assert_eq!(
        f.verify_on("alice", RIGHT, TODAY).unwrap(),
        ShadowCheck::Valid
    );
    assert_eq!(
        f.verify_on("mallory", RIGHT, TODAY).unwrap(),
        ShadowCheck::Refused(Refusal::NoSuchUser)
    );
    assert_eq!(
        f.verify_on("last", RIGHT, TODAY).unwrap(),
        ShadowCheck::Refused(Refusal::NoShadowEntry),
        "a last line without a newline is read"
    );
    let reasons: Vec<(usize, String)> = f
        .problems()
        .unwrap()
        .into_iter()
        .map(|p| (p.line, p.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "line longer than 8192 bytes".to_string()),
            (2, "not UTF-8".to_string())
        ]
    );
}

#[test]
fn a_file_over_the_size_bound_is_an_error_not_a_partial_read() {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let line = passwd_line("user", "x");
    let file = std::fs::File::create(&passwd).unwrap();
    let mut out = std::io::BufWriter::new(file);
    let copies = MAX_FILE_BYTES / line.len() as u64 + 1;
    for _ in 0..copies {
        out.write_all(line.as_bytes()).unwrap();
    }
    out.write_all(passwd_line("alice", SHA512).as_bytes())
        .unwrap();
    drop(out);
    let f = ShadowFiles::at(&passwd, dir.path().join("shadow"));
    assert!(matches!(
        f.verify_on("alice", RIGHT, TODAY),
        Err(ShadowError::TooLarge { .. })
    ));
}

#[test]
fn an_unreadable_passwd_file_is_an_error_and_names_and_passwords_are_bounded() {
    let f = ShadowFiles::at("/nonexistent/passwd", "/nonexistent/shadow");
    assert!(matches!(
        f.verify_on("alice", RIGHT, TODAY),
        Err(ShadowError::Read { .. })
    ));
    let f = files(&passwd_line("alice", SHA256), None);
    let long = vec![b'a'; MAX_PASSWORD_BYTES + 1];
    assert_eq!(
        check(&f, "alice", &long),
        ShadowCheck::Refused(Refusal::PasswordTooLong)
    );
    for name in ["", "alice:x", "alice\n", &"a".repeat(300)] {
        assert_eq!(
            check(&f, name, RIGHT),
            ShadowCheck::Refused(Refusal::NoSuchUser),
            "{name:?}"
        );
    }
}
