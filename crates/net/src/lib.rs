//! Net layer: listeners, TLS and STARTTLS, connection limits, graceful shutdown.
//!
//! Owns: sockets and their lifecycle. Must not: speak any mail protocol or touch storage.
