//! The client: one request to the gateway, tried on each endpoint in turn, authenticated when
//! the cluster wants it.
//!
//! Every request starts at the endpoint that last answered. A request fails over to the next
//! endpoint when the connection cannot be made, when it breaks or times out, or when the
//! member says it has no leader. Reads and idempotent writes are then sent again; a
//! transaction only when it is certain it was not received (no connection, the request not
//! written, or a member without leader refusing it before proposing anything), otherwise its
//! outcome is [`Error::Indeterminate`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::config::{ClientConfig, Credentials, Endpoint};
use crate::error::{code, Error, Result};
use crate::http::{self, HttpError};
use crate::json::{uint64, JsonSplitter};
use crate::transport::{ConnectError, Connector};

/// How many times each endpoint is tried for one request before giving up.
const ROUNDS: u32 = 2;
/// The pause before the second round of endpoints (a leader election takes about a second).
const ROUND_PAUSE: Duration = Duration::from_millis(300);
/// The most characters of an unexpected HTTP body kept in an error message.
const MAX_ERROR_TEXT: usize = 300;

/// A client of one etcd cluster. Cheap to clone: clones share the connections and the
/// authentication token.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.endpoints())
            .finish_non_exhaustive()
    }
}

/// What the clones of a client share.
pub(crate) struct Inner {
    pub endpoints: Vec<Endpoint>,
    pub connector: Connector,
    /// The endpoint that last answered, where the next request starts.
    pub preferred: AtomicUsize,
    credentials: Option<Credentials>,
    /// The token from the last authentication. A poisoned lock is taken over: the token is
    /// replaced whole, never left half-written.
    token: Mutex<Option<Arc<str>>>,
    pub request_timeout: Duration,
}

/// Whether a request may be sent again after its answer was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    /// A read, or a write whose repetition does no harm.
    Safe,
    /// A transaction: only when it certainly did not reach etcd.
    OnlyIfUnsent,
}

/// How one try on one endpoint failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// etcd did not get the request, or refused it before acting: try the next endpoint.
    Next(String),
    /// The request was sent and its answer lost.
    Lost(String),
    /// No other endpoint would do better.
    Final(Error),
}

/// One exchange on one connection, before any interpretation of the answer.
enum Exchange {
    /// An answer: status and body.
    Answer(u16, Vec<u8>),
    /// Nothing reached etcd.
    NotSent(String),
    /// The TLS handshake failed.
    TlsFailed(String),
    /// The request was sent; no whole answer came back.
    Lost(String),
    /// The answer broke the protocol.
    Broken(Error),
}

/// The body of `/v3/auth/authenticate`.
#[derive(Serialize)]
struct AuthenticateRequest<'a> {
    name: &'a str,
    password: &'a str,
}

/// The answer of `/v3/auth/authenticate`.
#[derive(Deserialize)]
struct AuthenticateResponse {
    #[serde(default)]
    token: String,
}

/// The JSON of an error the gateway answers with (grpc-gateway writes `error` and `code`,
/// later versions `message` and `code`).
#[derive(Deserialize)]
struct GatewayError {
    #[serde(alias = "grpc_code")]
    code: Option<i32>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// One message of a streamed answer: a result or an error.
#[derive(Deserialize)]
pub(crate) struct StreamMessage<T> {
    pub result: Option<T>,
    pub error: Option<GatewayErrorValue>,
}

/// The `error` of a streamed answer.
#[derive(Deserialize, Debug)]
pub(crate) struct GatewayErrorValue {
    #[serde(alias = "grpc_code", default)]
    pub code: i32,
    #[serde(default)]
    pub message: String,
}

/// What `/v3/maintenance/status` tells about a member.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// The member's etcd version, such as `3.4.23`.
    #[serde(default)]
    pub version: String,
    /// The ID of the member the cluster follows (0: none).
    #[serde(default, deserialize_with = "uint64::deserialize")]
    pub leader: u64,
    /// The header, with the member's ID and the store's revision.
    #[serde(default)]
    pub header: StatusHeader,
}

/// The response header of a status answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct StatusHeader {
    /// The ID of the member that answered.
    #[serde(default, deserialize_with = "uint64::deserialize")]
    pub member_id: u64,
    /// The store's revision.
    #[serde(default, with = "crate::json::int64")]
    pub revision: i64,
}

impl Client {
    /// A client for the cluster `config` describes. It connects lazily, at the first request;
    /// this only parses the endpoints and loads the TLS files.
    pub fn new(config: ClientConfig) -> Result<Client> {
        if config.endpoints.is_empty() {
            return Err(Error::Config("no endpoint".into()));
        }
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| Endpoint::parse(e, config.tls.is_some()))
            .collect::<Result<Vec<_>>>()?;
        if endpoints.iter().any(|e| e.tls) && config.tls.is_none() {
            return Err(Error::Config(
                "an https endpoint needs a TLS configuration".into(),
            ));
        }
        let connector =
            Connector::new(endpoints.len(), config.tls.as_ref(), config.connect_timeout)?;
        Ok(Client {
            inner: Arc::new(Inner {
                endpoints,
                connector,
                preferred: AtomicUsize::new(0),
                credentials: config.auth,
                token: Mutex::new(None),
                request_timeout: config.request_timeout,
            }),
        })
    }

    /// The endpoints, as `host:port`.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner
            .endpoints
            .iter()
            .map(|e| e.authority.clone())
            .collect()
    }

    /// The endpoint the next request starts at (the one that last answered), as `host:port`.
    pub fn current_endpoint(&self) -> String {
        let index = self.inner.preferred.load(Ordering::Relaxed) % self.inner.endpoints.len();
        self.inner.endpoints[index].authority.clone()
    }

    /// The status of the member the client is using (and the revision of the store).
    pub async fn status(&self) -> Result<Status> {
        self.call(
            "/v3/maintenance/status",
            &serde_json::json!({}),
            Resend::Safe,
        )
        .await
    }

    /// The status of endpoint `index` alone, without failing over.
    pub(crate) async fn status_on(&self, index: usize) -> std::result::Result<Status, Failure> {
        let answer = self
            .inner
            .post_on(index, "/v3/maintenance/status", b"{}")
            .await?;
        decode(&answer).map_err(Failure::Final)
    }

    /// Sends `request` to `path` and decodes the answer, failing over between endpoints.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        resend: Resend,
    ) -> Result<Resp> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Error::Protocol(format!("encoding a request: {e}")))?;
        let answer = self.inner.post(path, &body, resend).await?;
        decode(&answer)
    }

    /// Sends `request` to a streaming `path` (one request, one answer message, such as a
    /// lease keep-alive) and decodes the first message of the answer.
    pub(crate) async fn call_stream_once<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
    ) -> Result<Resp> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Error::Protocol(format!("encoding a request: {e}")))?;
        let answer = self.inner.post(path, &body, Resend::Safe).await?;
        let mut splitter = JsonSplitter::new(http::MAX_BODY);
        splitter.push(&answer).map_err(Error::Protocol)?;
        let first = splitter
            .next_object()
            .map_err(Error::Protocol)?
            .ok_or_else(|| Error::Protocol(format!("{path}: an empty stream")))?;
        let message: StreamMessage<Resp> = decode(&first)?;
        match (message.result, message.error) {
            (_, Some(e)) => Err(etcd_error(e.code, e.message)),
            (Some(result), None) => Ok(result),
            (None, None) => Err(Error::Protocol(format!("{path}: a message without result"))),
        }
    }
}

impl Inner {
    /// Sends `body` to `path`, starting at the preferred endpoint and failing over; the body
    /// of the first successful answer.
    async fn post(&self, path: &str, body: &[u8], resend: Resend) -> Result<Vec<u8>> {
        let n = self.endpoints.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let mut last = String::from("no endpoint tried");
        for round in 0..ROUNDS {
            if round > 0 {
                tokio::time::sleep(ROUND_PAUSE * round).await;
            }
            for step in 0..n {
                let index = (first + step) % n;
                match self.post_on(index, path, body).await {
                    Ok(answer) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        return Ok(answer);
                    }
                    Err(Failure::Next(reason)) => last = reason,
                    Err(Failure::Lost(reason)) if resend == Resend::Safe => last = reason,
                    Err(Failure::Lost(reason)) => return Err(Error::Indeterminate(reason)),
                    Err(Failure::Final(e)) => return Err(e),
                }
                tracing::debug!(endpoint = %self.endpoints[index].authority, %path, reason = %last, "etcd: trying the next endpoint");
                self.connector.forget(index);
            }
        }
        Err(if last.starts_with("TLS: ") {
            Error::Tls(last)
        } else {
            Error::Unavailable(last)
        })
    }

    /// Sends `body` to `path` on endpoint `index` only, authenticating first when the client
    /// has credentials and no token, and once more when etcd refuses the token.
    pub(crate) async fn post_on(
        &self,
        index: usize,
        path: &str,
        body: &[u8],
    ) -> std::result::Result<Vec<u8>, Failure> {
        let mut renewed = false;
        loop {
            let token = self.token(index).await?;
            match self.exchange(index, path, body, token.as_deref()).await {
                Exchange::Answer(200, answer) => return Ok(answer),
                Exchange::Answer(status, answer) => match gateway_error(status, &answer) {
                    Error::Etcd {
                        code: code::UNAUTHENTICATED,
                        ..
                    } if self.credentials.is_some() && !renewed => {
                        self.drop_token(token.as_ref());
                        renewed = true;
                    }
                    e => return Err(classify(e)),
                },
                Exchange::NotSent(reason) => return Err(Failure::Next(reason)),
                Exchange::TlsFailed(reason) => return Err(Failure::Next(format!("TLS: {reason}"))),
                Exchange::Lost(reason) => return Err(Failure::Lost(reason)),
                Exchange::Broken(e) => return Err(Failure::Final(e)),
            }
        }
    }

    /// The token to send to endpoint `index`: none without credentials, the cached one, or a
    /// new one from `/v3/auth/authenticate` on that endpoint.
    pub(crate) async fn token(
        &self,
        index: usize,
    ) -> std::result::Result<Option<Arc<str>>, Failure> {
        let Some(credentials) = &self.credentials else {
            return Ok(None);
        };
        if let Some(token) = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(Some(token));
        }
        let request = AuthenticateRequest {
            name: &credentials.user,
            password: credentials.password.expose(),
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| Failure::Final(Error::Protocol(format!("encoding a request: {e}"))))?;
        let answer = match self
            .exchange(index, "/v3/auth/authenticate", &body, None)
            .await
        {
            Exchange::Answer(200, answer) => answer,
            Exchange::Answer(status, answer) => {
                return Err(match gateway_error(status, &answer) {
                    Error::Etcd {
                        code:
                            code::INVALID_ARGUMENT | code::FAILED_PRECONDITION | code::UNAUTHENTICATED,
                        message,
                    } => Failure::Final(Error::Auth(message)),
                    // Authenticating again does no harm, so a lost answer is no worse than
                    // a refused connection.
                    e => match classify(e) {
                        Failure::Lost(reason) => Failure::Next(reason),
                        other => other,
                    },
                });
            }
            Exchange::NotSent(reason) | Exchange::Lost(reason) => {
                return Err(Failure::Next(reason))
            }
            Exchange::TlsFailed(reason) => return Err(Failure::Next(format!("TLS: {reason}"))),
            Exchange::Broken(e) => return Err(Failure::Final(e)),
        };
        let response: AuthenticateResponse = decode(&answer).map_err(Failure::Final)?;
        if !http::is_header_safe(&response.token) {
            return Err(Failure::Final(Error::Auth(
                "etcd answered authentication without a usable token".into(),
            )));
        }
        let token: Arc<str> = Arc::from(response.token);
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&token));
        Ok(Some(token))
    }

    /// Forgets `used` (refused by etcd) unless another task has already replaced it.
    pub(crate) fn drop_token(&self, used: Option<&Arc<str>>) {
        let mut token = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if token.as_ref() == used {
            *token = None;
        }
    }

    /// Whether the client authenticates.
    pub(crate) fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// One request and its whole answer on a pooled or new connection to endpoint `index`,
    /// within the request timeout.
    async fn exchange(
        &self,
        index: usize,
        path: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> Exchange {
        let endpoint = &self.endpoints[index];
        let mut conn = match self.connector.get(index, endpoint).await {
            Ok(c) => c,
            Err(ConnectError::Network(reason)) => return Exchange::NotSent(reason),
            Err(ConnectError::Tls(reason)) => return Exchange::TlsFailed(reason),
        };
        let request = http::encode_post(path, &endpoint.authority, token, body);
        /// Where an exchange failed.
        enum Stage {
            Write(std::io::Error),
            Read(HttpError),
        }
        let work = async {
            conn.write_all(&request).await.map_err(Stage::Write)?;
            conn.flush().await.map_err(Stage::Write)?;
            let head = http::read_head(&mut conn).await.map_err(Stage::Read)?;
            let answer = http::read_body(&mut conn, head.framing)
                .await
                .map_err(Stage::Read)?;
            Ok((head, answer))
        };
        let outcome = tokio::time::timeout(self.request_timeout, work).await;
        let at = &endpoint.authority;
        match outcome {
            Err(_) => Exchange::Lost(format!("{at}: no answer within {:?}", self.request_timeout)),
            Ok(Err(Stage::Write(e))) => Exchange::NotSent(format!("{at}: sending: {e}")),
            Ok(Err(Stage::Read(e @ (HttpError::Malformed(_) | HttpError::TooLarge(..))))) => {
                Exchange::Broken(Error::Protocol(format!("{at}: {e}")))
            }
            Ok(Err(Stage::Read(e))) => Exchange::Lost(format!("{at}: {e}")),
            Ok(Ok((head, answer))) => {
                if head.keep_alive {
                    self.connector.put_back(index, conn);
                }
                Exchange::Answer(head.status, answer)
            }
        }
    }
}

/// What to do after etcd refused a request with `error`.
pub(crate) fn classify(error: Error) -> Failure {
    match error {
        // Refused before anything was proposed: the member cannot serve at all.
        Error::Etcd {
            code: code::UNAVAILABLE,
            message,
        } if is_no_leader(&message) => Failure::Next(message),
        // A proposal that timed out, a leader change during a read: it may have happened.
        Error::Etcd {
            code: code::UNAVAILABLE,
            message,
        } => Failure::Lost(message),
        Error::Http(status, message) if (500..600).contains(&status) => {
            Failure::Lost(format!("HTTP {status}: {message}"))
        }
        e => Failure::Final(e),
    }
}

/// Whether `message` is etcd's "this member has no leader".
pub(crate) fn is_no_leader(message: &str) -> bool {
    message.contains("no leader")
}

/// The error a non-200 answer carries.
pub(crate) fn gateway_error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<GatewayError>(body) {
        Ok(GatewayError {
            code: Some(code),
            message,
            error,
        }) => {
            let message = match (message.is_empty(), error) {
                (true, Some(serde_json::Value::String(e))) => e,
                _ => message,
            };
            etcd_error(code, message)
        }
        _ => {
            let text: String = String::from_utf8_lossy(body)
                .chars()
                .take(MAX_ERROR_TEXT)
                .collect();
            Error::Http(status, text)
        }
    }
}

/// The error for etcd's gRPC `code` and `message`.
pub(crate) fn etcd_error(code: i32, message: String) -> Error {
    Error::Etcd { code, message }
}

/// Decodes a JSON answer.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Protocol(format!("a JSON answer: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn gateway_errors_are_read_in_both_shapes_and_as_plain_http() {
        let e = gateway_error(
            400,
            br#"{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}"#,
        );
        assert!(e.is_compacted(), "{e}");
        let e = gateway_error(
            503,
            br#"{"code":14,"message":"etcdserver: no leader","details":[]}"#,
        );
        assert!(matches!(classify(e), Failure::Next(m) if m == "etcdserver: no leader"));
        let e = gateway_error(
            503,
            br#"{"code":14,"message":"etcdserver: request timed out"}"#,
        );
        assert!(matches!(classify(e), Failure::Lost(_)));
        let e = gateway_error(404, b"404 page not found\n");
        assert!(
            matches!(&e, Error::Http(404, m) if m.starts_with("404 page")),
            "{e}"
        );
        let e = gateway_error(502, b"\xff\xfe garbage");
        assert!(matches!(classify(e), Failure::Lost(_)));
        let e = gateway_error(400, br#"{"code":"x"}"#);
        assert!(matches!(e, Error::Http(400, _)));
    }

    #[test]
    fn bad_answers_are_protocol_errors() {
        let r: Result<Status> = decode(b"{\"leader\": -1}");
        assert!(matches!(r, Err(Error::Protocol(_))));
        let r: Result<Status> = decode(b"not json");
        assert!(matches!(r, Err(Error::Protocol(_))));
        let r: Result<Status> = decode(br#"{"version":"3.4.23","leader":"18446744073709551615"}"#);
        assert_eq!(r.unwrap().leader, u64::MAX);
    }

    /// Compiles only if `T` can cross threads.
    fn send<T: Send>(_: &T) {}

    #[test]
    fn clients_watchers_and_their_futures_cross_threads() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<Client>();
        let client = Client::new(ClientConfig::new(["127.0.0.1:1"])).unwrap();
        send(&client.get(b"k"));
        send(&client.txn(crate::Txn::default()));
        send(&client.watch(crate::WatchRequest::key(b"k")));
        send(&client.range_prefix_all(b"k", 10));
        fn watcher_next(w: &mut crate::Watcher) {
            send(&w.next());
        }
        let _ = watcher_next;
    }

    #[test]
    fn a_client_needs_endpoints_and_tls_for_https() {
        assert!(matches!(
            Client::new(ClientConfig::new(Vec::<String>::new())),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::new(ClientConfig::new(["https://127.0.0.1:1"])),
            Err(Error::Config(_))
        ));
        let client = Client::new(ClientConfig::new(["127.0.0.1:1", "http://127.0.0.2:2"])).unwrap();
        assert_eq!(client.endpoints(), ["127.0.0.1:1", "127.0.0.2:2"]);
        assert_eq!(client.current_endpoint(), "127.0.0.1:1");
    }
}
