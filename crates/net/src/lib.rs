//! Net layer: listeners, TLS and STARTTLS, connection limits, graceful shutdown.
//!
//! Owns: sockets and their lifecycle — binding TCP and UNIX listeners, the accept loop with its
//! connection limits (per listener and per client host), the TLS configuration, the shutdown
//! signal and the bounded drain of running connections, the reading and writing a
//! line-oriented session shares (`session`: timeouts, buffers, goodbyes), and what every
//! protocol server records of its sessions (Cyrus's session files in `proc/`, protocol
//! telemetry in `log/USER/`), and TLS as a client toward other servers (`client_tls`). Must
//! not: speak any mail protocol or touch storage; a server crate hands in a per-connection
//! handler.

pub mod client_tls;
mod host_limit;
mod hosts;
mod listener;
pub mod procfile;
pub mod relay;
pub mod session;
mod shutdown;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tls;
mod transport;
mod unix_socket;
pub mod x509;

pub use client_tls::{ClientStream, ClientTls, ClientTlsError, ClientTlsFiles, ClientTlsMode};
pub use host_limit::{HostClaim, HostLimit};
pub use hosts::{host_key, HostSet};
pub use listener::{bind_tcp, serve_tcp, serve_unix, ConnInfo, ConnectionLimit, TcpLimits};
pub use shutdown::{Shutdown, ShutdownSignal};
pub use tls::{load_server_config, ServerCert, ServerTls, TlsError};
pub use transport::{HandshakeError, TlsMode, Transport, TLS_HANDSHAKE_TIMEOUT};
pub use unix_socket::{bind_unix, group_id, SocketAccess};
