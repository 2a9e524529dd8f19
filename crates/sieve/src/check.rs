//! Semantic checks (RFC 5228 §2.10–§5, §8.3, and the extensions' grammars): the step between
//! parsing and running that decides whether a parsed [`Script`] is a valid program, as a
//! ManageSieve CHECKSCRIPT or PUTSCRIPT must before accepting it.
//!
//! [`check`] refuses, with the line and column of the offending token: a `require` after another
//! command or inside a block; a capability the server does not support ([`Capabilities`]); an
//! unknown command, test, tag or comparator; a command, test or tag of an extension the script
//! did not `require`; a duplicated tag, two match types, two address parts, two body
//! transforms, two `set` modifiers of one precedence (RFC 5229 §4.1), `:days` with `:seconds`,
//! `:header` with `:uniqueid` (RFC 7352), `:zone` with `:originalzone` (RFC 5260); a missing or
//! extra argument, or one of the wrong type (a string list where a string is wanted, a number
//! where a string is); a relational operator other than `gt`, `ge`, `lt`, `le`, `eq`, `ne`; a
//! substring or regex match (`:contains`, `:matches`, `:regex`) with `i;ascii-numeric`, which
//! offers equality and order only (RFC 4790 §9.1); a variable name (`set`, `global`, the
//! imap4flags variable argument) that is not an identifier, or an imap4flags variable argument
//! without "variables" (RFC 5232 §3); a test list where one test is wanted or the reverse; a
//! block where none is allowed, or none where one is; `elsif` or `else` not after `if` or
//! `elsif`; `:last` without `:index` (RFC 5260 §6, RFC 5293 §5), `:index 0`; fcc's `:create`,
//! `:flags`, `:specialuse` or `:mailboxid` without `:fcc` (RFC 8580 §4).
//!
//! Literal values are judged where the RFCs ask for it at compile time, when they hold no `${`
//! (a string with one may be expanded by "variables" or "encoded-character" at run time, so it
//! is left to the interpreter): a `redirect` address and vacation's `:addresses` must be RFC
//! 5322 addr-specs, vacation's `:from` an RFC 5322 mailbox (RFC 5228 §4.2, RFC 5230 §4.4–§4.5);
//! a `:regex` key must compile (with a bounded program size, and at most 256 such keys a
//! script, refused as a limit beyond); a date part must be one of RFC
//! 5260 §4.2 and a `:zone` `+hhmm`/`-hhmm`; `:importance` must be "1", "2" or "3" and a
//! `notify` method a URI of a supported method, `mailto` (RFC 5435 §3.1, §3.3); editheader field
//! names must be RFC 5322 field names; special-use attributes `\` and an atom; `include` script
//! names and `ihave` capabilities must be constant (RFC 6609 §3.2, RFC 5463 §4).
//!
//! Not errors, by the RFCs: `deleteheader "Received"` (RFC 5293 §6: a forbidden change is
//! silently ignored at run time); `vacation :days 0` (RFC 5230 §4.1: a value below the site's
//! minimum is the minimum, applied at run time); `:count` with any comparator (RFC 5231 §4.2).
//!
//! `ihave` (RFC 5463 §4): its capabilities are constant, so the check evaluates it. An `ihave`
//! naming only offered capabilities is true, and those capabilities are usable in the rest of
//! the script as if required. An `ihave` naming any other is false: the code it guards — the
//! block of an `if`/`elsif` whose test is false through it (directly, under `not`, in `allof`
//! or `anyof`), the `elsif`/`else` branches after a test true through it, and the tests of an
//! `allof`/`anyof` after a member that decides it — never runs, and may use commands, tests
//! and arguments of extensions the server does not know; only its structure (`require`
//! placement, `elsif`/`else` order) is checked there. Running such code anyway (the server's
//! capabilities changed since) is the interpreter's run-time error.
//!
//! Strings are not expanded here: `${...}` variable references and their names are left as text
//! for the interpreter.

mod syntax;

use std::cell::{Cell, RefCell};

use crate::ast::{Argument, Command, Script, Test, Tests, Value};
use crate::error::{Error, Position};

/// Every capability this crate can check, as `require` names it.
pub const SUPPORTED: &[&str] = &[
    "body",
    "comparator-i;ascii-casemap",
    "comparator-i;ascii-numeric",
    "comparator-i;octet",
    "copy",
    "date",
    "duplicate",
    "editheader",
    "encoded-character",
    "enotify",
    "envelope",
    "environment",
    "ereject",
    "fcc",
    "fileinto",
    "ihave",
    "imap4flags",
    "include",
    "index",
    "mailbox",
    "mailboxid",
    "regex",
    "reject",
    "relational",
    "special-use",
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

    /// The capabilities offered, in [`SUPPORTED`] order.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// The extension list of a ManageSieve `"SIEVE"` capability (RFC 5804 §1.7): every offered
/// capability, the `comparator-` ones included, space-separated, in [`SUPPORTED`] order.
pub fn sieve_capability_string(caps: &Capabilities) -> String {
    caps.names().join(" ")
}

/// A script that passed [`check`]: what it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The capabilities the script requires, each once, in [`SUPPORTED`] order.
    pub requires: Vec<&'static str>,
    /// The offered capabilities an `ihave` test of the script names (RFC 5463 §4), each once,
    /// in [`SUPPORTED`] order, that the script did not also `require`: usable after that test.
    pub ihave: Vec<&'static str>,
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
                Opt::No,
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
        capabilities,
        enabled: RefCell::new(Vec::new()),
        regex_keys: Cell::new(0),
    };
    cx.commands(&script.commands, true)?;
    let order = |r: &&'static str| SUPPORTED.iter().position(|s| s == r);
    let mut ihave = cx.enabled.into_inner();
    ihave.retain(|c| !requires.contains(c));
    ihave.sort_by_key(order);
    requires.sort_by_key(order);
    Ok(Checked { requires, ihave })
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

/// The strings of a string or string-list value (none for a tag or number).
fn strings(v: &Value) -> &[String] {
    match v {
        Value::String(s) => std::slice::from_ref(s),
        Value::StringList(l) => l,
        Value::Tag(_) | Value::Number(_) => &[],
    }
}

/// Whether a string is the same at run time as in the script: no `${`, which "variables" or
/// "encoded-character" may expand.
fn constant(s: &str) -> bool {
    !s.contains("${")
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
    tag("regex", "match type", None, Some("regex")),
];
const ADDRESS_PART: &[TagSpec] = &[
    tag("all", "address part", None, None),
    tag("localpart", "address part", None, None),
    tag("domain", "address part", None, None),
    tag("user", "address part", None, Some("subaddress")),
    tag("detail", "address part", None, Some("subaddress")),
];
/// RFC 5260 §6: which occurrence of a header field a test reads.
const INDEX: &[TagSpec] = &[
    tag("index", "index", Some(Kind::Num), Some("index")),
    tag("last", "last", None, Some("index")),
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
    // draft-ietf-sieve-regex §5: the same precedence as `:quotewildcard`.
    tag(
        "quoteregex",
        "modifier of precedence 20",
        None,
        Some("regex"),
    ),
    // RFC 5435 §6.
    tag(
        "encodeurl",
        "modifier of precedence 15",
        None,
        Some("enotify"),
    ),
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
/// RFC 8580 §4: where vacation and notify file a copy of what they send.
const FCC: &[TagSpec] = &[
    tag("fcc", "fcc", Some(Kind::Str), Some("fcc")),
    tag("create", "create", None, Some("mailbox")),
    tag("flags", "flags", Some(Kind::StrList), Some("imap4flags")),
    tag(
        "specialuse",
        "specialuse",
        Some(Kind::Str),
        Some("special-use"),
    ),
    tag("mailboxid", "mailboxid", Some(Kind::Str), Some("mailboxid")),
];
/// The tags of [`FCC`] other than `:fcc`, which need it.
const FCC_ONLY: &[&str] = &["create", "flags", "specialuse", "mailboxid"];
const COPY: &[TagSpec] = &[tag("copy", "copy", None, Some("copy"))];
const FLAGS: &[TagSpec] = &[tag(
    "flags",
    "flags",
    Some(Kind::StrList),
    Some("imap4flags"),
)];
/// `fileinto`'s tags of RFC 5490 §3.2, RFC 8579 §4 and RFC 9042 §3.
const FILEINTO_MAILBOX: &[TagSpec] = &[
    tag("create", "create", None, Some("mailbox")),
    tag(
        "specialuse",
        "specialuse",
        Some(Kind::Str),
        Some("special-use"),
    ),
    tag("mailboxid", "mailboxid", Some(Kind::Str), Some("mailboxid")),
];
/// RFC 6609 §3.2.
const INCLUDE: &[TagSpec] = &[
    tag("personal", "location", None, None),
    tag("global", "location", None, None),
    tag("once", "once", None, None),
    tag("optional", "optional", None, None),
];
/// RFC 7352 §3.
const DUPLICATE: &[TagSpec] = &[
    tag("handle", "handle", Some(Kind::Str), None),
    tag("header", "unique identifier source", Some(Kind::Str), None),
    tag(
        "uniqueid",
        "unique identifier source",
        Some(Kind::Str),
        None,
    ),
    tag("seconds", "seconds", Some(Kind::Num), None),
    tag("last", "last", None, None),
];
/// RFC 5260 §4.1 (`date`).
const DATE_ZONE: &[TagSpec] = &[
    tag("zone", "zone", Some(Kind::Str), None),
    tag("originalzone", "zone", None, None),
];
/// RFC 5260 §5 (`currentdate`): no original zone to keep.
const CURRENTDATE_ZONE: &[TagSpec] = &[tag("zone", "zone", Some(Kind::Str), None)];
/// RFC 5435 §3.
const NOTIFY: &[TagSpec] = &[
    tag("from", "from", Some(Kind::Str), None),
    tag("importance", "importance", Some(Kind::Str), None),
    tag("options", "options", Some(Kind::StrList), None),
    tag("message", "message", Some(Kind::Str), None),
];
/// RFC 5293 §4 (`addheader`).
const ADDHEADER: &[TagSpec] = &[tag("last", "last", None, None)];
/// RFC 5293 §5 (`deleteheader`): its own `:index` and `:last`, without the index extension.
const DELETEHEADER_INDEX: &[TagSpec] = &[
    tag("index", "index", Some(Kind::Num), None),
    tag("last", "last", None, None),
];

const STRINGS: &[(&str, Kind)] = &[("source", Kind::StrList), ("keys", Kind::StrList)];
const HEADERS: &[(&str, Kind)] = &[("header names", Kind::StrList), ("keys", Kind::StrList)];
const FLAG_ARGS: &[(&str, Kind)] = &[("variable name", Kind::Str), ("flags", Kind::StrList)];
const HASFLAG_ARGS: &[(&str, Kind)] =
    &[("variable names", Kind::StrList), ("flags", Kind::StrList)];

/// The most `:regex` program size (bytes of the compiled form) a key may need: a pattern that
/// compiles bigger is refused, so that no key costs more memory or time than that.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The most constant `:regex` keys one script may hold (each is compiled by the check, within
/// [`REGEX_SIZE_LIMIT`]), so that a script of many small but costly patterns is refused
/// before it costs more than that many compilations.
const MAX_REGEX_KEYS: usize = 256;

/// The tag groups a command or test accepts.
type Groups = &'static [&'static [TagSpec]];
/// Its positional arguments, by name and kind.
type Positional = &'static [(&'static str, Kind)];
/// A command's tags, positional arguments, which of them may be left out, its tests, and
/// whether it takes a block.
type CommandShape = (Groups, Positional, Opt, TestsShape, bool);
/// The same for a test, which never takes a block.
type TestShape = (Groups, Positional, Opt, TestsShape);

/// Which positional argument, if any, may be left out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// None: all are needed.
    No,
    /// The first (as imap4flags' variable name).
    First,
    /// The last (as `deleteheader`'s value patterns).
    Last,
}

struct Context<'a> {
    requires: &'a [&'static str],
    capabilities: &'a Capabilities,
    /// Offered capabilities an `ihave` test named (RFC 5463 §4): usable from there on.
    enabled: RefCell<Vec<&'static str>>,
    /// How many `:regex` keys were compiled so far (at most [`MAX_REGEX_KEYS`]).
    regex_keys: Cell<usize>,
}

/// What a command or test may be given besides its tags and positional arguments.
#[derive(PartialEq, Eq, Clone, Copy)]
enum TestsShape {
    None,
    One,
    List,
}

/// The arguments of a command or test, sorted by [`Context::arguments`].
struct Parsed<'a> {
    /// The tags given: name, position, and value if the tag takes one.
    tags: Vec<(&'static str, Position, Option<&'a Argument>)>,
    /// The positional arguments given, with their names.
    positional: Vec<(&'static str, &'a Argument)>,
}

impl<'a> Parsed<'a> {
    fn tag(&self, name: &str) -> Option<(Position, Option<&'a Argument>)> {
        self.tags
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, at, v)| (*at, *v))
    }

    fn tag_value(&self, name: &str) -> Option<&'a Argument> {
        self.tag(name).and_then(|(_, v)| v)
    }

    fn arg(&self, name: &str) -> Option<&'a Argument> {
        self.positional
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }
}

impl Context<'_> {
    /// Whether the script may use `capability`: required, implied by a required one, or found
    /// offered by an `ihave` test.
    fn has(&self, capability: &str) -> bool {
        let on = |c: &str| self.requires.contains(&c) || self.enabled.borrow().contains(&c);
        // Requiring "vacation-seconds" implies "vacation" (RFC 6131 §2), as Cyrus and
        // Dovecot both accept.
        on(capability) || (capability == "vacation" && on("vacation-seconds"))
    }

    fn needs(&self, what: &str, capability: &str, at: Position) -> Result<(), Error> {
        if self.has(capability) {
            Ok(())
        } else {
            Err(Error::new(
                at,
                format!("{what} needs `require \"{capability}\"`"),
            ))
        }
    }

    /// What `t` is bound to evaluate to through `ihave` alone (RFC 5463 §4), if anything: an
    /// `ihave` of constant capabilities is true when all are offered and false otherwise;
    /// `not`, `allof` and `anyof` carry that through. Any other test may go either way.
    fn static_value(&self, t: &Test) -> Option<bool> {
        match t.name.as_str() {
            "ihave" if self.has("ihave") => {
                let [Argument { value, .. }] = t.arguments.as_slice() else {
                    return None;
                };
                let names = strings(value);
                if names.is_empty() || !names.iter().all(|n| constant(n)) {
                    return None;
                }
                Some(names.iter().all(|n| self.capabilities.supports(n)))
            }
            "not" => match &t.tests {
                Some(Tests::Single(inner)) => self.static_value(inner).map(|v| !v),
                _ => None,
            },
            "allof" | "anyof" => {
                let Some(Tests::List(members)) = &t.tests else {
                    return None;
                };
                // A true member decides `anyof`, a false one `allof`.
                let decisive = t.name == "anyof";
                let mut all_known = true;
                for m in members {
                    match self.static_value(m) {
                        Some(v) if v == decisive => return Some(decisive),
                        Some(_) => {}
                        None => all_known = false,
                    }
                }
                all_known.then_some(!decisive)
            }
            _ => None,
        }
    }

    /// Checks the structure alone of commands that never run (RFC 5463 §4): no `require`,
    /// `elsif` and `else` only after `if` or `elsif`, at every depth.
    fn dead(&self, commands: &[Command]) -> Result<(), Error> {
        let mut after_if = false;
        for c in commands {
            let prev_if = after_if;
            after_if = c.name == "if" || c.name == "elsif";
            match c.name.as_str() {
                "require" => {
                    return Err(Error::new(
                        c.position,
                        "`require` must come before every other command",
                    ))
                }
                "elsif" | "else" if !prev_if => {
                    return Err(Error::new(
                        c.position,
                        format!("`{}` must follow `if` or `elsif`", c.name),
                    ))
                }
                _ => {}
            }
            if let Some(b) = &c.block {
                self.dead(b)?;
            }
        }
        Ok(())
    }

    fn commands(&self, commands: &[Command], top: bool) -> Result<(), Error> {
        // After an `if` or `elsif`: whether a test of the chain so far is bound to be true
        // through `ihave`, so that the rest of the chain never runs.
        let mut chain: Option<bool> = None;
        for (i, c) in commands.iter().enumerate() {
            let prev = chain.take();
            let name = c.name.as_str();
            if name == "require" {
                if top && commands[..i].iter().all(|p| p.name == "require") {
                    continue;
                }
                return Err(Error::new(
                    c.position,
                    "`require` must come before every other command",
                ));
            }
            if name == "elsif" || name == "else" {
                let Some(settled) = prev else {
                    return Err(Error::new(
                        c.position,
                        format!("`{name}` must follow `if` or `elsif`"),
                    ));
                };
                if settled {
                    let Some(b) = &c.block else {
                        return Err(Error::new(c.position, format!("`{name}` needs a block")));
                    };
                    self.dead(b)?;
                    if name == "elsif" {
                        chain = Some(true);
                    }
                    continue;
                }
            }
            let (groups, positional, optional, tests, block) = self.command_shape(c)?;
            let parsed = self.arguments(
                c.position,
                name,
                "command",
                &c.arguments,
                groups,
                positional,
                optional,
            )?;
            self.tests(c.position, name, "command", c.tests.as_ref(), tests)?;
            self.values(name, &parsed)?;
            let mut value = None;
            if name == "if" || name == "elsif" {
                if let Some(Tests::Single(t)) = &c.tests {
                    value = self.static_value(t);
                }
                chain = Some(value == Some(true));
            }
            match (&c.block, block) {
                (Some(b), true) if value == Some(false) => self.dead(b)?,
                (Some(b), true) => self.commands(b, false)?,
                (None, false) => {}
                (Some(_), false) => {
                    return Err(Error::new(c.position, format!("`{name}` takes no block")))
                }
                (None, true) => {
                    return Err(Error::new(c.position, format!("`{name}` needs a block")))
                }
            }
        }
        Ok(())
    }

    /// The arguments, tests and block a command takes; an error for an unknown command or one
    /// whose extension the script did not require.
    fn command_shape(&self, c: &Command) -> Result<CommandShape, Error> {
        let name = c.name.as_str();
        let none = TestsShape::None;
        Ok(match name {
            "if" | "elsif" => (&[], &[], Opt::No, TestsShape::One, true),
            "else" => (&[], &[], Opt::No, none, true),
            "stop" | "discard" => (&[], &[], Opt::No, none, false),
            "keep" => (&[FLAGS], &[], Opt::No, none, false),
            "redirect" => (&[COPY], &[("address", Kind::Str)], Opt::No, none, false),
            "fileinto" => {
                self.needs("`fileinto`", "fileinto", c.position)?;
                (
                    &[COPY, FLAGS, FILEINTO_MAILBOX],
                    &[("mailbox", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "reject" | "ereject" => {
                self.needs(&format!("`{name}`"), name, c.position)?;
                (&[], &[("reason", Kind::Str)], Opt::No, none, false)
            }
            "setflag" | "addflag" | "removeflag" => {
                self.needs(&format!("`{name}`"), "imap4flags", c.position)?;
                (&[], FLAG_ARGS, Opt::First, none, false)
            }
            "set" => {
                self.needs("`set`", "variables", c.position)?;
                (
                    &[MODIFIERS],
                    &[("name", Kind::Str), ("value", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "vacation" => {
                self.needs("`vacation`", "vacation", c.position)?;
                (
                    &[VACATION, FCC],
                    &[("reason", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "include" => {
                self.needs("`include`", "include", c.position)?;
                (
                    &[INCLUDE],
                    &[("script name", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "return" => {
                self.needs("`return`", "include", c.position)?;
                (&[], &[], Opt::No, none, false)
            }
            "global" => {
                self.needs("`global`", "include", c.position)?;
                self.needs("`global`", "variables", c.position)?;
                (
                    &[],
                    &[("variable names", Kind::StrList)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "notify" => {
                self.needs("`notify`", "enotify", c.position)?;
                (
                    &[NOTIFY, FCC],
                    &[("method", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "addheader" => {
                self.needs("`addheader`", "editheader", c.position)?;
                (
                    &[ADDHEADER],
                    &[("field name", Kind::Str), ("value", Kind::Str)],
                    Opt::No,
                    none,
                    false,
                )
            }
            "deleteheader" => {
                self.needs("`deleteheader`", "editheader", c.position)?;
                (
                    &[DELETEHEADER_INDEX, COMPARATOR, MATCH_TYPE],
                    &[("field name", Kind::Str), ("value patterns", Kind::StrList)],
                    Opt::Last,
                    none,
                    false,
                )
            }
            "error" => {
                self.needs("`error`", "ihave", c.position)?;
                (&[], &[("message", Kind::Str)], Opt::No, none, false)
            }
            _ => return Err(Error::new(c.position, format!("unknown command `{name}`"))),
        })
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
            (Some(Tests::List(l)), TestsShape::List) => {
                // `allof` and `anyof` stop at the first member that decides them (RFC 5463
                // §4 asks for that order): the members after one bound to decide never run.
                let decisive = owner == "anyof";
                for t in l {
                    self.test(t)?;
                    if self.static_value(t) == Some(decisive) {
                        break;
                    }
                }
                Ok(())
            }
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
        let (groups, positional, optional, tests) = self.test_shape(t)?;
        let parsed = self.arguments(
            t.position,
            name,
            "test",
            &t.arguments,
            groups,
            positional,
            optional,
        )?;
        if name == "size" && parsed.tags.is_empty() {
            return Err(Error::new(t.position, "`size` needs `:over` or `:under`"));
        }
        self.values(name, &parsed)?;
        self.tests(t.position, name, "test", t.tests.as_ref(), tests)
    }

    /// The arguments and tests a test takes; an error for an unknown test or one whose
    /// extension the script did not require.
    fn test_shape(&self, t: &Test) -> Result<TestShape, Error> {
        let name = t.name.as_str();
        let at = t.position;
        let match_test: Groups = &[COMPARATOR, MATCH_TYPE];
        let none = TestsShape::None;
        Ok(match name {
            "true" | "false" => (&[], &[], Opt::No, none),
            "not" => (&[], &[], Opt::No, TestsShape::One),
            "allof" | "anyof" => (&[], &[], Opt::No, TestsShape::List),
            "exists" => (&[], &[("header names", Kind::StrList)], Opt::No, none),
            "size" => (&[SIZE], &[("limit", Kind::Num)], Opt::No, none),
            "header" => (&[COMPARATOR, MATCH_TYPE, INDEX], HEADERS, Opt::No, none),
            "address" => (
                &[COMPARATOR, ADDRESS_PART, MATCH_TYPE, INDEX],
                HEADERS,
                Opt::No,
                none,
            ),
            "envelope" => {
                self.needs("`envelope`", "envelope", at)?;
                (
                    &[COMPARATOR, ADDRESS_PART, MATCH_TYPE],
                    &[("envelope parts", Kind::StrList), ("keys", Kind::StrList)],
                    Opt::No,
                    none,
                )
            }
            "string" => {
                self.needs("`string`", "variables", at)?;
                (match_test, STRINGS, Opt::No, none)
            }
            "hasflag" => {
                self.needs("`hasflag`", "imap4flags", at)?;
                (match_test, HASFLAG_ARGS, Opt::First, none)
            }
            "body" => {
                self.needs("`body`", "body", at)?;
                (
                    &[COMPARATOR, MATCH_TYPE, TRANSFORM],
                    &[("keys", Kind::StrList)],
                    Opt::No,
                    none,
                )
            }
            "date" => {
                self.needs("`date`", "date", at)?;
                (
                    &[DATE_ZONE, COMPARATOR, MATCH_TYPE, INDEX],
                    &[
                        ("header name", Kind::Str),
                        ("date part", Kind::Str),
                        ("keys", Kind::StrList),
                    ],
                    Opt::No,
                    none,
                )
            }
            "currentdate" => {
                self.needs("`currentdate`", "date", at)?;
                (
                    &[CURRENTDATE_ZONE, COMPARATOR, MATCH_TYPE],
                    &[("date part", Kind::Str), ("keys", Kind::StrList)],
                    Opt::No,
                    none,
                )
            }
            "mailboxexists" => {
                self.needs("`mailboxexists`", "mailbox", at)?;
                (&[], &[("mailbox names", Kind::StrList)], Opt::No, none)
            }
            "mailboxidexists" => {
                self.needs("`mailboxidexists`", "mailboxid", at)?;
                (&[], &[("mailbox ids", Kind::StrList)], Opt::No, none)
            }
            "specialuse_exists" => {
                self.needs("`specialuse_exists`", "special-use", at)?;
                (
                    &[],
                    &[
                        ("mailbox", Kind::Str),
                        ("special-use attributes", Kind::StrList),
                    ],
                    Opt::First,
                    none,
                )
            }
            "duplicate" => {
                self.needs("`duplicate`", "duplicate", at)?;
                (&[DUPLICATE], &[], Opt::No, none)
            }
            "valid_notify_method" => {
                self.needs("`valid_notify_method`", "enotify", at)?;
                (&[], &[("notification URIs", Kind::StrList)], Opt::No, none)
            }
            "notify_method_capability" => {
                self.needs("`notify_method_capability`", "enotify", at)?;
                (
                    match_test,
                    &[
                        ("notification URI", Kind::Str),
                        ("capability", Kind::Str),
                        ("keys", Kind::StrList),
                    ],
                    Opt::No,
                    none,
                )
            }
            "ihave" => {
                self.needs("`ihave`", "ihave", at)?;
                (&[], &[("capabilities", Kind::StrList)], Opt::No, none)
            }
            "environment" => {
                self.needs("`environment`", "environment", at)?;
                (
                    match_test,
                    &[("name", Kind::Str), ("keys", Kind::StrList)],
                    Opt::No,
                    none,
                )
            }
            _ => return Err(Error::new(at, format!("unknown test `{name}`"))),
        })
    }

    /// Checks what the RFCs ask of argument values at compile time (see the module header),
    /// after [`Context::arguments`] checked their shape; notes the capabilities an `ihave`
    /// finds offered.
    fn values(&self, owner: &str, p: &Parsed<'_>) -> Result<(), Error> {
        if matches!(owner, "header" | "address" | "date" | "deleteheader") {
            if let (Some((at, _)), None) = (p.tag("last"), p.tag("index")) {
                return Err(Error::new(at, "`:last` needs `:index`"));
            }
        }
        if let Some(Argument {
            value: Value::Number(0),
            position,
        }) = p.tag_value("index")
        {
            return Err(Error::new(
                *position,
                "`:index` counts header fields from 1, not 0",
            ));
        }
        if matches!(owner, "vacation" | "notify") && p.tag("fcc").is_none() {
            for t in FCC_ONLY {
                if let Some((at, _)) = p.tag(t) {
                    return Err(Error::new(at, format!("`:{t}` of `{owner}` needs `:fcc`")));
                }
            }
        }
        if p.tag("regex").is_some() {
            let keys = p
                .arg("keys")
                .or_else(|| p.arg("flags"))
                .or_else(|| p.arg("value patterns"));
            if let Some(a) = keys {
                for k in strings(&a.value).iter().filter(|k| constant(k)) {
                    let n = self.regex_keys.get() + 1;
                    if n > MAX_REGEX_KEYS {
                        return Err(Error::limit(
                            a.position,
                            format!("the script has more than {MAX_REGEX_KEYS} `:regex` keys"),
                        ));
                    }
                    self.regex_keys.set(n);
                    check_regex(k, a.position)?;
                }
            }
        }
        for what in ["variable name", "variable names"] {
            if let Some(a) = p.arg(what) {
                self.needs(
                    &format!("a variable name in `{owner}`"),
                    "variables",
                    a.position,
                )?;
                if let Some(n) = strings(&a.value).iter().find(|n| !is_identifier(n)) {
                    return Err(Error::new(
                        a.position,
                        format!("\"{}\" is not a variable name", shown(n)),
                    ));
                }
            }
        }
        if let Some(a) = p.tag_value("specialuse") {
            special_uses(a)?;
        }
        match owner {
            "set" => {
                if let Some(Argument {
                    value: Value::String(var),
                    position,
                }) = p.arg("name")
                {
                    if !is_identifier(var) {
                        return Err(Error::new(
                            *position,
                            format!("\"{var}\" is not a variable name"),
                        ));
                    }
                }
            }
            "redirect" => addresses(p.arg("address"), syntax::is_addr_spec)?,
            "vacation" => {
                addresses(p.tag_value("from"), syntax::is_mailbox)?;
                addresses(p.tag_value("addresses"), syntax::is_addr_spec)?;
            }
            "date" | "currentdate" => {
                if let Some(Argument {
                    value: Value::String(part),
                    position,
                }) = p.arg("date part")
                {
                    let known = syntax::DATE_PARTS
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(part));
                    if constant(part) && !known {
                        return Err(Error::new(
                            *position,
                            format!(
                                "\"{}\" is not a date part ({})",
                                shown(part),
                                syntax::DATE_PARTS.join(", ")
                            ),
                        ));
                    }
                }
                if let Some(Argument {
                    value: Value::String(zone),
                    position,
                }) = p.tag_value("zone")
                {
                    if constant(zone) && !syntax::is_zone(zone) {
                        return Err(Error::new(
                            *position,
                            format!("\"{}\" is not a time zone (+hhmm or -hhmm)", shown(zone)),
                        ));
                    }
                }
            }
            "notify" => {
                if let Some(Argument {
                    value: Value::String(i),
                    position,
                }) = p.tag_value("importance")
                {
                    if constant(i) && !matches!(i.as_str(), "1" | "2" | "3") {
                        return Err(Error::new(
                            *position,
                            format!(
                                "the importance must be \"1\", \"2\" or \"3\", not \"{}\"",
                                shown(i)
                            ),
                        ));
                    }
                }
                if let Some(Argument {
                    value: Value::String(method),
                    position,
                }) = p.arg("method")
                {
                    if constant(method) {
                        match syntax::uri_scheme(method) {
                            None => {
                                return Err(Error::new(
                                    *position,
                                    format!(
                                        "\"{}\" is not a notification method URI",
                                        shown(method)
                                    ),
                                ))
                            }
                            Some(s) if s != "mailto" => {
                                return Err(Error::new(
                                    *position,
                                    format!("unsupported notification method \"{s}\""),
                                ))
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            "addheader" | "deleteheader" => {
                if let Some(Argument {
                    value: Value::String(field),
                    position,
                }) = p.arg("field name")
                {
                    if constant(field) && !syntax::is_field_name(field) {
                        return Err(Error::new(
                            *position,
                            format!("\"{}\" is not a header field name", shown(field)),
                        ));
                    }
                }
            }
            "specialuse_exists" => {
                if let Some(a) = p.arg("special-use attributes") {
                    special_uses(a)?;
                }
            }
            "include" => {
                if let Some(Argument {
                    value: Value::String(script),
                    position,
                }) = p.arg("script name")
                {
                    if !constant(script) {
                        return Err(Error::new(
                            *position,
                            "the script name of `include` must be constant (no \"${\")",
                        ));
                    }
                    if script.is_empty() {
                        return Err(Error::new(
                            *position,
                            "the script name of `include` is empty",
                        ));
                    }
                }
            }
            "ihave" => {
                if let Some(a) = p.arg("capabilities") {
                    let names = strings(&a.value);
                    if !names.iter().all(|n| constant(n)) {
                        return Err(Error::new(
                            a.position,
                            "the capabilities of `ihave` must be constant (no \"${\")",
                        ));
                    }
                    if names.iter().all(|n| self.capabilities.supports(n)) {
                        let mut enabled = self.enabled.borrow_mut();
                        for n in names {
                            if let Some(s) = SUPPORTED.iter().find(|s| **s == n.as_str()) {
                                if !enabled.contains(s) {
                                    enabled.push(s);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks tags (before the positional arguments, each known, required, given at most once
    /// a group, with its value) and the positional arguments (their number and types); returns
    /// them sorted.
    #[allow(clippy::too_many_arguments)]
    fn arguments<'a>(
        &self,
        at: Position,
        owner: &str,
        kind: &str,
        arguments: &'a [Argument],
        groups: &[&[TagSpec]],
        positional: &[(&'static str, Kind)],
        optional: Opt,
    ) -> Result<Parsed<'a>, Error> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut tags = Vec::new();
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
            let mut value = None;
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
                value = Some(v);
                i += 1;
            }
            tags.push((spec.name, a.position, value));
            if matches!(spec.name, "contains" | "matches" | "regex") {
                substring = Some((spec.name, a.position));
            }
        }
        if let (Some(("i;ascii-numeric", cat)), Some((m, mat))) = (comparator, substring) {
            return Err(Error::new(
                cat.max(mat),
                format!("the comparator \"i;ascii-numeric\" does not support `:{m}`"),
            ));
        }
        let rest = arguments.get(i..).unwrap_or_default();
        for a in rest {
            if let Value::Tag(t) = &a.value {
                return Err(Error::new(
                    a.position,
                    format!("the tag `:{t}` comes after a positional argument of `{owner}`"),
                ));
            }
        }
        let short = rest.len() < positional.len();
        let wanted = match optional {
            Opt::First if short => positional.get(1..).unwrap_or_default(),
            Opt::Last if short => positional
                .get(..positional.len().saturating_sub(1))
                .unwrap_or_default(),
            _ => positional,
        };
        if let Some(extra) = rest.get(wanted.len()) {
            return Err(Error::new(
                extra.position,
                format!("too many arguments to the `{owner}` {kind}"),
            ));
        }
        if let Some(missing) = wanted.get(rest.len()..).filter(|m| !m.is_empty()) {
            let names: Vec<&str> = missing.iter().map(|(n, _)| *n).collect();
            return Err(Error::new(
                at,
                format!("the `{owner}` {kind} lacks its {}", names.join(" and ")),
            ));
        }
        let mut named = Vec::with_capacity(rest.len());
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
            named.push((*what, a));
        }
        Ok(Parsed {
            tags,
            positional: named,
        })
    }
}

/// The shape check of `require` (one string or string list, no tags).
fn check_shape(
    at: Position,
    owner: &str,
    arguments: &[Argument],
    groups: &[&[TagSpec]],
    positional: &[(&'static str, Kind)],
    optional: Opt,
) -> Result<(), Error> {
    let none = Capabilities { names: Vec::new() };
    Context {
        requires: &[],
        capabilities: &none,
        enabled: RefCell::new(Vec::new()),
        regex_keys: Cell::new(0),
    }
    .arguments(
        at, owner, "command", arguments, groups, positional, optional,
    )
    .map(|_| ())
}

/// RFC 5229 §3: `identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_")`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// At most the first 60 characters of `s`, for an error message (`…` marks a cut).
fn shown(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Checks that every constant string of `argument` (if given) passes `valid`, as an address.
fn addresses(argument: Option<&Argument>, valid: fn(&str) -> bool) -> Result<(), Error> {
    let Some(a) = argument else { return Ok(()) };
    match strings(&a.value).iter().find(|s| constant(s) && !valid(s)) {
        Some(bad) => Err(Error::new(
            a.position,
            format!("\"{}\" is not a valid email address", shown(bad)),
        )),
        None => Ok(()),
    }
}

/// Checks that every constant string of `a` is a special-use attribute (RFC 8579 §3).
fn special_uses(a: &Argument) -> Result<(), Error> {
    match strings(&a.value)
        .iter()
        .find(|s| constant(s) && !syntax::is_special_use(s))
    {
        Some(bad) => Err(Error::new(
            a.position,
            format!(
                "\"{}\" is not a special-use attribute (such as \"\\Trash\")",
                shown(bad)
            ),
        )),
        None => Ok(()),
    }
}

/// Checks that `pattern` is a regular expression the `:regex` match type can run, within
/// [`REGEX_SIZE_LIMIT`].
fn check_regex(pattern: &str, at: Position) -> Result<(), Error> {
    match regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(_) => Ok(()),
        Err(regex::Error::CompiledTooBig(_)) => Err(Error::new(
            at,
            format!(
                "the regular expression \"{}\" is too big to run",
                shown(pattern)
            ),
        )),
        Err(e) => {
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error:"))
                .map_or("bad syntax", str::trim);
            Err(Error::new(
                at,
                format!(
                    "\"{}\" is not a valid regular expression: {reason}",
                    shown(pattern)
                ),
            ))
        }
    }
}
