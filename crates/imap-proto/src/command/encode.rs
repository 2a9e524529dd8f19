//! The command encoder: `TaggedCommand` → bytes, the inverse of the parser. Used by tests, the
//! benchmark driver and the admin client. Literals are written `{N+}` or `{N}` as asked; a
//! client using `{N}` must split the output after each `}\r\n` and wait for `+`.

use base64::Engine;

use super::{
    AppendData, Command, ExtComp, ExtValue, FetchAttr, FetchItems, FetchMacro, List,
    ListReturnOption, ListSelectOption, Mailbox, PeekMode, Section, SectionText, SelectParam,
    TaggedCommand,
};
use crate::framer::LiteralKind;
use crate::limits::MailboxEncoding;
use crate::mutf7;
use crate::wire::{self, is_list_char, LiteralStyle, TextMode};

/// Encoder state: how strings and mailbox names are written.
pub(super) struct Enc {
    pub encoding: MailboxEncoding,
    pub style: LiteralStyle,
}

impl TaggedCommand {
    /// Appends the command, CRLF included. APPEND messages held as [`AppendData::Spooled`] get
    /// only their literal header: the caller sends the bytes after it.
    pub fn encode(&self, out: &mut Vec<u8>, encoding: MailboxEncoding, style: LiteralStyle) {
        let enc = Enc { encoding, style };
        out.extend_from_slice(self.tag.as_str().as_bytes());
        out.push(b' ');
        enc.command(out, &self.command);
        out.extend_from_slice(b"\r\n");
    }

    /// The command for a server without LITERAL+: split after each `{N}` CRLF literal header.
    /// Send the first piece, wait for the server's `+` continuation, send the next, and so on.
    /// Commands holding [`AppendData::Spooled`] messages have no bytes to split: use
    /// [`TaggedCommand::encode`] and send each message after its header yourself.
    pub fn to_sync_segments(&self, encoding: MailboxEncoding) -> Vec<Vec<u8>> {
        let bytes = self.to_bytes(encoding, LiteralStyle::Sync);
        let starts = crate::parse::literal_starts(&bytes, encoding).unwrap_or_default();
        let mut segments = Vec::with_capacity(starts.len() + 1);
        let mut from = 0;
        for start in starts {
            segments.push(bytes[from..start].to_vec());
            from = start;
        }
        segments.push(bytes[from..].to_vec());
        segments
    }

    /// The command as a new byte vector.
    pub fn to_bytes(&self, encoding: MailboxEncoding, style: LiteralStyle) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out, encoding, style);
        out
    }
}

impl super::AppendMessage {
    /// What precedes the message's bytes in an APPEND command: `SP [flag-list SP]
    /// [date-time SP]` and the literal header, CRLF included (RFC 9051 §6.3.12, RFC 3502). A
    /// client that sends the bytes from elsewhere (a proxy streaming a spooled message) writes
    /// `tag APPEND mailbox`, then this and the bytes for each message, then CRLF; with
    /// [`LiteralStyle::Sync`] it waits for the server's `+` after each header.
    pub fn encode_header(&self, out: &mut Vec<u8>, style: LiteralStyle) {
        if !self.flags.is_empty() {
            let names: Vec<&str> = self.flags.iter().map(types::Flag::as_str).collect();
            Enc::put(out, &format!(" ({})", names.join(" ")));
        }
        if let Some(dt) = self.date_time {
            Enc::put(out, &format!(" \"{dt}\""));
        }
        out.push(b' ');
        let (kind, len) = match &self.data {
            AppendData::Spooled { len, kind, .. } => (*kind, *len),
            AppendData::Inline { data, kind } => (*kind, data.len() as u64),
        };
        if kind == LiteralKind::Literal8 {
            out.push(b'~');
        }
        let plus = if style == LiteralStyle::NonSync {
            "+"
        } else {
            ""
        };
        Enc::put(out, &format!("{{{len}{plus}}}\r\n"));
    }
}

/// Whether the command is written with the `UID` prefix.
fn uid_prefixed(command: &Command) -> bool {
    let addressing = match command {
        Command::Search(s) => s.addressing,
        Command::Sort(s) => s.addressing,
        Command::Thread(t) => t.addressing,
        Command::Fetch(f) => f.addressing,
        Command::Store(s) => s.addressing,
        Command::Copy { addressing, .. } | Command::Move { addressing, .. } => *addressing,
        _ => super::Addressing::Sequence,
    };
    addressing == super::Addressing::Uid
}

/// `" " auth-type [SP (base64 / "=")]`
fn authenticate(out: &mut Vec<u8>, mechanism: &str, initial: Option<&super::InitialResponse>) {
    out.extend_from_slice(format!(" {mechanism}").as_bytes());
    if let Some(ir) = initial {
        out.push(b' ');
        if ir.expose().is_empty() {
            out.push(b'=');
        } else {
            let text = base64::engine::general_purpose::STANDARD.encode(ir.expose());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// `section = "[" [section-spec] "]"`
pub(crate) fn write_section(out: &mut Vec<u8>, section: &Section, mode: TextMode) {
    out.push(b'[');
    crate::response::write_part(out, &section.part);
    if let Some(text) = &section.text {
        if !section.part.is_empty() {
            out.push(b'.');
        }
        let (name, fields) = match text {
            SectionText::Header => ("HEADER", None),
            SectionText::Text => ("TEXT", None),
            SectionText::Mime => ("MIME", None),
            SectionText::HeaderFields(f) => ("HEADER.FIELDS", Some(f)),
            SectionText::HeaderFieldsNot(f) => ("HEADER.FIELDS.NOT", Some(f)),
        };
        out.extend_from_slice(name.as_bytes());
        if let Some(fields) = fields {
            out.extend_from_slice(b" (");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wire::write_astring(out, f.as_bytes(), mode, LiteralStyle::Sync);
            }
            out.push(b')');
        }
    }
    out.push(b']');
}

impl Enc {
    pub fn mode(&self) -> TextMode {
        match self.encoding {
            MailboxEncoding::ModifiedUtf7 => TextMode::Ascii,
            MailboxEncoding::Utf8 => TextMode::Utf8,
        }
    }

    pub fn put(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(text.as_bytes());
    }

    pub fn astring(&self, out: &mut Vec<u8>, data: &[u8]) {
        wire::write_astring(out, data, self.mode(), self.style);
    }

    pub fn string(&self, out: &mut Vec<u8>, data: &[u8]) {
        wire::write_string(out, data, self.mode(), self.style);
    }

    fn wire_name(&self, name: &str) -> String {
        match self.encoding {
            MailboxEncoding::ModifiedUtf7 => mutf7::encode(name),
            MailboxEncoding::Utf8 => name.to_string(),
        }
    }

    pub fn mailbox(&self, out: &mut Vec<u8>, mailbox: &Mailbox) {
        match mailbox {
            Mailbox::Inbox => Self::put(out, "INBOX"),
            Mailbox::Other(name) => self.astring(out, self.wire_name(name).as_bytes()),
        }
    }

    pub(super) fn sp_mailbox(&self, out: &mut Vec<u8>, mailbox: &Mailbox) {
        out.push(b' ');
        self.mailbox(out, mailbox);
    }

    /// `list-mailbox = 1*list-char / string`
    fn list_mailbox(&self, out: &mut Vec<u8>, pattern: &str) {
        let wire = self.wire_name(pattern);
        if !wire.is_empty() && wire.bytes().all(is_list_char) {
            Self::put(out, &wire);
        } else {
            self.string(out, wire.as_bytes());
        }
    }

    fn command(&self, out: &mut Vec<u8>, command: &Command) {
        if uid_prefixed(command) {
            Self::put(out, "UID ");
        }
        Self::put(out, command.name());
        match command {
            Command::Capability
            | Command::Noop
            | Command::Logout
            | Command::StartTls
            | Command::Unauthenticate
            | Command::Namespace
            | Command::Idle
            | Command::Check
            | Command::Close
            | Command::Unselect
            | Command::Expunge => {}
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                authenticate(out, mechanism, initial_response.as_ref());
            }
            Command::Login { username, password } => {
                self.astrings(out, &[username.as_bytes(), password.expose().as_bytes()]);
            }
            Command::Compress(algorithm) => Self::put(out, &format!(" {algorithm}")),
            Command::Enable(caps) => caps.iter().for_each(|c| Self::put(out, &format!(" {c}"))),
            Command::Select { mailbox, params } | Command::Examine { mailbox, params } => {
                self.sp_mailbox(out, mailbox);
                self.select_params(out, params);
            }
            Command::Create {
                mailbox,
                partition,
                use_attrs,
            } => {
                self.create(out, mailbox, partition.as_deref(), use_attrs);
            }
            Command::Delete(m)
            | Command::Subscribe(m)
            | Command::Unsubscribe(m)
            | Command::GetAcl(m)
            | Command::MyRights(m)
            | Command::GetQuotaRoot(m) => self.sp_mailbox(out, m),
            Command::Rename {
                from,
                to,
                partition,
            } => {
                self.sp_mailbox(out, from);
                self.sp_mailbox(out, to);
                if let Some(partition) = partition {
                    self.astrings(out, &[partition.as_bytes()]);
                }
            }
            Command::List(list) => self.list(out, list),
            Command::Lsub { reference, pattern }
            | Command::Rlist { reference, pattern }
            | Command::Rlsub { reference, pattern } => self.lsub(out, reference, pattern),
            Command::Status { mailbox, items } => {
                self.sp_mailbox(out, mailbox);
                let names: Vec<&str> = items.iter().map(|i| i.name()).collect();
                Self::put(out, &format!(" ({})", names.join(" ")));
            }
            Command::Append { mailbox, messages } => self.append(out, mailbox, messages),
            Command::UidExpunge(set) => Self::put(out, &format!(" {set}")),
            Command::Search(search) => self.search(out, search),
            Command::Sort(sort) => self.sort(out, sort),
            Command::Thread(thread) => self.thread(out, thread),
            Command::Fetch(fetch) => self.fetch(out, fetch),
            Command::Store(store) => self.store(out, store),
            Command::Copy { set, mailbox, .. } | Command::Move { set, mailbox, .. } => {
                Self::put(out, &format!(" {set}"));
                self.sp_mailbox(out, mailbox);
            }
            Command::Id(params) => self.id(out, params.as_deref()),
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            } => {
                self.sp_mailbox(out, mailbox);
                self.astrings(out, &[identifier.as_bytes(), rights.as_bytes()]);
            }
            Command::DeleteAcl {
                mailbox,
                identifier,
            }
            | Command::ListRights {
                mailbox,
                identifier,
            } => {
                self.sp_mailbox(out, mailbox);
                self.astrings(out, &[identifier.as_bytes()]);
            }
            Command::GetQuota(root) => self.astrings(out, &[root.as_bytes()]),
            Command::SetQuota { root, limits } => self.set_quota(out, root, limits),
            Command::Reconstruct { mailbox, recursion } => {
                self.reconstruct(out, mailbox, *recursion)
            }
            Command::Xfer {
                mailbox,
                server,
                partition,
            } => {
                self.xfer(out, mailbox, server, partition.as_deref());
            }
            Command::GetMetadata {
                mailbox,
                options,
                entries,
            } => {
                self.getmetadata(out, mailbox, options, entries);
            }
            Command::SetMetadata { mailbox, entries } => self.setmetadata(out, mailbox, entries),
            Command::XferStep(step) => self.xfer_step(out, step),
            Command::LocalCreate { mailbox, partition } => {
                self.sp_mailbox(out, mailbox);
                if let Some(partition) = partition {
                    self.astrings(out, &[partition.as_bytes()]);
                }
            }
            Command::LocalDelete(mailbox) | Command::MupdatePush(mailbox) => {
                self.sp_mailbox(out, mailbox)
            }
        }
    }

    /// ` astring` for each value.
    pub(super) fn astrings(&self, out: &mut Vec<u8>, values: &[&[u8]]) {
        for value in values {
            out.push(b' ');
            self.astring(out, value);
        }
    }

    fn create(
        &self,
        out: &mut Vec<u8>,
        mailbox: &Mailbox,
        partition: Option<&str>,
        use_attrs: &[String],
    ) {
        self.sp_mailbox(out, mailbox);
        if let Some(partition) = partition {
            self.astrings(out, &[partition.as_bytes()]);
        }
        if !use_attrs.is_empty() {
            Self::put(out, &format!(" (USE ({}))", use_attrs.join(" ")));
        }
    }

    fn lsub(&self, out: &mut Vec<u8>, reference: &str, pattern: &str) {
        out.push(b' ');
        self.astring(out, self.wire_name(reference).as_bytes());
        out.push(b' ');
        self.list_mailbox(out, pattern);
    }

    fn select_params(&self, out: &mut Vec<u8>, params: &[SelectParam]) {
        if params.is_empty() {
            return;
        }
        out.extend_from_slice(b" (");
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            match param {
                SelectParam::CondStore => Self::put(out, "CONDSTORE"),
                SelectParam::QResync {
                    uid_validity,
                    mod_seq,
                    known_uids,
                    seq_match,
                } => {
                    Self::put(out, &format!("QRESYNC ({uid_validity} {mod_seq}"));
                    if let Some(known) = known_uids {
                        Self::put(out, &format!(" {known}"));
                    }
                    if let Some((seqs, uids)) = seq_match {
                        Self::put(out, &format!(" ({seqs} {uids})"));
                    }
                    out.push(b')');
                }
                SelectParam::Other { name, value } => {
                    Self::put(out, name);
                    if let Some(value) = value {
                        out.push(b' ');
                        self.ext_value(out, value);
                    }
                }
            }
        }
        out.push(b')');
    }

    fn ext_value(&self, out: &mut Vec<u8>, value: &ExtValue) {
        match value {
            ExtValue::Simple(text) => Self::put(out, text),
            ExtValue::Comp(items) => {
                out.push(b'(');
                self.ext_comp(out, items);
                out.push(b')');
            }
        }
    }

    fn ext_comp(&self, out: &mut Vec<u8>, items: &[ExtComp]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            match item {
                ExtComp::AString(s) => self.astring(out, s.as_bytes()),
                ExtComp::List(inner) => {
                    out.push(b'(');
                    self.ext_comp(out, inner);
                    out.push(b')');
                }
            }
        }
    }

    fn list(&self, out: &mut Vec<u8>, list: &List) {
        out.push(b' ');
        if !list.selection.is_empty() {
            let names: Vec<&str> = list
                .selection
                .iter()
                .map(|s| match s {
                    ListSelectOption::Subscribed => "SUBSCRIBED",
                    ListSelectOption::Remote => "REMOTE",
                    ListSelectOption::RecursiveMatch => "RECURSIVEMATCH",
                    ListSelectOption::SpecialUse => "SPECIAL-USE",
                    ListSelectOption::Other(name) => name,
                })
                .collect();
            Self::put(out, &format!("({}) ", names.join(" ")));
        }
        self.astring(out, self.wire_name(&list.reference).as_bytes());
        out.push(b' ');
        match list.patterns.as_slice() {
            [one] => self.list_mailbox(out, one),
            many => {
                out.push(b'(');
                for (i, p) in many.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    self.list_mailbox(out, p);
                }
                out.push(b')');
            }
        }
        if !list.return_options.is_empty() {
            let opts: Vec<String> = list
                .return_options
                .iter()
                .map(|o| match o {
                    ListReturnOption::Subscribed => "SUBSCRIBED".to_string(),
                    ListReturnOption::Children => "CHILDREN".to_string(),
                    ListReturnOption::SpecialUse => "SPECIAL-USE".to_string(),
                    ListReturnOption::MyRights => "MYRIGHTS".to_string(),
                    ListReturnOption::Status(items) => {
                        let names: Vec<&str> = items.iter().map(|i| i.name()).collect();
                        format!("STATUS ({})", names.join(" "))
                    }
                    ListReturnOption::Other(name) => name.clone(),
                })
                .collect();
            Self::put(out, &format!(" RETURN ({})", opts.join(" ")));
        }
    }

    fn append(&self, out: &mut Vec<u8>, mailbox: &Mailbox, messages: &[super::AppendMessage]) {
        self.sp_mailbox(out, mailbox);
        for message in messages {
            message.encode_header(out, self.style);
            if let AppendData::Inline { data, .. } = &message.data {
                out.extend_from_slice(data);
            }
        }
    }

    fn fetch(&self, out: &mut Vec<u8>, fetch: &super::Fetch) {
        Self::put(out, &format!(" {} ", fetch.set));
        match &fetch.items {
            FetchItems::Macro(FetchMacro::All) => Self::put(out, "ALL"),
            FetchItems::Macro(FetchMacro::Fast) => Self::put(out, "FAST"),
            FetchItems::Macro(FetchMacro::Full) => Self::put(out, "FULL"),
            FetchItems::Attrs(attrs) => {
                out.push(b'(');
                for (i, attr) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    self.fetch_att(out, attr);
                }
                out.push(b')');
            }
        }
        match (fetch.changed_since, fetch.vanished) {
            (Some(m), true) => Self::put(out, &format!(" (CHANGEDSINCE {m} VANISHED)")),
            (Some(m), false) => Self::put(out, &format!(" (CHANGEDSINCE {m})")),
            (None, true) => Self::put(out, " (VANISHED)"),
            (None, false) => {}
        }
    }

    fn fetch_att(&self, out: &mut Vec<u8>, attr: &FetchAttr) {
        let partial = |out: &mut Vec<u8>, p: &Option<(u32, u32)>| {
            if let Some((origin, len)) = p {
                Self::put(out, &format!("<{origin}.{len}>"));
            }
        };
        let peek = |p: &PeekMode| if *p == PeekMode::Peek { ".PEEK" } else { "" };
        match attr {
            FetchAttr::Envelope => Self::put(out, "ENVELOPE"),
            FetchAttr::Flags => Self::put(out, "FLAGS"),
            FetchAttr::InternalDate => Self::put(out, "INTERNALDATE"),
            FetchAttr::Rfc822 => Self::put(out, "RFC822"),
            FetchAttr::Rfc822Header => Self::put(out, "RFC822.HEADER"),
            FetchAttr::Rfc822Size => Self::put(out, "RFC822.SIZE"),
            FetchAttr::Rfc822Text => Self::put(out, "RFC822.TEXT"),
            FetchAttr::Body => Self::put(out, "BODY"),
            FetchAttr::BodyStructure => Self::put(out, "BODYSTRUCTURE"),
            FetchAttr::Uid => Self::put(out, "UID"),
            FetchAttr::ModSeq => Self::put(out, "MODSEQ"),
            FetchAttr::Other(name) => Self::put(out, name),
            FetchAttr::BodySection {
                peek: p,
                section,
                partial: part,
            } => {
                Self::put(out, &format!("BODY{}", peek(p)));
                write_section(out, section, self.mode());
                partial(out, part);
            }
            FetchAttr::Binary {
                peek: p,
                part,
                partial: range,
            } => {
                Self::put(out, &format!("BINARY{}[", peek(p)));
                crate::response::write_part(out, part);
                out.push(b']');
                partial(out, range);
            }
            FetchAttr::BinarySize { part } => {
                Self::put(out, "BINARY.SIZE[");
                crate::response::write_part(out, part);
                out.push(b']');
            }
        }
    }

    fn id(&self, out: &mut Vec<u8>, params: Option<&[(String, Option<String>)]>) {
        let Some(params) = params else {
            return Self::put(out, " NIL");
        };
        out.extend_from_slice(b" (");
        for (i, (key, value)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.string(out, key.as_bytes());
            out.push(b' ');
            match value {
                Some(v) => self.string(out, v.as_bytes()),
                None => Self::put(out, "NIL"),
            }
        }
        out.push(b')');
    }
}
