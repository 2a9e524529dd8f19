//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/`) and the corpus tests that run
//! them on stable `cargo test`. Not part of the stable API.
//!
//! Besides the framer and parser, two shapes that once cost a server dearly are checked
//! against naive models wherever they occur: LIST patterns ([`list_pattern`]: the iterative
//! matcher against a dynamic-programming table) and sequence sets ([`sequence_set`]: the
//! normalised ranges against the items one by one).

use crate::command::{AppendData, Command, TaggedCommand};
use crate::framer::{
    CommandFramer, ContinuationSent, FramerEvent, FramerMode, LiteralSync, SpoolRef,
};
use crate::limits::{Limits, MailboxEncoding};
use crate::list_pattern::{ListPattern, PatternError, MAX_PATTERN_LEN};
use crate::sequence::SequenceSet;
use crate::wire::LiteralStyle;
use crate::{mutf7, parse_command};

fn fuzz_limits() -> Limits {
    Limits {
        max_line: 2048,
        max_literal: 2048,
        max_append_literal: 8192,
        max_command: 16 * 1024,
        max_discard: 8192,
        ..Limits::default()
    }
}

/// Feeds `data` to a framer in chunks whose size the first byte picks, acting on every event as
/// a session would, and checks that every command it yields survives encode → parse unchanged.
/// Panics only on a real bug (a round-trip mismatch, or a panic inside the codec).
pub fn framer_and_parser(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let encoding = if first & 0x80 == 0 {
        MailboxEncoding::ModifiedUtf7
    } else {
        MailboxEncoding::Utf8
    };
    let mut framer = CommandFramer::new(fuzz_limits());
    framer.set_mailbox_encoding(encoding);
    // Half the inputs are read as an administrator's, for whom UNDUMP is a stream.
    framer.allow_undump(first & 0x40 != 0);
    let mut next_spool = 0;
    for piece in input.chunks(chunk) {
        framer.push(piece);
        while let Some(event) = framer.next_event() {
            match event {
                FramerEvent::MessageEnd => {
                    next_spool += 1;
                    let _ = framer.message_literal_done(SpoolRef(next_spool));
                }
                FramerEvent::Command(cmd) => {
                    follow_mode(&mut framer, &cmd.command);
                    check_round_trip(&cmd, encoding);
                    check_shapes(&cmd.command);
                }
                FramerEvent::MessageLiteral { len, sync, .. } if len % 3 == 1 => {
                    // Exercise the refusal path too (a quota or TRYCREATE refusal).
                    let sent = match sync {
                        LiteralSync::Sync => ContinuationSent::No,
                        LiteralSync::NonSync => ContinuationSent::Yes,
                    };
                    let _ = framer.refuse_message_literal(sent);
                }
                FramerEvent::Fatal(_) => return,
                FramerEvent::Bad(_)
                | FramerEvent::NeedContinuation
                | FramerEvent::MessageLiteral { .. }
                | FramerEvent::MessageData(_)
                | FramerEvent::IdleDone
                | FramerEvent::AuthResponse(_)
                | FramerEvent::AuthCancel
                | FramerEvent::SpoolAbandoned(_)
                | FramerEvent::Undump(_) => {}
            }
        }
    }
    whole_input(input, encoding);
}

fn follow_mode(framer: &mut CommandFramer, command: &Command) {
    match command {
        Command::Idle => framer.set_mode(FramerMode::Idle),
        Command::Authenticate {
            initial_response: None,
            ..
        } => {
            framer.set_mode(FramerMode::Authenticate);
        }
        _ => {}
    }
}

/// Encode → parse must give the same command (spooled APPEND data has no bytes to re-send).
pub fn check_round_trip(cmd: &TaggedCommand, encoding: MailboxEncoding) {
    if let Command::Append { messages, .. } = &cmd.command {
        if messages
            .iter()
            .any(|m| matches!(m.data, AppendData::Spooled { .. }))
        {
            return;
        }
    }
    let bytes = cmd.to_bytes(encoding, LiteralStyle::NonSync);
    match parse_command(&bytes, encoding) {
        Ok(again) => assert_eq!(
            &again,
            cmd,
            "round trip through {:?}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => panic!(
            "re-parse of {:?} failed: {e}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

fn whole_input(input: &[u8], encoding: MailboxEncoding) {
    if let Ok(cmd) = parse_command(input, encoding) {
        check_round_trip(&cmd, encoding);
    }
    check_response(input, encoding);
    if let Ok(name) = mutf7::decode(input) {
        assert_eq!(
            mutf7::encode(&name).as_bytes(),
            input,
            "mUTF-7 is not minimal"
        );
    }
}

/// Any parsed response re-encodes to bytes that parse to a fixed point (the first encode may
/// normalise text, e.g. an empty status text).
fn check_response(input: &[u8], encoding: MailboxEncoding) {
    let Some(len) = crate::response_len(input) else {
        return;
    };
    let Ok(first) = crate::parse_response(&input[..len], encoding) else {
        return;
    };
    let second = crate::parse_response(&first.to_bytes(encoding), encoding);
    let second = second.unwrap_or_else(|e| panic!("re-parse of {first:?} failed: {e}"));
    let third = crate::parse_response(&second.to_bytes(encoding), encoding);
    assert_eq!(
        third.as_ref().ok(),
        Some(&second),
        "response encoding is not stable"
    );
}

/// The pattern and set checks on whatever a parsed command carries.
fn check_shapes(command: &Command) {
    match command {
        Command::List(list) => {
            for pattern in &list.patterns {
                check_pattern(pattern, '.');
            }
        }
        Command::Lsub { pattern, .. }
        | Command::Rlist { pattern, .. }
        | Command::Rlsub { pattern, .. } => check_pattern(pattern, '/'),
        Command::Fetch(f) => check_set(&f.set),
        Command::Store(s) => check_set(&s.set),
        Command::Copy { set, .. } | Command::Move { set, .. } | Command::UidExpunge(set) => {
            check_set(set)
        }
        _ => {}
    }
}

/// Fuzz entry: a byte choosing the separator (`/` when odd, else `.`), then `pattern LF name`
/// (either may be any bytes).
pub fn list_pattern(data: &[u8]) {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let sep = if first % 2 == 1 { '/' } else { '.' };
    let (pattern, name) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let pattern = String::from_utf8_lossy(pattern);
    let name = String::from_utf8_lossy(name);
    check_pattern_against(&pattern, &name, sep);
    check_pattern(&pattern, sep);
}

/// A pattern against a few names built from it (itself, its literal characters, with an
/// extra level), so the interesting cases are met without a name in the input.
fn check_pattern(pattern: &str, sep: char) {
    let literal: String = pattern
        .chars()
        .filter(|c| !matches!(c, '*' | '%'))
        .collect();
    let names = [
        pattern.to_string(),
        literal.clone(),
        format!("{literal}{sep}x"),
        format!("x{sep}{literal}"),
        String::new(),
    ];
    for name in &names {
        check_pattern_against(pattern, name, sep);
    }
}

fn check_pattern_against(pattern: &str, name: &str, sep: char) {
    let compiled = ListPattern::new(pattern, sep);
    if pattern.chars().count() > MAX_PATTERN_LEN {
        let max = MAX_PATTERN_LEN;
        assert_eq!(compiled.err(), Some(PatternError::TooLong { max }));
        return;
    }
    let compiled = compiled.unwrap_or_else(|e| panic!("{pattern:?} refused: {e}"));
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The model costs pattern × name; long inputs check only that matching terminates.
    let got = compiled.matches(name);
    if p.len() * n.len() <= 1 << 16 {
        assert_eq!(got, model_match(&p, &n, sep), "{pattern:?} on {name:?}");
    }
}

/// RFC 9051 §6.3.9 by dynamic programming: `m[i][j]` is whether `p[i..]` matches `n[j..]`.
fn model_match(p: &[char], n: &[char], sep: char) -> bool {
    let mut m = vec![vec![false; n.len() + 1]; p.len() + 1];
    m[p.len()][n.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=n.len()).rev() {
            let next = n.get(j);
            m[i][j] = match p[i] {
                '*' => m[i + 1][j] || (next.is_some() && m[i][j + 1]),
                '%' => m[i + 1][j] || (next.is_some_and(|&c| c != sep) && m[i][j + 1]),
                c => next == Some(&c) && m[i + 1][j + 1],
            };
        }
    }
    m[0][0]
}

/// Fuzz entry: the bytes as a `sequence-set` (in `UID FETCH … FLAGS`).
pub fn sequence_set(data: &[u8]) {
    let command = [b"a UID FETCH ".as_slice(), data, b" FLAGS\r\n"].concat();
    if let Ok(cmd) = parse_command(&command, MailboxEncoding::Utf8) {
        check_shapes(&cmd.command);
    }
}

/// Normalised ranges are sorted, disjoint, never adjacent, and hold exactly the set's members:
/// checked at every item's ends and beside them, for a few sizes of mailbox.
fn check_set(set: &SequenceSet) {
    let SequenceSet::Items(items) = set else {
        assert!(set.normalize(7).is_none(), "$ is resolved by the session");
        return;
    };
    for largest in [0, 1, 7, 1000, u32::MAX] {
        let Some(ranges) = set.normalize(largest) else {
            panic!("a set of items always normalises");
        };
        for pair in ranges.ranges().windows(2) {
            assert!(pair[0].1.saturating_add(1) < pair[1].0, "{pair:?}");
        }
        let mut probes: Vec<u32> = vec![0, 1, largest, largest.saturating_add(1)];
        for item in items.iter().take(512) {
            let (a, b) = match item {
                crate::SequenceItem::Single(v) => (v.resolve(largest), v.resolve(largest)),
                crate::SequenceItem::Range(a, b) => (a.resolve(largest), b.resolve(largest)),
            };
            for v in [a, b] {
                probes.extend([v.saturating_sub(1), v, v.saturating_add(1)]);
            }
        }
        // The naive side walks every item per probe: keep a long set's probes few.
        if items.len() > 512 {
            probes.truncate(64);
        }
        for n in probes {
            assert_eq!(ranges.contains(n), set.contains(n, largest), "{n} in {set}");
        }
    }
}
