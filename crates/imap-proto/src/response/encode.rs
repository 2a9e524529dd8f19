//! The response encoder: `Response` → bytes, CRLF included (RFC 9051 §7, §9 `response`).

use base64::Engine;

use super::{
    Continue, Data, ESearchItem, FetchItem, ListExtItem, ListItem, MailboxAttr, NamespaceDesc,
    Response, StatusKind, StatusResponse, Vanished,
};
use crate::command::{Addressing, Mailbox};
use crate::limits::MailboxEncoding;
use crate::mutf7;
use crate::wire::{self, LiteralStyle, TextMode};

impl Response {
    /// Appends the response's bytes to `out`. `encoding` says whether mailbox names go out in
    /// modified UTF-7 or UTF-8, and whether quoted strings may hold UTF-8 (IMAP4rev2 /
    /// UTF8=ACCEPT).
    pub fn encode(&self, out: &mut Vec<u8>, encoding: MailboxEncoding) {
        let enc = Enc { encoding };
        match self {
            Response::Status(status) => enc.status(out, status),
            Response::Continue(cont) => enc.continue_req(out, cont),
            Response::Data(data) => enc.data(out, data),
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The response as a new byte vector.
    pub fn to_bytes(&self, encoding: MailboxEncoding) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out, encoding);
        out
    }
}

pub(super) struct Enc {
    encoding: MailboxEncoding,
}

impl Enc {
    pub(super) fn mode(&self) -> TextMode {
        match self.encoding {
            MailboxEncoding::ModifiedUtf7 => TextMode::Ascii,
            MailboxEncoding::Utf8 => TextMode::Utf8,
        }
    }

    pub(super) fn put(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(text.as_bytes());
    }

    fn string(&self, out: &mut Vec<u8>, s: &str) {
        wire::write_string(out, s.as_bytes(), self.mode(), LiteralStyle::Sync);
    }

    pub(super) fn astring(&self, out: &mut Vec<u8>, s: &str) {
        wire::write_astring(out, s.as_bytes(), self.mode(), LiteralStyle::Sync);
    }

    /// `mailbox = "INBOX" / astring`, modified UTF-7 unless UTF-8 is on.
    pub(super) fn mailbox(&self, out: &mut Vec<u8>, mailbox: &Mailbox) {
        match (mailbox, self.encoding) {
            (Mailbox::Inbox, _) => Self::put(out, "INBOX"),
            (Mailbox::Other(name), MailboxEncoding::ModifiedUtf7) => {
                self.astring(out, &mutf7::encode(name));
            }
            (Mailbox::Other(name), MailboxEncoding::Utf8) => self.astring(out, name),
        }
    }

    fn status(&self, out: &mut Vec<u8>, status: &StatusResponse) {
        let (word, fallback) = match status.kind {
            StatusKind::Ok => ("OK", "completed"),
            StatusKind::No => ("NO", "failed"),
            StatusKind::Bad => ("BAD", "error"),
            StatusKind::PreAuth => ("PREAUTH", "logged in"),
            StatusKind::Bye => ("BYE", "closing"),
        };
        let tag = match (&status.tag, status.kind) {
            (Some(tag), StatusKind::Ok | StatusKind::No | StatusKind::Bad) => tag.as_str(),
            (Some(_) | None, _) => "*",
        };
        Self::put(out, tag);
        out.push(b' ');
        Self::put(out, word);
        out.push(b' ');
        self.resp_text(out, status.code.as_ref(), &status.text, fallback);
    }

    /// `resp-text = ["[" resp-text-code "]" SP] text`
    fn resp_text(&self, out: &mut Vec<u8>, code: Option<&super::Code>, text: &str, fallback: &str) {
        if let Some(code) = code {
            code.encode(out, self.mode());
            out.push(b' ');
        }
        wire::write_text(
            out,
            if text.is_empty() { fallback } else { text },
            self.mode(),
        );
    }

    fn continue_req(&self, out: &mut Vec<u8>, cont: &Continue) {
        out.extend_from_slice(b"+ ");
        match cont {
            Continue::Text { code, text } => self.resp_text(out, code.as_ref(), text, "ready"),
            Continue::Base64(data) => {
                let text = base64::engine::general_purpose::STANDARD.encode(data);
                Self::put(out, &text);
            }
        }
    }

    fn data(&self, out: &mut Vec<u8>, data: &Data) {
        out.extend_from_slice(b"* ");
        match data {
            Data::Capability(caps) => words(out, "CAPABILITY", caps),
            Data::Enabled(caps) => words(out, "ENABLED", caps),
            Data::List(item) => self.list(out, "LIST", item),
            Data::Lsub(item) => self.list(out, "LSUB", item),
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                Self::put(out, "NAMESPACE");
                for ns in [personal, other, shared] {
                    out.push(b' ');
                    self.namespace(out, ns.as_deref());
                }
            }
            Data::Status { mailbox, items } => {
                Self::put(out, "STATUS ");
                self.mailbox(out, mailbox);
                let items: Vec<String> = items
                    .iter()
                    .map(|(item, n)| format!("{} {n}", item.name()))
                    .collect();
                Self::put(out, &format!(" ({})", items.join(" ")));
            }
            Data::Search { numbers, mod_seq } => search(out, "SEARCH", numbers, mod_seq.as_ref()),
            Data::Sort { numbers, mod_seq } => search(out, "SORT", numbers, mod_seq.as_ref()),
            Data::Thread(threads) => {
                Self::put(out, "THREAD");
                if !threads.is_empty() {
                    out.push(b' ');
                }
                threads
                    .iter()
                    .for_each(|t| super::thread::write_thread(out, t));
            }
            Data::ESearch {
                tag,
                addressing,
                items,
            } => {
                self.esearch(out, tag.as_ref(), *addressing, items);
            }
            Data::Flags(flags) => {
                let names: Vec<&str> = flags.iter().map(types::Flag::as_str).collect();
                Self::put(out, &format!("FLAGS ({})", names.join(" ")));
            }
            Data::Exists(n) => Self::put(out, &format!("{n} EXISTS")),
            Data::Recent(n) => Self::put(out, &format!("{n} RECENT")),
            Data::Expunge(n) => Self::put(out, &format!("{n} EXPUNGE")),
            Data::Fetch { seq, items } => self.fetch(out, *seq, items),
            Data::Id(params) => self.id(out, params.as_deref()),
            Data::Vanished {
                mode: Vanished::Now,
                uids,
            } => Self::put(out, &format!("VANISHED {uids}")),
            Data::Vanished {
                mode: Vanished::Earlier,
                uids,
            } => {
                Self::put(out, &format!("VANISHED (EARLIER) {uids}"));
            }
            Data::Acl { mailbox, entries } => self.acl(out, mailbox, entries),
            Data::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            } => {
                self.named_mailbox(out, "LISTRIGHTS ", mailbox);
                let rights = std::iter::once(required).chain(optional);
                self.astrings(out, std::iter::once(identifier).chain(rights));
            }
            Data::MyRights { mailbox, rights } => {
                self.named_mailbox(out, "MYRIGHTS ", mailbox);
                self.astrings(out, [rights]);
            }
            Data::Quota { root, resources } => self.quota(out, root, resources),
            Data::QuotaRoot { mailbox, roots } => {
                self.named_mailbox(out, "QUOTAROOT ", mailbox);
                self.astrings(out, roots);
            }
            Data::Metadata { mailbox, entries } => self.metadata(out, mailbox, entries),
            Data::MetadataChanged { mailbox, entries } => {
                self.named_mailbox(out, "METADATA ", mailbox);
                self.astrings(out, entries);
            }
        }
    }

    /// `"FETCH" SP "(" msg-att ")"` after the sequence number (a server that streams message
    /// data writes the same bytes with [`super::FetchWriter`]).
    fn fetch(&self, out: &mut Vec<u8>, seq: u32, items: &[FetchItem]) {
        Self::put(out, &format!("{seq} FETCH ("));
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            item.encode(out, self.mode());
        }
        out.push(b')');
    }

    /// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
    /// [SP mbox-list-extended]`
    fn list(&self, out: &mut Vec<u8>, name: &str, item: &ListItem) {
        let attrs: Vec<&str> = item.attributes.iter().map(attr_name).collect();
        Self::put(out, &format!("{name} ({}) ", attrs.join(" ")));
        delimiter(out, item.delimiter);
        out.push(b' ');
        self.mailbox(out, &item.mailbox);
        if item.extended.is_empty() {
            return;
        }
        out.extend_from_slice(b" (");
        for (i, ext) in item.extended.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            match ext {
                ListExtItem::ChildInfo(opts) => {
                    out.extend_from_slice(b"\"CHILDINFO\" (");
                    for (j, opt) in opts.iter().enumerate() {
                        if j > 0 {
                            out.push(b' ');
                        }
                        self.string(out, opt);
                    }
                    out.push(b')');
                }
                ListExtItem::OldName(old) => {
                    out.extend_from_slice(b"\"OLDNAME\" (");
                    self.mailbox(out, old);
                    out.push(b')');
                }
            }
        }
        out.push(b')');
    }

    fn namespace(&self, out: &mut Vec<u8>, descs: Option<&[NamespaceDesc]>) {
        let Some(descs) = descs else {
            return Self::put(out, "NIL");
        };
        out.push(b'(');
        for desc in descs {
            out.push(b'(');
            let prefix = match self.encoding {
                MailboxEncoding::ModifiedUtf7 => mutf7::encode(&desc.prefix),
                MailboxEncoding::Utf8 => desc.prefix.clone(),
            };
            self.string(out, &prefix);
            out.push(b' ');
            delimiter(out, desc.delimiter);
            out.push(b')');
        }
        out.push(b')');
    }

    /// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
    fn esearch(
        &self,
        out: &mut Vec<u8>,
        tag: Option<&crate::Tag>,
        addressing: Addressing,
        items: &[ESearchItem],
    ) {
        Self::put(out, "ESEARCH");
        if let Some(tag) = tag {
            out.extend_from_slice(b" (TAG ");
            self.string(out, tag.as_str());
            out.push(b')');
        }
        if addressing == Addressing::Uid {
            Self::put(out, " UID");
        }
        for item in items {
            let text = match item {
                ESearchItem::Min(n) => format!(" MIN {n}"),
                ESearchItem::Max(n) => format!(" MAX {n}"),
                ESearchItem::All(set) => format!(" ALL {set}"),
                ESearchItem::Count(n) => format!(" COUNT {n}"),
                ESearchItem::ModSeq(m) => format!(" MODSEQ {m}"),
            };
            Self::put(out, &text);
        }
    }

    /// `id-response = "ID" SP id-params-list` (RFC 2971)
    fn id(&self, out: &mut Vec<u8>, params: Option<&[(String, Option<String>)]>) {
        Self::put(out, "ID ");
        let Some(params) = params.filter(|p| !p.is_empty()) else {
            return Self::put(out, "NIL");
        };
        out.push(b'(');
        for (i, (key, value)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.string(out, key);
            out.push(b' ');
            wire::write_nstring(out, value.as_deref().map(str::as_bytes), self.mode());
        }
        out.push(b')');
    }
}

/// `"SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]` (RFC 7162 §7), and
/// the same shape for `SORT` (RFC 5256 §5).
fn search(out: &mut Vec<u8>, name: &str, numbers: &[u32], mod_seq: Option<&types::ModSeq>) {
    out.extend_from_slice(name.as_bytes());
    for n in numbers {
        out.extend_from_slice(format!(" {n}").as_bytes());
    }
    if let Some(m) = mod_seq {
        out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
    }
}

fn words(out: &mut Vec<u8>, name: &str, words: &[String]) {
    out.extend_from_slice(name.as_bytes());
    for w in words {
        out.push(b' ');
        out.extend_from_slice(w.as_bytes());
    }
}

/// `DQUOTE QUOTED-CHAR DQUOTE / nil`
fn delimiter(out: &mut Vec<u8>, delim: Option<char>) {
    match delim {
        None => out.extend_from_slice(b"NIL"),
        Some(c @ ('"' | '\\')) => out.extend_from_slice(format!("\"\\{c}\"").as_bytes()),
        Some(c) => out.extend_from_slice(format!("\"{c}\"").as_bytes()),
    }
}

fn attr_name(attr: &MailboxAttr) -> &str {
    match attr {
        MailboxAttr::NoInferiors => "\\Noinferiors",
        MailboxAttr::NoSelect => "\\Noselect",
        MailboxAttr::Marked => "\\Marked",
        MailboxAttr::Unmarked => "\\Unmarked",
        MailboxAttr::HasChildren => "\\HasChildren",
        MailboxAttr::HasNoChildren => "\\HasNoChildren",
        MailboxAttr::NonExistent => "\\NonExistent",
        MailboxAttr::Subscribed => "\\Subscribed",
        MailboxAttr::Remote => "\\Remote",
        MailboxAttr::All => "\\All",
        MailboxAttr::Archive => "\\Archive",
        MailboxAttr::Drafts => "\\Drafts",
        MailboxAttr::Flagged => "\\Flagged",
        MailboxAttr::Junk => "\\Junk",
        MailboxAttr::Sent => "\\Sent",
        MailboxAttr::Trash => "\\Trash",
        MailboxAttr::Other(name) => name,
    }
}
