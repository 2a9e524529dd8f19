//! The tests (RFC 5228 §5 and the extensions' tests): what values each one matches, then the
//! matching itself with the comparator and match type of its arguments (RFC 5228 §2.7), which
//! sets the match variables on success (RFC 5229 §3.2).

use std::sync::Arc;

use super::args::Args;
use super::{split_flags, Failure, Frame, Run};
use crate::ast::{Test, Tests};
use crate::interp::matching::{
    address_part, count_matches, AddressPart, Comparator, MatchType, Relation,
};
use crate::interp::message::{BodyTransform, MessageView};
use crate::interp::{duplicate_key, strings};
use crate::SUPPORTED;

/// The separator of `:user` and `:detail` (RFC 5233 §4), as Cyrus uses.
const SUBADDRESS_SEPARATOR: char = '+';

/// How long a `duplicate` test remembers a message when the script gives no `:seconds`
/// (RFC 7352 §3.2 leaves it to the implementation): one day.
pub(super) const DEFAULT_DUPLICATE_PERIOD: u64 = 24 * 3600;

impl Run<'_, '_> {
    /// Evaluates one test.
    pub(super) fn test(&mut self, frame: &Frame<'_>, t: &Test) -> Result<bool, Failure> {
        self.step()?;
        let args = Args::parse(&t.arguments);
        match t.name.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            "not" => Ok(!self.inner_tests(frame, t, true)?),
            "allof" => self.inner_tests(frame, t, true),
            "anyof" => self.inner_tests(frame, t, false),
            "exists" => {
                let names = self.expand_list(frame, args.pos_list(0));
                Ok(names
                    .iter()
                    .all(|n| !self.message.header_values(n).is_empty()))
            }
            "size" => {
                let limit = args.pos_number(0).unwrap_or(0);
                let size = self.message.size();
                Ok(if args.has("over") {
                    size > limit
                } else {
                    size < limit
                })
            }
            "header" => {
                let names = self.expand_list(frame, args.pos_list(0));
                let index = index(&args);
                if let ([name], None) = (&names[..], index) {
                    // The usual case: the cached values themselves, nothing copied.
                    let values = self.message.header_values(name);
                    return self.match_keys(frame, &args, &values, 1);
                }
                let values: Vec<String> = names
                    .iter()
                    .flat_map(|n| pick(&self.message.header_values(n), index))
                    .collect();
                self.match_keys(frame, &args, &values, 1)
            }
            "address" => self.address(frame, &args),
            "envelope" => self.envelope(frame, &args),
            "string" => {
                let mut values = self.expand_list(frame, args.pos_list(0)).into_owned();
                if matches!(match_type(&args)?, MatchType::Count(_)) {
                    // RFC 5229 §5: empty strings are not counted.
                    values.retain(|v| !v.is_empty());
                }
                self.match_keys(frame, &args, &values, 1)
            }
            "hasflag" => self.hasflag(frame, &args),
            "body" => self.body(frame, &args),
            "date" => self.date(frame, &args),
            "currentdate" => {
                let Some(now) = self.zoned(frame, &args, self.host.now()) else {
                    return Ok(false);
                };
                let part = self.expand(frame, args.pos_string(0).unwrap_or_default());
                let values: Vec<String> = strings::date_part(now, &part.to_ascii_lowercase())
                    .into_iter()
                    .collect();
                self.match_keys(frame, &args, &values, 1)
            }
            "mailboxexists" => {
                let names = self.expand_list(frame, args.pos_list(0));
                Ok(names.iter().all(|n| self.host.mailbox_exists(n)))
            }
            "specialuse_exists" => self.specialuse_exists(frame, &args),
            "mailboxidexists" => {
                let ids = self.expand_list(frame, args.pos_list(0));
                Ok(ids.iter().all(|id| self.host.mailbox_id_exists(id)))
            }
            "duplicate" => self.duplicate(frame, &args),
            "valid_notify_method" => {
                let uris = self.expand_list(frame, args.pos_list(0));
                Ok(uris.iter().all(|u| valid_notify_method(u)))
            }
            "notify_method_capability" => self.notify_method_capability(frame, &args),
            "ihave" => Ok(self.ihave(&args)),
            "environment" => {
                let name = self.expand(frame, args.pos_string(0).unwrap_or_default());
                let values: Vec<String> = environment(self.host, &name).into_iter().collect();
                self.match_keys(frame, &args, &values, 1)
            }
            other => Err(format!("unknown test `{other}`")),
        }
    }

    /// `address` (RFC 5228 §5.1): the address part of every address of the fields named.
    fn address(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let names = self.expand_list(frame, args.pos_list(0));
        let part = address_part_of(args);
        let index = index(args);
        let mut values = Vec::new();
        for n in names.iter() {
            for a in field_addresses(self.message, n, index).iter() {
                values.extend(address_part(a, part, SUBADDRESS_SEPARATOR));
            }
        }
        self.match_keys(frame, args, &values, 1)
    }

    /// `hasflag` (RFC 5232 §4): the flags of the variables named, or of the internal one.
    fn hasflag(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let values = if args.pos_len() >= 2 {
            let names = args.pos_list(0);
            let held: Vec<String> = names
                .iter()
                .map(|n| self.lookup(frame, n).unwrap_or_default())
                .collect();
            split_flags(&held)
        } else {
            self.flags.clone()
        };
        let keys_at = args.pos_len().saturating_sub(1);
        self.match_keys(frame, args, &values, keys_at)
    }

    /// `body` (RFC 5173 §5): the texts of its transform, `:text` by default.
    fn body(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let transform = if args.has("raw") {
            BodyTransform::Raw
        } else if let Some(types) = args.tag_list("content") {
            BodyTransform::Content(self.expand_list(frame, types).into_owned())
        } else {
            BodyTransform::Text
        };
        let values = self.message.body(&transform);
        self.match_keys(frame, args, &values, 0)
    }

    /// `specialuse_exists` (RFC 8579 §3): with a mailbox, or across the owner's mailboxes.
    fn specialuse_exists(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let (mailbox, uses) = if args.pos_len() >= 2 {
            let m = self.expand(frame, args.pos_string(0).unwrap_or_default());
            (Some(m), self.expand_list(frame, args.pos_list(1)))
        } else {
            (None, self.expand_list(frame, args.pos_list(0)))
        };
        Ok(self.host.special_use_exists(mailbox.as_deref(), &uses))
    }

    /// `notify_method_capability` (RFC 5435 §5).
    fn notify_method_capability(
        &mut self,
        frame: &Frame<'_>,
        args: &Args<'_>,
    ) -> Result<bool, Failure> {
        let uri = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let capability = self.expand(frame, args.pos_string(1).unwrap_or_default());
        if !valid_notify_method(&uri) {
            return Ok(false);
        }
        // RFC 5435 §5: a mailto notification can tell nothing about the recipient
        // being online.
        let values: Vec<String> = if capability.eq_ignore_ascii_case("online") {
            vec!["maybe".to_owned()]
        } else {
            Vec::new()
        };
        self.match_keys(frame, args, &values, 2)
    }

    /// `ihave` (RFC 5463 §4): true when Darius supports every capability named, which are
    /// then usable for the rest of the run.
    fn ihave(&mut self, args: &Args<'_>) -> bool {
        // RFC 5463 §4: the capabilities are constants, not expanded.
        let wanted = args.pos_list(0);
        let all = wanted.iter().all(|c| SUPPORTED.contains(&c.as_str()));
        if all {
            for c in wanted {
                if !self.enabled.contains(c) {
                    self.enabled.push(c.clone());
                }
            }
        }
        all
    }

    /// `allof` (`all`) or `anyof`, and `not` of its one test; stops at the first test that
    /// decides (RFC 5228 §5.2, §5.3).
    fn inner_tests(&mut self, frame: &Frame<'_>, t: &Test, all: bool) -> Result<bool, Failure> {
        let list: &[Test] = match &t.tests {
            Some(Tests::Single(one)) => std::slice::from_ref(&**one),
            Some(Tests::List(l)) => l,
            None => &[],
        };
        for inner in list {
            if self.test(frame, inner)? != all {
                return Ok(!all);
            }
        }
        Ok(all)
    }

    /// `envelope` (RFC 5228 §5.4): the null reverse-path is the empty string, whatever the
    /// address part.
    fn envelope(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let parts = self.expand_list(frame, args.pos_list(0));
        let part = address_part_of(args);
        let counting = matches!(match_type(args)?, MatchType::Count(_));
        let mut values = Vec::new();
        for p in parts.iter() {
            let address = match p.to_ascii_lowercase().as_str() {
                "from" => Some(self.envelope.from),
                "to" => Some(self.envelope.to),
                "auth" => self.envelope.auth,
                _ => None,
            };
            match address {
                Some("") if !counting => values.push(String::new()),
                Some("") | None => {}
                Some(a) => values.extend(address_part(a, part, SUBADDRESS_SEPARATOR)),
            }
        }
        self.match_keys(frame, args, &values, 1)
    }

    /// `date` (RFC 5260 §4): the date-part of a header field's date, in the zone asked for.
    fn date(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let name = self.expand(frame, args.pos_string(0).unwrap_or_default());
        let part = self.expand(frame, args.pos_string(1).unwrap_or_default());
        // Without :index, the first field of the name is the one read.
        let at = index(args).or(Some((1, false)));
        let mut values = Vec::new();
        for raw in pick(&self.message.header_values(&name), at) {
            // RFC 5260 §4: in `Received`, the date follows the last semicolon.
            let text = if name.eq_ignore_ascii_case("received") {
                raw.rsplit(';').next().unwrap_or_default().to_owned()
            } else {
                raw
            };
            let Some(date) = strings::parse_date_header(&text) else {
                continue;
            };
            let date = if args.has("originalzone") {
                Some(date)
            } else {
                self.zoned(frame, args, date)
            };
            if let Some(v) = date.and_then(|d| strings::date_part(d, &part.to_ascii_lowercase())) {
                values.push(v);
            }
        }
        self.match_keys(frame, args, &values, 2)
    }

    /// `at` in the zone of `:zone`, or else the host's local zone (RFC 5260 §4.1); `None`
    /// when `:zone` is not a zone.
    fn zoned(
        &self,
        frame: &Frame<'_>,
        args: &Args<'_>,
        at: time::OffsetDateTime,
    ) -> Option<time::OffsetDateTime> {
        match args.tag_string("zone") {
            Some(z) => strings::parse_zone(&self.expand(frame, z)).map(|o| at.to_offset(o)),
            None => Some(at.to_offset(self.host.now().offset())),
        }
    }

    /// `duplicate` (RFC 7352 §3): true when the key was seen within the period; when not, the
    /// key is recorded once the delivery succeeds.
    fn duplicate(&mut self, frame: &Frame<'_>, args: &Args<'_>) -> Result<bool, Failure> {
        let handle = self.expand(frame, args.tag_string("handle").unwrap_or_default());
        let value = if let Some(field) = args.tag_string("header") {
            let field = self.expand(frame, field);
            self.message.header_values(&field).first().cloned()
        } else if let Some(id) = args.tag_string("uniqueid") {
            Some(self.expand(frame, id))
        } else {
            self.message.header_values("message-id").first().cloned()
        };
        let Some(value) = value.map(|v| v.trim().to_owned()) else {
            // Nothing identifies the message: it cannot be a duplicate.
            return Ok(false);
        };
        let period = args
            .tag_number("seconds")
            .unwrap_or(DEFAULT_DUPLICATE_PERIOD);
        let key = duplicate_key(&handle, &value);
        // RFC 7352 §3.1: a second test of the same key in one run sees the first.
        if self.duplicates.iter().any(|(k, _)| *k == key) {
            return Ok(true);
        }
        let seen = self.host.duplicate_seen(&key, period);
        if !seen || args.has("last") {
            // With :last, each sighting starts the period again.
            self.duplicates.push((key, period));
        }
        Ok(seen)
    }

    /// Matches `values` against the keys, positional argument `keys_at`, under the test's
    /// comparator and match type (RFC 5228 §2.7: true when any value matches any key).
    pub(super) fn match_keys(
        &mut self,
        frame: &Frame<'_>,
        args: &Args<'_>,
        values: &[String],
        keys_at: usize,
    ) -> Result<bool, Failure> {
        let keys = self.expand_list(frame, args.pos_list(keys_at));
        self.match_values(frame, args, values, &keys)
    }

    /// Matches `values` against `keys`.
    pub(super) fn match_values(
        &mut self,
        frame: &Frame<'_>,
        args: &Args<'_>,
        values: &[String],
        keys: &[String],
    ) -> Result<bool, Failure> {
        let comparator = comparator(args)?;
        let match_type = match_type(args)?;
        if let MatchType::Count(relation) = match_type {
            self.step()?;
            return Ok(keys
                .iter()
                .any(|k| count_matches(comparator, relation, values.len(), k)));
        }
        let capture = self.has(frame, "variables")
            && matches!(match_type, MatchType::Matches | MatchType::Regex);
        for v in values {
            for k in keys {
                self.step()?;
                let mut captures = Vec::new();
                let hit = self.matcher.matches(
                    comparator,
                    match_type,
                    v,
                    k,
                    capture.then_some(&mut captures),
                    &mut self.steps,
                )?;
                self.check_steps()?;
                if hit {
                    if capture {
                        for c in &mut captures {
                            super::truncate(c, self.limits.max_variable_len);
                        }
                        self.match_vars = captures;
                    }
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// The comparator of `:comparator`, `i;ascii-casemap` by default (RFC 5228 §2.7.3).
pub(super) fn comparator(args: &Args<'_>) -> Result<Comparator, Failure> {
    match args.tag_string("comparator") {
        Some(name) => {
            Comparator::from_name(name).ok_or_else(|| format!("unknown comparator \"{name}\""))
        }
        None => Ok(Comparator::AsciiCasemap),
    }
}

/// The match type, `:is` by default (RFC 5228 §2.7.1).
pub(super) fn match_type(args: &Args<'_>) -> Result<MatchType, Failure> {
    let relation = |tag: &str| {
        let name = args.tag_string(tag).unwrap_or_default();
        Relation::from_name(name).ok_or_else(|| format!("\"{name}\" is not a relational operator"))
    };
    for t in args.tag_names() {
        match t {
            "is" => return Ok(MatchType::Is),
            "contains" => return Ok(MatchType::Contains),
            "matches" => return Ok(MatchType::Matches),
            "regex" => return Ok(MatchType::Regex),
            "count" => return Ok(MatchType::Count(relation("count")?)),
            "value" => return Ok(MatchType::Value(relation("value")?)),
            _ => {}
        }
    }
    Ok(MatchType::Is)
}

/// The address part, `:all` by default (RFC 5228 §2.7.4).
fn address_part_of(args: &Args<'_>) -> AddressPart {
    for t in args.tag_names() {
        match t {
            "localpart" => return AddressPart::LocalPart,
            "domain" => return AddressPart::Domain,
            "user" => return AddressPart::User,
            "detail" => return AddressPart::Detail,
            "all" => return AddressPart::All,
            _ => {}
        }
    }
    AddressPart::All
}

/// `:index N` and whether `:last` counts from the end (RFC 5260 §6).
pub(super) fn index(args: &Args<'_>) -> Option<(usize, bool)> {
    args.tag_number("index")
        .map(|n| (usize::try_from(n).unwrap_or(usize::MAX), args.has("last")))
}

/// The values `index` selects: all without one; the Nth (1-based, from the end with `:last`)
/// or none.
fn pick<T: Clone>(values: &[T], index: Option<(usize, bool)>) -> Vec<T> {
    let Some((n, last)) = index else {
        return values.to_vec();
    };
    if n == 0 || n > values.len() {
        return Vec::new();
    }
    let at = if last { values.len() - n } else { n - 1 };
    values.get(at).cloned().into_iter().collect()
}

/// The addresses of the fields `name`, or of the one field `index` selects (read alone, so
/// that its addresses are told from the other fields').
fn field_addresses(
    message: &MessageView,
    name: &str,
    index: Option<(usize, bool)>,
) -> Arc<[String]> {
    if index.is_none() {
        return message.addresses(name);
    }
    let mut out = Vec::new();
    for raw in pick(&message.header_raw_values(name), index) {
        let field = format!("{name}: {raw}\r\n\r\n");
        let one = MessageView::new(field.as_bytes(), 0);
        out.extend(one.addresses(name).iter().cloned());
    }
    out.into()
}

/// An `environment` item (RFC 5183 §4): the host's, else Darius's own name and version.
fn environment(host: &dyn crate::interp::Host, name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    host.environment(&name).or_else(|| match name.as_str() {
        "name" => Some("Darius".to_owned()),
        "version" => Some(env!("CARGO_PKG_VERSION").to_owned()),
        _ => None,
    })
}

/// Whether `uri` is a notification method Darius offers and writes correctly: a `mailto:`
/// URI (RFC 6068) with at least one recipient, the same reading that builds the notification
/// ([`crate::outgoing::mailto_is_valid`]).
pub(super) fn valid_notify_method(uri: &str) -> bool {
    crate::outgoing::mailto_is_valid(uri)
}

/// A plain `local@domain` with no space, control character or angle bracket, and one `@`
/// (the syntax `redirect` and `mailto:` recipients need).
pub(super) fn is_addr_spec(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '@');
    !local.is_empty()
        && !domain.is_empty()
        && !domain.chars().any(bad)
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
}
