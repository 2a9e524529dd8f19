//! `darius mboxlist dump|undump`: the mailboxes database as text, one mailbox per line, and
//! back (Cyrus's `ctl_mboxlist -d` and `-u`).
//!
//! - `darius mboxlist dump [PREFIX]` prints every mailbox (with PREFIX: that mailbox and those
//!   below it) in name order, framed like Cyrus 3.6's dump: a line `{`, one line per mailbox
//!   `"NAME": {"name": …, "partition": …, "uniqueid": …, "mbtype": …, "acl": {…},
//!   "specialuse": […]},` and a line `}`. Through the running server's admin socket, or on the
//!   files when it is stopped.
//! - `darius mboxlist undump FILE|-` (server stopped only) reads such lines back: a mailbox
//!   the database has under the same name and uniqueid gets the line's ACL and special-use; a
//!   missing one whose directory is still on the named partition is entered again
//!   ([`mailstore::Store::restore_mailbox_dir`]) and then given them; anything else is
//!   reported and skipped. One line is printed per change, so a second undump of the same
//!   file prints none. A malformed line stops the undump with its line number; the lines
//!   before it were applied, nothing of it or after it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use mailstore::{MailboxEntry, MailboxType};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use types::MailboxName;

use crate::admin::{service_failure, Request, Response};
use crate::mail::Backend;
use crate::mailboxes::internal;
use crate::reconstruct::{load, running_server, Target};

/// Longest dump line accepted by `undump`: a mailbox name, an ACL of a few hundred entries and
/// the special-use attributes fit many times over.
const MAX_LINE: usize = 64 * 1024;

#[derive(Subcommand)]
pub enum MboxlistAction {
    /// Print the mailboxes database, one mailbox per line (name, partition, uniqueid, type,
    /// ACL, special-use), like Cyrus's `ctl_mboxlist -d`.
    Dump {
        /// Only this mailbox and those below it (internal name, `user.bovik`).
        prefix: Option<String>,
    },
    /// Give mailboxes the ACL and special-use of a dump, and enter again those missing from the
    /// database whose directory is still on their partition (the server must be stopped).
    Undump {
        /// The dump to read; `-` for standard input.
        file: PathBuf,
    },
}

pub fn run(config_path: Option<&Path>, action: MboxlistAction) -> Result<()> {
    let config = load(config_path)?;
    match action {
        MboxlistAction::Dump { prefix } => dump(&config, prefix),
        MboxlistAction::Undump { file } => undump(&config, &file),
    }
}

/// `mboxlist dump`: the lines the server (or the store) answers, framed by `{` and `}`.
fn dump(config: &config::Config, prefix: Option<String>) -> Result<()> {
    let target = Target::open(config)?;
    let lines = match target.call(Request::MailboxDump { prefix })? {
        Response::Findings { lines } => lines,
        Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
        other => bail!("unexpected answer to mboxlist dump: {other:?}"),
    };
    println!("{{");
    for line in lines {
        println!("{line}");
    }
    println!("}}");
    Ok(())
}

/// Carries out a dump request: one line per mailbox, in name order.
pub(crate) fn execute(ctx: &Backend, request: Request) -> Response {
    let Request::MailboxDump { prefix } = request else {
        return Response::Refused {
            reason: "not a mboxlist dump request".to_string(),
        };
    };
    let prefix = match prefix.as_deref().map(internal).transpose() {
        Ok(p) => p,
        Err(e) => return service_failure(&e),
    };
    match ctx.service.store().list_mailboxes(prefix.as_ref()) {
        Ok(entries) => Response::Findings {
            lines: entries.iter().map(dump_line).collect(),
        },
        Err(e) => {
            tracing::error!(severity = "err", "mboxlist dump failed: {e}");
            Response::Failed {
                reason: e.to_string(),
            }
        }
    }
}

/// A JSON string literal.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Cyrus's one-letter `mbtype`.
fn type_letter(t: MailboxType) -> &'static str {
    match t {
        MailboxType::Normal => "e",
        MailboxType::Netnews => "n",
        MailboxType::Remote => "r",
    }
}

fn type_from_letter(letter: &str) -> Option<MailboxType> {
    match letter {
        "e" => Some(MailboxType::Normal),
        "n" => Some(MailboxType::Netnews),
        "r" => Some(MailboxType::Remote),
        _ => None,
    }
}

/// The `(identifier, rights)` pairs of a stored ACL (`id<TAB>rights<TAB>…`) in its order,
/// read without judging them: the dump shows what is stored. A lone identifier at the end
/// shows with empty rights.
fn acl_pairs(stored: &str) -> Vec<(String, String)> {
    let text = stored.strip_suffix('\t').unwrap_or(stored);
    let words: Vec<&str> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\t').collect()
    };
    words
        .chunks(2)
        .map(|pair| {
            let rights = pair.get(1).copied().unwrap_or("");
            (pair[0].to_string(), rights.to_string())
        })
        .filter(|(_, rights)| !rights.is_empty())
        .collect()
}

/// One mailbox's dump line.
fn dump_line(e: &MailboxEntry) -> String {
    let name = quoted(e.name.as_str());
    let acl: Vec<String> = acl_pairs(&e.acl)
        .iter()
        .map(|(id, rights)| format!("{}: {}", quoted(id), quoted(rights)))
        .collect();
    let special: Vec<String> = e.special_use.iter().map(|s| quoted(s)).collect();
    format!(
        "{name}: {{\"name\": {name}, \"partition\": {}, \"uniqueid\": {}, \"mbtype\": \"{}\", \
         \"acl\": {{{}}}, \"specialuse\": [{}]}},",
        quoted(&e.partition),
        quoted(&e.uniqueid),
        type_letter(e.mailbox_type),
        acl.join(", "),
        special.join(", "),
    )
}

/// An ACL object read in its order (a JSON object is unordered to serde_json's maps).
#[derive(Debug, Default)]
struct OrderedAcl(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedAcl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OrderedAcl, D::Error> {
        /// Visits the object's members in order.
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = OrderedAcl;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of identifier: rights")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<OrderedAcl, M::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(OrderedAcl(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// The fields of one dump line that undump uses (Cyrus's lines carry more; they are ignored).
#[derive(Debug, Deserialize)]
struct DumpFields {
    partition: String,
    uniqueid: String,
    #[serde(default)]
    mbtype: Option<String>,
    #[serde(default)]
    acl: OrderedAcl,
    #[serde(default)]
    specialuse: Vec<String>,
}

/// One mailbox of a dump, checked.
#[derive(Debug)]
struct DumpEntry {
    name: MailboxName,
    partition: String,
    uniqueid: String,
    /// The ACL in stored form, validated.
    acl: types::Acl,
    special_use: Vec<String>,
}

/// Reads one line: `None` for the frame lines `{` and `}` and blank ones.
fn parse_line(line: &str) -> Result<Option<DumpEntry>, String> {
    let line = line.trim();
    if line.is_empty() || line == "{" || line == "}" {
        return Ok(None);
    }
    let member = line.strip_suffix(',').unwrap_or(line);
    let object: BTreeMap<String, DumpFields> = serde_json::from_str(&format!("{{{member}}}"))
        .map_err(|e| format!("not a dump line: {e}"))?;
    let mut members = object.into_iter();
    let (Some((name, fields)), None) = (members.next(), members.next()) else {
        return Err("a dump line holds exactly one mailbox".to_string());
    };
    let name = MailboxName::try_from(name.as_str()).map_err(|e| format!("{name:?}: {e}"))?;
    if let Some(letter) = &fields.mbtype {
        // Only the letters of this server's types; the type itself is the directory's.
        type_from_letter(letter).ok_or_else(|| format!("mbtype {letter:?} is not e, n or r"))?;
    }
    let mut stored = String::new();
    for (id, rights) in &fields.acl.0 {
        if id.contains(['\t', '\r', '\n']) || rights.contains(['\t', '\r', '\n']) {
            return Err(format!("ACL entry {id:?} holds a control character"));
        }
        stored.push_str(&format!("{id}\t{rights}\t"));
    }
    let acl = types::Acl::from_stored(&stored).map_err(|e| format!("ACL: {e}"))?;
    if fields.partition.is_empty() || fields.uniqueid.is_empty() {
        return Err("partition and uniqueid must not be empty".to_string());
    }
    Ok(Some(DumpEntry {
        name,
        partition: fields.partition,
        uniqueid: fields.uniqueid,
        acl,
        special_use: fields.specialuse,
    }))
}

/// `mboxlist undump`: on the files only.
fn undump(config: &config::Config, file: &Path) -> Result<()> {
    if let Some(socket) = running_server(config) {
        bail!(
            "a server is running (its admin socket {} answers): stop it first; \
             `mboxlist undump` changes the mailboxes database, which the server holds open",
            socket.display()
        );
    }
    let input: Box<dyn Read> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    let mut reader = std::io::BufReader::new(input);
    let backend = Backend::open(config)?;
    let store = backend.service.store();
    let (mut number, mut changes, mut skipped) = (0usize, 0usize, 0usize);
    let mut line = String::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .with_context(|| format!("reading {}", file.display()))?;
        if n == 0 {
            break;
        }
        number += 1;
        if n > MAX_LINE {
            bail!("line {number}: longer than {MAX_LINE} bytes; stopped there");
        }
        let entry = match parse_line(&line) {
            Ok(Some(entry)) => entry,
            Ok(None) => continue,
            Err(why) => {
                bail!("line {number}: {why}; stopped there (the lines before it were applied)")
            }
        };
        match apply(store, &entry)? {
            Outcome::Changed(lines) => {
                changes += lines.len();
                for l in lines {
                    println!("{l}");
                }
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                println!("{}: skipped: {why}", entry.name);
            }
        }
    }
    println!("mboxlist undump: {changes} changes, {skipped} mailboxes skipped");
    Ok(())
}

/// What undump did with one line.
enum Outcome {
    /// One line per change (none: the mailbox already was as the dump says).
    Changed(Vec<String>),
    /// Left alone, and why.
    Skipped(String),
}

/// Brings one mailbox to what its dump line says.
fn apply(store: &mailstore::Store, d: &DumpEntry) -> Result<Outcome> {
    let mut lines = Vec::new();
    let existing = match store.mailbox_entry(&d.name) {
        Ok(e) => e,
        Err(mailstore::StoreError::NoSuchMailbox(_)) => {
            let report = store.restore_mailbox_dir(&d.partition, &d.uniqueid);
            let report = match report {
                Ok(r) => r,
                Err(e) if e.is_refusal() => return Ok(Outcome::Skipped(e.to_string())),
                Err(e) => return Err(e).context(format!("restoring {}", d.name)),
            };
            if let Some((_, why)) = report.skipped.first() {
                return Ok(Outcome::Skipped(why.clone()));
            }
            let Some(restored) = report.restored.first() else {
                return Ok(Outcome::Skipped("not restored".to_string()));
            };
            if restored != &d.name {
                return Ok(Outcome::Skipped(format!(
                    "its directory was entered again under the name its cyrus.header gives, {restored}"
                )));
            }
            lines.push(format!(
                "{}: entered again into the mailboxes database (partition {}, uniqueid {})",
                d.name, d.partition, d.uniqueid
            ));
            store.mailbox_entry(&d.name)?
        }
        Err(e) => return Err(e).context(format!("reading the entry of {}", d.name)),
    };
    if existing.uniqueid != d.uniqueid {
        return Ok(Outcome::Skipped(format!(
            "the database's {} has uniqueid {}, the dump's {}",
            d.name, existing.uniqueid, d.uniqueid
        )));
    }
    let current = types::Acl::from_stored(&existing.acl).ok();
    if current.as_ref() != Some(&d.acl) {
        store
            .set_acl(&d.name, &d.acl.to_stored())
            .with_context(|| format!("setting the ACL of {}", d.name))?;
        lines.push(format!("{}: ACL set to the dump's", d.name));
    }
    if existing.special_use != d.special_use {
        store
            .set_special_use(&d.name, d.special_use.clone())
            .with_context(|| format!("setting the special-use of {}", d.name))?;
        lines.push(format!(
            "{}: special-use set to the dump's ({})",
            d.name,
            d.special_use.join(" ")
        ));
    }
    Ok(Outcome::Changed(lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(acl: &str, special_use: Vec<String>) -> MailboxEntry {
        MailboxEntry {
            name: MailboxName::try_from("user.bovik.Sent").unwrap(),
            uniqueid: "0123abcd".to_string(),
            partition: "default".to_string(),
            acl: acl.to_string(),
            mailbox_type: MailboxType::Normal,
            special_use,
            created_modseq: 1,
            modified_modseq: 1,
        }
    }

    #[test]
    fn a_dump_line_reads_back_with_its_acl_in_order() {
        let e = entry(
            "bovik\tlrswipkxtean\tanyone\tlr\t",
            vec!["\\Sent".to_string()],
        );
        let line = dump_line(&e);
        assert_eq!(
            line,
            "\"user.bovik.Sent\": {\"name\": \"user.bovik.Sent\", \"partition\": \"default\", \
             \"uniqueid\": \"0123abcd\", \"mbtype\": \"e\", \"acl\": {\"bovik\": \
             \"lrswipkxtean\", \"anyone\": \"lr\"}, \"specialuse\": [\"\\\\Sent\"]},"
        );
        let back = parse_line(&line).unwrap().unwrap();
        assert_eq!(back.name, e.name);
        assert_eq!(back.uniqueid, "0123abcd");
        assert_eq!(back.partition, "default");
        assert_eq!(back.special_use, vec!["\\Sent".to_string()]);
        assert_eq!(back.acl.to_stored(), e.acl);
    }

    #[test]
    fn frames_are_skipped_and_bad_lines_refused() {
        assert!(parse_line("{\n").unwrap().is_none());
        assert!(parse_line("}").unwrap().is_none());
        assert!(parse_line("   \n").unwrap().is_none());
        assert!(parse_line("\"user.a\": {\"partition\": \"default\"},").is_err());
        assert!(parse_line("garbage").is_err());
        let bad_rights = "\"user.a\": {\"partition\": \"p\", \"uniqueid\": \"ab\", \
                          \"acl\": {\"a\": \"lr!\"}},";
        assert!(parse_line(bad_rights).is_err());
        let two = "\"user.a\": {\"partition\": \"p\", \"uniqueid\": \"ab\"}, \
                   \"user.b\": {\"partition\": \"p\", \"uniqueid\": \"cd\"},";
        assert!(parse_line(two).is_err());
    }

    #[test]
    fn cyrus_lines_are_read_too() {
        let cyrus = "\"user.user1\": {\"name\": \"user.user1\", \"mtime\": \"1796600446\", \
                     \"uidvalidity\": \"1796600447\", \"mbtype\": \"e\", \"partition\": \
                     \"default\", \"acl\": {\"user1\": \"lrswipkxtecdan\"}, \"uniqueid\": \
                     \"l45wdc8svxkuolc39exc1vb8\", \"name_history\": []},";
        let e = parse_line(cyrus).unwrap().unwrap();
        assert_eq!(e.name.as_str(), "user.user1");
        // Cyrus's obsolete `c` and `d` read as the rights they stand for.
        assert_eq!(e.acl.to_stored(), "user1\tlrswipkxtean\t");
    }

    #[test]
    fn an_empty_stored_acl_dumps_as_an_empty_object() {
        assert!(acl_pairs("").is_empty());
        assert!(acl_pairs(types::acl::EMPTY_STORED).is_empty());
    }
}
