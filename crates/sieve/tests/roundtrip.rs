//! Property: any tree the grammar allows, printed as script text, parses back to the same tree;
//! and the same script with LF line ends parses to what it does with CRLF.

use proptest::prelude::*;
use sieve::{parse, Argument, Command, Position, Test, Tests, Value};

fn identifier() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}"
}

/// A string value a script can hold: no NUL, and line ends only as CRLF.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,8}",
        "[a-z\"\\\\\r\n\t.:#/*{}()\\[\\];,é日]{0,10}",
        any::<String>(),
    ]
    .prop_map(|s| s.replace(['\0', '\r'], "").replace('\n', "\r\n"))
}

fn argument() -> impl Strategy<Value = Argument> {
    prop_oneof![
        identifier().prop_map(Value::Tag),
        any::<u64>().prop_map(Value::Number),
        string().prop_map(Value::String),
        prop::collection::vec(string(), 1..4).prop_map(Value::StringList),
    ]
    .prop_map(|value| Argument {
        position: Position::default(),
        value,
    })
}

fn test() -> impl Strategy<Value = Test> {
    let leaf =
        (identifier(), prop::collection::vec(argument(), 0..3)).prop_map(|(name, arguments)| {
            Test {
                name,
                position: Position::default(),
                arguments,
                tests: None,
            }
        });
    leaf.prop_recursive(4, 24, 3, |inner| {
        (
            identifier(),
            prop::collection::vec(argument(), 0..3),
            prop_oneof![
                inner.clone().prop_map(|t| Tests::Single(Box::new(t))),
                prop::collection::vec(inner, 1..4).prop_map(Tests::List),
            ],
        )
            .prop_map(|(name, arguments, tests)| Test {
                name,
                position: Position::default(),
                arguments,
                tests: Some(tests),
            })
    })
}

fn tests() -> impl Strategy<Value = Option<Tests>> {
    prop_oneof![
        Just(None),
        test().prop_map(|t| Some(Tests::Single(Box::new(t)))),
        prop::collection::vec(test(), 1..3).prop_map(|l| Some(Tests::List(l))),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let leaf = (
        identifier(),
        prop::collection::vec(argument(), 0..3),
        tests(),
    )
        .prop_map(|(name, arguments, tests)| Command {
            name,
            position: Position::default(),
            arguments,
            tests,
            block: None,
        });
    leaf.prop_recursive(4, 20, 4, |inner| {
        (
            identifier(),
            prop::collection::vec(argument(), 0..3),
            tests(),
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(name, arguments, tests, block)| Command {
                name,
                position: Position::default(),
                arguments,
                tests,
                block: Some(block),
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn printed_tree_parses_back(commands in prop::collection::vec(command(), 0..5)) {
        let script = sieve::Script { commands, requires: Vec::new() };
        let text = script.to_string();
        let mut parsed = parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        parsed.clear_positions();
        prop_assert_eq!(&parsed.commands, &script.commands, "{}", text);
        let requires = parsed.requires.len();
        let expected = script.commands.iter().map(count_requires).sum::<usize>();
        prop_assert_eq!(requires, expected);
    }

    #[test]
    fn lf_and_crlf_parse_alike(commands in prop::collection::vec(command(), 0..4)) {
        // Between tokens and inside strings alike.
        let script = sieve::Script { commands, requires: Vec::new() };
        let lf = script.to_string().replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        let mut a = parse(lf.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let mut b = parse(crlf.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&a, &b);
        a.clear_positions();
        b.clear_positions();
        prop_assert_eq!(&a.commands, &script.commands);
    }
}

fn count_requires(c: &Command) -> usize {
    usize::from(c.name == "require")
        + c.block
            .as_ref()
            .map_or(0, |b| b.iter().map(count_requires).sum())
}

#[test]
fn multi_line_and_quoted_strings_agree() {
    for value in ["", "one", "two\r\nlines", ".dot\r\n..two", "a\"b\\c"] {
        let mut body = String::new();
        for line in value.split("\r\n") {
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
            body.push_str("\r\n");
        }
        let multi = parse(format!("x text:\r\n{body}.\r\n;").as_bytes()).expect("multi-line");
        let Value::String(got) = &multi.commands[0].arguments[0].value else {
            panic!("a string")
        };
        assert_eq!(got, &format!("{value}\r\n"));
        let quoted = format!(
            "\"{}\r\n\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let q = parse(format!("x {quoted};").as_bytes()).expect("quoted");
        assert_eq!(
            q.commands[0].arguments[0].value,
            multi.commands[0].arguments[0].value
        );
    }
}
