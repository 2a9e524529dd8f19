//! LIST and LSUB patterns (RFC 9051 §6.3.9): `*` matches any run of characters, `%` any run
//! that does not contain the hierarchy separator, every other character itself.
//!
//! A pattern is compiled once into tokens (a run of wildcards collapses into one: any run that
//! holds a `*` is `*`, a run of `%` is `%`) and matched by simulating its automaton over the
//! name with bit sets, one bit per pattern position: time O(name × pattern / 64), memory
//! O(pattern), no recursion. A client's pattern is bounded by [`MAX_PATTERN_LEN`]; a longer one
//! cannot match any mailbox name anyway (Cyrus's `MAX_MAILBOX_NAME` is 490 bytes), so it is
//! refused rather than matched.

/// Longest pattern (reference and pattern joined), in characters.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Why a pattern was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("mailbox pattern is longer than {max} characters")]
    TooLong { max: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`.
    Any,
    /// `%`.
    AnyInLevel,
}

/// A compiled pattern; see the module documentation.
#[derive(Clone, Debug)]
pub struct ListPattern {
    /// States are positions 0..=len in the token list; reaching `len` means a match.
    len: usize,
    separator: char,
    /// Positions holding `*`, and `%`.
    any: Bits,
    any_in_level: Bits,
    /// Per character of the pattern, the positions holding it; sorted by character.
    chars: Vec<(char, Bits)>,
}

impl ListPattern {
    /// Compiles `pattern` for names whose hierarchy separator is `separator`.
    pub fn new(pattern: &str, separator: char) -> Result<ListPattern, PatternError> {
        if pattern.chars().count() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong {
                max: MAX_PATTERN_LEN,
            });
        }
        let tokens = tokens(pattern);
        let words = (tokens.len() + 1).div_ceil(64);
        let mut any = Bits::zero(words);
        let mut any_in_level = Bits::zero(words);
        let mut chars: Vec<(char, Bits)> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                Token::Any => any.set(i),
                Token::AnyInLevel => any_in_level.set(i),
                Token::Char(c) => match chars.binary_search_by_key(c, |(k, _)| *k) {
                    Ok(at) => chars[at].1.set(i),
                    Err(at) => {
                        let mut bits = Bits::zero(words);
                        bits.set(i);
                        chars.insert(at, (*c, bits));
                    }
                },
            }
        }
        Ok(ListPattern {
            len: tokens.len(),
            separator,
            any,
            any_in_level,
            chars,
        })
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let words = self.any.0.len();
        let mut active = Bits::zero(words);
        active.set(0);
        self.close(&mut active);
        let mut next = Bits::zero(words);
        for c in name.chars() {
            // Stay on a wildcard that may swallow `c`; advance past a character equal to it.
            for (w, slot) in next.0.iter_mut().enumerate() {
                let mut stay = active.0[w] & self.any.0[w];
                if c != self.separator {
                    stay |= active.0[w] & self.any_in_level.0[w];
                }
                *slot = stay;
            }
            if let Ok(at) = self.chars.binary_search_by_key(&c, |(k, _)| *k) {
                next.or_shifted_and(&active, &self.chars[at].1);
            }
            self.close(&mut next);
            if next.is_zero() {
                return false;
            }
            std::mem::swap(&mut active, &mut next);
        }
        active.get(self.len)
    }

    /// A wildcard may match nothing: a position on one also stands on the next. Wildcards never
    /// follow each other after compiling, so one step reaches every such position.
    fn close(&self, bits: &mut Bits) {
        let mut wild = bits.clone();
        for (w, slot) in wild.0.iter_mut().enumerate() {
            *slot &= self.any.0[w] | self.any_in_level.0[w];
        }
        let ones = Bits::ones(bits.0.len());
        bits.or_shifted_and(&wild, &ones);
    }
}

/// The pattern as tokens, each run of wildcards collapsed into one.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    for c in pattern.chars() {
        let token = match c {
            '*' => Token::Any,
            '%' => Token::AnyInLevel,
            c => Token::Char(c),
        };
        match (out.last_mut(), token) {
            (Some(last @ (Token::Any | Token::AnyInLevel)), Token::Any) => *last = Token::Any,
            (Some(Token::Any | Token::AnyInLevel), Token::AnyInLevel) => {}
            _ => out.push(token),
        }
    }
    out
}

/// A fixed-size bit set.
#[derive(Clone, Debug)]
struct Bits(Vec<u64>);

impl Bits {
    fn zero(words: usize) -> Bits {
        Bits(vec![0; words])
    }

    fn ones(words: usize) -> Bits {
        Bits(vec![u64::MAX; words])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// `self |= (a & b) << 1`, the shift carrying across words.
    fn or_shifted_and(&mut self, a: &Bits, b: &Bits) {
        let mut carry = 0;
        for (w, slot) in self.0.iter_mut().enumerate() {
            let v = a.0[w] & b.0[w];
            *slot |= (v << 1) | carry;
            carry = v >> 63;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, by recursion: a model for short inputs only.
    pub(crate) fn model(p: &[char], n: &[char], sep: char) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|k| model(rest, &n[k..], sep)),
            Some(('%', rest)) => {
                let stop = n.iter().position(|&c| c == sep).unwrap_or(n.len());
                (0..=stop).any(|k| model(rest, &n[k..], sep))
            }
            Some((c, rest)) => n.first() == Some(c) && model(rest, &n[1..], sep),
        }
    }

    fn matches(pattern: &str, name: &str) -> bool {
        ListPattern::new(pattern, '.').unwrap().matches(name)
    }

    #[test]
    fn wildcards_follow_rfc_9051() {
        assert!(matches("*", "INBOX.a.b"));
        assert!(matches("*", ""));
        assert!(matches("INBOX.%", "INBOX.a"));
        assert!(!matches("INBOX.%", "INBOX.a.b"));
        assert!(matches("INBOX*", "INBOX"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "user.bob"));
        assert!(matches("user.%.%", "user.bob.x"));
        assert!(matches("%.%", "a.b"));
        assert!(!matches("a", "ab"));
        assert!(!matches("ab", "a"));
        assert!(matches("a%*%b", "a.x.b"), "a run with a * is a *");
        assert!(!matches("a%%%b", "a.x.b"), "a run of % is a %");
    }

    #[test]
    fn thirty_thousand_stars_are_refused_and_a_thousand_match_as_one() {
        let long = "*".repeat(30_000);
        assert_eq!(
            ListPattern::new(&long, '.').unwrap_err(),
            PatternError::TooLong {
                max: MAX_PATTERN_LEN
            }
        );
        let p = ListPattern::new(&"*".repeat(MAX_PATTERN_LEN), '.').unwrap();
        assert_eq!(p.len, 1);
        assert!(p.matches("anything.at.all"));
    }

    #[test]
    fn patterns_longer_than_a_word_of_states_carry_across_words() {
        let name: String = (0..300)
            .map(|i| if i % 7 == 6 { '.' } else { 'a' })
            .collect();
        let pattern: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| if i % 5 == 0 { '%' } else { c })
            .collect();
        let p: Vec<char> = pattern.chars().collect();
        let n: Vec<char> = name.chars().collect();
        assert_eq!(matches(&pattern, &name), model(&p, &n, '.'));
        assert!(matches(&name, &name));
        assert!(!matches(&name, &name[1..]));
        assert!(matches(&format!("{}*", &name[..200]), &name));
    }

    #[test]
    fn the_separator_is_whatever_the_namespace_uses() {
        let p = ListPattern::new("INBOX/%", '/').unwrap();
        assert!(p.matches("INBOX/a.b"));
        assert!(!p.matches("INBOX/a/b"));
    }

    proptest! {
        /// The automaton agrees with the recursive definition on short patterns and names over
        /// a small alphabet (where the interesting collisions happen).
        #[test]
        fn the_automaton_agrees_with_the_definition(
            pattern in "[ab.*%]{0,12}",
            name in "[ab.]{0,12}",
        ) {
            let p: Vec<char> = pattern.chars().collect();
            let n: Vec<char> = name.chars().collect();
            prop_assert_eq!(matches(&pattern, &name), model(&p, &n, '.'));
        }
    }
}
