//! Known answers for the semantic checks: the example scripts of RFC 5228 and of the supported
//! extensions check clean with the capabilities they require; a table of invalid scripts, each
//! with its exact error and position.

use sieve::{check, parse, Capabilities, Position};

fn clean(src: &str) -> Vec<&'static str> {
    let script = parse(src.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{src}"));
    check(&script, &Capabilities::all())
        .unwrap_or_else(|e| panic!("{e}\n{src}"))
        .requires
}

fn refused_with(src: &str, capabilities: &Capabilities) -> (u32, u32, String) {
    let script = parse(src.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{src}"));
    match check(&script, capabilities) {
        Ok(c) => panic!("checked clean ({c:?}):\n{src}"),
        Err(e) => (e.position.line, e.position.column, e.message),
    }
}

fn refused(src: &str) -> (u32, u32, String) {
    refused_with(src, &Capabilities::all())
}

#[test]
fn rfc5228_examples() {
    for src in [
        "if size :over 100k { # this is a comment\r\n    discard;\r\n}\r\n",
        "if size :over 100K { /* this is a comment\r\n    this is still a comment */ discard /* this is a comment\r\n    */ ;\r\n}\r\n",
        "if header :contains \"from\" \"coyote\" {\n   discard;\n} elsif header :contains [\"subject\"] [\"$$$\"] {\n   discard;\n} else {\n   keep;\n}",
        "require \"fileinto\";\nif header :contains [\"from\"] \"coyote\" {\n   fileinto \"INBOX.harassment\";\n}",
        "redirect \"bart@example.com\";",
        "if size :under 1M { keep; } else { discard; }",
        "if header :contains \"Subject\" \"$$$\" { discard; }",
        "if anyof (not exists [\"From\",\"Date\"], header :contains \"from\" \"fool@example.com\") { discard; }",
        "if allof (header :contains \"From\" \"Coyote\", header :contains \"To\" \"Roadrunner\") { discard; }",
        "if not size :over 100K { keep; }",
        "if address :is :all \"from\" \"tim@example.com\" { discard; }",
        "require \"envelope\";\nif envelope :all :is \"from\" \"tim@example.com\" { discard; }",
        "if header :is [\"X-Caffeine\"] [\"\"] { discard; }",
        "if header :contains [\"X-Caffeine\"] [\"\"] { keep; }",
        "if header :comparator \"i;octet\" :contains \"Subject\" \"MAKE MONEY FAST\" { discard; }",
        "if header :matches \"Subject\" [\"*money*\", \"*Money*\"] { stop; }",
        "if exists \"From\" { keep; } elsif false { stop; } elsif true { discard; }",
        "require [\"comparator-i;octet\", \"comparator-i;ascii-casemap\"];\nkeep;",
        // §9, the extended example.
        "#\r\n# Example Sieve Filter\r\n#\r\nrequire [\"fileinto\"];\r\n\
         if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\"\r\n        {\r\n\
         fileinto \"filter\";  # move to \"filter\" mailbox\r\n        }\r\n\
         elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\"\r\n        {\r\n\
         keep;               # keep in \"In\" mailbox\r\n        }\r\n\
         elsif anyof (NOT address :all :contains\r\n               [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\r\n\
         header :matches \"subject\"\r\n               [\"*make*money*fast*\", \"*university*dipl*mas*\"])\r\n\
         {\r\n        fileinto \"spam\";   # move to \"spam\" mailbox\r\n        }\r\n\
         else\r\n        {\r\n        fileinto \"personal\";\r\n        }\r\n",
    ] {
        clean(src);
    }
}

#[test]
fn extension_examples() {
    for (src, requires) in [
        // RFC 5229 (variables).
        (
            "require \"variables\";\nset \"honorific\"  \"Mr\";\nset \"first_name\" \"Wile\";\n\
             set \"last_name\" \"Coyote\";\nset \"vacation\" text:\nDear ${HONORIFIC} ${last_name},\n\
             I'm out, please leave a message after the meep.\n.\n;\n\
             set \"a\" \"juMBlEd lETteRS\";\nset :length \"b\" \"${a}\";\nset :lower \"b\" \"${a}\";\n\
             set :upperfirst \"b\" \"${a}\";\nset :upperfirst :lower \"b\" \"${a}\";\n\
             set :quotewildcard \"b\" \"Rock*\";\n\
             if string :is :comparator \"i;octet\" \"${state}\" \"\" { stop; }\n\
             if header :matches \"Subject\" \"[*] *\" { set \"list\" \"${1}\"; }",
            vec!["variables"],
        ),
        // RFC 5230 (vacation).
        (
            "require \"vacation\";\nif header :contains \"subject\" \"cyrus\" {\n    \
             vacation \"I'm out -- send mail to cyrus-bugs\";\n} else {\n    \
             vacation \"I'm out -- call me at +1 304 555 0123\";\n}",
            vec!["vacation"],
        ),
        (
            "require \"vacation\";\r\nvacation :days 23 :addresses [\"tjs@example.edu\",\r\n\
             \"ts4z@landru.example.edu\"]\r\n   :subject \"Gone\" :mime text:\r\n\
             Content-Type: text/plain\r\n\r\n..I am away.\r\n.\r\n;\r\n",
            vec!["vacation"],
        ),
        (
            "require [\"vacation\", \"variables\"];\nif header :matches \"subject\" \"*\" {\n  \
             vacation :subject \"Automatic response to: ${1}\" \"I'm away\";\n}\n\
             vacation :handle \"ran-away\" :from \"hemberger@example.com\" \"I'm gone\";",
            vec!["vacation", "variables"],
        ),
        // RFC 6131 (vacation-seconds).
        (
            "require [\"vacation\", \"vacation-seconds\"];\n\
             vacation :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\n  \
             :seconds 1800\n  \"I am in a meeting, and do not have access to email.\";\n\
             vacation :handle \"auto-resp\" :seconds 0 \"Your request has been received.\";",
            vec!["vacation", "vacation-seconds"],
        ),
        // RFC 6131: "vacation-seconds" implies "vacation".
        (
            "require \"vacation-seconds\";\nvacation :seconds 60 \"Short break.\";",
            vec!["vacation-seconds"],
        ),
        // RFC 5232 (imap4flags).
        (
            "require [\"imap4flags\", \"fileinto\", \"variables\"];\naddflag \"\\\\Deleted\";\n\
             if header :contains \"from\" \"boss@frobnitzm.example.edu\" {\n  \
             setflag \"flagvar\" \"\\\\Flagged\";\n  fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";\n}\n\
             if hasflag :contains \"MyVar\" \"Junk\" { discard; }\n\
             if hasflag :is \"\\\\Flagged\" { keep :flags [\"\\\\Seen\"]; }\n\
             removeflag \"flagvar\" [\"\\\\Flagged\", \"\\\\Answered\"];\n\
             setflag [\"\\\\Seen\"];",
            vec!["fileinto", "imap4flags", "variables"],
        ),
        (
            "require [\"imap4flags\", \"relational\", \"comparator-i;ascii-numeric\"];\n\
             if hasflag :count \"ge\" :comparator \"i;ascii-numeric\" \"2\" { keep; }",
            vec!["comparator-i;ascii-numeric", "imap4flags", "relational"],
        ),
        // RFC 5173 (body).
        (
            "require [\"body\", \"fileinto\"];\nif body :raw :contains \"MAKE MONEY FAST\" {\n  discard;\n}\n\
             if body :content \"text\" :contains [\"missile\", \"coordinates\"] {\n  fileinto \"secrets\";\n}\n\
             if body :content \"\" :contains \"\" { keep; }\nif body :text :matches \"*sale*\" { stop; }",
            vec!["body", "fileinto"],
        ),
        // RFC 5429 (reject, ereject).
        (
            "require [\"reject\"];\nif size :over 100K {\n   reject text:\nYour message is too big.\n.\n;\n}",
            vec!["reject"],
        ),
        (
            "require [\"ereject\"];\nif address \"from\" \"someone.i.hate@example.com\" {\n  \
             ereject \"I no longer accept mail from this address\";\n}",
            vec!["ereject"],
        ),
        // RFC 5231 (relational).
        (
            "require [\"relational\", \"comparator-i;ascii-numeric\"];\n\
             if header :value \"lt\" :comparator \"i;ascii-numeric\" [\"x-priority\"] [\"3\"] { keep; }\n\
             if address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] [\"3\"] { discard; }\n\
             if header :count \"ge\" :comparator \"i;ascii-numeric\" [\"received\"] [\"2\"] { stop; }\n\
             if header :value \"gt\" :comparator \"i;ascii-casemap\" \"from\" \"M\" { stop; }\n\
             if anyof (header :count \"eq\" :comparator \"i;ascii-numeric\" \"x-spam\" \"0\", \
             header :value \"NE\" \"subject\" \"x\") { keep; }",
            vec!["comparator-i;ascii-numeric", "relational"],
        ),
        // RFC 5233 (subaddress).
        (
            "require [\"envelope\", \"subaddress\", \"fileinto\"];\n\
             if envelope :user \"to\" \"postmaster\" { fileinto \"inbox.postmaster\"; stop; }\n\
             if envelope :detail :is \"to\" \"mta-filters\" { fileinto \"inbox.ietf-mta-filters\"; stop; }\n\
             if envelope :domain :matches \"to\" \"*.example.com\" { stop; }\n\
             if address :detail :matches [\"to\", \"cc\"] \"\" { stop; }\n\
             if address :user \"from\" \"ken\" { keep; }",
            vec!["envelope", "fileinto", "subaddress"],
        ),
        // RFC 3894 (copy).
        (
            "require [\"copy\", \"fileinto\"];\nif header :contains \"subject\" \"report\" {\n  \
             redirect :copy \"boss@example.com\";\n  fileinto :copy \"Reports\";\n}",
            vec!["copy", "fileinto"],
        ),
        // RFC 5228 §2.7.3 with the numeric comparator.
        (
            "require \"comparator-i;ascii-numeric\";\n\
             if header :comparator \"i;ascii-numeric\" :is \"x-priority\" \"1\" { keep; }",
            vec!["comparator-i;ascii-numeric"],
        ),
    ] {
        assert_eq!(clean(src), requires, "{src}");
    }
}

#[test]
fn invalid_scripts_are_refused_with_the_place_and_the_reason() {
    let table: &[(&str, u32, u32, &str)] = &[
        ("keep;\nrequire \"fileinto\";", 2, 1, "`require` must come before every other command"),
        ("if true { require \"fileinto\"; }", 1, 11, "`require` must come before every other command"),
        ("require \"foreverypart\";", 1, 9, "unsupported capability \"foreverypart\""),
        ("require [\"fileinto\", \"mime\"];", 1, 9, "unsupported capability \"mime\""),
        ("require \"FILEINTO\";", 1, 9, "unsupported capability \"FILEINTO\""),
        ("require :copy \"copy\";", 1, 9, "unknown tag `:copy` for the `require` command"),
        ("require 1;", 1, 9, "the capabilities of `require` must be a string list, found a number"),
        ("require \"fileinto\" { }", 1, 1, "`require` takes no test and no block"),
        ("require \"fileinto\" true;", 1, 1, "`require` takes no test and no block"),
        ("fileinto \"x\";", 1, 1, "`fileinto` needs `require \"fileinto\"`"),
        ("reject \"no\";", 1, 1, "`reject` needs `require \"reject\"`"),
        ("if envelope \"to\" \"x\" { stop; }", 1, 4, "`envelope` needs `require \"envelope\"`"),
        ("require \"fileinto\";\nfileinto :copy \"x\";", 2, 10, "`:copy` needs `require \"copy\"`"),
        ("keep :flags \"\\\\Seen\";", 1, 6, "`:flags` needs `require \"imap4flags\"`"),
        ("if header :count \"ge\" \"to\" \"2\" { stop; }", 1, 11, "`:count` needs `require \"relational\"`"),
        ("if address :user \"to\" \"x\" { stop; }", 1, 12, "`:user` needs `require \"subaddress\"`"),
        ("set \"a\" \"b\";", 1, 1, "`set` needs `require \"variables\"`"),
        ("if string \"a\" \"b\" { stop; }", 1, 4, "`string` needs `require \"variables\"`"),
        ("if body \"x\" { stop; }", 1, 4, "`body` needs `require \"body\"`"),
        ("require \"vacation\";\nvacation :seconds 60 \"x\";", 2, 10, "`:seconds` needs `require \"vacation-seconds\"`"),
        (
            "if header :comparator \"i;ascii-numeric\" \"a\" \"1\" { stop; }",
            1, 23, "the comparator \"i;ascii-numeric\" needs `require \"comparator-i;ascii-numeric\"`",
        ),
        ("if header :comparator \"i;unicode-casemap\" \"a\" \"b\" { stop; }", 1, 23, "unknown comparator \"i;unicode-casemap\""),
        ("frobnicate;", 1, 1, "unknown command `frobnicate`"),
        ("if frob { stop; }", 1, 4, "unknown test `frob`"),
        ("if header :regex \"a\" \"b\" { stop; }", 1, 11, "`:regex` needs `require \"regex\"`"),
        ("if header :mime \"a\" \"b\" { stop; }", 1, 11, "unknown tag `:mime` for the `header` test"),
        ("if header :is :is \"a\" \"b\" { stop; }", 1, 15, "`:is` is given twice"),
        (
            "if header :is :contains \"a\" \"b\" { stop; }", 1, 15,
            "`:contains` and `:is` are both given: only one match type is allowed",
        ),
        (
            "if address :all :domain \"a\" \"b\" { stop; }", 1, 17,
            "`:domain` and `:all` are both given: only one address part is allowed",
        ),
        (
            "if header :comparator \"i;octet\" :comparator \"i;octet\" \"a\" \"b\" { stop; }", 1, 33,
            "`:comparator` is given twice",
        ),
        ("if size :over :under 1 { stop; }", 1, 15, "`:under` and `:over` are both given: only one size comparison is allowed"),
        ("if size 1 { stop; }", 1, 4, "`size` needs `:over` or `:under`"),
        ("if size :over \"1\" { stop; }", 1, 15, "the limit of `size` must be a number, found a string"),
        ("if header \"a\" { stop; }", 1, 4, "the `header` test lacks its keys"),
        ("if header { stop; }", 1, 4, "the `header` test lacks its header names and keys"),
        ("if header \"a\" \"b\" \"c\" { stop; }", 1, 19, "too many arguments to the `header` test"),
        ("if header :comparator { stop; }", 1, 11, "`:comparator` needs a string after it"),
        ("if header :comparator 1 \"a\" \"b\" { stop; }", 1, 23, "`:comparator` needs a string, found a number"),
        ("if header \"a\" :is \"b\" { stop; }", 1, 15, "the tag `:is` comes after a positional argument of `header`"),
        ("redirect [\"a@example.com\", \"b@example.com\"];", 1, 10, "the address of `redirect` must be a string, found a string list"),
        ("redirect 5;", 1, 10, "the address of `redirect` must be a string, found a number"),
        ("redirect;", 1, 1, "the `redirect` command lacks its address"),
        ("keep 1;", 1, 6, "too many arguments to the `keep` command"),
        ("keep true;", 1, 6, "the `keep` command takes no test"),
        ("stop { keep; }", 1, 1, "`stop` takes no block"),
        ("if true;", 1, 1, "`if` needs a block"),
        ("if { keep; }", 1, 1, "`if` needs a test"),
        ("if (true, false) { keep; }", 1, 5, "`if` takes one test, not a test list"),
        ("if anyof true { keep; }", 1, 10, "`anyof` needs a test list `( ... )`"),
        ("if not (true) { keep; }", 1, 9, "`not` takes one test, not a test list"),
        ("if exists \"a\" true { keep; }", 1, 15, "the `exists` test takes no test"),
        ("else { keep; }", 1, 1, "`else` must follow `if` or `elsif`"),
        ("keep;\nelsif true { keep; }", 2, 1, "`elsif` must follow `if` or `elsif`"),
        ("if true { keep; } else { keep; } else { keep; }", 1, 34, "`else` must follow `if` or `elsif`"),
        ("if true { keep; }\nkeep;\nelse { keep; }", 3, 1, "`else` must follow `if` or `elsif`"),
        ("else true { keep; }", 1, 1, "`else` must follow `if` or `elsif`"),
        ("if true { keep; } else true { keep; }", 1, 24, "the `else` command takes no test"),
        (
            "require [\"relational\", \"comparator-i;ascii-numeric\"];\nif header :count \"gte\" \"a\" \"1\" { stop; }",
            2, 18, "\"gte\" is not a relational operator (gt, ge, lt, le, eq, ne)",
        ),
        (
            "require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { stop; }",
            2, 33, "the comparator \"i;ascii-numeric\" does not support `:contains`",
        ),
        (
            "require \"variables\";\nset :lower :upper \"a\" \"b\";", 2, 12,
            "`:upper` and `:lower` are both given: only one modifier of precedence 40 is allowed",
        ),
        ("require \"variables\";\nset \"1a\" \"b\";", 2, 5, "\"1a\" is not a variable name"),
        ("require \"variables\";\nset \"a.b\" \"c\";", 2, 5, "\"a.b\" is not a variable name"),
        ("require \"variables\";\nset \"a\";", 2, 1, "the `set` command lacks its value"),
        (
            "require [\"vacation\", \"vacation-seconds\"];\nvacation :days 1 :seconds 60 \"x\";", 2, 18,
            "`:seconds` and `:days` are both given: only one period is allowed",
        ),
        ("require \"vacation\";\nvacation :days \"1\" \"x\";", 2, 16, "`:days` needs a number, found a string"),
        ("require \"vacation\";\nvacation :mime;", 2, 1, "the `vacation` command lacks its reason"),
        ("require \"imap4flags\";\nsetflag;", 2, 1, "the `setflag` command lacks its flags"),
        ("require \"imap4flags\";\naddflag [\"a\"] [\"b\"];", 2, 9, "the variable name of `addflag` must be a string, found a string list"),
        ("require \"body\";\nif body :raw :text \"x\" { stop; }", 2, 14, "`:text` and `:raw` are both given: only one body transform is allowed"),
        ("require \"body\";\nif body :content \"x\" { stop; }", 2, 4, "the `body` test lacks its keys"),
    ];
    for (src, line, column, message) in table {
        assert_eq!(
            refused(src),
            (*line, *column, (*message).to_string()),
            "{src}"
        );
    }
}

#[test]
fn a_capability_the_server_withholds_is_unsupported() {
    let caps = Capabilities::only(&["fileinto"]);
    assert!(caps.supports("fileinto") && !caps.supports("vacation"));
    assert_eq!(
        refused_with("require [\"fileinto\", \"vacation\"];", &caps),
        (1, 9, "unsupported capability \"vacation\"".into())
    );
    assert_eq!(
        refused_with(
            "require \"fileinto\";\nfileinto \"a\";",
            &Capabilities::only(&[])
        ),
        (1, 9, "unsupported capability \"fileinto\"".into())
    );
    let script = parse(b"require \"fileinto\";\nfileinto \"a\";").expect("parses");
    assert_eq!(
        check(&script, &caps).expect("checks").requires,
        ["fileinto"]
    );
    let e = check(
        &parse(b"keep; stop; redirect \"x@example.com\"; discard; else { }").expect("parses"),
        &caps,
    )
    .expect_err("else alone");
    assert_eq!(
        e.position,
        Position {
            line: 1,
            column: 48
        }
    );
}

/// Checks every script of `valid` clean with the requires given, and every script of
/// `invalid` refused at the line, column and with the message given.
fn known_answers(valid: &[(&str, &[&str])], invalid: &[(&str, u32, u32, &str)]) {
    for (src, requires) in valid {
        assert_eq!(clean(src), *requires, "{src}");
    }
    for (src, line, column, message) in invalid {
        assert_eq!(
            refused(src),
            (*line, *column, (*message).to_string()),
            "{src}"
        );
    }
}

#[test]
fn include_rfc6609() {
    known_answers(
        &[
            (
                "require [\"include\", \"variables\"];\nglobal \"test\";\nglobal \"test_mailbox\";\n\
                 set \"test\" \"$$\";\ninclude \"subject_tests\";\n\
                 set \"test\" \"Make money\";\ninclude :personal :once :optional \"subject_tests\";\n\
                 if string :is \"${test_mailbox}\" \"\" { return; }\nreturn;",
                &["include", "variables"],
            ),
            ("require \"include\";\ninclude :global \"spam_tests\";\nreturn;", &["include"]),
            (
                "require [\"include\", \"variables\"];\nglobal [\"a\", \"b_2\"];",
                &["include", "variables"],
            ),
        ],
        &[
            ("include \"x\";", 1, 1, "`include` needs `require \"include\"`"),
            ("return;", 1, 1, "`return` needs `require \"include\"`"),
            ("require \"include\";\nglobal \"a\";", 2, 1, "`global` needs `require \"variables\"`"),
            (
                "require \"include\";\ninclude :personal :global \"x\";", 2, 19,
                "`:global` and `:personal` are both given: only one location is allowed",
            ),
            ("require \"include\";\ninclude :once :once \"x\";", 2, 15, "`:once` is given twice"),
            ("require \"include\";\ninclude;", 2, 1, "the `include` command lacks its script name"),
            ("require \"include\";\ninclude [\"a\", \"b\"];", 2, 9, "the script name of `include` must be a string, found a string list"),
            ("require \"include\";\ninclude \"\";", 2, 9, "the script name of `include` is empty"),
            (
                "require [\"include\", \"variables\"];\ninclude \"${name}\";", 2, 9,
                "the script name of `include` must be constant (no \"${\")",
            ),
            ("require \"include\";\nreturn 1;", 2, 8, "too many arguments to the `return` command"),
            ("require [\"include\", \"variables\"];\nglobal \"1a\";", 2, 8, "\"1a\" is not a variable name"),
        ],
    );
}

#[test]
fn date_and_index_rfc5260() {
    known_answers(
        &[
            (
                "require [\"date\", \"relational\", \"fileinto\"];\n\
                 if allof(header :is \"from\" \"boss@example.com\",\n\
                 date :value \"ge\" :originalzone \"date\" \"hour\" \"09\",\n\
                 date :value \"lt\" :originalzone \"date\" \"hour\" \"17\")\n\
                 { fileinto \"urgent\"; }",
                &["date", "fileinto", "relational"],
            ),
            (
                "require [\"date\", \"relational\", \"vacation\"];\n\
                 if allof(currentdate :value \"ge\" \"date\" \"2007-06-30\",\n\
                 currentdate :value \"le\" \"date\" \"2007-07-07\")\n\
                 { vacation :days 7 \"I'm away during the first week in July.\"; }",
                &["date", "relational", "vacation"],
            ),
            (
                "require [\"date\", \"variables\", \"index\"];\n\
                 if currentdate :zone \"-0800\" :matches \"ISO8601\" \"*\" { set \"d\" \"${1}\"; }\n\
                 if date :index 1 :last :zone \"+0530\" \"received\" \"weekday\" \"0\" { stop; }\n\
                 if header :index 2 :last :is \"received\" \"x\" { stop; }\n\
                 if address :index 1 :domain \"to\" \"example.com\" { stop; }\n\
                 if date :is \"date\" \"${part}\" \"x\" { stop; }",
                &["date", "index", "variables"],
            ),
        ],
        &[
            ("if date \"date\" \"year\" \"2024\" { stop; }", 1, 4, "`date` needs `require \"date\"`"),
            ("if currentdate \"year\" \"2024\" { stop; }", 1, 4, "`currentdate` needs `require \"date\"`"),
            (
                "require \"date\";\nif date \"date\" \"fortnight\" \"1\" { stop; }", 2, 16,
                "\"fortnight\" is not a date part (year, month, day, date, julian, hour, minute, second, time, iso8601, std11, zone, weekday)",
            ),
            (
                "require \"date\";\nif currentdate :zone \"UTC\" \"year\" \"2024\" { stop; }", 2, 22,
                "\"UTC\" is not a time zone (+hhmm or -hhmm)",
            ),
            (
                "require \"date\";\nif date :zone \"+0100\" :originalzone \"date\" \"year\" \"1\" { stop; }", 2, 23,
                "`:originalzone` and `:zone` are both given: only one zone is allowed",
            ),
            (
                "require \"date\";\nif currentdate :originalzone \"year\" \"1\" { stop; }", 2, 16,
                "unknown tag `:originalzone` for the `currentdate` test",
            ),
            ("require \"date\";\nif date \"year\" \"1\" { stop; }", 2, 4, "the `date` test lacks its keys"),
            ("if header :index 1 \"a\" \"b\" { stop; }", 1, 11, "`:index` needs `require \"index\"`"),
            ("require \"index\";\nif header :last \"a\" \"b\" { stop; }", 2, 11, "`:last` needs `:index`"),
            ("require \"index\";\nif header :index 0 \"a\" \"b\" { stop; }", 2, 18, "`:index` counts header fields from 1, not 0"),
            ("require \"index\";\nif header :index \"1\" \"a\" \"b\" { stop; }", 2, 18, "`:index` needs a number, found a string"),
            ("require \"index\";\nif exists :index 1 \"a\" { stop; }", 2, 11, "unknown tag `:index` for the `exists` test"),
        ],
    );
}

#[test]
fn mailbox_rfc5490_special_use_rfc8579_mailboxid_rfc9042() {
    known_answers(
        &[
            (
                "require [\"fileinto\", \"mailbox\"];\nif mailboxexists \"Partners\" { fileinto \"Partners\"; }\n\
                 else { fileinto :create \"Partners\"; }",
                &["fileinto", "mailbox"],
            ),
            (
                "require [\"fileinto\", \"special-use\", \"mailbox\"];\n\
                 if specialuse_exists \"\\\\Junk\" { fileinto :specialuse \"\\\\Junk\" \"Spam\"; }\n\
                 if specialuse_exists \"INBOX\" [\"\\\\Junk\", \"\\\\Trash\"] { stop; }\n\
                 fileinto :specialuse \"\\\\Junk\" :create \"Spam\";",
                &["fileinto", "mailbox", "special-use"],
            ),
            (
                "require [\"fileinto\", \"mailboxid\"];\n\
                 if mailboxidexists \"F6352ae03-b7f5-463c-896f-d8b48ee3\" {\n\
                 fileinto :mailboxid \"F6352ae03-b7f5-463c-896f-d8b48ee3\" \"INBOX.Other\"; }",
                &["fileinto", "mailboxid"],
            ),
        ],
        &[
            ("require \"fileinto\";\nfileinto :create \"x\";", 2, 10, "`:create` needs `require \"mailbox\"`"),
            ("if mailboxexists \"x\" { stop; }", 1, 4, "`mailboxexists` needs `require \"mailbox\"`"),
            ("require \"mailbox\";\nif mailboxexists { stop; }", 2, 4, "the `mailboxexists` test lacks its mailbox names"),
            ("require \"special-use\";\nif specialuse_exists \"Junk\" { stop; }", 2, 22, "\"Junk\" is not a special-use attribute (such as \"\\Trash\")"),
            (
                "require [\"fileinto\", \"special-use\"];\nfileinto :specialuse \"Junk\" \"Spam\";", 2, 22,
                "\"Junk\" is not a special-use attribute (such as \"\\Trash\")",
            ),
            ("require \"fileinto\";\nfileinto :specialuse \"\\\\Junk\" \"x\";", 2, 10, "`:specialuse` needs `require \"special-use\"`"),
            ("if specialuse_exists \"\\\\Junk\" { stop; }", 1, 4, "`specialuse_exists` needs `require \"special-use\"`"),
            ("require \"fileinto\";\nfileinto :mailboxid \"id\" \"x\";", 2, 10, "`:mailboxid` needs `require \"mailboxid\"`"),
            ("if mailboxidexists \"id\" { stop; }", 1, 4, "`mailboxidexists` needs `require \"mailboxid\"`"),
            ("require [\"fileinto\", \"mailboxid\"];\nfileinto :mailboxid \"x\";", 2, 1, "the `fileinto` command lacks its mailbox"),
        ],
    );
}

#[test]
fn duplicate_rfc7352() {
    known_answers(
        &[
            ("require \"duplicate\";\nif duplicate { discard; }", &["duplicate"]),
            (
                "require [\"duplicate\", \"variables\"];\n\
                 if header :matches \"subject\" \"ALERT: *\" {\n\
                 if duplicate :seconds 60 :uniqueid \"${1}\" { stop; }\n}\n\
                 if duplicate :header \"X-Event-ID\" :handle \"notifier\" :last { discard; }",
                &["duplicate", "variables"],
            ),
        ],
        &[
            ("if duplicate { discard; }", 1, 4, "`duplicate` needs `require \"duplicate\"`"),
            (
                "require \"duplicate\";\nif duplicate :header \"a\" :uniqueid \"b\" { stop; }", 2, 26,
                "`:uniqueid` and `:header` are both given: only one unique identifier source is allowed",
            ),
            ("require \"duplicate\";\nif duplicate :seconds \"60\" { stop; }", 2, 23, "`:seconds` needs a number, found a string"),
            ("require \"duplicate\";\nif duplicate \"x\" { stop; }", 2, 14, "too many arguments to the `duplicate` test"),
        ],
    );
}

#[test]
fn enotify_rfc5435() {
    known_answers(
        &[
            (
                "require [\"enotify\", \"fileinto\", \"variables\"];\n\
                 if header :contains \"from\" \"boss@example.org\" {\n\
                 notify :importance \"1\" :message \"This is probably very important\"\n\
                 \"mailto:alm@example.com\";\n}\n\
                 if header :matches \"Subject\" \"*\" { set \"subject\" \"${1}\"; }\n\
                 set :encodeurl \"body_param\" \"Safe body&evil=evilbody\";\n\
                 notify :from \"me@example.org\" :options [\"a\"] \"mailto:tim@example.com?body=${body_param}\";\n\
                 if valid_notify_method \"mailto:\" { stop; }\n\
                 if notify_method_capability \"xmpp:tim@example.com?message;subject=SIEVE\" \"Online\" [\"yes\", \"maybe\"] { stop; }\n\
                 notify \"${method}\";\nset :encodeurl :length :upper \"n\" \"${subject}\";",
                &["enotify", "fileinto", "variables"],
            ),
        ],
        &[
            ("notify \"mailto:a@example.com\";", 1, 1, "`notify` needs `require \"enotify\"`"),
            ("if valid_notify_method \"mailto:\" { stop; }", 1, 4, "`valid_notify_method` needs `require \"enotify\"`"),
            ("require \"enotify\";\nnotify :importance \"4\" \"mailto:a@example.com\";", 2, 20, "the importance must be \"1\", \"2\" or \"3\", not \"4\""),
            ("require \"enotify\";\nnotify \"a@example.com\";", 2, 8, "\"a@example.com\" is not a notification method URI"),
            ("require \"enotify\";\nnotify \"xmpp:a@example.com\";", 2, 8, "unsupported notification method \"xmpp\""),
            ("require \"enotify\";\nnotify :method \"mailto:a@example.com\";", 2, 8, "unknown tag `:method` for the `notify` command"),
            ("require \"variables\";\nset :encodeurl \"a\" \"b\";", 2, 5, "`:encodeurl` needs `require \"enotify\"`"),
            ("require \"enotify\";\nif notify_method_capability \"mailto:\" \"online\" { stop; }", 2, 4, "the `notify_method_capability` test lacks its keys"),
        ],
    );
}

#[test]
fn editheader_rfc5293() {
    known_answers(
        &[
            (
                "require [\"editheader\", \"variables\"];\n\
                 addheader \"X-Source\" \"mailing list\";\naddheader :last \"X-Hint\" \"${x}\";\n\
                 deleteheader \"X-Spam\";\ndeleteheader :index 1 \"X-Multi\";\n\
                 deleteheader :index 2 :last :comparator \"i;octet\" :matches \"X-Tag\" [\"b*\", \"c*\"];\n\
                 deleteheader :contains \"X-Tag\" \"b\";",
                &["editheader", "variables"],
            ),
            // RFC 5293 §6: deleting "Received" is silently ignored at run time, not refused.
            ("require \"editheader\";\ndeleteheader \"Received\";", &["editheader"]),
        ],
        &[
            ("addheader \"X-A\" \"b\";", 1, 1, "`addheader` needs `require \"editheader\"`"),
            ("deleteheader \"X-A\";", 1, 1, "`deleteheader` needs `require \"editheader\"`"),
            ("require \"editheader\";\naddheader \"X-A\";", 2, 1, "the `addheader` command lacks its value"),
            ("require \"editheader\";\naddheader \"X A\" \"b\";", 2, 11, "\"X A\" is not a header field name"),
            ("require \"editheader\";\ndeleteheader \"X:A\";", 2, 14, "\"X:A\" is not a header field name"),
            ("require \"editheader\";\ndeleteheader :last \"X-A\";", 2, 14, "`:last` needs `:index`"),
            ("require \"editheader\";\naddheader :index 1 \"X-A\" \"b\";", 2, 11, "unknown tag `:index` for the `addheader` command"),
            ("require \"editheader\";\ndeleteheader;", 2, 1, "the `deleteheader` command lacks its field name"),
            ("require \"editheader\";\ndeleteheader \"a\" \"b\" \"c\";", 2, 22, "too many arguments to the `deleteheader` command"),
        ],
    );
}

#[test]
fn ihave_rfc5463() {
    known_answers(
        &[
            // The block of a false ihave may use what the server does not know.
            (
                "require [\"ihave\", \"fileinto\"];\n\
                 if ihave \"x-nonexistent\" { x_nonexistent_cmd :tag 1; if x_test { keep :z; } }\n\
                 if not ihave \"fileinto\" { discard; }\nerror \"stop right here\";",
                &["fileinto", "ihave"],
            ),
            // A true ihave enables its capabilities from there on.
            (
                "require \"ihave\";\nif ihave \"fileinto\" { fileinto \"a\"; }\nfileinto \"b\";",
                &["ihave"],
            ),
            // The branches after a test bound to be true never run either.
            (
                "require \"ihave\";\nif not ihave \"vnd.x\" { keep; } elsif frob { frob; } else { frob; }",
                &["ihave"],
            ),
            (
                "require \"ihave\";\nif allof (true, ihave [\"copy\", \"vnd.x\"]) { redirect :copy :vndtag \"x\"; } \
                 else { keep; }\nif anyof (ihave \"copy\", frob) { keep; }\n\
                 if allof (ihave \"vnd.x\", frob) { keep; }",
                &["ihave"],
            ),
            (
                "require [\"ihave\", \"variables\"];\nif ihave \"vnd.x\" { } elsif true { set \"a\" \"b\"; }",
                &["ihave", "variables"],
            ),
        ],
        &[
            ("if ihave \"fileinto\" { stop; }", 1, 4, "`ihave` needs `require \"ihave\"`"),
            ("error \"x\";", 1, 1, "`error` needs `require \"ihave\"`"),
            ("require \"ihave\";\nerror;", 2, 1, "the `error` command lacks its message"),
            // Outside the guarded block, unknown is unknown.
            ("require \"ihave\";\nif ihave \"vnd.x\" { frob; }\nfrob;", 3, 1, "unknown command `frob`"),
            ("require \"ihave\";\nif ihave \"vnd.x\" { frob; } else { frob; }", 2, 35, "unknown command `frob`"),
            ("require \"ihave\";\nif anyof (ihave \"vnd.x\", true) { frob; }", 2, 34, "unknown command `frob`"),
            ("require \"ihave\";\nif anyof (ihave \"vnd.x\", frob) { keep; }", 2, 26, "unknown test `frob`"),
            // Structure is still checked inside.
            ("require \"ihave\";\nif ihave \"vnd.x\" { require \"vnd.x\"; }", 2, 20, "`require` must come before every other command"),
            ("require \"ihave\";\nif ihave \"vnd.x\" { else { } }", 2, 20, "`else` must follow `if` or `elsif`"),
            // Not enabled before the ihave, nor by a false one.
            ("require \"ihave\";\nfileinto \"a\";\nif ihave \"fileinto\" { stop; }", 2, 1, "`fileinto` needs `require \"fileinto\"`"),
            ("require \"ihave\";\nif ihave [\"fileinto\", \"vnd.x\"] { stop; }\nfileinto \"a\";", 3, 1, "`fileinto` needs `require \"fileinto\"`"),
            (
                "require [\"ihave\", \"variables\"];\nif ihave \"${x}\" { stop; }", 2, 10,
                "the capabilities of `ihave` must be constant (no \"${\")",
            ),
        ],
    );
    // What the server offers decides: the same script, with fileinto withheld.
    let src = "require \"ihave\";\nif ihave \"fileinto\" { fileinto :frob \"a\"; }";
    let script = parse(src.as_bytes()).expect("parses");
    let caps = Capabilities::only(&["ihave"]);
    assert_eq!(check(&script, &caps).expect("checks").requires, ["ihave"]);
    assert_eq!(
        refused(src),
        (
            2,
            32,
            "unknown tag `:frob` for the `fileinto` command".into()
        )
    );
    let checked = check(
        &parse(b"require \"ihave\";\nif ihave [\"fileinto\", \"ihave\"] { stop; }")
            .expect("parses"),
        &Capabilities::all(),
    )
    .expect("checks");
    assert_eq!(
        (checked.requires, checked.ihave),
        (vec!["ihave"], vec!["fileinto"])
    );
}

#[test]
fn environment_rfc5183_and_encoded_character_rfc5228() {
    known_answers(
        &[
            (
                "require [\"environment\", \"fileinto\"];\n\
                 if environment :contains \"item\" \"true\" { stop; }\n\
                 if environment :is :comparator \"i;octet\" \"location\" [\"MDA\", \"MS\"] { fileinto \"x\"; }",
                &["environment", "fileinto"],
            ),
            (
                "require [\"encoded-character\", \"fileinto\"];\n\
                 if header :is \"subject\" \"${hex:48 65 6C 6C 6F}\" { fileinto \"${unicode:0048}ex\"; }",
                &["encoded-character", "fileinto"],
            ),
        ],
        &[
            ("if environment \"name\" \"x\" { stop; }", 1, 4, "`environment` needs `require \"environment\"`"),
            ("require \"environment\";\nif environment \"name\" { stop; }", 2, 4, "the `environment` test lacks its keys"),
            ("require \"environment\";\nif environment [\"a\", \"b\"] \"x\" { stop; }", 2, 16, "the name of `environment` must be a string, found a string list"),
        ],
    );
}

#[test]
fn fcc_rfc8580() {
    known_answers(
        &[
            (
                "require [\"vacation\", \"fcc\"];\nvacation :days 7 :from \"hemingway@example.com\" \
                 :subject \"Gone fishing\" :fcc \"INBOX.Sent\" \"Gone fishing\";",
                &["fcc", "vacation"],
            ),
            (
                "require [\"enotify\", \"fcc\", \"mailbox\", \"imap4flags\", \"special-use\", \"mailboxid\"];\n\
                 notify :fcc \"Sent\" :create :flags \"\\\\Seen\" :specialuse \"\\\\Sent\" :mailboxid \"M1\" \
                 \"mailto:a@example.com\";",
                &["enotify", "fcc", "imap4flags", "mailbox", "mailboxid", "special-use"],
            ),
        ],
        &[
            ("require \"vacation\";\nvacation :fcc \"Sent\" \"x\";", 2, 10, "`:fcc` needs `require \"fcc\"`"),
            ("require [\"vacation\", \"mailbox\"];\nvacation :create \"x\";", 2, 10, "`:create` of `vacation` needs `:fcc`"),
            ("require [\"vacation\", \"fcc\"];\nvacation :fcc \"Sent\" :create \"x\";", 2, 22, "`:create` needs `require \"mailbox\"`"),
            (
                "require [\"enotify\", \"fcc\", \"imap4flags\"];\nnotify :flags \"\\\\Seen\" \"mailto:a@example.com\";",
                2, 8, "`:flags` of `notify` needs `:fcc`",
            ),
            ("require [\"vacation\", \"fcc\"];\nvacation :fcc [\"a\", \"b\"] \"x\";", 2, 15, "`:fcc` needs a string, found a string list"),
        ],
    );
}

#[test]
fn regex_draft() {
    known_answers(
        &[
            (
                "require [\"regex\", \"variables\", \"fileinto\"];\n\
                 if header :regex \"subject\" \"^\\\\[([A-Z]+)-([0-9]+)\\\\]\" { fileinto \"ticket-${1}-${2}\"; }\n\
                 if address :regex :comparator \"i;ascii-casemap\" \"from\" [\"^a.*@example\\\\.com$\", \"[[:alpha:]]+\"] { stop; }\n\
                 set :quoteregex \"q\" \"a.b*c\";\nset :quoteregex :lower \"q\" \"A.B\";\n\
                 if string :regex \"${q}\" \"${unclosed\" { stop; }",
                &["fileinto", "regex", "variables"],
            ),
        ],
        &[
            ("if header :regex \"a\" \"b\" { stop; }", 1, 11, "`:regex` needs `require \"regex\"`"),
            (
                "require \"regex\";\nif header :regex \"subject\" [\"ok\", \"(unclosed\"] { stop; }", 2, 28,
                "\"(unclosed\" is not a valid regular expression: unclosed group",
            ),
            (
                "require \"regex\";\nif header :regex :is \"a\" \"b\" { stop; }", 2, 18,
                "`:is` and `:regex` are both given: only one match type is allowed",
            ),
            (
                "require [\"regex\", \"comparator-i;ascii-numeric\"];\nif header :regex :comparator \"i;ascii-numeric\" \"a\" \"1\" { stop; }",
                2, 30, "the comparator \"i;ascii-numeric\" does not support `:regex`",
            ),
            (
                "require \"regex\";\nif header :regex \"a\" \"(a{1000}){1000}\" { stop; }", 2, 22,
                "the regular expression \"(a{1000}){1000}\" is too big to run",
            ),
            (
                "require [\"variables\", \"regex\"];\nset :quoteregex :quotewildcard \"a\" \"b\";", 2, 17,
                "`:quotewildcard` and `:quoteregex` are both given: only one modifier of precedence 20 is allowed",
            ),
            ("require \"variables\";\nset :quoteregex \"a\" \"b\";", 2, 5, "`:quoteregex` needs `require \"regex\"`"),
        ],
    );
}

#[test]
fn known_gaps_relational_imap4flags_addresses_vacation() {
    known_answers(
        &[
            // RFC 5231: :count and :value take any comparator.
            (
                "require \"relational\";\nif header :count \"eq\" :comparator \"i;ascii-casemap\" \"to\" \"1\" { stop; }\n\
                 if header :value \"ge\" :comparator \"i;octet\" \"subject\" \"m\" { stop; }",
                &["relational"],
            ),
            // RFC 5230 §4.1: a :days below the site's minimum is the minimum, at run time.
            ("require \"vacation\";\nvacation :days 0 \"x\";", &["vacation"]),
            (
                "require [\"vacation\", \"variables\"];\nvacation :from \"Joe <joe@example.com>\" \
                 :addresses [\"joe@example.com\", \"\\\"joe q\\\"@[192.0.2.1]\", \"${me}\"] \"x\";\n\
                 redirect \"${target}\";\nredirect \"a.b+c@example.com\";",
                &["vacation", "variables"],
            ),
            (
                "require [\"imap4flags\", \"variables\"];\nsetflag \"v\" \"\\\\Seen\";\n\
                 if hasflag [\"v\", \"w\"] \"\\\\Seen\" { stop; }",
                &["imap4flags", "variables"],
            ),
        ],
        &[
            (
                "require \"imap4flags\";\nsetflag \"v\" \"\\\\Seen\";", 2, 9,
                "a variable name in `setflag` needs `require \"variables\"`",
            ),
            (
                "require \"imap4flags\";\nif hasflag \"v\" \"\\\\Seen\" { stop; }", 2, 12,
                "a variable name in `hasflag` needs `require \"variables\"`",
            ),
            (
                "require [\"imap4flags\", \"variables\"];\nremoveflag \"a-b\" \"x\";", 2, 12,
                "\"a-b\" is not a variable name",
            ),
            ("redirect \"bart\";", 1, 10, "\"bart\" is not a valid email address"),
            ("redirect \"bart@\";", 1, 10, "\"bart@\" is not a valid email address"),
            ("redirect \"Bart <bart@example.com>\";", 1, 10, "\"Bart <bart@example.com>\" is not a valid email address"),
            ("require \"vacation\";\nvacation :from \"joe\" \"x\";", 2, 16, "\"joe\" is not a valid email address"),
            (
                "require \"vacation\";\nvacation :addresses [\"user65\", \"user65@localhost\"] \"x\";", 2, 21,
                "\"user65\" is not a valid email address",
            ),
        ],
    );
}

#[test]
fn the_managesieve_capability_string_lists_every_offered_extension() {
    let all = sieve::sieve_capability_string(&Capabilities::all());
    let names: Vec<&str> = all.split(' ').collect();
    assert_eq!(names, sieve::SUPPORTED);
    for name in [
        "comparator-i;ascii-numeric",
        "fileinto",
        "include",
        "ihave",
        "regex",
        "enotify",
    ] {
        assert!(names.contains(&name), "{name} in {all}");
    }
    assert!(!names.contains(&"comparator-i;unicode-casemap"));
    assert_eq!(
        sieve::sieve_capability_string(&Capabilities::only(&["vacation", "fileinto", "nope"])),
        "fileinto vacation"
    );
    assert_eq!(sieve::sieve_capability_string(&Capabilities::only(&[])), "");
}

#[test]
fn regex_keys_are_bounded_per_script() {
    let keys = |n: usize| {
        let list: Vec<String> = (0..n).map(|i| format!("\"k{i}\"")).collect();
        format!(
            "require \"regex\";\nif header :regex \"subject\" [{}] {{ stop; }}",
            list.join(", ")
        )
    };
    clean(&keys(256));
    let script = parse(keys(257).as_bytes()).expect("parses");
    let e = check(&script, &Capabilities::all()).expect_err("too many keys");
    assert!(e.limit, "{e}");
    assert_eq!(
        e.to_string(),
        "line 2, column 28: the script has more than 256 `:regex` keys"
    );
}
