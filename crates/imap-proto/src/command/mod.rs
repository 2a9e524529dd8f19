//! Typed IMAP commands (RFC 3501 §6, RFC 9051 §6 and the extensions listed on each variant).
//!
//! Values here are already validated and decoded: mailbox names are UTF-8 (modified UTF-7 is
//! undone by the parser), flags are [`types::Flag`], passwords are [`types::Secret`]. Mailbox
//! names are still the client's view (hierarchy separator, INBOX alias); the server maps them to
//! internal [`types::MailboxName`]s through its namespace.

mod encode;
mod encode_admin;
mod encode_search;
mod fetch;
mod list;
mod metadata;
mod search;
mod sort;
mod store;
mod xfer;

use std::fmt;

use types::{Flag, ModSeq, Secret, UidValidity};

use crate::datetime::DateTime;
use crate::framer::{LiteralKind, SpoolRef};
use crate::sequence::SequenceSet;

pub(crate) use encode::write_section;
pub use fetch::{Fetch, FetchAttr, FetchItems, FetchMacro, PeekMode, Section, SectionText};
pub use list::{List, ListReturnOption, ListSelectOption, StatusItem};
pub use metadata::{MetadataDepth, MetadataEntry, MetadataOptions};
pub use search::{Search, SearchKey, SearchReturn};
pub use sort::{Sort, SortCriterion, SortKey, SortOrder, Thread, ThreadAlgorithm};
pub use store::{Store, StoreAction, StoreSilence};
pub use xfer::XferStep;

/// A command tag (RFC 9051 §9: `tag = 1*<any ASTRING-CHAR except "+">`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// `None` unless `text` is a valid tag.
    pub fn new(text: &str) -> Option<Tag> {
        let ok = !text.is_empty()
            && text
                .bytes()
                .all(|b| crate::wire::is_astring_char(b) && b != b'+');
        ok.then(|| Tag(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:?})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mailbox argument (RFC 9051 §9 `mailbox = "INBOX" / astring`), decoded to UTF-8.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mailbox {
    /// `INBOX` in any case.
    Inbox,
    /// Any other name, exactly as the client wrote it (after modified UTF-7 decoding).
    Other(String),
}

impl Mailbox {
    /// `INBOX` (any case) becomes [`Mailbox::Inbox`].
    pub fn from_name(name: String) -> Mailbox {
        if name.eq_ignore_ascii_case("INBOX") {
            Mailbox::Inbox
        } else {
            Mailbox::Other(name)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Mailbox::Inbox => "INBOX",
            Mailbox::Other(name) => name,
        }
    }
}

/// Whether numbers in a command are message sequence numbers or UIDs (the `UID` prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addressing {
    Sequence,
    Uid,
}

/// Whether RECONSTRUCT also covers the mailboxes below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recursion {
    Single,
    Recursive,
}

/// A command with its tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedCommand {
    pub tag: Tag,
    pub command: Command,
}

/// An RFC 4466 `tagged-ext-val`, kept generic for parameters we do not interpret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtValue {
    /// `tagged-ext-simple`: a sequence set or number, as written.
    Simple(String),
    /// `"(" [tagged-ext-comp] ")"`.
    Comp(Vec<ExtComp>),
}

/// `tagged-ext-comp`: astrings and nested parenthesised lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtComp {
    AString(String),
    List(Vec<ExtComp>),
}

/// SELECT/EXAMINE parameters (RFC 4466 §2.1, RFC 7162).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectParam {
    /// RFC 7162 §3.1.8.
    CondStore,
    /// RFC 7162 §3.2.5: `QRESYNC (uidvalidity modseq [known-uids] [(seq-match-data)])`.
    QResync {
        uid_validity: UidValidity,
        mod_seq: ModSeq,
        known_uids: Option<SequenceSet>,
        seq_match: Option<(SequenceSet, SequenceSet)>,
    },
    /// Any other parameter, uninterpreted.
    Other {
        name: String,
        value: Option<ExtValue>,
    },
}

/// AUTHENTICATE's optional SASL-IR initial response (RFC 4959), base64-decoded; `=` is empty.
pub type InitialResponse = Secret<Vec<u8>>;

/// The message bytes of one APPEND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendData {
    /// The framer streamed the literal to the caller, which stored it under `spool`.
    Spooled {
        spool: SpoolRef,
        len: u64,
        kind: LiteralKind,
    },
    /// The literal was inside the bytes given to [`crate::parse_command`] (tests, tools).
    Inline { data: Vec<u8>, kind: LiteralKind },
}

/// One message of an APPEND (RFC 9051 §6.3.12; several with MULTIAPPEND, RFC 3502).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag>,
    pub date_time: Option<DateTime>,
    pub data: AppendData,
}

/// `ID` parameters (RFC 2971): `NIL` or field/value pairs.
pub type IdParams = Option<Vec<(String, Option<String>)>>;

/// Every command Darius parses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Capability,
    Noop,
    Logout,
    StartTls,
    /// RFC 4978: `COMPRESS algorithm` (upper-cased).
    Compress(String),
    /// RFC 8437.
    Unauthenticate,
    /// RFC 9051 §6.2.2, RFC 4959.
    Authenticate {
        mechanism: String,
        initial_response: Option<InitialResponse>,
    },
    Login {
        username: String,
        password: Secret<String>,
    },
    /// RFC 5161.
    Enable(Vec<String>),
    Select {
        mailbox: Mailbox,
        params: Vec<SelectParam>,
    },
    Examine {
        mailbox: Mailbox,
        params: Vec<SelectParam>,
    },
    /// `use_attrs` is RFC 6154 §3 `CREATE ... (USE (\Sent))`.
    /// `partition` is Cyrus's `CREATE name partition` extension.
    Create {
        mailbox: Mailbox,
        partition: Option<String>,
        use_attrs: Vec<String>,
    },
    Delete(Mailbox),
    /// `partition` is Cyrus's `RENAME old new partition` (move to another partition).
    Rename {
        from: Mailbox,
        to: Mailbox,
        partition: Option<String>,
    },
    Subscribe(Mailbox),
    Unsubscribe(Mailbox),
    List(List),
    Lsub {
        reference: String,
        pattern: String,
    },
    /// RFC 2193 §5: LIST that includes mailboxes held by other servers (the client
    /// understands referrals).
    Rlist {
        reference: String,
        pattern: String,
    },
    /// RFC 2193 §5: LSUB that includes mailboxes held by other servers.
    Rlsub {
        reference: String,
        pattern: String,
    },
    /// RFC 2342.
    Namespace,
    Status {
        mailbox: Mailbox,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: Mailbox,
        messages: Vec<AppendMessage>,
    },
    /// RFC 2177.
    Idle,
    Check,
    Close,
    /// RFC 3691.
    Unselect,
    Expunge,
    /// RFC 4315 §2.1.
    UidExpunge(SequenceSet),
    Search(Search),
    /// RFC 5256.
    Sort(Sort),
    /// RFC 5256.
    Thread(Thread),
    Fetch(Fetch),
    Store(Store),
    Copy {
        addressing: Addressing,
        set: SequenceSet,
        mailbox: Mailbox,
    },
    /// RFC 6851.
    Move {
        addressing: Addressing,
        set: SequenceSet,
        mailbox: Mailbox,
    },
    /// RFC 2971.
    Id(IdParams),
    /// RFC 4314 §3.3.
    GetAcl(Mailbox),
    /// RFC 4314 §3.1.
    SetAcl {
        mailbox: Mailbox,
        identifier: String,
        rights: String,
    },
    /// RFC 4314 §3.2.
    DeleteAcl {
        mailbox: Mailbox,
        identifier: String,
    },
    /// RFC 4314 §3.4.
    ListRights {
        mailbox: Mailbox,
        identifier: String,
    },
    /// RFC 4314 §3.5.
    MyRights(Mailbox),
    /// RFC 9208 §4.2: the quota root's name.
    GetQuota(String),
    /// RFC 9208 §4.3.
    GetQuotaRoot(Mailbox),
    /// RFC 9208 §4.4: resource names upper-cased, limits.
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },
    /// Cyrus `RECONSTRUCT mailbox [RECURSIVE]`.
    Reconstruct {
        mailbox: Mailbox,
        recursion: Recursion,
    },
    /// Cyrus Murder `XFER mailbox server [partition]`.
    Xfer {
        mailbox: Mailbox,
        server: String,
        partition: Option<String>,
    },
    /// Darius's private steps of a transfer between backends (`XFERPREPARE`, `XFERMSG`…,
    /// see [`XferStep`]).
    XferStep(XferStep),
    /// Cyrus's `LOCALCREATE mailbox [partition]`: a Cyrus backend moving a mailbox here by
    /// its legacy XFER announces it (the `UNDUMP` that follows is read by the framer, see
    /// [`crate::framer::UndumpEvent`]).
    LocalCreate {
        mailbox: Mailbox,
        partition: Option<String>,
    },
    /// Cyrus's `LOCALDELETE mailbox`: that XFER gave up; the copy here goes, the directory
    /// untouched.
    LocalDelete(Mailbox),
    /// Cyrus's `MUPDATEPUSH mailbox`: that XFER is done; this server tells the mupdate master
    /// it holds the mailbox now.
    MupdatePush(Mailbox),
    /// RFC 5464 §4.2; the mailbox is `Other("")` for server annotations.
    GetMetadata {
        mailbox: Mailbox,
        options: MetadataOptions,
        entries: Vec<String>,
    },
    /// RFC 5464 §4.3.
    SetMetadata {
        mailbox: Mailbox,
        entries: Vec<MetadataEntry>,
    },
}

impl Command {
    /// The command's name as a client writes it (for logs and `BAD` texts).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Compress(_) => "COMPRESS",
            Command::Unauthenticate => "UNAUTHENTICATE",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Login { .. } => "LOGIN",
            Command::Enable(_) => "ENABLE",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete(_) => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Unsubscribe(_) => "UNSUBSCRIBE",
            Command::List(_) => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Rlist { .. } => "RLIST",
            Command::Rlsub { .. } => "RLSUB",
            Command::Namespace => "NAMESPACE",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Idle => "IDLE",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge(_) => "UID EXPUNGE",
            Command::Search(_) => "SEARCH",
            Command::Sort(_) => "SORT",
            Command::Thread(_) => "THREAD",
            Command::Fetch(_) => "FETCH",
            Command::Store(_) => "STORE",
            Command::Copy { .. } => "COPY",
            Command::Move { .. } => "MOVE",
            Command::Id(_) => "ID",
            Command::GetAcl(_) => "GETACL",
            Command::SetAcl { .. } => "SETACL",
            Command::DeleteAcl { .. } => "DELETEACL",
            Command::ListRights { .. } => "LISTRIGHTS",
            Command::MyRights(_) => "MYRIGHTS",
            Command::GetQuota(_) => "GETQUOTA",
            Command::GetQuotaRoot(_) => "GETQUOTAROOT",
            Command::SetQuota { .. } => "SETQUOTA",
            Command::Reconstruct { .. } => "RECONSTRUCT",
            Command::Xfer { .. } => "XFER",
            Command::XferStep(step) => step.name(),
            Command::LocalCreate { .. } => "LOCALCREATE",
            Command::LocalDelete(_) => "LOCALDELETE",
            Command::MupdatePush(_) => "MUPDATEPUSH",
            Command::GetMetadata { .. } => "GETMETADATA",
            Command::SetMetadata { .. } => "SETMETADATA",
        }
    }
}
