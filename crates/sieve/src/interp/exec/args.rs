//! A command's or test's arguments as the interpreter reads them: its tags (with the value of
//! those that take one) and its positional arguments. The checker already validated the
//! shape, so this only splits; a tag's value is the argument that follows it when the tag is
//! one of [`TAGS_WITH_VALUE`].

use crate::ast::{Argument, Value};

/// The tags, across every supported extension, that take the argument after them as value.
const TAGS_WITH_VALUE: &[&str] = &[
    "comparator",
    "count",
    "value",
    "content",
    "days",
    "seconds",
    "subject",
    "from",
    "addresses",
    "handle",
    "flags",
    "importance",
    "options",
    "message",
    "index",
    "zone",
    "fcc",
    "specialuse",
    "mailboxid",
    "header",
    "uniqueid",
];

/// The split arguments of one command or test.
pub(super) struct Args<'a> {
    tags: Vec<(&'a str, Option<&'a Value>)>,
    positional: Vec<&'a Value>,
}

impl<'a> Args<'a> {
    pub(super) fn parse(arguments: &'a [Argument]) -> Args<'a> {
        let mut tags = Vec::new();
        let mut positional = Vec::new();
        let mut iter = arguments.iter();
        while let Some(a) = iter.next() {
            match &a.value {
                Value::Tag(t) => {
                    let value = if TAGS_WITH_VALUE.contains(&t.as_str()) {
                        iter.next().map(|v| &v.value)
                    } else {
                        None
                    };
                    tags.push((t.as_str(), value));
                }
                other => positional.push(other),
            }
        }
        Args { tags, positional }
    }

    /// Whether tag `name` was given.
    pub(super) fn has(&self, name: &str) -> bool {
        self.tags.iter().any(|(t, _)| *t == name)
    }

    /// The names of the tags given, in order.
    pub(super) fn tag_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.tags.iter().map(|(t, _)| *t)
    }

    /// The value of tag `name`, if given with one.
    pub(super) fn tag(&self, name: &str) -> Option<&'a Value> {
        self.tags
            .iter()
            .find(|(t, _)| *t == name)
            .and_then(|(_, v)| *v)
    }

    /// The string value of tag `name`.
    pub(super) fn tag_string(&self, name: &str) -> Option<&'a str> {
        match self.tag(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The string-list value of tag `name` (a single string is a list of one).
    pub(super) fn tag_list(&self, name: &str) -> Option<Vec<String>> {
        self.tag(name).map(as_list)
    }

    /// The number value of tag `name`.
    pub(super) fn tag_number(&self, name: &str) -> Option<u64> {
        match self.tag(name) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }

    /// How many positional arguments were given.
    pub(super) fn pos_len(&self) -> usize {
        self.positional.len()
    }

    /// Positional argument `i` as a string.
    pub(super) fn pos_string(&self, i: usize) -> Option<&'a str> {
        match self.positional.get(i) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Positional argument `i` as a string list (a single string is a list of one; missing is
    /// empty).
    pub(super) fn pos_list(&self, i: usize) -> Vec<String> {
        self.positional
            .get(i)
            .map(|v| as_list(v))
            .unwrap_or_default()
    }

    /// Positional argument `i` as a number.
    pub(super) fn pos_number(&self, i: usize) -> Option<u64> {
        match self.positional.get(i) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::StringList(l) => l.clone(),
        Value::Tag(_) | Value::Number(_) => Vec::new(),
    }
}
