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
