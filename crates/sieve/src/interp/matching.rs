//! Comparators (RFC 4790, RFC 5228 §2.7.3), match types (`:is`, `:contains`, `:matches`,
//! `:regex`, relational `:value`/`:count` of RFC 5231) and address parts (RFC 5228 §2.7.4,
//! RFC 5233). SKELETON: signatures fixed, bodies to be written.

/// A comparator (RFC 4790).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

impl Comparator {
    /// The comparator a `:comparator` string names, `None` if unknown.
    pub fn from_name(name: &str) -> Option<Comparator> {
        let _ = name;
        unimplemented!("skeleton")
    }
}

/// A relational operator (RFC 5231 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Relation {
    /// The relation `gt`, `ge`, … names (any case), `None` otherwise.
    pub fn from_name(name: &str) -> Option<Relation> {
        let _ = name;
        unimplemented!("skeleton")
    }
}

/// A match type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Is,
    Contains,
    Matches,
    Regex,
    Value(Relation),
    Count(Relation),
}

/// An address part (RFC 5228 §2.7.4, `:user`/`:detail` of RFC 5233).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    All,
    LocalPart,
    Domain,
    User,
    Detail,
}

/// Matches values against keys, keeping compiled regular expressions between calls.
#[derive(Debug, Default)]
pub struct Matcher {}

impl Matcher {
    /// Whether `value` matches `key` under `comparator` and `match_type` (not `:count`, which
    /// [`count_matches`] answers). With `captures`, a successful `:matches` or `:regex` fills
    /// it with the match variables `${0}`, `${1}`, … (RFC 5229 §3.2). `steps` is charged
    /// with the work done; `Err` says why the match cannot be made (a bad regular
    /// expression), which is a run-time error.
    pub fn matches(
        &mut self,
        comparator: Comparator,
        match_type: MatchType,
        value: &str,
        key: &str,
        captures: Option<&mut Vec<String>>,
        steps: &mut u64,
    ) -> Result<bool, String> {
        let _ = (comparator, match_type, value, key, captures, steps);
        unimplemented!("skeleton")
    }
}

/// `:count` (RFC 5231 §4.2): whether `count` (the number of values) stands in `relation` to
/// the number `key` under `comparator` (`i;ascii-numeric` in practice).
pub fn count_matches(comparator: Comparator, relation: Relation, count: usize, key: &str) -> bool {
    let _ = (comparator, relation, count, key);
    unimplemented!("skeleton")
}

/// The part of `address` (an addr-spec `local@domain`, or a bare local part) that `part`
/// selects; `None` when it has no such part (`:detail` without a separator, RFC 5233 §4).
pub fn address_part(address: &str, part: AddressPart, separator: char) -> Option<String> {
    let _ = (address, part, separator);
    unimplemented!("skeleton")
}
