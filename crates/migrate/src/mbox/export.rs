//! Exporting a mailbox to an mbox file (mboxrd: every `>*From ` body line gets one more `>`):
//! each message after a `From ` line with its INTERNALDATE, with `Status`, `X-Status`,
//! `X-Keywords` and `X-UID` headers, and `X-IMAPbase` (UIDVALIDITY, the last UID given, i.e.
//! UIDNEXT - 1, as UW-IMAP and Dovecot write it, then the keywords) in the first, so that Dovecot and this importer keep UIDs and flags. Line ends become LF.

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use mailstore::{MessageRecord, SeenSource, Store};
use types::{Flag, MailboxName};

use crate::feed::{each_record, Event, Progress, Summary};
use crate::lines::{read_piece, Piece};
use crate::maildir::error::{MigrateError, Result};
use crate::mbox::from_line;
use crate::mbox::reader::MAX_PIECE;

/// Headers an mbox keeps state in: left out of the copy, the state is written anew.
const STATE_FIELDS: [&str; 7] = [
    "x-imapbase:",
    "x-imap:",
    "x-uid:",
    "status:",
    "x-status:",
    "x-keywords:",
    "content-length:",
];

/// Exports mailbox `name` to the new mbox file `file` (which must not exist).
pub fn export_mailbox(
    store: &Store,
    name: &MailboxName,
    file: &Path,
    progress: &mut Progress<'_>,
) -> Result<Summary> {
    let status = store.status(name, SeenSource::Index)?;
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(|e| MigrateError::io(file, e))?;
    let mut out = BufWriter::with_capacity(256 * 1024, f);
    progress(Event::Mailbox {
        name,
        messages: Some(u64::from(status.exists)),
    });
    let mut summary = Summary {
        mailboxes: 1,
        ..Summary::default()
    };
    let uidnext = status.uidnext.get();
    let mut base = Some(format!(
        "X-IMAPbase: {} {:010}{}\n",
        status.uidvalidity.get(),
        uidnext - 1,
        status
            .keywords
            .iter()
            .map(|k| format!(" {k}"))
            .collect::<String>()
    ));
    each_record(store, name, uidnext, &mut summary, progress, |r, _, _| {
        // Through the store, not the file: a newsgroup's article comes decoded.
        let input = store.open_message(name, r.uid)?.reader();
        write_message(
            &mut BufReader::with_capacity(64 * 1024, input),
            r,
            base.take(),
            &mut out,
        )
        .map_err(|e| MigrateError::io(file, e))
    })?;
    let f = out
        .into_inner()
        .map_err(|e| MigrateError::io(file, e.into_error()))?;
    f.sync_all().map_err(|e| MigrateError::io(file, e))?;
    Ok(summary)
}

/// The state headers of one message.
fn state_headers(r: &MessageRecord, base: Option<String>) -> String {
    let has = |f: &Flag| r.flags.contains(f);
    let mut s = base.unwrap_or_default();
    s.push_str(if has(&Flag::Seen) {
        "Status: RO\n"
    } else {
        "Status: O\n"
    });
    let x: String = [
        (Flag::Answered, 'A'),
        (Flag::Deleted, 'D'),
        (Flag::Flagged, 'F'),
        (Flag::Draft, 'T'),
    ]
    .iter()
    .filter(|(f, _)| has(f))
    .map(|(_, c)| *c)
    .collect();
    if !x.is_empty() {
        s.push_str(&format!("X-Status: {x}\n"));
    }
    let kws: Vec<&str> = r
        .flags
        .iter()
        .filter_map(|f| match f {
            Flag::Keyword(k) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    if !kws.is_empty() {
        s.push_str(&format!("X-Keywords: {}\n", kws.join(" ")));
    }
    s.push_str(&format!("X-UID: {}\n", r.uid));
    s
}

/// Writes one message: its `From ` line, its header without state fields and with ours, its
/// body quoted (mboxrd), LF line ends, and the empty line that ends it.
pub(crate) fn write_message(
    input: &mut impl std::io::BufRead,
    r: &MessageRecord,
    base: Option<String>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        from_line::format("MAILER-DAEMON", r.internal_date)
    )?;
    let state = state_headers(r, base);
    let mut buf = Vec::new();
    let mut in_header = true;
    let mut at_line_start = true;
    let mut dropping = false;
    let mut ended_with_lf = true;
    loop {
        buf.clear();
        let piece = read_piece(input, &mut buf, MAX_PIECE)?;
        if piece == Piece::End {
            break;
        }
        if buf.ends_with(b"\r\n") {
            buf.truncate(buf.len() - 2);
            buf.push(b'\n');
        }
        if in_header && at_line_start {
            if buf == b"\n" {
                in_header = false;
                out.write_all(state.as_bytes())?;
            } else if !matches!(buf.first(), Some(b' ' | b'\t')) {
                let lower = buf
                    .iter()
                    .take(16)
                    .map(u8::to_ascii_lowercase)
                    .collect::<Vec<u8>>();
                dropping = STATE_FIELDS.iter().any(|f| lower.starts_with(f.as_bytes()));
            }
        }
        let skip = in_header && dropping;
        if !in_header && at_line_start {
            let gt = buf.iter().take_while(|&&b| b == b'>').count();
            if buf[gt..].starts_with(b"From ") {
                out.write_all(b">")?;
            }
        }
        if !skip {
            out.write_all(&buf)?;
        }
        at_line_start = piece == Piece::LineEnd;
        ended_with_lf = buf.ends_with(b"\n");
    }
    if in_header {
        if !ended_with_lf {
            out.write_all(b"\n")?;
        }
        out.write_all(state.as_bytes())?;
        out.write_all(b"\n")?;
    } else if !ended_with_lf {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mbox::reader::{MboxReader, Quoting};
    use mailstore::InternalDate;
    use types::{ModSeq, Uid};

    fn record(uid: u32, flags: Vec<Flag>) -> MessageRecord {
        MessageRecord {
            uid: Uid::new(uid).unwrap(),
            flags,
            internal_date: InternalDate {
                unix_seconds: 1_796_612_022,
                offset_minutes: 60,
            },
            save_date: 0,
            size: 0,
            modseq: ModSeq::MIN,
            guid: [0; 32],
            cache: None,
            header: None,
        }
    }

    #[test]
    fn a_written_message_reads_back_with_its_state_and_bytes() {
        let message =
            b"Subject: hi\r\nStatus: RO\r\nX-Keywords: old\r\n\r\nFrom here\r\n>From there\r\nend";
        let r = record(
            7,
            vec![Flag::Seen, Flag::Flagged, Flag::Keyword("$Label1".into())],
        );
        let mut out = Vec::new();
        write_message(
            &mut &message[..],
            &r,
            Some("X-IMAPbase: 5 0000000007 $Label1\n".into()),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.starts_with("From MAILER-DAEMON Mon Dec  7 03:53:42 2026 +0100\n"),
            "{text}"
        );
        assert!(
            text.contains("\n>From here\n>>From there\nend\n\n"),
            "{text}"
        );
        let mut reader = MboxReader::new(std::io::Cursor::new(out.as_slice()), Quoting::Mboxrd);
        let mut bytes = Vec::new();
        let m = reader.next_message(&mut bytes).unwrap().unwrap();
        assert_eq!(bytes, b"Subject: hi\n\nFrom here\n>From there\nend\n");
        assert_eq!(m.state.imapbase, Some((5, 7)));
        assert_eq!(m.state.uid, Some(7));
        assert!(m.state.seen && m.state.flagged && !m.state.answered);
        assert_eq!(m.state.keywords, ["$Label1"]);
        assert_eq!(from_line::parse_date(&m.from_line), Some(r.internal_date));
    }
}
