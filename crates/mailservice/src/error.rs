//! Service errors: refusals a protocol maps to a response code, and failures it logs.

use mailstore::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Also given for a mailbox the identity may not see, so that existence does not leak
    /// (Cyrus answers the same way without the `l` right).
    #[error("Mailbox does not exist")]
    NoSuchMailbox,
    #[error("Permission denied")]
    PermissionDenied,
    #[error("Mailbox already exists")]
    AlreadyExists,
    #[error("Invalid mailbox name: {0}")]
    BadName(String),
    /// A namespace rule refuses the operation whatever the rights (a user deleting their own
    /// INBOX); the text says which.
    #[error("{0}")]
    Refused(&'static str),
    /// GETQUOTA of a name that is no quota root (or one the identity may not know about).
    #[error("No such quota root")]
    NoSuchQuotaRoot,
    /// An expunge from an INBOX a POP3 session holds (see [`crate::MaildropClaim`]).
    #[error("A POP3 session holds this mailbox: messages cannot be expunged until it ends")]
    HeldByPop3,
    /// A delivery the recipient's Sieve script refused (`ereject`, or `reject` answered in
    /// LMTP): the reason is the script's.
    #[error("{0}")]
    Rejected(String),
    /// A delivery to a virtual domain this server holds no mailbox of.
    #[error("Domain unknown")]
    UnknownDomain,
    /// A part of the cluster this needs is unreachable now (the mailbox directory, the
    /// backend holding the mailbox): try again later.
    #[error("{0}")]
    Unavailable(String),
    /// A write to a mailbox a transfer to another server has frozen (XFER, module
    /// `transfer`): it is refused until the move ends, then goes to the new server.
    #[error("The mailbox is being moved to another server; try again shortly")]
    Moving,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NoSuchMailbox(_) => ServiceError::NoSuchMailbox,
            StoreError::AlreadyExists(_) => ServiceError::AlreadyExists,
            StoreError::InvalidName(reason) => ServiceError::BadName(reason),
            other => ServiceError::Store(other),
        }
    }
}

impl ServiceError {
    /// True for outcomes the client caused (answered with `NO`); false for failures of this
    /// machine (logged, answered with `NO [SERVERBUG]`/`[UNAVAILABLE]`).
    pub fn is_refusal(&self) -> bool {
        match self {
            ServiceError::Store(e) => e.is_refusal(),
            ServiceError::NoSuchMailbox
            | ServiceError::PermissionDenied
            | ServiceError::AlreadyExists
            | ServiceError::BadName(_)
            | ServiceError::Refused(_)
            | ServiceError::NoSuchQuotaRoot
            | ServiceError::HeldByPop3
            | ServiceError::Rejected(_)
            | ServiceError::UnknownDomain => true,
            ServiceError::Unavailable(_) | ServiceError::Moving => false,
        }
    }
}
