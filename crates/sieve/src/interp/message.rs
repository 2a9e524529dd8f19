//! The message as the tests see it: header fields (unfolded, RFC 2047-decoded), the addresses
//! of address fields, MIME parts and body text (`body`, RFC 5173), dates (RFC 5260), and the
//! header edits of `editheader` (RFC 5293), which later tests see.
//!
//! The reading itself is the `message` crate's, the same IMAP's ENVELOPE and SEARCH use:
//! header fields and unfolding, address lists, the MIME tree, transfer decoding and charset
//! conversion. Here the header is kept as an editable list of fields; the body is read from
//! the original bytes, parsed once on first use.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Most text `body` hands back for one test, in bytes, all parts together (8 MiB): longer
/// bodies are cut (on a character boundary), so that a test costs bounded memory and time.
pub const MAX_BODY_TEXT: usize = 8 << 20;

/// Longest encoded word `addheader` writes (RFC 2047 §2: at most 75 characters).
const MAX_ENCODED_WORD_INPUT: usize = 45;

/// `body`'s transform (RFC 5173 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    Raw,
    /// `:content` with its content-type prefixes.
    Content(Vec<String>),
    Text,
}

/// One header field as stored: its name as written and its raw value after the colon (still
/// folded, without the final line end).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderField {
    name: String,
    value: Vec<u8>,
}

/// One message, parsed once for every test of an execution.
#[derive(Debug, Clone)]
pub struct MessageView {
    /// The bytes handed to [`MessageView::new`].
    raw: Vec<u8>,
    size: u64,
    /// Length of the original header block, blank line included.
    header_len: usize,
    /// The header fields in order, with the edits applied.
    fields: Vec<HeaderField>,
    /// Whether `addheader`/`deleteheader` changed the fields.
    edited: bool,
    /// The MIME structure, scanned on the first `body` test.
    structure: OnceLock<message::Part>,
    /// The texts of the transforms `body` tests asked for so far (at most
    /// [`MAX_CACHED_BODIES`]): a script of many `body` tests decodes the message once.
    bodies: std::cell::RefCell<Vec<(BodyTransform, Arc<[String]>)>>,
    /// The decoded values ([`MessageView::header_values`]) and the addresses
    /// ([`MessageView::addresses`]) of the field names asked so far, by lower-cased name (at
    /// most [`MAX_CACHED_FIELDS`] each): a script testing `Subject` twenty times decodes it
    /// once. Emptied when `editheader` changes the fields.
    values: ByName,
    addresses: ByName,
}

/// Texts remembered per lower-cased field name.
type ByName = std::cell::RefCell<Vec<(String, Arc<[String]>)>>;

/// Field names whose values (and, apart, whose addresses) one [`MessageView`] keeps.
const MAX_CACHED_FIELDS: usize = 32;

/// The entry of `name` in a per-name cache, or `compute`'s answer, remembered while there is
/// room.
fn cached_by_name(
    cache: &ByName,
    name: &str,
    compute: impl FnOnce() -> Vec<String>,
) -> Arc<[String]> {
    if let Some((_, v)) = cache
        .borrow()
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return v.clone();
    }
    let values: Arc<[String]> = compute().into();
    let mut cache = cache.borrow_mut();
    if cache.len() < MAX_CACHED_FIELDS {
        cache.push((name.to_ascii_lowercase(), values.clone()));
    }
    values
}

/// Body transforms whose texts one [`MessageView`] keeps.
const MAX_CACHED_BODIES: usize = 8;

impl MessageView {
    /// `raw`: the whole message, or its header alone when the script does not read the body
    /// (then `body` tests see no text); `size`: the size of the whole message (`size` test).
    pub fn new(raw: &[u8], size: u64) -> MessageView {
        MessageView::from_bytes(raw.to_vec(), size)
    }

    /// [`MessageView::new`] taking the bytes over (a message just read from its file is not
    /// copied again).
    pub fn from_bytes(raw: Vec<u8>, size: u64) -> MessageView {
        let header_len = message::header_len(&raw);
        let fields = message::header_fields(raw.get(..header_len).unwrap_or(&raw))
            .into_iter()
            .map(|f| HeaderField {
                name: String::from_utf8_lossy(f.name).into_owned(),
                value: f.value.to_vec(),
            })
            .collect();
        MessageView {
            raw,
            size,
            header_len,
            fields,
            edited: false,
            structure: OnceLock::new(),
            bodies: std::cell::RefCell::new(Vec::new()),
            values: std::cell::RefCell::new(Vec::new()),
            addresses: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The bytes handed to [`MessageView::new`] (the whole message, or its header alone), as
    /// they came: `editheader`'s changes are not in them.
    pub fn bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The size of the whole message in octets (`size` test, RFC 5228 §5.9).
    pub fn size(&self) -> u64 {
        self.size
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HeaderField> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// The values of every field `name` (any case), in order: unfolded, RFC 2047 words
    /// decoded, leading and trailing whitespace removed (RFC 5228 §5.7).
    pub fn header_values(&self, name: &str) -> Arc<[String]> {
        cached_by_name(&self.values, name, || {
            self.named(name).map(|f| decoded(&f.value)).collect()
        })
    }

    /// The same, not decoded (`editheader`'s `deleteheader` and `:raw` uses).
    pub fn header_raw_values(&self, name: &str) -> Vec<String> {
        self.named(name)
            .map(|f| {
                String::from_utf8_lossy(&message::unfold(&f.value))
                    .trim()
                    .to_owned()
            })
            .collect()
    }

    /// The addresses (`local@domain`) of every field `name`, in order, group names left out
    /// (RFC 5228 §5.1); a value that is no address list yields itself, whole.
    ///
    /// An address without a domain yields its local part alone. A value counts as no address
    /// list when it holds neither an address with a domain nor a group (`hello world`,
    /// an empty field): then it yields its decoded value.
    pub fn addresses(&self, name: &str) -> Arc<[String]> {
        cached_by_name(&self.addresses, name, || self.addresses_uncached(name))
    }

    fn addresses_uncached(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for field in self.named(name) {
            let list = message::parse_address_list(&message::unfold(&field.value));
            let is_list = list.iter().any(|a| {
                a.host
                    .as_deref()
                    .is_none_or(|h| h != message::MISSING_DOMAIN)
            });
            if !is_list {
                out.push(decoded(&field.value));
                continue;
            }
            for address in list {
                let (Some(local), Some(host)) = (address.mailbox, address.host) else {
                    continue; // a group start or end marker
                };
                let mut text = String::from_utf8_lossy(&local).into_owned();
                if host != message::MISSING_DOMAIN {
                    text.push('@');
                    text.push_str(&String::from_utf8_lossy(&host));
                }
                out.push(text);
            }
        }
        out
    }

    /// Whether the body was handed over (see [`MessageView::new`]).
    fn has_body(&self) -> bool {
        u64::try_from(self.raw.len()).is_ok_and(|len| len >= self.size)
    }

    /// The texts a `body` test matches against under `transform`, at most [`MAX_BODY_TEXT`]
    /// bytes in all; none when only the header was handed over.
    ///
    /// - `:raw`: the body after the header, undecoded (RFC 5173 §5.1).
    /// - `:content` (RFC 5173 §5.2): every leaf part whose type matches one of the prefixes
    ///   (`""` matches every type, `text` any `text/*`, `text/plain` that type alone; case does
    ///   not matter), transfer-decoded and, for `text/*`, converted from its charset to UTF-8;
    ///   a `message/rfc822` part that matches gives its embedded header, and its parts are
    ///   looked at in turn; a multipart that matches gives its prologue and its epilogue.
    /// - `:text`: `:content "text"`.
    pub fn body(&self, transform: &BodyTransform) -> Arc<[String]> {
        if let Some((_, texts)) = self.bodies.borrow().iter().find(|(t, _)| t == transform) {
            return texts.clone();
        }
        let texts: Arc<[String]> = self.body_texts(transform).into();
        let mut cache = self.bodies.borrow_mut();
        if cache.len() < MAX_CACHED_BODIES {
            cache.push((transform.clone(), texts.clone()));
        }
        texts
    }

    fn body_texts(&self, transform: &BodyTransform) -> Vec<String> {
        if !self.has_body() {
            return Vec::new();
        }
        let mut budget = MAX_BODY_TEXT;
        match transform {
            BodyTransform::Raw => {
                let body = self.raw.get(self.header_len..).unwrap_or_default();
                vec![bounded_text(body, &mut budget)]
            }
            BodyTransform::Content(types) => self.parts_text(types, &mut budget),
            BodyTransform::Text => self.parts_text(&["text".to_owned()], &mut budget),
        }
    }

    fn parts_text(&self, types: &[String], budget: &mut usize) -> Vec<String> {
        let root = self.structure.get_or_init(|| message::structure(&self.raw));
        let mut out = Vec::new();
        self.collect_parts(root, types, budget, &mut out);
        out
    }

    fn collect_parts(
        &self,
        part: &message::Part,
        types: &[String],
        budget: &mut usize,
        out: &mut Vec<String>,
    ) {
        if *budget == 0 {
            return;
        }
        let wanted = types.iter().any(|t| type_matches(t, part));
        if let Some(inner) = part.message.as_deref() {
            if wanted {
                let header = span(&self.raw, inner.header_offset, inner.header_len);
                out.push(bounded_text(header, budget));
            }
            self.collect_parts(inner, types, budget, out);
        } else if part.is_multipart() {
            if wanted {
                let (prologue, epilogue) = self.prologue_epilogue(part);
                out.push(bounded_text(prologue, budget));
                out.push(bounded_text(epilogue, budget));
            }
            for child in &part.children {
                self.collect_parts(child, types, budget, out);
            }
        } else if wanted {
            let stored = span(&self.raw, part.body_offset, part.body_len);
            // Identity encodings need no decoding: the stored bytes are the content.
            let bytes: Cow<'_, [u8]> = match part.encoding {
                message::TransferEncoding::Base64 | message::TransferEncoding::QuotedPrintable => {
                    message::decode_body(&self.raw, part).map_or(Cow::Borrowed(stored), Cow::Owned)
                }
                _ => Cow::Borrowed(stored),
            };
            let text = if part.content_type == "TEXT" {
                message::text_in_charset(&bytes, part.charset.as_deref())
            } else {
                String::from_utf8_lossy(&bytes)
            };
            out.push(bounded_str(text, budget));
        }
    }

    /// The text of a multipart before its first delimiter line and after its closing one
    /// (RFC 2046 §5.1.1: the line end before a delimiter belongs to the delimiter).
    fn prologue_epilogue(&self, part: &message::Part) -> (&[u8], &[u8]) {
        let body_end = part.body_offset.saturating_add(part.body_len);
        let (Some(first), Some(last)) = (part.children.first(), part.children.last()) else {
            return (&[], &[]);
        };
        let before = span(
            &self.raw,
            part.body_offset,
            first.header_offset.saturating_sub(part.body_offset),
        );
        // Drop the delimiter line, then the line end before it.
        let cut = before
            .strip_suffix(b"\n")
            .unwrap_or(before)
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let prologue = before.get(..cut).unwrap_or_default();
        let prologue = prologue.strip_suffix(b"\n").unwrap_or(prologue);
        let prologue = prologue.strip_suffix(b"\r").unwrap_or(prologue);
        let last_end = last.body_offset.saturating_add(last.body_len);
        let after = span(&self.raw, last_end, body_end.saturating_sub(last_end));
        // Skip the line end that belongs to the closing delimiter, then the delimiter line.
        let after = after.strip_prefix(b"\r").unwrap_or(after);
        let after = after.strip_prefix(b"\n").unwrap_or(after);
        let epilogue = after
            .iter()
            .position(|&b| b == b'\n')
            .and_then(|i| after.get(i + 1..))
            .unwrap_or_default();
        (prologue, epilogue)
    }

    /// `addheader` (RFC 5293 §4): adds `name: value` first, or last with `last`.
    ///
    /// A value with non-ASCII characters is written as RFC 2047 encoded words (UTF-8, base64),
    /// folded between words; CR and LF in the value become spaces, so that a value can never
    /// start another field.
    pub fn add_header(&mut self, name: &str, value: &str, last: bool) {
        let field = HeaderField {
            name: name.to_owned(),
            value: encode_value(value).into_bytes(),
        };
        if last {
            self.fields.push(field);
        } else {
            self.fields.insert(0, field);
        }
        self.fields_changed();
    }

    /// `deleteheader` (RFC 5293 §5): removes the fields `name` whose (decoded) value `keep`
    /// does not protect — `delete(value)` says whether to delete; with `index`, only the
    /// index-th field (1-based; from the end with `last`). Returns how many were removed.
    pub fn delete_header(
        &mut self,
        name: &str,
        index: Option<(usize, bool)>,
        delete: &mut dyn FnMut(&str) -> bool,
    ) -> usize {
        let positions: Vec<usize> = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name.eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
            .collect();
        let candidates: Vec<usize> = match index {
            None => positions,
            Some((n, from_end)) => {
                let chosen = match (n.checked_sub(1), from_end) {
                    (None, _) => None,
                    (Some(k), false) => positions.get(k),
                    (Some(k), true) => positions.iter().rev().nth(k),
                };
                chosen.copied().into_iter().collect()
            }
        };
        let doomed: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| {
                self.fields
                    .get(i)
                    .is_some_and(|f| delete(&decoded(&f.value)))
            })
            .collect();
        for &i in doomed.iter().rev() {
            self.fields.remove(i);
        }
        if !doomed.is_empty() {
            self.fields_changed();
        }
        doomed.len()
    }

    /// Marks the header edited and forgets what was read from the fields before.
    fn fields_changed(&mut self) {
        self.edited = true;
        self.values.get_mut().clear();
        self.addresses.get_mut().clear();
    }

    /// The header block (fields and the blank line) as edited, `None` when never edited. Every
    /// line ends in CRLF; untouched fields keep their folding.
    pub fn edited_header(&self) -> Option<Arc<[u8]>> {
        if !self.edited {
            return None;
        }
        let mut out = Vec::with_capacity(self.header_len + 64);
        for field in &self.fields {
            out.extend_from_slice(field.name.as_bytes());
            out.push(b':');
            out.extend_from_slice(&normalise_line_ends(&field.value));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Some(Arc::from(out))
    }
}

/// A field value unfolded, RFC 2047-decoded and trimmed.
fn decoded(value: &[u8]) -> String {
    message::decode_header_value(&message::unfold(value))
        .trim()
        .to_owned()
}

/// The bytes `offset .. offset + len` of `raw`, cut to what `raw` holds.
fn span(raw: &[u8], offset: u64, len: u64) -> &[u8] {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(raw.len());
    let end = start
        .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
        .min(raw.len());
    raw.get(start..end).unwrap_or_default()
}

/// `bytes` as text (lossy UTF-8), cut to the remaining `budget`, which it uses up.
/// [`bounded_text`] of text already decoded, without copying it again when it fits.
fn bounded_str(text: Cow<'_, str>, budget: &mut usize) -> String {
    if text.len() > *budget {
        return bounded_text(text.as_bytes(), budget);
    }
    *budget -= text.len();
    text.into_owned()
}

fn bounded_text(bytes: &[u8], budget: &mut usize) -> String {
    let take = bytes.len().min(*budget);
    let mut text = String::from_utf8_lossy(bytes.get(..take).unwrap_or_default()).into_owned();
    if text.len() > *budget {
        let mut cut = *budget;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    *budget -= text.len().min(*budget);
    text
}

/// RFC 5173 §5.2 content-type prefix: `""` matches all, `type` any subtype of it,
/// `type/subtype` exactly that (case-insensitive).
fn type_matches(prefix: &str, part: &message::Part) -> bool {
    match prefix.split_once('/') {
        _ if prefix.is_empty() => true,
        None => prefix.eq_ignore_ascii_case(&part.content_type),
        Some((kind, subtype)) => {
            kind.eq_ignore_ascii_case(&part.content_type)
                && subtype.eq_ignore_ascii_case(&part.subtype)
        }
    }
}

/// Rewrites bare LF (and CR LF) inside a folded value as CRLF.
fn normalise_line_ends(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for (i, &b) in value.iter().enumerate() {
        if b == b'\n' && (i == 0 || value.get(i - 1) != Some(&b'\r')) {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The raw value `addheader` stores for `value`: a leading space, then the value as is when
/// it is ASCII, else RFC 2047 `=?UTF-8?B?…?=` words of at most 75 characters folded apart.
fn encode_value(value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    if clean.is_ascii() {
        return format!(" {clean}");
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > MAX_ENCODED_WORD_INPUT {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    format!(" {}", words.join("\r\n "))
}

/// RFC 4648 §4 base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |n: u32| char::from(ALPHABET[(n & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(if group.len() > 1 { symbol(n >> 6) } else { '=' });
        out.push(if group.len() > 2 { symbol(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_make_a_view_that_answers(raw in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), Just(b' '), Just(b'-'),
                Just(b'<'), Just(b'@'), any::<u8>()], 0..300)) {
            let mut v = MessageView::new(&raw, raw.len() as u64);
            let _ = v.header_values("to");
            let _ = v.addresses("to");
            let _ = v.body(&BodyTransform::Raw);
            let _ = v.body(&BodyTransform::Content(vec![String::new()]));
            let _ = v.body(&BodyTransform::Text);
            v.add_header("X-A", "é", false);
            let _ = v.delete_header("to", Some((1, true)), &mut |_| true);
            prop_assert!(v.edited_header().is_some());
        }
    }

    const MESSAGE: &[u8] = b"From: \"Coyote\" <coyote@desert.example>\r\n\
To: roadrunner@acme.example, Team: a@b.example, c@d.example;,\r\n\
\x20<ken+sieve@example.org>\r\n\
Subject: =?iso-8859-1?Q?caf=E9?=\r\n\
\x20time\r\n\
X-Bogus: hello world\r\n\
Cc:\r\n\
Date: Wed, 12 Aug 2009 14:08:30 -0700\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
prologue\r\n\
--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
d=E9j=E0 vu\r\n\
--b\r\n\
Content-Type: text/html\r\n\
\r\n\
<p>hi</p>\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
aGVsbG8=\r\n\
--b\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner\r\n\
\r\n\
inner body\r\n\
--b--\r\n\
epilogue\r\n";

    fn view() -> MessageView {
        MessageView::new(MESSAGE, MESSAGE.len() as u64)
    }

    #[test]
    fn header_values_are_unfolded_decoded_and_trimmed() {
        let v = view();
        assert_eq!(*v.header_values("subject"), vec!["café time"]);
        assert_eq!(
            v.header_raw_values("SUBJECT"),
            vec!["=?iso-8859-1?Q?caf=E9?= time"]
        );
        assert_eq!(*v.header_values("cc"), vec![""]);
        assert!(v.header_values("x-none").is_empty());
        assert_eq!(v.size(), MESSAGE.len() as u64);
    }

    #[test]
    fn addresses_leave_group_names_out() {
        let v = view();
        assert_eq!(*v.addresses("from"), vec!["coyote@desert.example"]);
        assert_eq!(
            *v.addresses("to"),
            vec![
                "roadrunner@acme.example",
                "a@b.example",
                "c@d.example",
                "ken+sieve@example.org"
            ]
        );
        assert_eq!(*v.addresses("x-bogus"), vec!["hello world"]);
        assert_eq!(*v.addresses("cc"), vec![""]);
        let v = MessageView::new(b"To: undisclosed-recipients:;\r\nCc: root\r\n\r\n", 40);
        assert!(v.addresses("to").is_empty());
        assert_eq!(*v.addresses("cc"), vec!["root"]);
    }

    #[test]
    fn body_transforms_follow_rfc5173() {
        let v = view();
        let raw = v.body(&BodyTransform::Raw);
        assert_eq!(raw.len(), 1);
        assert!(raw[0].starts_with("prologue\r\n--b\r\n"));
        assert!(raw[0].contains("d=E9j=E0"));
        let text = v.body(&BodyTransform::Text);
        assert_eq!(text.to_vec(), vec!["déjà vu", "<p>hi</p>", "inner body"]);
        let plain = v.body(&BodyTransform::Content(vec!["TEXT/plain".into()]));
        assert_eq!(plain.to_vec(), vec!["déjà vu", "inner body"]);
        let app = v.body(&BodyTransform::Content(vec!["application".into()]));
        assert_eq!(app.to_vec(), vec!["hello"]);
        let msg = v.body(&BodyTransform::Content(vec!["message/rfc822".into()]));
        assert_eq!(msg.to_vec(), vec!["Subject: inner\r\n\r\n"]);
        let all = v.body(&BodyTransform::Content(vec![String::new()]));
        assert_eq!(all.len(), 7);
        let multi = v.body(&BodyTransform::Content(vec!["multipart".into()]));
        assert_eq!(multi.to_vec(), vec!["prologue", "epilogue\r\n"]);
        let header_only = MessageView::new(&MESSAGE[..200], MESSAGE.len() as u64);
        assert!(header_only.body(&BodyTransform::Text).is_empty());
        // Asked again, a transform's texts are the ones decoded the first time.
        let again = v.body(&BodyTransform::Text);
        assert!(Arc::ptr_eq(&again, &v.body(&BodyTransform::Text)));
        assert_eq!(again.to_vec(), vec!["déjà vu", "<p>hi</p>", "inner body"]);
    }

    #[test]
    fn body_text_is_bounded() {
        let mut big = b"Subject: big\r\n\r\n".to_vec();
        big.resize(MAX_BODY_TEXT + 1000, b'x');
        let v = MessageView::new(&big, big.len() as u64);
        let raw = v.body(&BodyTransform::Raw);
        assert_eq!(raw.iter().map(String::len).sum::<usize>(), MAX_BODY_TEXT);
        let mut budget = 3;
        assert_eq!(bounded_text("aé".as_bytes(), &mut budget), "aé");
        let mut budget = 2;
        assert_eq!(bounded_text("aé".as_bytes(), &mut budget), "a");
    }

    #[test]
    fn editheader_changes_are_seen_and_written() {
        let mut v = MessageView::new(
            b"Subject: a\nX-Spam: yes\nX-spam: no\nX-SPAM: maybe\n\nbody\n",
            60,
        );
        assert_eq!(v.edited_header(), None);
        // Read (and so remembered) before the edits: the edits must still be seen after.
        assert_eq!(*v.header_values("x-spam"), vec!["yes", "no", "maybe"]);
        assert!(v.header_values("x-note").is_empty());
        assert!(v.addresses("x-added").is_empty());
        v.add_header("X-Added", "first", false);
        assert_eq!(*v.addresses("x-added"), vec!["first"]);
        v.add_header("X-Note", "Grüße aus Köln", true);
        assert_eq!(*v.header_values("x-note"), vec!["Grüße aus Köln"]);
        assert!(v.header_raw_values("x-note")[0].starts_with("=?UTF-8?B?"));
        assert_eq!(v.delete_header("x-spam", Some((1, true)), &mut |_| true), 1);
        assert_eq!(*v.header_values("X-Spam"), vec!["yes", "no"]);
        assert_eq!(
            v.delete_header("x-spam", None, &mut |value| value == "yes"),
            1
        );
        assert_eq!(
            v.delete_header("x-spam", Some((5, false)), &mut |_| true),
            0
        );
        assert_eq!(
            v.delete_header("x-spam", Some((0, false)), &mut |_| true),
            0
        );
        let header = v.edited_header().unwrap_or_else(|| Arc::from(Vec::new()));
        let text = String::from_utf8_lossy(&header).into_owned();
        assert!(
            text.starts_with("X-Added: first\r\nSubject: a\r\nX-spam: no\r\nX-Note: =?UTF-8?B?")
        );
        assert!(text.ends_with("?=\r\n\r\n"));
        v.add_header("X-Inject", "a\r\nBcc: evil@example.org", true);
        assert!(v.header_values("bcc").is_empty());
    }

    #[test]
    fn long_non_ascii_values_fold_into_short_words() {
        let value = "é".repeat(100);
        let encoded = encode_value(&value);
        for line in encoded.split("\r\n") {
            assert!(line.len() <= 76, "{line}");
        }
        assert_eq!(decoded(encoded.as_bytes()), value);
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(base64(b"h"), "aA==");
    }
}
