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

/// The arguments of one command or test, read in place: each question walks the (short)
/// argument list, so that running a test allocates nothing to know its arguments.
#[derive(Clone, Copy)]
pub(super) struct Args<'a> {
    arguments: &'a [Argument],
}

/// One argument as [`Args`] sees it.
enum Item<'a> {
    Tag(&'a str, Option<&'a Value>),
    Positional(&'a Value),
}

impl<'a> Args<'a> {
    pub(super) fn parse(arguments: &'a [Argument]) -> Args<'a> {
        Args { arguments }
    }

    fn items(&self) -> impl Iterator<Item = Item<'a>> + 'a {
        let mut iter = self.arguments.iter();
        std::iter::from_fn(move || {
            let a = iter.next()?;
            Some(match &a.value {
                Value::Tag(t) => {
                    let value = if TAGS_WITH_VALUE.contains(&t.as_str()) {
                        iter.next().map(|v| &v.value)
                    } else {
                        None
                    };
                    Item::Tag(t.as_str(), value)
                }
                other => Item::Positional(other),
            })
        })
    }

    fn positional(&self) -> impl Iterator<Item = &'a Value> + 'a {
        self.items().filter_map(|i| match i {
            Item::Positional(v) => Some(v),
            Item::Tag(..) => None,
        })
    }

    /// Whether tag `name` was given.
    pub(super) fn has(&self, name: &str) -> bool {
        self.tag_names().any(|t| t == name)
    }

    /// The names of the tags given, in order.
    pub(super) fn tag_names(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.items().filter_map(|i| match i {
            Item::Tag(t, _) => Some(t),
            Item::Positional(_) => None,
        })
    }

    /// The value of tag `name`, if given with one.
    pub(super) fn tag(&self, name: &str) -> Option<&'a Value> {
        self.items().find_map(|i| match i {
            Item::Tag(t, v) if t == name => Some(v),
            _ => None,
        })?
    }

    /// The string value of tag `name`.
    pub(super) fn tag_string(&self, name: &str) -> Option<&'a str> {
        match self.tag(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The string-list value of tag `name` (a single string is a list of one).
    pub(super) fn tag_list(&self, name: &str) -> Option<&'a [String]> {
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
        self.positional().count()
    }

    /// Positional argument `i` as a string.
    pub(super) fn pos_string(&self, i: usize) -> Option<&'a str> {
        match self.positional().nth(i) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Positional argument `i` as a string list (a single string is a list of one; missing is
    /// empty).
    pub(super) fn pos_list(&self, i: usize) -> &'a [String] {
        self.positional().nth(i).map(as_list).unwrap_or_default()
    }

    /// Positional argument `i` as a number.
    pub(super) fn pos_number(&self, i: usize) -> Option<u64> {
        match self.positional().nth(i) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }
}

fn as_list(v: &Value) -> &[String] {
    match v {
        Value::String(s) => std::slice::from_ref(s),
        Value::StringList(l) => l,
        Value::Tag(_) | Value::Number(_) => &[],
    }
}
