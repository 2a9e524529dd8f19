//! Cyrus's `UNDUMP`, read as a stream: a Cyrus backend moving a mailbox here by its legacy
//! XFER (a target without replication) sends the whole mailbox as one command,
//!
//! ```text
//! undump  = tag SP "UNDUMP" SP mailbox SP "(" quota *(SP entry) ")" CRLF
//! quota   = "NIL" / number              ; the mailbox's storage limit, when it is a root
//! entry   = name SP (literal / "(" [item *(SP item)] ")")
//! name    = astring                     ; cyrus.header, cyrus.index, UID ".", SEEN, SUBS,
//!                                       ; SIEVE-x.script, A-user/entry, X-QUOTA …
//! item    = astring
//! ```
//!
//! so one command can carry gigabytes in thousands of literals. Once the framer has read
//! `tag UNDUMP mailbox (` (and only when the caller allowed UNDUMP, for administrators) it
//! leaves command assembly: each entry is an [`UndumpEvent`], a file's bytes stream through
//! [`FramerEvent::MessageData`] and [`FramerEvent::MessageEnd`] as an APPEND message's do, and
//! nothing but the entry being read is held. Names and list items are bounded; anything
//! outside this form ends the connection (the stream cannot be resynchronised), which is
//! also what Cyrus does with a broken dump.

use super::line::LiteralHeader;
use super::{CommandFramer, FramerEvent, LiteralSync, State};
use crate::command::{Mailbox, Tag};
use crate::error::{ErrorKind, ParseError};
use crate::parse::Cursor;

/// Longest entry name or list item.
pub const MAX_UNDUMP_TOKEN: usize = 64 * 1024;
/// Most items in one entry's list (an annotation has three, `X-QUOTA` two per resource).
pub const MAX_UNDUMP_ITEMS: usize = 64;
/// Largest file one entry may carry (a message, `cyrus.index`, `cyrus.cache`).
pub const MAX_UNDUMP_FILE: u64 = 1 << 34;

/// What the framer found in an UNDUMP (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UndumpEvent {
    /// `tag UNDUMP mailbox (` was read: entries follow.
    Begin { tag: Tag, mailbox: Mailbox },
    /// The first member: the mailbox's storage limit in KiB when it is a quota root (`None`:
    /// `NIL`, or Cyrus's `-1` for no limit).
    Quota(Option<u64>),
    /// A file: its `len` bytes follow as `MessageData` chunks and one `MessageEnd`. Send a
    /// continuation request first when `sync` is [`LiteralSync::Sync`].
    File {
        name: String,
        len: u64,
        sync: LiteralSync,
    },
    /// An entry whose value is a list (an annotation, `X-QUOTA`) or a bare word.
    List { name: String, items: Vec<Vec<u8>> },
    /// The closing `)` and CRLF: answer the command.
    End,
}

/// Where the reader is within the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Quota,
    Name,
    Value,
    Item,
    End,
}

/// The state of the UNDUMP being read.
#[derive(Debug)]
pub(super) struct Undump {
    expect: Expect,
    name: String,
    items: Vec<Vec<u8>>,
    /// A literal token (a name or an item) is being read into the framer's command buffer.
    literal_token: bool,
}

enum Token {
    Open,
    Close,
    Word(Vec<u8>),
}

impl CommandFramer {
    /// Lets this session's next commands be Cyrus's UNDUMP (an administrator's); off by
    /// default, when `UNDUMP` is an unknown command like any other.
    pub fn allow_undump(&mut self, allow: bool) {
        self.undump_allowed = allow;
    }

    /// Whether an UNDUMP is being read.
    pub fn in_undump(&self) -> bool {
        self.undump.is_some()
    }

    /// After a line was added to the command: when it is `tag UNDUMP mailbox (`…, switches to
    /// reading the entries and answers `true` (the rest of the line is read as entries).
    pub(super) fn start_undump(&mut self, line_len: usize) -> bool {
        if !self.undump_allowed || self.command.len() > 4096 {
            return false;
        }
        let mut cur = Cursor::new(&self.command, &[], self.encoding, 2);
        let prefix = (|| -> Option<(Tag, Mailbox)> {
            let tag = cur.tag().ok()?;
            cur.sp().ok()?;
            if !cur.atom().ok()?.eq_ignore_ascii_case("UNDUMP") {
                return None;
            }
            cur.sp().ok()?;
            let mailbox = cur.mailbox().ok()?;
            cur.sp().ok()?;
            (cur.peek() == Some(b'(')).then_some((tag, mailbox))
        })();
        let Some((tag, mailbox)) = prefix else {
            return false;
        };
        let rest_at = self.command.len() - cur.rest().len() + 1;
        // The line's part after `(` (the quota, perhaps entries, perhaps a literal header).
        let line_at = self.command.len() - line_len;
        let rest = self.command[rest_at.max(line_at)..].to_vec();
        self.command.clear();
        self.undump = Some(Undump {
            expect: Expect::Quota,
            name: String::new(),
            items: Vec::new(),
            literal_token: false,
        });
        self.events
            .push_back(FramerEvent::Undump(UndumpEvent::Begin { tag, mailbox }));
        self.undump_line(&rest);
        true
    }

    /// One line of an UNDUMP: the text between two literals, or the last line.
    pub(super) fn undump_line(&mut self, line: &[u8]) {
        if let Err(what) = self.undump_segment(line) {
            self.undump = None;
            self.command.clear();
            self.events.push_back(FramerEvent::Fatal(ParseError::new(
                None,
                ErrorKind::Undump(what),
            )));
            self.state = State::Closed;
        }
    }

    fn undump_segment(&mut self, line: &[u8]) -> Result<(), &'static str> {
        let Some(undump) = self.undump.as_mut() else {
            return Ok(());
        };
        if undump.literal_token {
            undump.literal_token = false;
            let token = std::mem::take(&mut self.command);
            self.undump_token(Token::Word(token))?;
        }
        let header = super::line::literal_header(line);
        let text = header.map_or(line, |h| &line[..h.start]);
        let mut at = 0;
        while at < text.len() {
            let c = text[at];
            let token = match c {
                b' ' => {
                    at += 1;
                    continue;
                }
                b'(' => {
                    at += 1;
                    Token::Open
                }
                b')' => {
                    at += 1;
                    Token::Close
                }
                b'"' => {
                    let (word, used) = quoted(&text[at..])?;
                    at += used;
                    Token::Word(word)
                }
                _ => {
                    let len = text[at..]
                        .iter()
                        .position(|&b| matches!(b, b' ' | b'(' | b')'))
                        .unwrap_or(text.len() - at);
                    if len > MAX_UNDUMP_TOKEN {
                        return Err("a word is too long");
                    }
                    let word = text[at..at + len].to_vec();
                    at += len;
                    Token::Word(word)
                }
            };
            self.undump_token(token)?;
        }
        match header {
            Some(header) => self.undump_literal(header),
            None => {
                let expect = self.undump.as_ref().map(|u| u.expect);
                if expect != Some(Expect::End) {
                    return Err("the line ended inside the list");
                }
                self.undump = None;
                self.command.clear();
                self.events.push_back(FramerEvent::Undump(UndumpEvent::End));
                Ok(())
            }
        }
    }

    fn undump_token(&mut self, token: Token) -> Result<(), &'static str> {
        let Some(undump) = self.undump.as_mut() else {
            return Ok(());
        };
        let event = match (undump.expect, token) {
            (Expect::Quota, Token::Word(word)) => {
                undump.expect = Expect::Name;
                let quota = match word.as_slice() {
                    w if w.eq_ignore_ascii_case(b"NIL") || w == b"-1" => None,
                    w => Some(number(w).ok_or("the quota is not a number")?),
                };
                Some(UndumpEvent::Quota(quota))
            }
            (Expect::Quota | Expect::Name, Token::Close) => {
                undump.expect = Expect::End;
                None
            }
            (Expect::Name, Token::Word(word)) => {
                undump.name = String::from_utf8(word).map_err(|_| "a name is not UTF-8")?;
                undump.expect = Expect::Value;
                None
            }
            (Expect::Value, Token::Open) => {
                undump.items.clear();
                undump.expect = Expect::Item;
                None
            }
            (Expect::Value, Token::Word(word)) => {
                undump.expect = Expect::Name;
                Some(UndumpEvent::List {
                    name: std::mem::take(&mut undump.name),
                    items: vec![word],
                })
            }
            (Expect::Item, Token::Word(word)) => {
                if undump.items.len() >= MAX_UNDUMP_ITEMS {
                    return Err("a list has too many items");
                }
                undump.items.push(word);
                None
            }
            (Expect::Item, Token::Close) => {
                undump.expect = Expect::Name;
                Some(UndumpEvent::List {
                    name: std::mem::take(&mut undump.name),
                    items: std::mem::take(&mut undump.items),
                })
            }
            (Expect::Quota | Expect::Name, Token::Open) => return Err("a list where a name goes"),
            (Expect::Value, Token::Close) => return Err("an entry without a value"),
            (Expect::Item, Token::Open) => return Err("a list within a list"),
            (Expect::End, _) => return Err("text after the closing parenthesis"),
        };
        if let Some(event) = event {
            self.events.push_back(FramerEvent::Undump(event));
        }
        Ok(())
    }

    /// A literal ends the line: a file is streamed, a name or an item is read whole.
    fn undump_literal(&mut self, header: LiteralHeader) -> Result<(), &'static str> {
        let Some(undump) = self.undump.as_mut() else {
            return Ok(());
        };
        let len = header.len.ok_or("a literal's size is not a number")?;
        match undump.expect {
            Expect::Value => {
                if len > MAX_UNDUMP_FILE {
                    return Err("a file is too large");
                }
                let name = std::mem::take(&mut undump.name);
                undump.expect = Expect::Name;
                self.events
                    .push_back(FramerEvent::Undump(UndumpEvent::File {
                        name,
                        len,
                        sync: header.sync,
                    }));
                self.message_sync = header.sync;
                self.state = State::Message {
                    remaining: len,
                    len,
                };
                Ok(())
            }
            Expect::Quota | Expect::Name | Expect::Item => {
                if len > MAX_UNDUMP_TOKEN as u64 {
                    return Err("a name or item literal is too long");
                }
                undump.literal_token = true;
                self.command.clear();
                if header.sync == LiteralSync::Sync {
                    self.events.push_back(FramerEvent::NeedContinuation);
                }
                self.state = State::Literal { remaining: len };
                Ok(())
            }
            Expect::End => Err("a literal after the closing parenthesis"),
        }
    }
}

/// A quoted string at the start of `text`: its value and the bytes it took.
fn quoted(text: &[u8]) -> Result<(Vec<u8>, usize), &'static str> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'"' => return Ok((out, i + 1)),
            b'\\' if i + 1 < text.len() => {
                out.push(text[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
        if out.len() > MAX_UNDUMP_TOKEN {
            return Err("a quoted string is too long");
        }
    }
    Err("a quoted string does not end")
}

fn number(word: &[u8]) -> Option<u64> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framer::FramerEvent as E;
    use crate::limits::Limits;

    /// Feeds `input` in chunks of `chunk` octets; message data is joined per file.
    fn events(framer: &mut CommandFramer, input: &[u8], chunk: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut data = Vec::new();
        for piece in input.chunks(chunk) {
            framer.push(piece);
            while let Some(event) = framer.next_event() {
                match event {
                    E::MessageData(d) => data.extend_from_slice(&d),
                    E::MessageEnd => {
                        out.push(format!("data {}", String::from_utf8_lossy(&data)));
                        data.clear();
                    }
                    E::Undump(UndumpEvent::Begin { tag, mailbox }) => {
                        out.push(format!("begin {} {}", tag.as_str(), mailbox.as_str()))
                    }
                    E::Undump(UndumpEvent::Quota(q)) => out.push(format!("quota {q:?}")),
                    E::Undump(UndumpEvent::File { name, len, sync }) => {
                        out.push(format!("file {name} {len} {sync:?}"))
                    }
                    E::Undump(UndumpEvent::List { name, items }) => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|i| String::from_utf8_lossy(i).into_owned())
                            .collect();
                        out.push(format!("list {name} {}", items.join(",")))
                    }
                    E::Undump(UndumpEvent::End) => out.push("end".into()),
                    E::NeedContinuation => out.push("+".into()),
                    E::Command(c) => out.push(format!("command {}", c.command.name())),
                    E::Bad(e) => out.push(format!("bad {}", e.kind)),
                    E::Fatal(e) => out.push(format!("fatal {}", e.kind)),
                    other => out.push(format!("{other:?}")),
                }
            }
        }
        out
    }

    /// What Cyrus's `dump_mailbox` writes to a target it does not know (the first name's
    /// literal synchronising, the rest not), then a command after it.
    const STREAM: &[u8] = b"D01 UNDUMP {8+}\r\nuser.ann (123 {12}\r\n\
cyrus.header {5+}\r\nHEAD) {11+}\r\ncyrus.index {3+}\r\nIX( {2+}\r\n1. {10+}\r\nline\r\n(x)\n \
{13+}\r\nA-ann/comment (0 {2+}\r\nhi {10+}\r\ntext/plain) {7+}\r\nX-QUOTA ({7+}\r\n\
STORAGE 100 {7+}\r\nMESSAGE 5))\r\nD02 NOOP\r\n";

    fn expected() -> Vec<String> {
        [
            "begin D01 user.ann",
            "quota Some(123)",
            "+",
            "file cyrus.header 5 NonSync",
            "data HEAD)",
            "file cyrus.index 3 NonSync",
            "data IX(",
            "file 1. 10 NonSync",
            "data line\r\n(x)\n",
            "list A-ann/comment 0,hi,text/plain",
            "list X-QUOTA STORAGE,100,MESSAGE,5",
            "end",
            "command NOOP",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn a_cyrus_dump_streams_entry_by_entry_in_any_chunking() {
        for chunk in [1, 2, 3, 7, 64, STREAM.len()] {
            let mut framer = CommandFramer::new(Limits::default());
            framer.allow_undump(true);
            assert_eq!(
                events(&mut framer, STREAM, chunk),
                expected(),
                "chunk {chunk}"
            );
            assert!(!framer.in_undump());
        }
    }

    #[test]
    fn a_file_larger_than_any_command_limit_passes_through_unbuffered() {
        let limits = Limits {
            max_line: 100,
            max_literal: 50,
            max_command: 400,
            ..Limits::default()
        };
        let mut framer = CommandFramer::new(limits);
        framer.allow_undump(true);
        let body = vec![b'x'; 100_000];
        let mut input = b"A UNDUMP user.bob (NIL {2+}\r\n7. {100000+}\r\n".to_vec();
        input.extend_from_slice(&body);
        input.extend_from_slice(b")\r\n");
        let got = events(&mut framer, &input, 4096);
        assert_eq!(got[0], "begin A user.bob");
        assert_eq!(got[1], "quota None");
        assert_eq!(got[2], "file 7. 100000 NonSync");
        assert_eq!(got[3].len(), "data ".len() + 100_000);
        assert_eq!(got[4], "end");
        assert!(framer.buffered() == 0);
    }

    #[test]
    fn without_allow_undump_it_is_an_unknown_command() {
        let mut framer = CommandFramer::new(Limits::default());
        let got = events(&mut framer, b"D01 UNDUMP user.ann (NIL)\r\n", 64);
        assert_eq!(got, ["bad unknown command UNDUMP"]);
    }

    #[test]
    fn a_broken_stream_ends_the_connection() {
        for input in [
            &b"A UNDUMP x (NIL cyrus.header (a (b)))\r\n"[..],
            b"A UNDUMP x (NIL name)\r\n",
            b"A UNDUMP x (NIL name {3+}\r\nabc\r\n",
            b"A UNDUMP x (12x)\r\n",
            b"A UNDUMP x (NIL) extra\r\n",
            b"A UNDUMP x (NIL {99999999+}\r\n",
        ] {
            let mut framer = CommandFramer::new(Limits::default());
            framer.allow_undump(true);
            let got = events(&mut framer, input, 64);
            assert!(
                got.last()
                    .is_some_and(|e| e.starts_with("fatal invalid UNDUMP")),
                "{:?}: {got:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn lists_are_bounded() {
        let mut input = b"A UNDUMP x (NIL A-u/e (".to_vec();
        for _ in 0..=MAX_UNDUMP_ITEMS {
            input.extend_from_slice(b"1 ");
        }
        input.extend_from_slice(b"))\r\n");
        let mut framer = CommandFramer::new(Limits::default());
        framer.allow_undump(true);
        let got = events(&mut framer, &input, 64);
        assert_eq!(
            got.last().map(String::as_str),
            Some("fatal invalid UNDUMP: a list has too many items")
        );
    }
}
