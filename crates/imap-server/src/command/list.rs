//! LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154,
//! CHILDREN RFC 3348, LIST-MYRIGHTS RFC 8440) and LSUB (RFC 3501 §6.3.9). Patterns are matched by
//! [`imap_proto::ListPattern`] (no recursion, bounded length) on the blocking pool. Where a `%`
//! stops a pattern above a subscribed mailbox it does not reach, the ancestor it matched stands
//! for it: LSUB lists that ancestor as `\Noselect` and LIST (SUBSCRIBED RECURSIVEMATCH) gives it
//! CHILDINFO, as Cyrus's partial matches do. RLIST and RLSUB (RFC 2193 §5) answer as LIST and
//! LSUB: a frontend lists every server's mailboxes already. On a frontend, the subscriptions
//! of a user whose INBOX a backend holds are that backend's (`proxy::subscriptions`).

use std::collections::{BTreeMap, BTreeSet};

use imap_proto::command::{List, ListReturnOption, ListSelectOption, Mailbox, StatusItem};
use imap_proto::response::{Data, ListExtItem, ListItem, MailboxAttr};
use imap_proto::ListPattern;
use mailservice::{Identity, MailboxEntry, Namespace};
use types::{MailboxName, Rights};

use crate::command::status::{status_many, StatusAnswer};
use crate::command::Reply;
use crate::connection::Session;
use crate::convert::{refuse, Target};
use crate::proxy::SubscriptionUse;

/// What LIST knows of one client-visible name.
#[derive(Default, Clone)]
struct Node {
    exists: bool,
    subscribed: bool,
    has_children: bool,
    /// A subscribed descendant that no pattern matches was matched here through a `%`
    /// (RECURSIVEMATCH's CHILDINFO, RFC 5258 §3.5; LSUB's `\Noselect` parent, RFC 3501
    /// §6.3.9).
    subscribed_child: bool,
    special_use: Vec<String>,
    /// The user's rights on the mailbox, when it exists (for RETURN (MYRIGHTS)).
    rights: Option<Rights>,
}

/// Most patterns one LIST may carry (RFC 5258 §3 allows several; clients send one or two).
/// With each bounded by [`imap_proto::list_pattern::MAX_PATTERN_LEN`], matching costs at most
/// this many pattern walks per mailbox name.
const MAX_PATTERNS: usize = 16;

pub(crate) async fn run_list(session: &mut Session, list: List) -> Reply {
    let sep = session.service().namespace().separator();
    if list.patterns.iter().all(String::is_empty) && list.selection.is_empty() {
        // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root of the reference.
        let root = list.reference.split(sep).next().unwrap_or("").to_string();
        let item = ListItem {
            attributes: vec![MailboxAttr::NoSelect],
            delimiter: Some(sep),
            mailbox: Mailbox::from_name(root),
            extended: Vec::new(),
        };
        session.out.data(Data::List(item));
        return Reply::ok("List completed");
    }
    if list.patterns.len() > MAX_PATTERNS {
        return Reply::bad(&format!("more than {MAX_PATTERNS} mailbox patterns"));
    }
    if let Some(reply) = refused_options(session, &list) {
        return reply;
    }
    let patterns = match compile(&list.reference, &list.patterns, sep) {
        Ok(patterns) => patterns,
        Err(reply) => return reply,
    };
    let shows_subscriptions = list.selection.contains(&ListSelectOption::Subscribed)
        || list.return_options.contains(&ListReturnOption::Subscribed);
    let used = if shows_subscriptions {
        SubscriptionUse::Shown
    } else {
        SubscriptionUse::Unused
    };
    let nodes = match matching(session, patterns, used).await {
        Ok(nodes) => nodes,
        Err(reply) => return reply,
    };
    let select_subscribed = list.selection.contains(&ListSelectOption::Subscribed);
    let recursive = list.selection.contains(&ListSelectOption::RecursiveMatch);
    let select_special = list.selection.contains(&ListSelectOption::SpecialUse);
    let return_subscribed =
        select_subscribed || list.return_options.contains(&ListReturnOption::Subscribed);
    let return_rights = list.return_options.contains(&ListReturnOption::MyRights);
    let status_items: Option<Vec<StatusItem>> = list.return_options.iter().find_map(|o| match o {
        ListReturnOption::Status(items) => Some(items.clone()),
        _ => None,
    });

    let mut matched = Vec::new();
    for (name, node) in nodes {
        let child_info = recursive && node.subscribed_child && !node.subscribed;
        if select_subscribed && !node.subscribed && !child_info {
            continue;
        }
        if select_special && node.special_use.is_empty() {
            continue;
        }
        if !select_subscribed && !select_special && !node.exists && !node.has_children {
            continue;
        }
        matched.push((name, node, child_info));
    }
    // LIST-STATUS (RFC 5819): a STATUS for each existing mailbox listed, all read in one
    // hand-off to the blocking pool; one that cannot be read is left out.
    let mut statuses = match &status_items {
        Some(items) => {
            let existing = matched
                .iter()
                .filter(|(_, node, _)| node.exists)
                .map(|(name, _, _)| Mailbox::from_name(name.clone()))
                .collect();
            status_many(session, existing, items)
                .await
                .unwrap_or_default()
                .into_iter()
        }
        None => Vec::new().into_iter(),
    };
    for (name, node, child_info) in matched {
        let attributes = attributes(&node, return_subscribed);
        let extended = if child_info {
            vec![ListExtItem::ChildInfo(vec!["SUBSCRIBED".into()])]
        } else {
            Vec::new()
        };
        let mailbox = Mailbox::from_name(name);
        session.out.data(Data::List(ListItem {
            attributes,
            delimiter: Some(sep),
            mailbox: mailbox.clone(),
            extended,
        }));
        // RFC 8440 §3: MYRIGHTS after the mailbox's LIST line, for a mailbox that exists and
        // matched the selection itself (none for \NonExistent, \NoSelect or a CHILDINFO
        // ancestor).
        if let (true, Some(rights), false) = (return_rights, node.rights, child_info) {
            session.out.data(Data::MyRights {
                mailbox: mailbox.clone(),
                rights: rights.shown().to_string(),
            });
        }
        if node.exists {
            match statuses.next() {
                Some(Ok(StatusAnswer::Data(data))) => session.out.data(data),
                Some(Ok(StatusAnswer::Relayed(bytes))) => session.out.buf.extend_from_slice(&bytes),
                Some(Err(_)) | None => {}
            }
        }
    }
    Reply::ok("List completed")
}

/// RFC 5258 §3: selection and return options this server does not know are `BAD`, and so is
/// RECURSIVEMATCH without a selection option it could modify (§3.1: alone or with REMOTE only;
/// as in Cyrus, SUBSCRIBED is the one it modifies). STATUS RECENT is `BAD` in IMAP4rev2.
fn refused_options(session: &Session, list: &List) -> Option<Reply> {
    for option in &list.selection {
        if let ListSelectOption::Other(name) = option {
            return Some(Reply::bad(&format!("unknown LIST selection option {name}")));
        }
    }
    if list.selection.contains(&ListSelectOption::RecursiveMatch)
        && !list.selection.contains(&ListSelectOption::Subscribed)
    {
        return Some(Reply::bad(
            "RECURSIVEMATCH needs a selection option to modify (SUBSCRIBED)",
        ));
    }
    for option in &list.return_options {
        match option {
            ListReturnOption::Other(name) => {
                return Some(Reply::bad(&format!("unknown LIST return option {name}")));
            }
            ListReturnOption::Status(items) => {
                if let Some(reply) = crate::command::status::rev1_only(session, items) {
                    return Some(reply);
                }
            }
            ListReturnOption::Subscribed
            | ListReturnOption::Children
            | ListReturnOption::SpecialUse
            | ListReturnOption::MyRights => {}
        }
    }
    None
}

/// A pattern joined with the reference and compiled, and whether it holds `%`: only a `%` can
/// stop a match short of a subscribed descendant, which LSUB and CHILDINFO then report through
/// the ancestor that did match.
struct Pattern {
    compiled: ListPattern,
    level_wildcard: bool,
}

/// The patterns joined with the reference and compiled; a pattern past the length bound is a
/// `BAD` naming it.
fn compile(reference: &str, patterns: &[String], sep: char) -> Result<Vec<Pattern>, Reply> {
    patterns
        .iter()
        .map(|p| {
            let joined = canonical_pattern(reference, p, sep);
            let compiled =
                ListPattern::new(&joined, sep).map_err(|e| Reply::bad(&e.to_string()))?;
            Ok(Pattern {
                compiled,
                level_wildcard: joined.contains('%'),
            })
        })
        .collect()
}

fn attributes(node: &Node, return_subscribed: bool) -> Vec<MailboxAttr> {
    let mut attrs = Vec::new();
    if !node.exists {
        attrs.push(if node.has_children {
            MailboxAttr::NoSelect
        } else {
            MailboxAttr::NonExistent
        });
    }
    attrs.push(if node.has_children {
        MailboxAttr::HasChildren
    } else {
        MailboxAttr::HasNoChildren
    });
    if return_subscribed && node.subscribed {
        attrs.push(MailboxAttr::Subscribed);
    }
    for use_attr in &node.special_use {
        attrs.push(special_use_attr(use_attr));
    }
    attrs
}

fn special_use_attr(name: &str) -> MailboxAttr {
    match name.to_ascii_lowercase().as_str() {
        "\\all" => MailboxAttr::All,
        "\\archive" => MailboxAttr::Archive,
        "\\drafts" => MailboxAttr::Drafts,
        "\\flagged" => MailboxAttr::Flagged,
        "\\junk" => MailboxAttr::Junk,
        "\\sent" => MailboxAttr::Sent,
        "\\trash" => MailboxAttr::Trash,
        _ => MailboxAttr::Other(name.to_string()),
    }
}

/// The names matching any of `patterns`, with what LIST knows of each. The tree of every name
/// the user can see (an administrator's may be large) is built and matched on the blocking
/// pool, never on a runtime thread.
async fn matching(
    session: &mut Session,
    patterns: Vec<Pattern>,
    used: SubscriptionUse,
) -> Result<Vec<(String, Node)>, Reply> {
    let Some(identity) = session.state.identity().cloned() else {
        return Err(Reply::bad("Not authenticated"));
    };
    let kept_elsewhere = session.subscriptions_for_listing(used).await?;
    let found = session
        .blocking(move |s| {
            let entries = s.list_visible_with_rights(&identity)?;
            let subscriptions = match kept_elsewhere {
                Some(names) => names,
                None => s.subscriptions(&identity)?,
            };
            let mut nodes = tree(s.namespace(), &identity, entries, &subscriptions);
            mark_subscribed_children(&mut nodes, &patterns, s.namespace());
            Ok(nodes
                .into_iter()
                .filter(|(name, _)| patterns.iter().any(|p| p.compiled.matches(name)))
                .collect())
        })
        .await;
    found.map_err(|e| refuse(&e, Target::Source))
}

/// Sets `subscribed_child` on each name a `%` pattern matches that lies above a subscribed
/// name no pattern matches: `a.%` matches `a.b` for a subscribed `a.b.c` (RFC 3501 §6.3.9,
/// RFC 5258 §3.5). Where a pattern reaches the subscribed name itself (`*`), it is listed
/// itself and its ancestors are not. Costs subscriptions × depth × patterns matches.
fn mark_subscribed_children(
    nodes: &mut BTreeMap<String, Node>,
    patterns: &[Pattern],
    ns: &Namespace,
) {
    let matches = |name: &str| patterns.iter().any(|p| p.compiled.matches(name));
    let unmatched: Vec<String> = nodes
        .iter()
        .filter(|(name, node)| node.subscribed && !matches(name))
        .map(|(name, _)| name.clone())
        .collect();
    for name in unmatched {
        for cut in ns.client_ancestors(&name) {
            let through_level = patterns
                .iter()
                .any(|p| p.level_wildcard && p.compiled.matches(&cut));
            if let (true, Some(node)) = (through_level, nodes.get_mut(&cut)) {
                node.subscribed_child = true;
            }
        }
    }
}

/// Every name the user can see, with every ancestor level, by client name.
fn tree(
    ns: &Namespace,
    identity: &Identity,
    entries: Vec<(MailboxEntry, Rights)>,
    subscriptions: &[MailboxName],
) -> BTreeMap<String, Node> {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for (entry, rights) in entries {
        let node = nodes
            .entry(ns.to_client(identity, &entry.name))
            .or_default();
        node.exists = true;
        node.special_use = entry.special_use;
        node.rights = Some(rights);
    }
    let subscribed: BTreeSet<String> = subscriptions
        .iter()
        .map(|n| ns.to_client(identity, n))
        .collect();
    for name in &subscribed {
        nodes.entry(name.clone()).or_default().subscribed = true;
    }
    let names: Vec<String> = nodes.keys().cloned().collect();
    for name in names {
        for parent in ns.client_ancestors(&name) {
            nodes.entry(parent).or_default().has_children = true;
        }
    }
    nodes
}

/// RFC 9051 §6.3.9: the reference is prefixed to the pattern (Cyrus joins them as typed).
fn canonical_pattern(reference: &str, pattern: &str, sep: char) -> String {
    let joined = if reference.is_empty() || pattern.starts_with(sep) {
        pattern.to_string()
    } else {
        format!("{reference}{pattern}")
    };
    // INBOX is case-insensitive (RFC 9051 §5.1).
    let head_len = joined.find(sep).unwrap_or(joined.len());
    if joined[..head_len].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &joined[head_len..])
    } else {
        joined
    }
}

/// RLIST (RFC 2193 §5): LIST's answer, `* LIST` responses included.
pub(crate) async fn run_rlist(session: &mut Session, reference: String, pattern: String) -> Reply {
    let list = List {
        selection: Vec::new(),
        reference,
        patterns: vec![pattern],
        return_options: Vec::new(),
    };
    run_list(session, list).await
}

pub(crate) async fn run_lsub(session: &mut Session, reference: String, pattern: String) -> Reply {
    let sep = session.service().namespace().separator();
    let patterns = match compile(&reference, &[pattern], sep) {
        Ok(patterns) => patterns,
        Err(reply) => return reply,
    };
    let nodes = match matching(session, patterns, SubscriptionUse::Shown).await {
        Ok(nodes) => nodes,
        Err(reply) => return reply,
    };
    for (name, node) in nodes {
        // RFC 3501 §6.3.9: a parent matched through `%` of a subscribed child is listed with
        // `\Noselect` when it is not subscribed itself, whether or not it exists.
        let attributes = match (node.subscribed, node.subscribed_child) {
            (true, _) if node.exists => Vec::new(),
            (true, _) | (false, true) => vec![MailboxAttr::NoSelect],
            (false, false) => continue,
        };
        let item = ListItem {
            attributes,
            delimiter: Some(sep),
            mailbox: Mailbox::from_name(name),
            extended: Vec::new(),
        };
        session.out.data(Data::Lsub(item));
    }
    Reply::ok("Lsub completed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(subscribed: bool) -> Node {
        Node {
            exists: true,
            subscribed,
            ..Node::default()
        }
    }

    fn patterns(list: &[&str]) -> Vec<Pattern> {
        let list: Vec<String> = list.iter().map(|p| p.to_string()).collect();
        match compile("", &list, '.') {
            Ok(patterns) => patterns,
            Err(_) => panic!("{list:?} compiles"),
        }
    }

    /// Only a `%` that stops above a subscribed name it does not reach marks the ancestor.
    #[test]
    fn a_subscribed_child_marks_the_ancestor_a_percent_matched() {
        let marked = |list: &[&str]| {
            let mut nodes: BTreeMap<String, Node> = ["a", "a.b", "a.b.c", "a.x"]
                .into_iter()
                .map(|n| (n.to_string(), node(n == "a.b.c")))
                .collect();
            mark_subscribed_children(&mut nodes, &patterns(list), &Namespace::new(false));
            nodes
                .into_iter()
                .filter(|(_, n)| n.subscribed_child)
                .map(|(name, _)| name)
                .collect::<Vec<_>>()
        };
        assert_eq!(marked(&["a.%"]), ["a.b"]);
        assert_eq!(marked(&["%"]), ["a"]);
        assert_eq!(marked(&["%", "a.%"]), ["a", "a.b"]);
        assert!(marked(&["*"]).is_empty(), "* reaches a.b.c itself");
        assert!(
            marked(&["a.%", "a.b.c"]).is_empty(),
            "another pattern reaches it"
        );
        assert!(marked(&["a.b"]).is_empty(), "no % to stop at");
        assert!(marked(&["a.x.%"]).is_empty());
    }

    #[test]
    fn inbox_in_patterns_is_case_insensitive() {
        assert_eq!(canonical_pattern("", "inbox.%", '.'), "INBOX.%");
        assert_eq!(canonical_pattern("inbox.", "%", '.'), "INBOX.%");
        assert_eq!(canonical_pattern("", "inboxes", '.'), "inboxes");
    }
}
