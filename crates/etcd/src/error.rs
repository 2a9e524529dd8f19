//! The client's errors: what a caller can tell apart ("no etcd answers", "etcd refused",
//! "the answer made no sense", "the outcome is unknown").

/// gRPC status codes etcd puts in its errors (the `code` of [`Error::Etcd`]) that callers
/// and the client itself act on.
pub mod code {
    /// A bad argument, among them a wrong user name or password at authentication.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// Something named does not exist (an unknown lease).
    pub const NOT_FOUND: i32 = 5;
    /// The authenticated user may not do this.
    pub const PERMISSION_DENIED: i32 = 7;
    /// A precondition of the server does not hold (authentication not enabled, …).
    pub const FAILED_PRECONDITION: i32 = 9;
    /// A revision out of range: compacted away, or in the future.
    pub const OUT_OF_RANGE: i32 = 11;
    /// The member cannot serve now (no leader, a timed-out proposal, …).
    pub const UNAVAILABLE: i32 = 14;
    /// The authentication token is missing, invalid or expired.
    pub const UNAUTHENTICATED: i32 = 16;
}

/// What went wrong in a call to etcd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No endpoint answered (every one refused the connection, timed out, or had no
    /// leader); the text is the last failure seen.
    #[error("no etcd endpoint answers: {0}")]
    Unavailable(String),
    /// The gateway answered with an HTTP error that carries no etcd error.
    #[error("etcd answered HTTP {0}: {1}")]
    Http(u16, String),
    /// etcd refused the request (the gRPC error in the gateway's JSON body).
    #[error("etcd error {code}: {message}")]
    Etcd {
        /// The gRPC status code (see [`code`]).
        code: i32,
        /// etcd's message, such as `etcdserver: mvcc: required revision has been compacted`.
        message: String,
    },
    /// The answer broke HTTP/1.1 or the gateway's JSON, or exceeded a size bound.
    #[error("etcd protocol: {0}")]
    Protocol(String),
    /// The TLS configuration could not be loaded, or no endpoint's TLS handshake succeeded.
    #[error("etcd TLS: {0}")]
    Tls(String),
    /// Authentication failed: a wrong user name or password, or authentication is not
    /// enabled on the cluster although the client was given credentials.
    #[error("etcd authentication: {0}")]
    Auth(String),
    /// A transaction was sent but its answer was lost (a broken connection or a timeout),
    /// so it may or may not have been applied: read the keys again to find out.
    #[error("etcd transaction outcome unknown: {0}")]
    Indeterminate(String),
    /// The client configuration is unusable (an endpoint that does not parse, no endpoint).
    #[error("etcd client configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether etcd refused a read because the revision asked for has been compacted away.
    pub fn is_compacted(&self) -> bool {
        matches!(self, Error::Etcd { code: code::OUT_OF_RANGE, message } if message.contains("compacted"))
    }
}

/// The result of a call to etcd.
pub type Result<T> = std::result::Result<T, Error>;
