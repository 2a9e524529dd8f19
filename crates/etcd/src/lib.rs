//! A client for etcd's v3 API over its HTTP/JSON gateway (etcd 3.4 and later: `POST /v3/…`,
//! keys and values in base64, 64-bit integers as strings), so the Murder's directory needs
//! no gRPC stack and no `protoc` to build.
//!
//! Owns: connections to the members (HTTP/1.1 keep-alive, TLS, a small pool per endpoint),
//! failing over between members, authentication tokens, the key-value, transaction, lease
//! and watch calls, and watches that resume by themselves. Must not: know what the keys
//! mean (the Murder's layout of the directory belongs to its callers).
//!
//! Bounds: a response head is at most [`http::MAX_HEAD`] bytes, a chunk at most
//! [`http::MAX_CHUNK`], a body or one streamed message at most [`http::MAX_BODY`]; anything
//! larger, and any malformed HTTP or JSON, is an [`Error::Protocol`], never a panic.

mod client;
mod config;
mod error;
pub mod http;
mod json;
mod kv;
mod lease;
mod pages;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;
mod txn;
mod watch;

pub use client::{Client, Status, StatusHeader};
pub use config::{ClientConfig, Credentials, TlsConfig, DEFAULT_PORT};
pub use error::{code, Error, Result};
pub use kv::{
    prefix_end, DeleteRequest, DeleteResponse, Header, KeyValue, LeaseId, PutRequest, PutResponse,
    RangeRequest, RangeResponse,
};
pub use pages::RangePages;
pub use txn::{Compare, CompareResult, CompareTarget, Op, OpResponse, Txn, TxnResponse};
pub use watch::{
    Event, EventKind, WatchEvent, WatchRequest, WatchStatus, Watcher, IDLE_CHECK, MAX_BACKOFF,
};
