//! Known answers: the example scripts of RFC 5228 and of the extensions whose examples are only
//! grammar (RFC 5229, 5230, 5232, 5173, 5429) parse to the expected tree (checked through the
//! canonical printing, and structurally where the printing could hide a difference); malformed
//! scripts give the right `line:column` error; hostile nesting and sizes are refused.

use sieve::{parse, parse_with, Argument, Command, Error, Limits, Position, Script, Tests, Value};

fn ok(src: &str) -> Script {
    parse(src.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// The script's canonical printing (one command a line, strings quoted, numbers plain).
fn canon(src: &str) -> String {
    ok(src).to_string()
}

fn err(src: impl AsRef<[u8]>) -> Error {
    match parse(src.as_ref()) {
        Ok(t) => panic!("parsed: {t:?}"),
        Err(e) => e,
    }
}

fn at(line: u32, column: u32) -> Position {
    Position { line, column }
}

fn assert_err(src: impl AsRef<[u8]>, line: u32, column: u32, message: &str) {
    let e = err(src);
    assert_eq!(
        (e.position, e.message.as_str()),
        (at(line, column), message),
        "{e}"
    );
    assert!(!e.limit, "{e}");
}

// ---- RFC 5228 ----

#[test]
fn rfc5228_comments() {
    let expected = "if size :over 102400 {\n    discard;\n}\n";
    assert_eq!(
        canon("if size :over 100k { # this is a comment\r\n    discard;\r\n}\r\n"),
        expected
    );
    assert_eq!(
        canon(
            "if size :over 100K { /* this is a comment\r\n    this is still a comment */ discard /* this is a comment\r\n    */ ;\r\n}\r\n"
        ),
        expected
    );
}

#[test]
fn rfc5228_if_elsif_else() {
    let s = ok(r#"if header :contains "from" "coyote" {
   discard;
} elsif header :contains ["subject"] ["$$$"] {
   discard;
} else {
   fileinto "INBOX";
}"#);
    assert_eq!(
        s.to_string(),
        "if header :contains \"from\" \"coyote\" {\n    discard;\n}\n\
         elsif header :contains [\"subject\"] [\"$$$\"] {\n    discard;\n}\n\
         else {\n    fileinto \"INBOX\";\n}\n"
    );
    assert_eq!(s.commands.len(), 3);
    let Some(Tests::Single(test)) = &s.commands[1].tests else {
        panic!("elsif has one test")
    };
    assert_eq!(test.name, "header");
    assert_eq!(test.position, at(3, 9));
    assert_eq!(
        test.arguments
            .iter()
            .map(|a| (a.position, a.value.clone()))
            .collect::<Vec<_>>(),
        vec![
            (at(3, 16), Value::Tag("contains".into())),
            (at(3, 26), Value::StringList(vec!["subject".into()])),
            (at(3, 38), Value::StringList(vec!["$$$".into()])),
        ]
    );
    assert_eq!(s.commands[2].name, "else");
    assert!(s.commands[2].tests.is_none());
    assert_eq!(s.commands[2].block.as_ref().map(Vec::len), Some(1));

    assert_eq!(
        canon(
            r#"if header :contains ["From"] ["coyote"] {
   redirect "acm@example.com";
} elsif header :contains "Subject" "$$$" {
   redirect "postmaster@example.com";
} else {
   redirect "field@example.com";
}"#
        ),
        "if header :contains [\"From\"] [\"coyote\"] {\n    redirect \"acm@example.com\";\n}\n\
         elsif header :contains \"Subject\" \"$$$\" {\n    redirect \"postmaster@example.com\";\n}\n\
         else {\n    redirect \"field@example.com\";\n}\n"
    );
}

#[test]
fn rfc5228_require_is_collected_with_its_position() {
    let s = ok("require [\"fileinto\", \"reject\"];\n  require \"vacation\";\nkeep;");
    assert_eq!(s.requires.len(), 2);
    assert_eq!(s.requires[0].position, at(1, 1));
    assert_eq!(s.requires[0].capabilities, ["fileinto", "reject"]);
    assert_eq!(s.requires[1].position, at(2, 3));
    assert_eq!(s.requires[1].capabilities, ["vacation"]);
    // Case-insensitive identifier; nested ones are collected too (the interpreter refuses them).
    let s = ok("if true { REQUIRE \"x\"; }");
    assert_eq!(s.requires[0].position, at(1, 11));
    assert_eq!(s.requires[0].capabilities, ["x"]);
}

#[test]
fn rfc5228_action_examples() {
    for (src, expected) in [
        (
            "require \"fileinto\";\nif header :contains [\"from\"] \"coyote\" {\n   fileinto \"INBOX.harassment\";\n}",
            "require \"fileinto\";\nif header :contains [\"from\"] \"coyote\" {\n    fileinto \"INBOX.harassment\";\n}\n",
        ),
        ("redirect \"bart@example.com\";", "redirect \"bart@example.com\";\n"),
        (
            "if size :under 1M { keep; } else { discard; }",
            "if size :under 1048576 {\n    keep;\n}\nelse {\n    discard;\n}\n",
        ),
        (
            "if header :contains [\"from\"] [\"idiot@example.com\"] {\n   discard;\n}",
            "if header :contains [\"from\"] [\"idiot@example.com\"] {\n    discard;\n}\n",
        ),
        ("stop;", "stop;\n"),
        (
            "if address :is :all \"from\" \"tim@example.com\" {\n   discard;\n}",
            "if address :is :all \"from\" \"tim@example.com\" {\n    discard;\n}\n",
        ),
        (
            "if not exists [\"From\",\"Date\"] {\n   discard;\n}",
            "if not exists [\"From\", \"Date\"] {\n    discard;\n}\n",
        ),
        (
            "if header :is [\"X-Caffeine\"] [\"\"] { discard; }",
            "if header :is [\"X-Caffeine\"] [\"\"] {\n    discard;\n}\n",
        ),
        (
            "if header :contains :comparator \"i;octet\" \"Subject\"\n   \"MAKE MONEY FAST\" {\n   discard;\n}",
            "if header :contains :comparator \"i;octet\" \"Subject\" \"MAKE MONEY FAST\" {\n    discard;\n}\n",
        ),
        (
            "if allof (header :contains \"From\" \"Cyrus\", size :over 1G) { discard; }",
            "if allof (header :contains \"From\" \"Cyrus\", size :over 1073741824) {\n    discard;\n}\n",
        ),
    ] {
        assert_eq!(canon(src), expected, "{src}");
    }
}

#[test]
fn rfc5228_extended_example() {
    let src = "#\r\n# Example Sieve Filter\r\n# Declare any optional features or extension used by the script\r\n#\r\n\
require [\"fileinto\"];\r\n\r\n#\r\n# Handle messages from known mailing lists\r\n\
# Move messages from IETF filter discussion list to filter mailbox\r\n#\r\n\
if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\"\r\n        {\r\n\
        fileinto \"filter\";  # move to \"filter\" mailbox\r\n        }\r\n#\r\n\
# Keep all messages to or from people in my company\r\n#\r\n\
elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\"\r\n        {\r\n\
        keep;               # keep in \"In\" mailbox\r\n        }\r\n\r\n#\r\n\
# Try and catch unsolicited email.  If a message is not to me,\r\n\
# or it contains a subject known to be spam, file it away.\r\n#\r\n\
elsif anyof (NOT address :all :contains\r\n               [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\r\n\
             header :matches \"subject\"\r\n               [\"*make*money*fast*\", \"*university*dipl*mas*\"])\r\n\
        {\r\n        fileinto \"spam\";   # move to \"spam\" mailbox\r\n        }\r\n\
else\r\n        {\r\n        # Move all other (non-company) mail to \"personal\"\r\n\
        # mailbox.\r\n        fileinto \"personal\";\r\n        }\r\n";
    let s = ok(src);
    assert_eq!(
        s.to_string(),
        "require [\"fileinto\"];\n\
if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\" {\n    fileinto \"filter\";\n}\n\
elsif address :domain :is [\"From\", \"To\"] \"example.com\" {\n    keep;\n}\n\
elsif anyof (not address :all :contains [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\", \
header :matches \"subject\" [\"*make*money*fast*\", \"*university*dipl*mas*\"]) {\n    fileinto \"spam\";\n}\n\
else {\n    fileinto \"personal\";\n}\n"
    );
    let Some(Tests::Single(anyof)) = &s.commands[3].tests else {
        panic!("elsif takes one test")
    };
    let Some(Tests::List(list)) = &anyof.tests else {
        panic!("anyof takes a test list")
    };
    assert_eq!(s.commands[3].position, at(27, 1));
    assert_eq!(anyof.position, at(27, 7));
    assert_eq!(list[0].name, "not");
    assert_eq!(list[0].position, at(27, 14));
    assert!(matches!(&list[0].tests, Some(Tests::Single(t)) if t.name == "address"));
    // (The string's line continuation drops that line's indentation.)
    assert_eq!(list[1].position, at(29, 1));
}

#[test]
fn strings_escapes_and_multi_line() {
    // Only \" and \\ mean something; any other backslash is dropped (RFC 5228 §2.4.2).
    let s = ok(r#"x "a\\b\"c\d\e";"#);
    assert_eq!(
        s.commands[0].arguments[0].value,
        Value::String(r#"a\b"cde"#.into())
    );
    // A line end in a quoted string is CRLF in the value, whatever the script used; an
    // escaped one too (the backslash is dropped).
    let s = ok("x \"a\r\nb\nc\\\nd\";");
    assert_eq!(
        s.commands[0].arguments[0].value,
        Value::String("a\r\nb\r\nc\r\nd".into())
    );
    // Multi-line: blanks and a comment after `text:`, dot-unstuffing, CRLF on every line
    // whatever the script used, and the same value as the quoted form.
    let crlf = ok("x text:  \t# comment\r\n..dot\r\nplain\r\n.x\r\n\r\n.\r\n;");
    let lf = ok("x TEXT:\n..dot\nplain\n.x\n\n.\n;");
    let expected = Value::String(".dot\r\nplain\r\nx\r\n\r\n".into());
    assert_eq!(crlf.commands[0].arguments[0].value, expected);
    assert_eq!(lf.commands[0].arguments[0].value, expected);
    let s = ok("x text:\n.\n;");
    assert_eq!(
        s.commands[0].arguments[0].value,
        Value::String(String::new())
    );
    // `text` followed by a blank is an identifier, then a tag.
    let s = ok("text :x;");
    assert_eq!(s.commands[0].name, "text");
    assert_eq!(s.commands[0].arguments[0].value, Value::Tag("x".into()));
    // UTF-8 passes through.
    let s = ok("fileinto \"Entwürfe/日本\";");
    assert_eq!(
        s.commands[0].arguments[0].value,
        Value::String("Entwürfe/日本".into())
    );
}

#[test]
fn numbers_and_quantifiers() {
    let s = ok("x 0 7 1K 2k 3M 4g 18446744073709551615 17179869183G;");
    let values: Vec<Value> = s.commands[0]
        .arguments
        .iter()
        .map(|a: &Argument| a.value.clone())
        .collect();
    assert_eq!(
        values,
        [
            0,
            7,
            1024,
            2048,
            3 << 20,
            4 << 30,
            u64::MAX,
            17_179_869_183 << 30
        ]
        .map(Value::Number)
    );
    assert_err("x 18446744073709551616;", 1, 3, "the number is too large");
    assert_err("x 17179869184G;", 1, 3, "the number is too large");
}

// ---- Extensions whose examples are only grammar ----

#[test]
fn rfc5229_variables() {
    assert_eq!(
        canon(
            "require \"variables\";\nset \"honorific\"  \"Mr\";\nset \"first_name\" \"Wile\";\n\
             set :lower :upperfirst \"name\" \"${name}\";\n\
             if header :matches \"Subject\" \"*\" {\n  set \"subject\" \"${1}\";\n}\n\
             if string :is :comparator \"i;octet\" \"${state}\" \"\" { stop; }"
        ),
        "require \"variables\";\nset \"honorific\" \"Mr\";\nset \"first_name\" \"Wile\";\n\
         set :lower :upperfirst \"name\" \"${name}\";\n\
         if header :matches \"Subject\" \"*\" {\n    set \"subject\" \"${1}\";\n}\n\
         if string :is :comparator \"i;octet\" \"${state}\" \"\" {\n    stop;\n}\n"
    );
}

#[test]
fn rfc5230_vacation() {
    assert_eq!(
        canon(
            "require \"vacation\";\nif header :contains \"subject\" \"cyrus\" {\n    \
             vacation \"I'm out -- send mail to cyrus-bugs\";\n} else {\n    \
             vacation \"I'm out -- call me at +1 304 555 0123\";\n}"
        ),
        "require \"vacation\";\nif header :contains \"subject\" \"cyrus\" {\n    \
         vacation \"I'm out -- send mail to cyrus-bugs\";\n}\nelse {\n    \
         vacation \"I'm out -- call me at +1 304 555 0123\";\n}\n"
    );
    let s = ok(
        "require \"vacation\";\r\nvacation :days 23 :addresses [\"tjs@example.edu\",\r\n\
                \"ts4z@landru.example.edu\"]\r\n   :subject \"Gone\" :mime text:\r\n\
                Content-Type: text/plain\r\n\r\n..I am away.\r\n.\r\n;\r\n",
    );
    let c: &Command = &s.commands[1];
    assert_eq!(c.arguments.len(), 8);
    assert_eq!(c.arguments[1].value, Value::Number(23));
    assert_eq!(
        c.arguments[7].value,
        Value::String("Content-Type: text/plain\r\n\r\n.I am away.\r\n".into())
    );
    assert_eq!(c.arguments[7].position, at(4, 26));
}

#[test]
fn rfc5232_imap4flags() {
    assert_eq!(
        canon(
            "require [\"imap4flags\", \"fileinto\"];\naddflag \"\\\\Deleted\";\n\
             if header :contains \"from\" \"boss@frobnitzm.example.edu\" {\n  \
             setflag \"flagvar\" \"\\\\Flagged\";\n  fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";\n}\n\
             if hasflag :contains \"MyVar\" \"Junk\" { discard; }"
        ),
        "require [\"imap4flags\", \"fileinto\"];\naddflag \"\\\\Deleted\";\n\
         if header :contains \"from\" \"boss@frobnitzm.example.edu\" {\n    \
         setflag \"flagvar\" \"\\\\Flagged\";\n    fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";\n}\n\
         if hasflag :contains \"MyVar\" \"Junk\" {\n    discard;\n}\n"
    );
    let s = ok("addflag \"\\\\Deleted\";");
    assert_eq!(
        s.commands[0].arguments[0].value,
        Value::String("\\Deleted".into())
    );
}

#[test]
fn rfc5173_body() {
    assert_eq!(
        canon(
            "require \"body\";\nif body :raw :contains \"MAKE MONEY FAST\" {\n  discard;\n}\n\
             if body :content \"text\" :contains [\"missile\", \"coordinates\"] {\n  fileinto \"secrets\";\n}\n\
             if body :content \"\" :contains \"\" { keep; }"
        ),
        "require \"body\";\nif body :raw :contains \"MAKE MONEY FAST\" {\n    discard;\n}\n\
         if body :content \"text\" :contains [\"missile\", \"coordinates\"] {\n    fileinto \"secrets\";\n}\n\
         if body :content \"\" :contains \"\" {\n    keep;\n}\n"
    );
}

#[test]
fn rfc5429_reject() {
    // The line "   ." is not the terminator: only a line that is `.` alone ends the string.
    let Err(e) = parse(b"reject text:\n   .\n;") else {
        panic!("a terminator with leading blanks ended the string")
    };
    assert_eq!(e.position, at(1, 8));
    let s = ok("require [\"reject\"];\nif size :over 100K {\n   reject text:\nYour message is too big.\n.\n;\n}\n\
                require \"ereject\";\nereject \"I no longer accept mail from this address\";");
    let block = s.commands[1].block.as_ref().expect("block");
    assert_eq!(
        block[0].arguments[0].value,
        Value::String("Your message is too big.\r\n".into())
    );
    assert_eq!(s.requires.len(), 2);
}

// ---- Errors ----

#[test]
fn errors_name_the_place_and_the_problem() {
    // `keep discard;` is grammar (a command with a test); the interpreter refuses it.
    assert_err(
        "stop\r\n}",
        2,
        1,
        "expected `;` after the `stop` command, found `}`",
    );
    assert_err(
        "require \"fileinto\";\nif true {\n  fileinto \"x\"\n}",
        4,
        1,
        "expected `;` after the `fileinto` command, found `}`",
    );
    assert_err(
        "if true ]",
        1,
        9,
        "expected `;` or a block after the `if` command, found `]`",
    );
    // Columns count characters, not bytes.
    assert_err(
        "keep \"ééé\" }",
        1,
        12,
        "expected `;` after the `keep` command, found `}`",
    );
    assert_err(
        "fileinto \"abc",
        1,
        10,
        "the string started here has no closing `\"`",
    );
    assert_err(
        "x \"abc\\",
        1,
        3,
        "the string started here has no closing `\"`",
    );
    assert_err(
        "keep; /* open\n",
        1,
        7,
        "the comment started here is not closed with `*/`",
    );
    assert_err(
        "x text:\nabc\n",
        1,
        3,
        "the multi-line string started here has no line with a single `.` ending it",
    );
    assert_err(
        "x text: y\n.\n;",
        1,
        9,
        "expected the end of the line after `text:`",
    );
    assert_err(
        "x : is;",
        1,
        4,
        "expected a tag name (a letter or `_`) after `:`",
    );
    assert_err("x [];", 1, 4, "expected a string, found `]`");
    assert_err(
        "x [\"a\" \"b\"];",
        1,
        8,
        "expected `,` or `]` in the string list opened at line 1, column 3, found a string",
    );
    assert_err("if anyof () {}", 1, 11, "expected a test, found `)`");
    assert_err(
        "if anyof (true ] {}",
        1,
        16,
        "expected `,` or `)` in the test list opened at line 1, column 10, found `]`",
    );
    assert_err(
        "if true {\n keep;\n",
        3,
        1,
        "expected `}` to close the block opened at line 1, column 9",
    );
    assert_err("keep; }", 1, 7, "`}` without a block to close");
    assert_err("\"x\";", 1, 1, "expected a command, found a string");
    assert_err("keep;\n\u{7}", 2, 1, "unexpected character U+0007");
    assert_err("keep; $", 1, 7, "unexpected character `$`");
    assert_err(
        "keep;\rdiscard;",
        1,
        6,
        "a carriage return not followed by a line feed",
    );
    assert_err(
        "x \"a\n\rb\";",
        2,
        1,
        "a carriage return not followed by a line feed",
    );
    assert_err(
        "keep; # a\0b",
        1,
        10,
        "a NUL character is not allowed in a script",
    );
    assert_err(
        "x \"a\0\";",
        1,
        5,
        "a NUL character is not allowed in a script",
    );
    assert_err(
        b"# \xc3\xa9\nkeep; \xff",
        2,
        7,
        "the script is not valid UTF-8",
    );
    assert_eq!(
        err("if true {\n  fileinto \"x\"\n}").to_string(),
        "line 3, column 1: expected `;` after the `fileinto` command, found `}`"
    );
}

// ---- Bounds ----

fn assert_limit(e: Error, line: u32, column: u32, message: &str) {
    assert_eq!(
        (e.position, e.message.as_str()),
        (at(line, column), message),
        "{e}"
    );
    assert!(e.limit, "{e}");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let n = 100_000;
    let blocks = "if true {".repeat(n) + &"}".repeat(n);
    assert_limit(
        err(&blocks),
        1,
        // The 64th `if`'s test is the 65th level.
        63 * 9 + 4,
        "blocks and tests are nested more than 64 deep",
    );
    let lists = "if anyof(".repeat(n) + "true" + &")".repeat(n) + "{}";
    assert_limit(
        err(&lists),
        1,
        // Each `anyof(` is two levels (the test and its list): the 32nd `(` is the 65th.
        3 + 31 * 9 + 6,
        "blocks and tests are nested more than 64 deep",
    );
    let nots = "if ".to_owned() + &"not ".repeat(n) + "true {}";
    assert_limit(
        err(&nots),
        1,
        4 + 63 * 4,
        "blocks and tests are nested more than 64 deep",
    );
    let braces = "{".repeat(n);
    assert_eq!(err(&braces).message, "expected a command, found `{`");
    // 63 blocks in a row is fine.
    let ok_depth = "if true {".repeat(63) + &"}".repeat(63);
    assert!(parse(ok_depth.as_bytes()).is_ok());
}

#[test]
fn sizes_and_counts_are_bounded() {
    let limits = Limits {
        max_script_size: 100,
        max_list_len: 3,
        max_commands: 3,
        max_tests: 2,
        max_arguments: 2,
        max_string_len: 5,
        ..Limits::default()
    };
    let parse = |s: &str| parse_with(s.as_bytes(), &limits).expect_err(s);
    assert_limit(
        parse(&"#".repeat(101)),
        1,
        1,
        "the script is 101 bytes, more than the limit of 100",
    );
    assert!(parse_with("#".repeat(100).as_bytes(), &limits).is_ok());
    assert_limit(
        parse("x [\"a\",\"b\",\"c\",\"d\"];"),
        1,
        16,
        "the string list has more than 3 strings",
    );
    assert_limit(
        parse("if anyof(a,b,c) {}"),
        1,
        12,
        "the script has more than 2 tests",
    );
    let lists = Limits {
        max_tests: 100,
        ..limits.clone()
    };
    assert_limit(
        parse_with(b"if anyof(a,b,c,d) {}", &lists).expect_err("list"),
        1,
        16,
        "the test list has more than 3 tests",
    );
    assert_limit(
        parse("a; b;\nc; d;"),
        2,
        4,
        "the script has more than 3 commands",
    );
    assert_limit(
        parse("x 1 2 3;"),
        1,
        7,
        "the `x` command has more than 2 arguments",
    );
    assert_limit(
        parse("x \"123456\";"),
        1,
        3,
        "the string starting here is longer than 5 bytes",
    );
    assert_limit(
        parse("x text:\n1234\n.\n;"),
        1,
        3,
        "the string starting here is longer than 5 bytes",
    );
    assert!(parse_with(b"x \"12345\";", &limits).is_ok());
    // The defaults hold a large but reasonable script.
    let big = "if header :is \"x\" [\"a\", \"b\"] { fileinto \"y\"; }\n".repeat(4000);
    assert_eq!(
        sieve::parse(big.as_bytes()).expect("big").commands.len(),
        4000
    );
}
