//! Scanning a message that is never held whole: [`StreamScan`] takes it in pieces of any size
//! and gives the [`MessageCache`] that [`crate::scan`] gives for the whole message, holding only
//! what the structure scan reads.
//!
//! The scan reads the bytes of header sections (fields, and the blank line ending them) and of
//! delimiter lines; of everything else it needs only where lines end and how many there are.
//! So while the message streams by, [`StreamScan`] keeps an *image* of it: header sections and
//! the lines that could be delimiters of a boundary already declared, whole, and each run of
//! other lines replaced by a one-line stand-in (`x` plus the run's own line end), remembering
//! the run's length and line count. The ordinary scanner runs on the image, and the part tree
//! is translated back into the message's offsets, sizes and line counts.
//!
//! Which lines to keep is decided as they arrive, conservatively: header sections start at the
//! top, after every kept delimiter line, and after a header section that mentions `rfc822`
//! (or any section once `digest` was seen, for multipart/digest's default); a body line is kept
//! when it is a delimiter line (RFC 2046 §5.1.1) of a boundary declared in a kept header
//! section — a multipart's header always precedes its body, so no later boundary can apply to
//! it — and only its first `boundary + 4` octets matter to the scan. Keeping more than needed is
//! harmless; nothing the scan reads is ever left out, so the result equals [`crate::scan`]'s
//! (a property test checks this on random messages cut in random pieces).
//!
//! Memory is bounded by [`STREAM_SCAN_BUDGET`]: past it (a message made of header sections or
//! delimiter lines), further structure is not recognised — no more fields, boundaries or nested
//! headers are kept, only the blank lines that end header sections — the way the scanner stops
//! at [`crate::MAX_PARTS`]. Boundaries longer than [`MAX_BOUNDARY`] octets (RFC 2046 allows 70)
//! end structure recognition the same way. The result then differs from [`crate::scan`]'s but
//! depends only on the message, never on how it was cut.

use std::collections::{BTreeSet, HashSet};

use crate::cache::MessageCache;
use crate::header;
use crate::params;
use crate::part::Part;
use crate::scan::{self, delimiter, DefaultType};

/// Octets of structure (kept header sections and delimiter lines, and bookkeeping of left-out
/// runs) one [`StreamScan`] holds at most.
pub const STREAM_SCAN_BUDGET: usize = 4 << 20;

/// Longest boundary recognised while streaming (RFC 5322's line limit; RFC 2046 says 70).
pub const MAX_BOUNDARY: usize = 998;

/// A run of the message left out of the image, replaced there by `x` and its last line end.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Where the stand-in starts in the image.
    img: usize,
    /// Octets of line end kept in the stand-in (2 CRLF, 1 LF, 0 none).
    ending: usize,
    /// Where the run ends in the message.
    orig_end: u64,
    /// Line ends in the run, minus those in the stand-in: summed over the runs before a point.
    extra_lines: u64,
}

impl Run {
    fn standin_len(&self) -> usize {
        1 + self.ending
    }
}

/// The run being accumulated.
#[derive(Debug)]
struct OpenRun {
    img: usize,
    lines: u64,
    /// The last two octets of the run, for its line end.
    tail: [u8; 2],
    len: u64,
}

/// What the current line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Its first octets are gathered in `head` until it can be classified.
    Undecided,
    /// A header line, kept; it started at this image offset.
    Header(usize),
    /// A body line kept for being a delimiter line; its tail past `need` is left out.
    Delimiter,
    /// Left out; `delimiter_tail` when it is the left-out tail of a kept delimiter line, or
    /// `header` when it is (the rest of) a header line left out past the budget.
    Dropped { delimiter_tail: bool, header: bool },
}

/// The streaming scanner (see the module documentation).
#[derive(Debug)]
pub struct StreamScan {
    image: Vec<u8>,
    runs: Vec<Run>,
    open: Option<OpenRun>,
    fed: u64,
    line: Line,
    head: Vec<u8>,
    in_header: bool,
    /// Image offset of the current header section's first kept octet.
    section: usize,
    section_after_delimiter: bool,
    nested_pending: bool,
    digest_seen: bool,
    boundaries: HashSet<Vec<u8>>,
    lengths: BTreeSet<usize>,
    overflow: bool,
}

/// What [`StreamScan::finish`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub cache: MessageCache,
    /// The top-level header section, through its blank line (the whole message if it has
    /// none); only a prefix of it when it did not fit the budget (`header_complete` false).
    pub header: Vec<u8>,
    pub header_complete: bool,
    /// False when structure past [`STREAM_SCAN_BUDGET`] or a boundary longer than
    /// [`MAX_BOUNDARY`] was not recognised.
    pub complete: bool,
}

impl Default for StreamScan {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamScan {
    pub fn new() -> StreamScan {
        StreamScan {
            // Room for a typical header section, so it is not grown a line at a time.
            image: Vec::with_capacity(4096),
            runs: Vec::new(),
            open: None,
            fed: 0,
            line: Line::Undecided,
            head: Vec::new(),
            in_header: true,
            section: 0,
            section_after_delimiter: false,
            nested_pending: false,
            digest_seen: false,
            boundaries: HashSet::new(),
            lengths: BTreeSet::new(),
            overflow: false,
        }
    }

    /// Takes the next octets of the message.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let skip = self.droppable(bytes);
            if skip > 0 {
                // Body lines that cannot be delimiters: left out in one go.
                self.drop_bytes(&bytes[..skip]);
                self.fed += skip as u64;
                self.line = match bytes[skip - 1] {
                    b'\n' => Line::Undecided,
                    _ => Line::Dropped {
                        delimiter_tail: false,
                        header: false,
                    },
                };
                bytes = &bytes[skip..];
                continue;
            }
            let lf = memchr::memchr(b'\n', bytes);
            let line_len = lf.map_or(bytes.len(), |i| i + 1);
            let used = self.take(&bytes[..line_len], lf.is_some());
            self.fed += used as u64;
            bytes = &bytes[used..];
        }
    }

    /// How many of `bytes` are sure to be left out without looking at them line by line: in a
    /// body, outside a header section, every line when no boundary is declared (or structure
    /// is no longer recognised), else every line up to the next one starting with `-` (only
    /// those can be delimiter lines). 0 when the next line must be classified.
    fn droppable(&self, bytes: &[u8]) -> usize {
        let plain_drop = match self.line {
            Line::Undecided => self.head.is_empty(),
            Line::Dropped {
                delimiter_tail,
                header,
            } => !delimiter_tail && !header,
            Line::Header(_) | Line::Delimiter => false,
        };
        if self.in_header || !plain_drop {
            return 0;
        }
        if self.overflow || self.boundaries.is_empty() {
            return bytes.len();
        }
        if self.line == Line::Undecided && bytes[0] == b'-' {
            return 0;
        }
        match memchr::memmem::find(bytes, b"\n-") {
            Some(at) => at + 1,
            None => bytes.len(),
        }
    }

    /// Ends the message and scans the image.
    pub fn finish(mut self) -> Scanned {
        if self.line == Line::Undecided && !self.head.is_empty() {
            let head = std::mem::take(&mut self.head);
            let kind = self.classify(&head, true).unwrap_or(Line::Dropped {
                delimiter_tail: false,
                header: false,
            });
            self.fed -= head.len() as u64;
            self.start_line(kind, &head);
            self.fed += head.len() as u64;
        }
        self.close_run();
        let image = std::mem::take(&mut self.image);
        let img_root = scan::entity(&image, 0, image.len(), 0, DefaultType::TextPlain);
        let root = self.translate(&img_root);
        let header_end = usize::try_from(img_root.header_len).unwrap_or(usize::MAX);
        let kept = self
            .runs
            .first()
            .map_or(header_end, |r| r.img.min(header_end));
        Scanned {
            cache: MessageCache::assemble(&image, &img_root, root, self.fed),
            header: image[..kept].to_vec(),
            header_complete: kept == header_end,
            complete: !self.overflow,
        }
    }

    /// Consumes a prefix of `piece`, which holds at most one line end, at its end when
    /// `ends_line`; returns how many octets it took.
    fn take(&mut self, piece: &[u8], ends_line: bool) -> usize {
        if self.line == Line::Undecided {
            let want = self.head_wanted().saturating_sub(self.head.len());
            let grab = piece.len().min(want.max(1));
            self.head.extend_from_slice(&piece[..grab]);
            let complete = ends_line && grab == piece.len();
            let mut head = std::mem::take(&mut self.head);
            match self.classify(&head, complete) {
                None => self.head = head,
                Some(kind) => {
                    // `fed` counts the head's octets only once they are placed.
                    self.fed -= (head.len() - grab) as u64;
                    self.start_line(kind, &head);
                    self.fed += (head.len() - grab) as u64;
                    // The buffer serves the next line (one allocation a scan, not a line).
                    head.clear();
                    self.head = head;
                    if complete {
                        self.end_line();
                    }
                }
            }
            return grab;
        }
        self.continue_line(piece);
        if ends_line {
            self.end_line();
        }
        piece.len()
    }

    /// Head octets needed to classify the current line.
    fn head_wanted(&self) -> usize {
        if self.in_header {
            2
        } else {
            // One more than `boundary + 4`, for a CR that must not end the head.
            self.lengths.last().map_or(2, |l| l + 5)
        }
    }

    /// What the line whose first octets are `head` is; `None` while more are needed.
    /// `complete`: `head` is the whole line.
    fn classify(&self, head: &[u8], complete: bool) -> Option<Line> {
        let dropped = |header| Line::Dropped {
            delimiter_tail: false,
            header,
        };
        if self.in_header {
            if !self.overflow {
                return Some(Line::Header(0));
            }
            return match head {
                b"\n" | b"\r\n" => Some(Line::Header(0)),
                b"\r" if !complete => None,
                _ => Some(dropped(true)),
            };
        }
        if self.overflow || self.boundaries.is_empty() {
            return Some(dropped(false));
        }
        if head.first().is_some_and(|&b| b != b'-') || head.get(1).is_some_and(|&b| b != b'-') {
            return Some(dropped(false));
        }
        // Never cut between a CR and its LF: the left-out tail keeps the line's own line end.
        if !complete && (head.len() < self.head_wanted() || head.ends_with(b"\r")) {
            return None;
        }
        Some(if self.is_delimiter(head) {
            Line::Delimiter
        } else {
            dropped(false)
        })
    }

    /// Whether `line` is a delimiter line of a declared boundary.
    fn is_delimiter(&self, line: &[u8]) -> bool {
        let Some(rest) = line.strip_prefix(b"--") else {
            return false;
        };
        self.lengths.iter().any(|&l| {
            rest.get(..l)
                .is_some_and(|b| self.boundaries.contains(b) && delimiter(line, b).is_some())
        })
    }

    /// Places the classified line's first octets.
    fn start_line(&mut self, kind: Line, head: &[u8]) {
        match kind {
            Line::Header(_) => {
                self.close_run();
                self.line = Line::Header(self.image.len());
                if self.overflow {
                    // Past the budget only blank lines are classified as header lines: they
                    // end header sections, and each costs two octets.
                    self.keep(head);
                } else {
                    self.continue_line(head);
                }
            }
            Line::Delimiter => {
                self.close_run();
                self.keep(head);
                self.line = Line::Dropped {
                    delimiter_tail: true,
                    header: false,
                };
            }
            Line::Dropped { .. } | Line::Undecided => {
                self.line = kind;
                self.drop_bytes(head);
            }
        }
    }

    /// Places more octets of the current (classified) line.
    fn continue_line(&mut self, bytes: &[u8]) {
        match self.line {
            Line::Header(_) if self.fits(bytes.len()) => self.keep(bytes),
            Line::Header(_) => {
                // Past the budget in the middle of a header line: the rest is left out.
                self.overflow = true;
                self.line = Line::Dropped {
                    delimiter_tail: false,
                    header: true,
                };
                self.drop_bytes(bytes);
            }
            Line::Delimiter | Line::Dropped { .. } | Line::Undecided => self.drop_bytes(bytes),
        }
    }

    /// The current line ended (its line end is placed).
    fn end_line(&mut self) {
        match std::mem::replace(&mut self.line, Line::Undecided) {
            Line::Header(start) => self.end_header_line(start),
            Line::Dropped {
                delimiter_tail: true,
                ..
            }
            | Line::Delimiter => self.start_section(),
            Line::Dropped { .. } | Line::Undecided => {}
        }
    }

    fn end_header_line(&mut self, start: usize) {
        let line = &self.image[start..];
        if line == b"\r\n" || line == b"\n" {
            self.end_section(start);
            return;
        }
        if contains_ci(line, b"rfc822") {
            self.nested_pending = true;
        }
        if contains_ci(line, b"digest") {
            self.digest_seen = true;
        }
        if !self.overflow && self.is_delimiter(line) {
            // A delimiter ends the part, and with it a header section without a blank line.
            self.learn_boundaries(start);
            self.start_section();
        }
    }

    /// A blank line at `blank` ended the current header section.
    fn end_section(&mut self, blank: usize) {
        self.learn_boundaries(blank);
        self.in_header = self.nested_pending || (self.digest_seen && self.section_after_delimiter);
        self.nested_pending = false;
        self.section_after_delimiter = false;
        self.section = self.image.len();
    }

    /// A delimiter line ended: a part's header section starts with the next line.
    fn start_section(&mut self) {
        self.in_header = true;
        self.section_after_delimiter = true;
        self.section = self.image.len();
    }

    /// Records the multipart boundaries declared in the section `self.section..end`.
    fn learn_boundaries(&mut self, end: usize) {
        if self.overflow {
            return;
        }
        let start = self.section.min(end);
        let mut found = Vec::new();
        for f in header::fields(&self.image[start..end]) {
            if !f.name.eq_ignore_ascii_case(b"content-type") {
                continue;
            }
            let Some(ct) = params::content_type(f.value) else {
                continue;
            };
            match ct.param("boundary") {
                Some(b) if ct.kind == "MULTIPART" && !b.is_empty() => found.push(b.to_vec()),
                _ => {}
            }
        }
        for b in found {
            if b.len() > MAX_BOUNDARY || !self.fits(b.len()) {
                self.overflow = true;
                return;
            }
            self.lengths.insert(b.len());
            self.boundaries.insert(b);
        }
    }

    fn fits(&self, more: usize) -> bool {
        let held = self.image.len()
            + self.runs.len() * std::mem::size_of::<Run>()
            + self.boundaries.iter().map(Vec::len).sum::<usize>();
        !self.overflow && held.saturating_add(more) <= STREAM_SCAN_BUDGET
    }

    fn keep(&mut self, bytes: &[u8]) {
        self.image.extend_from_slice(bytes);
    }

    fn drop_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let img = self.image.len();
        let run = self.open.get_or_insert(OpenRun {
            img,
            lines: 0,
            tail: [0; 2],
            len: 0,
        });
        run.len += bytes.len() as u64;
        run.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        run.tail = match bytes {
            [.., a, b] => [*a, *b],
            [b] => [run.tail[1], *b],
            [] => run.tail,
        };
    }

    /// Writes the stand-in of the open run, if any, and records the run.
    fn close_run(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let ending: &[u8] = match open.tail {
            [b'\r', b'\n'] if open.len >= 2 => b"\r\n",
            [_, b'\n'] => b"\n",
            _ => b"",
        };
        let standin_lines = u64::from(!ending.is_empty());
        let before = self.runs.last().map_or(0, |r| r.extra_lines);
        self.runs.push(Run {
            img: open.img,
            ending: ending.len(),
            orig_end: self.fed,
            extra_lines: before + open.lines - standin_lines,
        });
        self.image.push(b'x');
        self.image.extend_from_slice(ending);
    }

    /// The message offset of image offset `p`.
    fn position(&self, p: u64) -> u64 {
        let p = usize::try_from(p).unwrap_or(usize::MAX);
        let before = self.runs.partition_point(|r| r.img < p);
        let Some(r) = before.checked_sub(1).map(|i| self.runs[i]) else {
            return p as u64;
        };
        let standin_end = r.img + r.standin_len();
        if p >= standin_end {
            r.orig_end + (p - standin_end) as u64
        } else {
            // Inside the stand-in: its line end is the run's own last octets.
            r.orig_end - (standin_end - p) as u64
        }
    }

    /// Line ends left out of the image before image offset `p`.
    fn extra_lines(&self, p: u64) -> u64 {
        let p = usize::try_from(p).unwrap_or(usize::MAX);
        let before = self.runs.partition_point(|r| r.img < p);
        before
            .checked_sub(1)
            .map_or(0, |i| self.runs[i].extra_lines)
    }

    /// `part` (scanned in the image) in the message's coordinates.
    fn translate(&self, part: &Part) -> Part {
        let header_end = part.header_offset + part.header_len;
        let body_end = part.body_offset + part.body_len;
        let header_offset = self.position(part.header_offset);
        let body_offset = self.position(part.body_offset);
        Part {
            header_offset,
            header_len: self.position(header_end) - header_offset,
            body_offset,
            body_len: self.position(body_end) - body_offset,
            body_lines: part.body_lines + self.extra_lines(body_end)
                - self.extra_lines(part.body_offset),
            content_type: part.content_type.clone(),
            subtype: part.subtype.clone(),
            encoding: part.encoding.clone(),
            charset: part.charset.clone(),
            children: part.children.iter().map(|c| self.translate(c)).collect(),
            message: part.message.as_deref().map(|m| Box::new(self.translate(m))),
        }
    }
}

/// Case-insensitive substring search.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
