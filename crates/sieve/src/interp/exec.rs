//! Running a [`Program`]: control flow (RFC 5228 §3), variables (RFC 5229), the internal flags
//! variable (RFC 5232), `include` and its variable scopes (RFC 6609), the bounds of one run
//! ([`RunLimits`]), and the building of the [`Outcome`]. The tests live in `eval.rs`, the
//! actions in `actions.rs`; what a command's arguments are is read by `args.rs`.
//!
//! The tree was validated by [`check`](crate::check) before it runs, so a shape the checker
//! refuses is not looked for here; what can only go wrong at run time (a bad regular
//! expression, an action conflict, a limit) ends the run with a reason, and the [`Outcome`] is
//! then the implicit keep alone (RFC 5228 §2.10.6).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::matching::Matcher;
use super::strings;
use super::{
    Action, Envelope, Host, IncludeLocation, MessageView, Outcome, Program, RunLimits, Store,
};
use crate::ast::{Command, Script, Test, Tests};

mod actions;
mod args;
mod eval;
#[cfg(test)]
mod tests;

use args::Args;

/// How long a string may grow by `${...}` expansion beyond its written length, in bytes: a
/// string naming many long variables is cut there (RFC 5229 §3 leaves the bound to us).
const MAX_EXPANSION_GROWTH: usize = 64 * 1024;

/// Runs `program` for one recipient. `message` may be edited (`editheader`); a script error
/// gives the implicit keep and [`Outcome::error`].
pub fn execute(
    program: &Program,
    message: &mut MessageView,
    envelope: &Envelope<'_>,
    host: &dyn Host,
    limits: &RunLimits,
) -> Outcome {
    let mut run = Run {
        message,
        envelope,
        host,
        limits,
        matcher: Matcher::default(),
        steps: 0,
        actions: Vec::new(),
        implicit_keep: true,
        redirects: 0,
        taken: 0,
        flags: Vec::new(),
        imap4flags: false,
        globals: HashMap::new(),
        variables: 0,
        match_vars: Vec::new(),
        duplicates: Vec::new(),
        enabled: Vec::new(),
        includes: Vec::new(),
        included: Vec::new(),
        added_headers: 0,
    };
    let mut frame = Frame::new(&program.checked.requires);
    let result = run.script(&mut frame, &program.script);
    match result {
        Ok(_) => run.finish(),
        Err(reason) => Outcome {
            actions: vec![Action::Keep(Store::default())],
            duplicates: Vec::new(),
            error: Some(reason),
        },
    }
}

/// Whether any test in `script` is named `name`.
pub(crate) fn uses_test(script: &Script, name: &str) -> bool {
    fn in_tests(tests: &Tests, name: &str) -> bool {
        let list: &[Test] = match tests {
            Tests::Single(t) => std::slice::from_ref(&**t),
            Tests::List(l) => l,
        };
        list.iter()
            .any(|t| t.name == name || t.tests.as_ref().is_some_and(|i| in_tests(i, name)))
    }
    fn in_commands(commands: &[Command], name: &str) -> bool {
        commands.iter().any(|c| {
            c.tests.as_ref().is_some_and(|t| in_tests(t, name))
                || c.block.as_deref().is_some_and(|b| in_commands(b, name))
        })
    }
    in_commands(&script.commands, name)
}

/// What running a block of commands ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The block ran to its end.
    Next,
    /// `stop` (RFC 5228 §3.3): nothing more runs, in any script.
    Stop,
    /// `return` (RFC 6609 §3.4): the current script ends; its includer goes on.
    Return,
}

/// A run-time error: why the script failed.
type Failure = String;

/// One script being run (the top one, or an included one): what it required and its
/// non-global variables, which are its own (RFC 6609 §3.3).
struct Frame<'p> {
    requires: &'p [&'static str],
    /// Variables by lower-case name (RFC 5229 §3: names are case-insensitive).
    vars: HashMap<String, String>,
    /// Names this script declared `global` (at most the strings of its `global` commands).
    global_names: HashSet<String>,
}

impl<'p> Frame<'p> {
    fn new(requires: &'p [&'static str]) -> Frame<'p> {
        Frame {
            requires,
            vars: HashMap::new(),
            global_names: HashSet::new(),
        }
    }
}

/// The state of one execution.
struct Run<'r, 'e> {
    message: &'r mut MessageView,
    envelope: &'r Envelope<'e>,
    host: &'r dyn Host,
    limits: &'r RunLimits,
    matcher: Matcher,
    /// Commands, tests and matches so far (bounded by [`RunLimits::max_steps`]).
    steps: u64,
    actions: Vec<Action>,
    /// Whether the implicit keep still applies (RFC 5228 §2.10.2).
    implicit_keep: bool,
    /// Redirects taken (bounded by [`RunLimits::max_redirects`]).
    redirects: usize,
    /// Actions taken (bounded by [`RunLimits::max_actions`]).
    taken: usize,
    /// The internal flags variable of RFC 5232 §3, deduplicated case-insensitively.
    flags: Vec<String>,
    /// Whether a script that ran required imap4flags, so that stores carry flags.
    imap4flags: bool,
    /// Variables declared `global` (RFC 6609 §3.3), shared by every script of the run.
    globals: HashMap<String, String>,
    /// Variables created so far (bounded by [`RunLimits::max_variables`]).
    variables: usize,
    /// `${0}`, `${1}`, … of the last successful `:matches` or `:regex` (RFC 5229 §3.2).
    match_vars: Vec<String>,
    /// `duplicate` keys to record once the delivery succeeds.
    duplicates: Vec<(String, u64)>,
    /// Capabilities an `ihave` test found (RFC 5463 §4: usable from there on without
    /// `require`); each once and each of [`SUPPORTED`](crate::SUPPORTED), so no more than those.
    enabled: Vec<String>,
    /// The scripts being included, innermost last (loop detection, RFC 6609 §3.2).
    includes: Vec<(IncludeLocation, String)>,
    /// Scripts already included, for `:once`; each once, and one per `include` run, so
    /// bounded by [`RunLimits::max_steps`].
    included: Vec<(IncludeLocation, String)>,
    /// Fields `addheader` added (bounded by [`RunLimits::max_added_headers`]).
    added_headers: usize,
}

impl Run<'_, '_> {
    /// Charges one step of work; past [`RunLimits::max_steps`] the run fails.
    fn step(&mut self) -> Result<(), Failure> {
        self.steps = self.steps.saturating_add(1);
        self.check_steps()
    }

    fn check_steps(&self) -> Result<(), Failure> {
        if self.steps > self.limits.max_steps {
            Err(format!(
                "the script ran more than {} steps",
                self.limits.max_steps
            ))
        } else {
            Ok(())
        }
    }

    /// Whether the current script may use `capability` (required, or found by `ihave`).
    fn has(&self, frame: &Frame<'_>, capability: &str) -> bool {
        frame.requires.contains(&capability) || self.enabled.iter().any(|c| c == capability)
    }

    fn script(&mut self, frame: &mut Frame<'_>, script: &Script) -> Result<Flow, Failure> {
        if self.has(frame, "imap4flags") {
            self.imap4flags = true;
        }
        self.block(frame, &script.commands)
    }

    fn block(&mut self, frame: &mut Frame<'_>, commands: &[Command]) -> Result<Flow, Failure> {
        // Whether the last `if`/`elsif` of the chain being run took its branch.
        let mut chain_done = true;
        for c in commands {
            self.step()?;
            let flow = match c.name.as_str() {
                "if" => {
                    chain_done = false;
                    self.branch(frame, c, &mut chain_done)?
                }
                "elsif" => {
                    if chain_done {
                        Flow::Next
                    } else {
                        self.branch(frame, c, &mut chain_done)?
                    }
                }
                "else" => {
                    if chain_done {
                        Flow::Next
                    } else {
                        chain_done = true;
                        self.block(frame, c.block.as_deref().unwrap_or_default())?
                    }
                }
                _ => self.command(frame, c)?,
            };
            if flow != Flow::Next {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    /// An `if` or `elsif`: runs its block when its test holds.
    fn branch(
        &mut self,
        frame: &mut Frame<'_>,
        c: &Command,
        chain_done: &mut bool,
    ) -> Result<Flow, Failure> {
        let holds = match &c.tests {
            Some(Tests::Single(t)) => self.test(frame, t)?,
            Some(Tests::List(l)) => match l.first() {
                Some(t) => self.test(frame, t)?,
                None => false,
            },
            None => false,
        };
        if holds {
            *chain_done = true;
            self.block(frame, c.block.as_deref().unwrap_or_default())
        } else {
            Ok(Flow::Next)
        }
    }

    /// One command other than `if`, `elsif` and `else`.
    fn command(&mut self, frame: &mut Frame<'_>, c: &Command) -> Result<Flow, Failure> {
        let args = Args::parse(&c.arguments);
        match c.name.as_str() {
            "require" => {}
            "stop" => return Ok(Flow::Stop),
            "return" => return Ok(Flow::Return),
            "keep" => self.keep(frame, &args)?,
            "discard" => self.implicit_keep = false,
            "fileinto" => self.fileinto(frame, &args)?,
            "redirect" => self.redirect(frame, &args)?,
            "reject" | "ereject" => self.reject(frame, &args, c.name == "ereject")?,
            "vacation" => self.vacation(frame, &args)?,
            "notify" => self.notify(frame, &args)?,
            "set" => self.set(frame, &args)?,
            "setflag" | "addflag" | "removeflag" => self.flag_command(frame, &c.name, &args)?,
            "addheader" => self.addheader(frame, &args)?,
            "deleteheader" => self.deleteheader(frame, &args)?,
            "include" => return self.include(&args),
            "global" => self.global(frame, &args)?,
            "error" => {
                let text = args.pos_string(0).unwrap_or_default();
                return Err(format!("the script failed: {}", self.expand(frame, text)));
            }
            other => return Err(format!("unknown command `{other}`")),
        }
        Ok(Flow::Next)
    }

    /// The outcome of a run that ended without error: the actions, then the implicit keep.
    fn finish(mut self) -> Outcome {
        if self.implicit_keep {
            let store = Store {
                flags: self.current_flags(),
                copy: false,
                header: self.message.edited_header(),
            };
            self.actions.push(Action::Keep(store));
        }
        Outcome {
            actions: self.actions,
            duplicates: self.duplicates,
            error: None,
        }
    }

    /// The flags a store gets from the internal variable: `None` without imap4flags.
    fn current_flags(&self) -> Option<Vec<String>> {
        self.imap4flags.then(|| self.flags.clone())
    }

    /// A string argument as the script means it: encoded characters decoded (RFC 5228
    /// §2.4.2.4) and variables expanded (RFC 5229 §3), each only when required.
    fn expand(&self, frame: &Frame<'_>, text: &str) -> String {
        let decoded;
        let text = if self.has(frame, "encoded-character") {
            decoded = strings::decode_encoded_characters(text);
            decoded.as_str()
        } else {
            text
        };
        if !self.has(frame, "variables") || !text.contains("${") {
            return text.to_owned();
        }
        let lookup = |name: &str| self.lookup(frame, name);
        strings::expand(
            text,
            &lookup,
            text.len().saturating_add(MAX_EXPANSION_GROWTH),
        )
    }

    /// [`Run::expand`] of every string of `list`; the list itself when the script can neither
    /// encode characters nor use variables (nothing to expand, nothing copied).
    fn expand_list<'l>(&self, frame: &Frame<'_>, list: &'l [String]) -> Cow<'l, [String]> {
        if !self.has(frame, "encoded-character") && !self.has(frame, "variables") {
            return Cow::Borrowed(list);
        }
        Cow::Owned(list.iter().map(|s| self.expand(frame, s)).collect())
    }

    /// The value of variable `name` as the current script sees it.
    fn lookup(&self, frame: &Frame<'_>, name: &str) -> Option<String> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return name
                .parse::<usize>()
                .ok()
                .and_then(|i| self.match_vars.get(i).cloned());
        }
        let name = name.to_ascii_lowercase();
        if let Some(global) = name.strip_prefix("global.") {
            return self.globals.get(global).cloned();
        }
        if frame.global_names.contains(&name) {
            return self.globals.get(&name).cloned();
        }
        frame.vars.get(&name).cloned()
    }

    /// Gives variable `name` the value `value`, cut at [`RunLimits::max_variable_len`].
    fn assign(
        &mut self,
        frame: &mut Frame<'_>,
        name: &str,
        mut value: String,
    ) -> Result<(), Failure> {
        truncate(&mut value, self.limits.max_variable_len);
        let name = name.to_ascii_lowercase();
        let (table, key) = if let Some(global) = name.strip_prefix("global.") {
            (&mut self.globals, global.to_owned())
        } else if frame.global_names.contains(&name) {
            (&mut self.globals, name)
        } else {
            (&mut frame.vars, name)
        };
        if !table.contains_key(&key) {
            if self.variables >= self.limits.max_variables {
                return Err(format!(
                    "the script created more than {} variables",
                    self.limits.max_variables
                ));
            }
            self.variables += 1;
        }
        table.insert(key, value);
        Ok(())
    }

    /// `set` (RFC 5229 §4): the name is not expanded, the value is, then modified.
    fn set(&mut self, frame: &mut Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        let (Some(name), Some(value)) = (args.pos_string(0), args.pos_string(1)) else {
            return Err("`set` lacks its name or value".into());
        };
        let modifiers: Vec<strings::Modifier> = args
            .tag_names()
            .filter_map(strings::Modifier::from_tag)
            .collect();
        let value = self.expand(frame, value);
        let value = strings::apply_modifiers(&value, &modifiers);
        self.assign(frame, name, value)
    }

    /// `global` (RFC 6609 §3.3): the names become shared with every script of the run.
    fn global(&mut self, frame: &mut Frame<'_>, args: &Args<'_>) -> Result<(), Failure> {
        // Variable names are not expanded (RFC 5229 §3).
        for name in args.pos_list(0) {
            frame.global_names.insert(name.to_ascii_lowercase());
        }
        Ok(())
    }

    /// `setflag`, `addflag`, `removeflag` (RFC 5232 §3), on the internal variable or on the
    /// variable named first.
    fn flag_command(
        &mut self,
        frame: &mut Frame<'_>,
        name: &str,
        args: &Args<'_>,
    ) -> Result<(), Failure> {
        let (variable, list) = if args.pos_len() >= 2 {
            (args.pos_string(0), args.pos_list(1))
        } else {
            (None, args.pos_list(0))
        };
        let given = split_flags(&self.expand_list(frame, list));
        let mut current = match variable {
            Some(v) => split_flags(&[self.lookup(frame, v).unwrap_or_default()]),
            None => self.flags.clone(),
        };
        match name {
            "setflag" => current = given,
            "addflag" => {
                for f in given {
                    if !current.iter().any(|c| c.eq_ignore_ascii_case(&f)) {
                        current.push(f);
                    }
                }
            }
            _ => current.retain(|c| !given.iter().any(|g| g.eq_ignore_ascii_case(c))),
        }
        match variable {
            Some(v) => self.assign(frame, v, current.join(" ")),
            None => {
                self.flags = current;
                Ok(())
            }
        }
    }

    /// `include` (RFC 6609 §3.2): runs the named script with the same message and state.
    fn include(&mut self, args: &Args<'_>) -> Result<Flow, Failure> {
        let location = if args.has("global") {
            IncludeLocation::Global
        } else {
            IncludeLocation::Personal
        };
        // The name is a constant (RFC 6609 §3.2), so that the server can check it when the
        // script is uploaded; it is not expanded.
        let name = args.pos_string(0).unwrap_or_default().to_owned();
        let key = (location, name.clone());
        if args.has("once") && self.included.contains(&key) {
            return Ok(Flow::Next);
        }
        if self.includes.contains(&key) {
            return Err(format!("the script \"{name}\" includes itself"));
        }
        if self.includes.len() >= self.limits.max_include_depth {
            return Err(format!(
                "includes nest deeper than {}",
                self.limits.max_include_depth
            ));
        }
        let program = match self.host.include(location, &name) {
            Ok(Some(p)) => p,
            Ok(None) if args.has("optional") => return Ok(Flow::Next),
            Ok(None) => return Err(format!("the included script \"{name}\" does not exist")),
            Err(reason) => {
                return Err(format!(
                    "the script \"{name}\" cannot be included: {reason}"
                ))
            }
        };
        if !self.included.contains(&key) {
            self.included.push(key.clone());
        }
        self.includes.push(key);
        let mut inner = Frame::new(&program.checked.requires);
        let flow = self.script(&mut inner, &program.script);
        self.includes.pop();
        match flow? {
            Flow::Stop => Ok(Flow::Stop),
            Flow::Next | Flow::Return => Ok(Flow::Next),
        }
    }
}

/// Cuts `value` to at most `max` bytes, on a character boundary.
fn truncate(value: &mut String, max: usize) {
    if value.len() > max {
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
}

/// The flags of a flag list (RFC 5232 §3): each string split on spaces, empty pieces left
/// out, duplicates (in any case) kept once.
fn split_flags(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in list {
        for f in s.split(' ').filter(|f| !f.is_empty()) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(f)) {
                out.push(f.to_owned());
            }
        }
    }
    out
}
