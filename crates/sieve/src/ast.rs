//! The syntax tree of a script (RFC 5228 §8.2), and its printing back to script text.
//!
//! The tree holds what the grammar decides and nothing more: which commands and tests exist and
//! what arguments they take is decided by the checks (`check.rs`). Identifiers and tags are stored in
//! lower case (they are case-insensitive, RFC 5228 §8.1); string values are stored decoded
//! (escapes removed, multi-line strings dot-unstuffed, every line end CRLF).

use crate::error::Position;
use std::fmt::{self, Write as _};

/// A parsed script: its top-level commands, and every `require` command found in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// The top-level commands, in order.
    pub commands: Vec<Command>,
    /// Every `require` command of the script (at any depth), in script order, with the
    /// capability strings of its string or string-list arguments.
    pub requires: Vec<Require>,
}

/// One `require` command: where it stands and the capabilities it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    /// Where the `require` identifier starts.
    pub position: Position,
    /// The capability names, as written.
    pub capabilities: Vec<String>,
}

/// A command: `identifier arguments (";" / block)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The identifier, in lower case.
    pub name: String,
    /// Where the identifier starts.
    pub position: Position,
    /// Tags, numbers, strings and string lists, in order.
    pub arguments: Vec<Argument>,
    /// The test or test list that ends the arguments, if any.
    pub tests: Option<Tests>,
    /// The block, for a command ended by `{ ... }` instead of `;`.
    pub block: Option<Vec<Command>>,
}

/// A test: `identifier arguments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    /// The identifier, in lower case.
    pub name: String,
    /// Where the identifier starts.
    pub position: Position,
    /// Tags, numbers, strings and string lists, in order.
    pub arguments: Vec<Argument>,
    /// The test or test list that ends the arguments, if any (as in `not exists "x"`).
    pub tests: Option<Tests>,
}

/// The test part of a command's or test's arguments: one test, or a parenthesised list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tests {
    /// A single test, as in `if true`.
    Single(Box<Test>),
    /// A test list `( test *("," test) )`, never empty.
    List(Vec<Test>),
}

/// One argument with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// Where the argument starts.
    pub position: Position,
    /// The argument.
    pub value: Value,
}

/// The value of an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A tag such as `:is`, stored without the colon, in lower case.
    Tag(String),
    /// A number, its quantifier (`K`, `M`, `G`) applied.
    Number(u64),
    /// A single string (quoted or multi-line).
    String(String),
    /// A bracketed string list `[ ... ]`, never empty.
    StringList(Vec<String>),
}

impl Script {
    /// Sets every position in the tree to [`Position::default`], so that two trees can be
    /// compared by shape alone (a script and the same script printed back differ in layout).
    pub fn clear_positions(&mut self) {
        clear_commands(&mut self.commands);
        for r in &mut self.requires {
            r.position = Position::default();
        }
    }
}

fn clear_commands(commands: &mut [Command]) {
    for c in commands {
        c.position = Position::default();
        clear_arguments(&mut c.arguments);
        if let Some(t) = &mut c.tests {
            clear_tests(t);
        }
        if let Some(b) = &mut c.block {
            clear_commands(b);
        }
    }
}

fn clear_arguments(arguments: &mut [Argument]) {
    for a in arguments {
        a.position = Position::default();
    }
}

fn clear_tests(tests: &mut Tests) {
    let list: &mut [Test] = match tests {
        Tests::Single(t) => std::slice::from_mut(&mut **t),
        Tests::List(l) => l,
    };
    for t in list {
        t.position = Position::default();
        clear_arguments(&mut t.arguments);
        if let Some(inner) = &mut t.tests {
            clear_tests(inner);
        }
    }
}

/// Prints the script back as Sieve text that parses to the same tree (strings quoted, numbers
/// without quantifiers, one command a line, blocks indented).
impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_commands(&mut out, &self.commands, 0);
        f.write_str(&out)
    }
}

fn write_commands(out: &mut String, commands: &[Command], indent: usize) {
    for c in commands {
        out.push_str(&"    ".repeat(indent));
        out.push_str(&c.name);
        write_arguments(out, &c.arguments);
        if let Some(t) = &c.tests {
            write_tests(out, t);
        }
        match &c.block {
            None => out.push_str(";\n"),
            Some(block) => {
                out.push_str(" {\n");
                write_commands(out, block, indent + 1);
                out.push_str(&"    ".repeat(indent));
                out.push_str("}\n");
            }
        }
    }
}

fn write_arguments(out: &mut String, arguments: &[Argument]) {
    for a in arguments {
        out.push(' ');
        match &a.value {
            Value::Tag(t) => {
                out.push(':');
                out.push_str(t);
            }
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::String(s) => write_string(out, s),
            Value::StringList(l) => {
                out.push('[');
                for (i, s) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(out, s);
                }
                out.push(']');
            }
        }
    }
}

fn write_tests(out: &mut String, tests: &Tests) {
    out.push(' ');
    match tests {
        Tests::Single(t) => write_test(out, t),
        Tests::List(l) => {
            out.push('(');
            for (i, t) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_test(out, t);
            }
            out.push(')');
        }
    }
}

fn write_test(out: &mut String, t: &Test) {
    out.push_str(&t.name);
    write_arguments(out, &t.arguments);
    if let Some(inner) = &t.tests {
        write_tests(out, inner);
    }
}

/// A quoted string whose value is `s`: `"` and `\` escaped, everything else as it is.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}
