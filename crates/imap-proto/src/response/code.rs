//! Response codes (RFC 9051 §7.1, RFC 5530, RFC 4315, RFC 7162, RFC 7889, RFC 6154, RFC 5182).

use types::{Flag, ModSeq, Uid, UidValidity};

use crate::sequence::SequenceSet;
use crate::wire::{self, TextMode};

/// A flag in `PERMANENTFLAGS`: a flag or `\*` (new keywords may be created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermanentFlag {
    Flag(Flag),
    Wildcard,
}

/// `resp-text-code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    Alert,
    BadCharset(Vec<String>),
    Capability(Vec<String>),
    Parse,
    PermanentFlags(Vec<PermanentFlag>),
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext(Uid),
    UidValidity(UidValidity),
    /// IMAP4rev1 only.
    Unseen(u32),
    /// RFC 4315 §3.
    AppendUid {
        uid_validity: UidValidity,
        uids: SequenceSet,
    },
    /// RFC 4315 §3.
    CopyUid {
        uid_validity: UidValidity,
        source: SequenceSet,
        destination: SequenceSet,
    },
    /// RFC 4315 §3.
    UidNotSticky,
    /// RFC 7162 §3.1.2.1.
    HighestModSeq(ModSeq),
    /// RFC 7162 §3.1.2.2.
    NoModSeq,
    /// RFC 7162 §3.1.3.
    Modified(SequenceSet),
    /// RFC 7162 §3.2.11.
    Closed,
    /// RFC 7889.
    TooBig,
    /// RFC 6154 §6.
    UseAttr,
    /// RFC 5182.
    NotSaved,
    /// RFC 9051.
    HasChildren,
    /// RFC 3516 §4.3: BINARY cannot decode the part's transfer encoding.
    UnknownCte,
    /// RFC 4978 §3.
    CompressionActive,
    /// RFC 5464 §4.2.1: `METADATA LONGENTRIES n`.
    MetadataLongEntries(u32),
    /// RFC 5464 §4.3: `METADATA MAXSIZE n`.
    MetadataMaxSize(u32),
    /// RFC 5464 §4.3: `METADATA TOOMANY`.
    MetadataTooMany,
    /// RFC 5464 §4.3: `METADATA NOPRIVATE`.
    MetadataNoPrivate,
    // RFC 5530 §3:
    Unavailable,
    AuthenticationFailed,
    AuthorizationFailed,
    Expired,
    PrivacyRequired,
    ContactAdmin,
    NoPerm,
    InUse,
    ExpungeIssued,
    Corruption,
    ServerBug,
    ClientBug,
    Cannot,
    Limit,
    OverQuota,
    AlreadyExists,
    NonExistent,
    /// Any other code: an atom and optional text (no `]`).
    Other {
        name: String,
        text: Option<String>,
    },
}

impl Code {
    /// The keyword for codes without arguments.
    fn bare_name(&self) -> Option<&'static str> {
        Some(match self {
            Code::Alert => "ALERT",
            Code::Parse => "PARSE",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::TryCreate => "TRYCREATE",
            Code::UidNotSticky => "UIDNOTSTICKY",
            Code::NoModSeq => "NOMODSEQ",
            Code::Closed => "CLOSED",
            Code::TooBig => "TOOBIG",
            Code::UseAttr => "USEATTR",
            Code::NotSaved => "NOTSAVED",
            Code::HasChildren => "HASCHILDREN",
            Code::UnknownCte => "UNKNOWN-CTE",
            Code::CompressionActive => "COMPRESSIONACTIVE",
            Code::MetadataTooMany => "METADATA TOOMANY",
            Code::MetadataNoPrivate => "METADATA NOPRIVATE",
            Code::Unavailable => "UNAVAILABLE",
            Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
            Code::AuthorizationFailed => "AUTHORIZATIONFAILED",
            Code::Expired => "EXPIRED",
            Code::PrivacyRequired => "PRIVACYREQUIRED",
            Code::ContactAdmin => "CONTACTADMIN",
            Code::NoPerm => "NOPERM",
            Code::InUse => "INUSE",
            Code::ExpungeIssued => "EXPUNGEISSUED",
            Code::Corruption => "CORRUPTION",
            Code::ServerBug => "SERVERBUG",
            Code::ClientBug => "CLIENTBUG",
            Code::Cannot => "CANNOT",
            Code::Limit => "LIMIT",
            Code::OverQuota => "OVERQUOTA",
            Code::AlreadyExists => "ALREADYEXISTS",
            Code::NonExistent => "NONEXISTENT",
            Code::BadCharset(_)
            | Code::Capability(_)
            | Code::PermanentFlags(_)
            | Code::UidNext(_)
            | Code::UidValidity(_)
            | Code::Unseen(_)
            | Code::AppendUid { .. }
            | Code::CopyUid { .. }
            | Code::HighestModSeq(_)
            | Code::Modified(_)
            | Code::MetadataLongEntries(_)
            | Code::MetadataMaxSize(_)
            | Code::Other { .. } => return None,
        })
    }

    /// Writes `"[" resp-text-code "]"`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, mode: TextMode) {
        out.push(b'[');
        if let Some(name) = self.bare_name() {
            out.extend_from_slice(name.as_bytes());
        } else {
            self.encode_with_args(out, mode);
        }
        out.push(b']');
    }

    fn encode_with_args(&self, out: &mut Vec<u8>, mode: TextMode) {
        let text = match self {
            Code::BadCharset(sets) if sets.is_empty() => "BADCHARSET".to_string(),
            Code::BadCharset(sets) => format!("BADCHARSET ({})", sets.join(" ")),
            Code::Capability(caps) => format!("CAPABILITY {}", caps.join(" ")),
            Code::PermanentFlags(flags) => {
                let names: Vec<&str> = flags
                    .iter()
                    .map(|f| match f {
                        PermanentFlag::Flag(flag) => flag.as_str(),
                        PermanentFlag::Wildcard => "\\*",
                    })
                    .collect();
                format!("PERMANENTFLAGS ({})", names.join(" "))
            }
            Code::UidNext(uid) => format!("UIDNEXT {uid}"),
            Code::UidValidity(v) => format!("UIDVALIDITY {v}"),
            Code::Unseen(n) => format!("UNSEEN {n}"),
            Code::AppendUid { uid_validity, uids } => format!("APPENDUID {uid_validity} {uids}"),
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => {
                format!("COPYUID {uid_validity} {source} {destination}")
            }
            Code::HighestModSeq(m) => format!("HIGHESTMODSEQ {m}"),
            Code::Modified(set) => format!("MODIFIED {set}"),
            Code::MetadataLongEntries(n) => format!("METADATA LONGENTRIES {n}"),
            Code::MetadataMaxSize(n) => format!("METADATA MAXSIZE {n}"),
            Code::Other {
                name,
                text: Some(text),
            } => format!("{name} {}", text.replace(']', " ")),
            Code::Other { name, text: None } => name.clone(),
            // Written by `bare_name`.
            Code::Alert
            | Code::Parse
            | Code::ReadOnly
            | Code::ReadWrite
            | Code::TryCreate
            | Code::UidNotSticky
            | Code::NoModSeq
            | Code::Closed
            | Code::TooBig
            | Code::UseAttr
            | Code::NotSaved
            | Code::HasChildren
            | Code::UnknownCte
            | Code::CompressionActive
            | Code::MetadataTooMany
            | Code::MetadataNoPrivate
            | Code::Unavailable
            | Code::AuthenticationFailed
            | Code::AuthorizationFailed
            | Code::Expired
            | Code::PrivacyRequired
            | Code::ContactAdmin
            | Code::NoPerm
            | Code::InUse
            | Code::ExpungeIssued
            | Code::Corruption
            | Code::ServerBug
            | Code::ClientBug
            | Code::Cannot
            | Code::Limit
            | Code::OverQuota
            | Code::AlreadyExists
            | Code::NonExistent => String::new(),
        };
        wire::write_text(out, &text, mode);
    }
}
