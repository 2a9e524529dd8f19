//! Semantic checks (RFC 5228 §2.10–§5, §8.3, and the extensions' grammars): the step between
//! parsing and running that decides whether a parsed [`Script`] is a valid program, as a
//! ManageSieve CHECKSCRIPT or PUTSCRIPT must before accepting it.
//!
//! [`check`] refuses, with the line and column of the offending token: a `require` after another
//! command or inside a block; a capability the server does not support ([`Capabilities`]); an
//! unknown command, test, tag or comparator; a command, test or tag of an extension the script
//! did not `require`; a duplicated tag, two match types, two address parts, two body
//! transforms, two `set` modifiers of one precedence (RFC 5229 §4.1), `:days` with `:seconds`;
//! a missing or extra argument, or one of the wrong type (a string list where a string is
//! wanted, a number where a string is); a relational operator other than `gt`, `ge`, `lt`,
//! `le`, `eq`, `ne`; a substring match (`:contains`, `:matches`) with `i;ascii-numeric`, which
//! offers equality and order only (RFC 4790 §9.1); a `set` variable name that is not an
//! identifier; a test list where one test is wanted or the reverse; a block where none is
//! allowed, or none where one is; `elsif` or `else` not after `if` or `elsif`.
//!
//! Strings are not expanded here: `${...}` variable references and their names are left as text
//! for the interpreter. Extensions not yet implemented (include, date, index, mailbox,
//! duplicate, enotify, editheader, ihave, environment, special-use, fcc, mailboxid, regex,
//! encoded-character, …) are unknown to [`Capabilities`], so requiring one is refused as
//! unsupported.

use crate::ast::{Argument, Command, Script, Test, Tests, Value};
use crate::error::{Error, Position};

/// Every capability this crate can check, as `require` names it.
pub const SUPPORTED: &[&str] = &[
    "body",
    "comparator-i;ascii-casemap",
    "comparator-i;ascii-numeric",
    "comparator-i;octet",
    "copy",
    "envelope",
    "ereject",
    "fileinto",
    "imap4flags",
    "reject",
    "relational",
    "subaddress",
    "vacation",
    "vacation-seconds",
    "variables",
];

/// The capabilities a server offers scripts: a subset of [`SUPPORTED`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    names: Vec<&'static str>,
}

impl Capabilities {
    /// Every capability of [`SUPPORTED`].
    pub fn all() -> Capabilities {
        Capabilities {
            names: SUPPORTED.to_vec(),
        }
    }

    /// The capabilities of [`SUPPORTED`] that are named in `names`; other names are ignored.
    pub fn only(names: &[&str]) -> Capabilities {
        Capabilities {
            names: SUPPORTED
                .iter()
                .copied()
                .filter(|s| names.contains(s))
                .collect(),
        }
    }

    /// Whether `name` (a capability as `require` names it, exact case) is offered.
    pub fn supports(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The capabilities offered, in [`SUPPORTED`] order (for a ManageSieve `SIEVE` listing the
    /// `comparator-` ones are left out by the caller as it sees fit).
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// A script that passed [`check`]: what it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The capabilities the script requires, each once, in [`SUPPORTED`] order.
    pub requires: Vec<&'static str>,
}

/// The first semantic error of a script: the same shape as a parse error.
pub type CheckError = Error;

/// Checks that `script` is a valid program for a server offering `capabilities`.
pub fn check(script: &Script, capabilities: &Capabilities) -> Result<Checked, CheckError> {
    let mut requires: Vec<&'static str> = Vec::new();
    let mut started = false;
    for c in &script.commands {
        if c.name == "require" {
            if started {
                return Err(Error::new(
                    c.position,
                    "`require` must come before every other command",
                ));
            }
            check_shape(
                c.position,
                "require",
                &c.arguments,
                &[],
                &[("capabilities", Kind::StrList)],
                false,
            )?;
            // The shape check left exactly one string or string list.
            let (names, at) = match c.arguments.first() {
                Some(Argument {
                    value: Value::String(s),
                    position,
                }) => (std::slice::from_ref(s), *position),
                Some(Argument {
                    value: Value::StringList(l),
                    position,
                }) => (l.as_slice(), *position),
                _ => (&[][..], c.position),
            };
            for name in names {
                let known = SUPPORTED.iter().find(|s| **s == name.as_str());
                match known {
                    Some(s) if capabilities.supports(s) => {
                        if !requires.contains(s) {
                            requires.push(s);
                        }
                    }
                    _ => return Err(Error::new(at, format!("unsupported capability \"{name}\""))),
                }
            }
            if c.tests.is_some() || c.block.is_some() {
                return Err(Error::new(
                    c.position,
                    "`require` takes no test and no block",
                ));
            }
        } else {
            started = true;
        }
    }
    let cx = Context {
        requires: &requires,
    };
    cx.commands(&script.commands, true)?;
    requires.sort_by_key(|r| SUPPORTED.iter().position(|s| s == r));
    Ok(Checked { requires })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Str,
    StrList,
    Num,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::StrList => "a string list",
            Kind::Num => "a number",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Kind::Str, Value::String(_))
                | (Kind::StrList, Value::String(_) | Value::StringList(_))
                | (Kind::Num, Value::Number(_))
        )
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Tag(t) => format!("the tag `:{t}`"),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::StringList(_) => "a string list".into(),
    }
}

/// One tagged argument a command or test accepts.
#[derive(Clone, Copy)]
struct TagSpec {
    name: &'static str,
    /// Tags of one group exclude each other (match types, address parts, …); a group of one
    /// tag is just "at most once".
    group: &'static str,
    value: Option<Kind>,
    /// The capability the tag needs, if any.
    needs: Option<&'static str>,
}

const fn tag(
    name: &'static str,
    group: &'static str,
    value: Option<Kind>,
    needs: Option<&'static str>,
) -> TagSpec {
    TagSpec {
        name,
        group,
        value,
        needs,
    }
}

const COMPARATOR: &[TagSpec] = &[tag("comparator", "comparator", Some(Kind::Str), None)];
const MATCH_TYPE: &[TagSpec] = &[
    tag("is", "match type", None, None),
    tag("contains", "match type", None, None),
    tag("matches", "match type", None, None),
    tag("count", "match type", Some(Kind::Str), Some("relational")),
    tag("value", "match type", Some(Kind::Str), Some("relational")),
];
const ADDRESS_PART: &[TagSpec] = &[
    tag("all", "address part", None, None),
    tag("localpart", "address part", None, None),
    tag("domain", "address part", None, None),
    tag("user", "address part", None, Some("subaddress")),
    tag("detail", "address part", None, Some("subaddress")),
];
const TRANSFORM: &[TagSpec] = &[
    tag("raw", "body transform", None, None),
    tag("content", "body transform", Some(Kind::StrList), None),
    tag("text", "body transform", None, None),
];
const SIZE: &[TagSpec] = &[
    tag("over", "size comparison", None, None),
    tag("under", "size comparison", None, None),
];
const MODIFIERS: &[TagSpec] = &[
    tag("lower", "modifier of precedence 40", None, None),
    tag("upper", "modifier of precedence 40", None, None),
    tag("lowerfirst", "modifier of precedence 30", None, None),
    tag("upperfirst", "modifier of precedence 30", None, None),
    tag("quotewildcard", "modifier of precedence 20", None, None),
    tag("length", "modifier of precedence 10", None, None),
];
const VACATION: &[TagSpec] = &[
    tag("days", "period", Some(Kind::Num), None),
    tag(
        "seconds",
        "period",
        Some(Kind::Num),
        Some("vacation-seconds"),
    ),
    tag("subject", "subject", Some(Kind::Str), None),
    tag("from", "from", Some(Kind::Str), None),
    tag("addresses", "addresses", Some(Kind::StrList), None),
    tag("mime", "mime", None, None),
    tag("handle", "handle", Some(Kind::Str), None),
];
const COPY: &[TagSpec] = &[tag("copy", "copy", None, Some("copy"))];
const FLAGS: &[TagSpec] = &[tag(
    "flags",
    "flags",
    Some(Kind::StrList),
    Some("imap4flags"),
)];

const STRINGS: &[(&str, Kind)] = &[("source", Kind::StrList), ("keys", Kind::StrList)];
const HEADERS: &[(&str, Kind)] = &[("header names", Kind::StrList), ("keys", Kind::StrList)];
const FLAG_ARGS: &[(&str, Kind)] = &[("variable name", Kind::Str), ("flags", Kind::StrList)];
const HASFLAG_ARGS: &[(&str, Kind)] =
    &[("variable names", Kind::StrList), ("flags", Kind::StrList)];

/// The tag groups a command or test accepts.
type Groups = &'static [&'static [TagSpec]];
/// Its positional arguments, by name and kind.
type Positional = &'static [(&'static str, Kind)];
/// A command's tags, positional arguments, whether the first of them may be left out, its
/// tests, and whether it takes a block.
type CommandShape = (Groups, Positional, bool, TestsShape, bool);
/// The same for a test, which never takes a block.
type TestShape = (Groups, Positional, bool, TestsShape);

struct Context<'a> {
    requires: &'a [&'static str],
}

/// What a command or test may be given besides its tags and positional arguments.
#[derive(PartialEq, Eq, Clone, Copy)]
enum TestsShape {
    None,
    One,
    List,
}

impl Context<'_> {
    fn needs(&self, what: &str, capability: &str, at: Position) -> Result<(), Error> {
        // Requiring "vacation-seconds" implies "vacation" (RFC 6131 §2), as Cyrus and
        // Dovecot both accept.
        let implied = capability == "vacation" && self.requires.contains(&"vacation-seconds");
        if implied || self.requires.contains(&capability) {
            Ok(())
        } else {
            Err(Error::new(
                at,
                format!("{what} needs `require \"{capability}\"`"),
            ))
        }
    }

    fn commands(&self, commands: &[Command], top: bool) -> Result<(), Error> {
        let mut after_if = false;
        for (i, c) in commands.iter().enumerate() {
            let prev_if = after_if;
            after_if = false;
            let name = c.name.as_str();
            let (groups, positional, optional_first, tests, block): CommandShape = match name {
                "require" => {
                    if top && commands[..i].iter().all(|p| p.name == "require") {
                        continue;
                    }
                    return Err(Error::new(
                        c.position,
                        "`require` must come before every other command",
                    ));
                }
                "if" => {
                    after_if = true;
                    (&[], &[], false, TestsShape::One, true)
                }
                "elsif" | "else" => {
                    if !prev_if {
                        return Err(Error::new(
                            c.position,
                            format!("`{name}` must follow `if` or `elsif`"),
                        ));
                    }
                    after_if = name == "elsif";
                    let t = if name == "elsif" {
                        TestsShape::One
                    } else {
                        TestsShape::None
                    };
                    (&[], &[], false, t, true)
                }
                "stop" | "discard" => (&[], &[], false, TestsShape::None, false),
                "keep" => (&[FLAGS], &[], false, TestsShape::None, false),
                "redirect" => (
                    &[COPY],
                    &[("address", Kind::Str)],
                    false,
                    TestsShape::None,
                    false,
                ),
                "fileinto" => {
                    self.needs("`fileinto`", "fileinto", c.position)?;
                    (
                        &[COPY, FLAGS],
                        &[("mailbox", Kind::Str)],
                        false,
                        TestsShape::None,
                        false,
                    )
                }
                "reject" | "ereject" => {
                    self.needs(&format!("`{name}`"), name, c.position)?;
                    (
                        &[],
                        &[("reason", Kind::Str)],
                        false,
                        TestsShape::None,
                        false,
                    )
                }
                "setflag" | "addflag" | "removeflag" => {
                    self.needs(&format!("`{name}`"), "imap4flags", c.position)?;
                    (&[], FLAG_ARGS, true, TestsShape::None, false)
                }
                "set" => {
                    self.needs("`set`", "variables", c.position)?;
                    (
                        &[MODIFIERS],
                        &[("name", Kind::Str), ("value", Kind::Str)],
                        false,
                        TestsShape::None,
                        false,
                    )
                }
                "vacation" => {
                    self.needs("`vacation`", "vacation", c.position)?;
                    (
                        &[VACATION],
                        &[("reason", Kind::Str)],
                        false,
                        TestsShape::None,
                        false,
                    )
                }
                _ => return Err(Error::new(c.position, format!("unknown command `{name}`"))),
            };
            self.arguments(
                c.position,
                name,
                "command",
                &c.arguments,
                groups,
                positional,
                optional_first,
            )?;
            self.tests(c.position, name, "command", c.tests.as_ref(), tests)?;
            match (&c.block, block) {
                (Some(b), true) => self.commands(b, false)?,
                (None, false) => {}
                (Some(_), false) => {
                    return Err(Error::new(c.position, format!("`{name}` takes no block")))
                }
                (None, true) => {
                    return Err(Error::new(c.position, format!("`{name}` needs a block")))
                }
            }
            if name == "set" {
                let v = c
                    .arguments
                    .iter()
                    .rev()
                    .nth(1)
                    .map(|a| (&a.value, a.position));
                if let Some((Value::String(var), at)) = v {
                    if !is_identifier(var) {
                        return Err(Error::new(at, format!("\"{var}\" is not a variable name")));
                    }
                }
            }
        }
        Ok(())
    }

    fn tests(
        &self,
        at: Position,
        owner: &str,
        kind: &str,
        tests: Option<&Tests>,
        shape: TestsShape,
    ) -> Result<(), Error> {
        match (tests, shape) {
            (None, TestsShape::None) => Ok(()),
            (Some(Tests::Single(t)), TestsShape::One) => self.test(t),
            (Some(Tests::List(l)), TestsShape::List) => l.iter().try_for_each(|t| self.test(t)),
            (None, TestsShape::One) => Err(Error::new(at, format!("`{owner}` needs a test"))),
            (None | Some(Tests::Single(_)), TestsShape::List) => {
                let at = match tests {
                    Some(Tests::Single(t)) => t.position,
                    _ => at,
                };
                Err(Error::new(
                    at,
                    format!("`{owner}` needs a test list `( ... )`"),
                ))
            }
            (Some(Tests::List(l)), TestsShape::One) => Err(Error::new(
                l.first().map_or(at, |t| t.position),
                format!("`{owner}` takes one test, not a test list"),
            )),
            (Some(Tests::Single(t)), TestsShape::None) => Err(Error::new(
                t.position,
                format!("the `{owner}` {kind} takes no test"),
            )),
            (Some(Tests::List(l)), TestsShape::None) => Err(Error::new(
                l.first().map_or(at, |t| t.position),
                format!("the `{owner}` {kind} takes no test list"),
            )),
        }
    }

    fn test(&self, t: &Test) -> Result<(), Error> {
        let name = t.name.as_str();
        let match_test: Groups = &[COMPARATOR, MATCH_TYPE];
        let (groups, positional, optional_first, tests): TestShape = match name {
            "true" | "false" => (&[], &[], false, TestsShape::None),
            "not" => (&[], &[], false, TestsShape::One),
            "allof" | "anyof" => (&[], &[], false, TestsShape::List),
            "exists" => (
                &[],
                &[("header names", Kind::StrList)],
                false,
                TestsShape::None,
            ),
            "size" => (&[SIZE], &[("limit", Kind::Num)], false, TestsShape::None),
            "header" => (match_test, HEADERS, false, TestsShape::None),
            "address" => (
                &[COMPARATOR, ADDRESS_PART, MATCH_TYPE],
                HEADERS,
                false,
                TestsShape::None,
            ),
            "envelope" => {
                self.needs("`envelope`", "envelope", t.position)?;
                (
                    &[COMPARATOR, ADDRESS_PART, MATCH_TYPE],
                    &[("envelope parts", Kind::StrList), ("keys", Kind::StrList)],
                    false,
                    TestsShape::None,
                )
            }
            "string" => {
                self.needs("`string`", "variables", t.position)?;
                (match_test, STRINGS, false, TestsShape::None)
            }
            "hasflag" => {
                self.needs("`hasflag`", "imap4flags", t.position)?;
                (match_test, HASFLAG_ARGS, true, TestsShape::None)
            }
            "body" => {
                self.needs("`body`", "body", t.position)?;
                (
                    &[COMPARATOR, MATCH_TYPE, TRANSFORM],
                    &[("keys", Kind::StrList)],
                    false,
                    TestsShape::None,
                )
            }
            _ => return Err(Error::new(t.position, format!("unknown test `{name}`"))),
        };
        self.arguments(
            t.position,
            name,
            "test",
            &t.arguments,
            groups,
            positional,
            optional_first,
        )?;
        if name == "size"
            && !t
                .arguments
                .iter()
                .any(|a| matches!(&a.value, Value::Tag(_)))
        {
            return Err(Error::new(t.position, "`size` needs `:over` or `:under`"));
        }
        self.tests(t.position, name, "test", t.tests.as_ref(), tests)
    }

    /// Checks tags (before the positional arguments, each known, required, given at most once
    /// a group, with its value) and the positional arguments (their number and types).
    #[allow(clippy::too_many_arguments)]
    fn arguments(
        &self,
        at: Position,
        owner: &str,
        kind: &str,
        arguments: &[Argument],
        groups: &[&[TagSpec]],
        positional: &[(&str, Kind)],
        optional_first: bool,
    ) -> Result<(), Error> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut comparator: Option<(&str, Position)> = None;
        let mut substring: Option<(&str, Position)> = None;
        let mut i = 0;
        while let Some(a) = arguments.get(i) {
            let Value::Tag(name) = &a.value else { break };
            let Some(spec) = groups
                .iter()
                .flat_map(|g| g.iter())
                .find(|s| s.name == name)
            else {
                return Err(Error::new(
                    a.position,
                    format!("unknown tag `:{name}` for the `{owner}` {kind}"),
                ));
            };
            if let Some(cap) = spec.needs {
                self.needs(&format!("`:{name}`"), cap, a.position)?;
            }
            if let Some((first, _)) = seen.iter().find(|(_, g)| *g == spec.group) {
                let msg = if *first == spec.name {
                    format!("`:{name}` is given twice")
                } else {
                    format!(
                        "`:{name}` and `:{first}` are both given: only one {} is allowed",
                        spec.group
                    )
                };
                return Err(Error::new(a.position, msg));
            }
            seen.push((spec.name, spec.group));
            i += 1;
            if let Some(value_kind) = spec.value {
                let Some(v) = arguments.get(i) else {
                    return Err(Error::new(
                        a.position,
                        format!("`:{name}` needs {} after it", value_kind.describe()),
                    ));
                };
                if !value_kind.accepts(&v.value) {
                    return Err(Error::new(
                        v.position,
                        format!(
                            "`:{name}` needs {}, found {}",
                            value_kind.describe(),
                            describe(&v.value)
                        ),
                    ));
                }
                match (spec.name, &v.value) {
                    ("comparator", Value::String(c)) => {
                        match c.as_str() {
                            "i;octet" | "i;ascii-casemap" => {}
                            "i;ascii-numeric" => self.needs(
                                "the comparator \"i;ascii-numeric\"",
                                "comparator-i;ascii-numeric",
                                v.position,
                            )?,
                            _ => {
                                return Err(Error::new(
                                    v.position,
                                    format!("unknown comparator \"{c}\""),
                                ))
                            }
                        }
                        comparator = Some((c.as_str(), v.position));
                    }
                    ("count" | "value", Value::String(op)) => {
                        let ok = ["gt", "ge", "lt", "le", "eq", "ne"]
                            .iter()
                            .any(|o| o.eq_ignore_ascii_case(op));
                        if !ok {
                            return Err(Error::new(
                                v.position,
                                format!("\"{op}\" is not a relational operator (gt, ge, lt, le, eq, ne)"),
                            ));
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if spec.name == "contains" || spec.name == "matches" {
                substring = Some((spec.name, a.position));
            }
        }
        if let (Some(("i;ascii-numeric", cat)), Some((m, mat))) = (comparator, substring) {
            return Err(Error::new(
                cat.max(mat),
                format!("the comparator \"i;ascii-numeric\" does not support `:{m}`"),
            ));
        }
        let rest = &arguments[i..];
        for a in rest {
            if let Value::Tag(t) = &a.value {
                return Err(Error::new(
                    a.position,
                    format!("the tag `:{t}` comes after a positional argument of `{owner}`"),
                ));
            }
        }
        let wanted = if optional_first && rest.len() < positional.len() {
            &positional[1..]
        } else {
            positional
        };
        if rest.len() > wanted.len() {
            return Err(Error::new(
                rest[wanted.len()].position,
                format!("too many arguments to the `{owner}` {kind}"),
            ));
        }
        if rest.len() < wanted.len() {
            let names: Vec<&str> = wanted[rest.len()..].iter().map(|(n, _)| *n).collect();
            return Err(Error::new(
                at,
                format!("the `{owner}` {kind} lacks its {}", names.join(" and ")),
            ));
        }
        for (a, (what, k)) in rest.iter().zip(wanted) {
            if !k.accepts(&a.value) {
                return Err(Error::new(
                    a.position,
                    format!(
                        "the {what} of `{owner}` must be {}, found {}",
                        k.describe(),
                        describe(&a.value)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The shape check of `require` (one string or string list, no tags).
fn check_shape(
    at: Position,
    owner: &str,
    arguments: &[Argument],
    groups: &[&[TagSpec]],
    positional: &[(&str, Kind)],
    optional_first: bool,
) -> Result<(), Error> {
    Context { requires: &[] }.arguments(
        at,
        owner,
        "command",
        arguments,
        groups,
        positional,
        optional_first,
    )
}

/// RFC 5229 §3: `identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_")`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
