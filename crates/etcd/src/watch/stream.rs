//! One watch stream: the gateway's JSON for watches, opening a stream on one endpoint, and
//! the task that reads its messages into a channel.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{EventKind, WatchRequest};
use crate::client::{
    classify, etcd_error, gateway_error, Failure, GatewayErrorValue, Inner, StreamMessage,
};
use crate::error::{code, Error};
use crate::http::{self, BodyReader};
use crate::json::{b64, int64, is_false, is_zero, JsonSplitter};
use crate::kv::{Header, KeyValue};
use crate::transport::{Conn, ConnectError};

/// How many messages the reading task may hold ahead of the caller.
const CHANNEL_DEPTH: usize = 2;

/// `WatchCreateRequest`, inside `{"create_request": …}`.
#[derive(Serialize)]
pub(super) struct WireCreate<'a> {
    #[serde(with = "b64")]
    pub(super) key: &'a [u8],
    #[serde(with = "b64", skip_serializing_if = "<[u8]>::is_empty")]
    pub(super) range_end: &'a [u8],
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub(super) start_revision: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub(super) progress_notify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(super) prev_kv: bool,
}

/// `WatchRequest` as the gateway takes it.
#[derive(Serialize)]
pub(super) struct WireWatchRequest<'a> {
    pub(super) create_request: WireCreate<'a>,
}

/// `WatchResponse` as the gateway writes it.
#[derive(Debug, Deserialize)]
pub(super) struct WireWatchResponse {
    #[serde(default)]
    pub(super) header: Header,
    #[serde(default)]
    pub(super) created: bool,
    #[serde(default)]
    pub(super) canceled: bool,
    #[serde(default, with = "int64")]
    pub(super) compact_revision: i64,
    #[serde(default)]
    pub(super) cancel_reason: String,
    #[serde(default)]
    pub(super) events: Vec<WireEvent>,
}

/// `mvccpb.Event`: the type is left out for a put (its default).
#[derive(Debug, Deserialize)]
pub(super) struct WireEvent {
    #[serde(rename = "type", default = "put", deserialize_with = "event_kind")]
    pub(super) kind: EventKind,
    #[serde(default)]
    pub(super) kv: KeyValue,
    #[serde(default)]
    pub(super) prev_kv: Option<KeyValue>,
}

/// The default event type.
fn put() -> EventKind {
    EventKind::Put
}

/// An event type given by name or number.
fn event_kind<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<EventKind, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) if s == "PUT" => Ok(EventKind::Put),
        serde_json::Value::String(s) if s == "DELETE" => Ok(EventKind::Delete),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(EventKind::Put),
        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(EventKind::Delete),
        serde_json::Value::Null => Ok(EventKind::Put),
        other => Err(serde::de::Error::custom(format!("event type {other}"))),
    }
}

/// What the reading task passes on.
#[derive(Debug)]
pub(super) enum StreamItem {
    /// One watch response.
    Response(WireWatchResponse),
    /// etcd ended the stream with an error.
    Error(GatewayErrorValue),
    /// The stream broke or made no sense.
    Broken(String),
}

/// Aborts the reading task when the stream is dropped.
pub(super) struct Reader(JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why opening a stream failed.
pub(super) enum OpenFailure {
    /// Try another endpoint (after a pause).
    Retry(String),
    /// Trying again would not help.
    Final(Error),
}

/// A stream etcd has answered, with its first message (the creation, or a cancellation).
pub(super) struct Opened {
    /// The messages after the first.
    pub messages: mpsc::Receiver<StreamItem>,
    /// The task reading them.
    pub reader: Reader,
    /// The first message.
    pub first: WireWatchResponse,
    /// The token the watch was opened with.
    pub token: Option<Arc<str>>,
}

/// Opens a watch of `request` from `start_revision` on endpoint `index` and waits for its
/// first message, all within the request timeout.
pub(super) async fn open_stream(
    inner: &Inner,
    index: usize,
    request: &WatchRequest,
    start_revision: i64,
) -> Result<Opened, OpenFailure> {
    let endpoint = &inner.endpoints[index];
    let at = endpoint.authority.as_str();
    let token = inner.token(index).await.map_err(failure_to_open)?;
    let body = serde_json::to_vec(&WireWatchRequest {
        create_request: WireCreate {
            key: &request.key,
            range_end: &request.range_end,
            start_revision,
            progress_notify: request.progress_notify,
            prev_kv: request.prev_kv,
        },
    })
    .map_err(|e| OpenFailure::Final(Error::Protocol(format!("encoding a watch: {e}"))))?;
    let bytes = http::encode_post("/v3/watch", at, token.as_deref(), &body);
    let mut conn = match inner.connector.connect(endpoint).await {
        Ok(conn) => conn,
        Err(ConnectError::Network(reason) | ConnectError::Tls(reason)) => {
            return Err(OpenFailure::Retry(reason))
        }
    };
    let retry = |e: &dyn std::fmt::Display| OpenFailure::Retry(format!("{at}: {e}"));
    let start = async {
        conn.write_all(&bytes).await.map_err(|e| retry(&e))?;
        conn.flush().await.map_err(|e| retry(&e))?;
        let head = http::read_head(&mut conn).await.map_err(|e| retry(&e))?;
        if head.status != 200 {
            let answer = http::read_body(&mut conn, head.framing)
                .await
                .map_err(|e| retry(&e))?;
            return Err(match gateway_error(head.status, &answer) {
                error @ Error::Etcd {
                    code: code::UNAUTHENTICATED,
                    ..
                } => {
                    inner.drop_token(token.as_ref());
                    OpenFailure::Final(error)
                }
                e => failure_to_open(classify(e)),
            });
        }
        Ok(head)
    };
    let head = match tokio::time::timeout(inner.request_timeout, start).await {
        Ok(head) => head?,
        Err(_) => return Err(retry(&"no answer to a watch")),
    };
    let (sender, mut messages) = mpsc::channel(CHANNEL_DEPTH);
    let reader = Reader(tokio::spawn(read_stream(
        conn,
        BodyReader::new(head.framing),
        sender,
    )));
    let first = match tokio::time::timeout(inner.request_timeout, messages.recv()).await {
        Ok(Some(StreamItem::Response(first))) => first,
        Ok(Some(StreamItem::Error(e))) => {
            return Err(failure_to_open(classify(etcd_error(e.code, e.message))))
        }
        Ok(Some(StreamItem::Broken(reason))) => return Err(retry(&reason)),
        Ok(None) => return Err(retry(&"the watch stream ended")),
        Err(_) => return Err(retry(&"the watch was not confirmed")),
    };
    if !first.created && !first.canceled {
        return Err(OpenFailure::Final(Error::Protocol(format!(
            "{at}: a watch stream that did not start with its creation"
        ))));
    }
    Ok(Opened {
        messages,
        reader,
        first,
        token,
    })
}

/// The error a watch cancelled for `reason` stands for. etcd writes the gRPC error into the
/// reason (`rpc error: code = PermissionDenied desc = etcdserver: permission denied`).
pub(super) fn cancel_error(reason: &str) -> Error {
    let code = if reason.contains("code = Unauthenticated") || reason.contains("invalid auth token")
    {
        code::UNAUTHENTICATED
    } else if reason.contains("code = PermissionDenied") || reason.contains("permission denied") {
        code::PERMISSION_DENIED
    } else {
        0
    };
    etcd_error(code, reason.to_string())
}

/// A failed request as a failed open: anything but a final refusal is worth another try.
fn failure_to_open(failure: Failure) -> OpenFailure {
    match failure {
        Failure::Next(reason) | Failure::Lost(reason) => OpenFailure::Retry(reason),
        Failure::Final(e) => OpenFailure::Final(e),
    }
}

/// Reads the watch stream on `conn` into `sender` until it ends, breaks, or the watcher
/// goes away.
async fn read_stream(mut conn: Conn, mut body: BodyReader, sender: mpsc::Sender<StreamItem>) {
    let mut splitter = JsonSplitter::new(http::MAX_BODY);
    let mut piece = Vec::new();
    loop {
        let item = match splitter.next_object() {
            Err(e) => StreamItem::Broken(e),
            Ok(Some(object)) => {
                match serde_json::from_slice::<StreamMessage<WireWatchResponse>>(&object) {
                    Err(e) => StreamItem::Broken(format!("a watch message: {e}")),
                    Ok(StreamMessage { error: Some(e), .. }) => StreamItem::Error(e),
                    Ok(StreamMessage {
                        result: Some(r), ..
                    }) => StreamItem::Response(r),
                    Ok(StreamMessage { .. }) => {
                        StreamItem::Broken("a watch message without result".into())
                    }
                }
            }
            Ok(None) => {
                piece.clear();
                match body
                    .next_piece(&mut conn, &mut piece, splitter.room())
                    .await
                {
                    Ok(true) => match splitter.push(&piece) {
                        Ok(()) => continue,
                        Err(e) => StreamItem::Broken(e),
                    },
                    Ok(false) => StreamItem::Broken("the watch stream ended".into()),
                    Err(e) => StreamItem::Broken(e.to_string()),
                }
            }
        };
        let last = !matches!(item, StreamItem::Response(_));
        if sender.send(item).await.is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn watch_responses_are_read_in_the_gateways_json() {
        let m: StreamMessage<WireWatchResponse> = serde_json::from_str(
            r#"{"result":{"header":{"revision":"3"},"events":[
                {"kv":{"key":"Zm9v","mod_revision":"3","version":"2","value":"Yg=="},
                 "prev_kv":{"key":"Zm9v","mod_revision":"2","version":"1","value":"YmFy"}},
                {"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"4"}},
                {"type":1,"kv":{"key":"Zm9v","mod_revision":"5"}}]}}"#,
        )
        .unwrap();
        let r = m.result.unwrap();
        let kinds: Vec<EventKind> = r.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Put, EventKind::Delete, EventKind::Delete]
        );
        assert_eq!(r.events[0].prev_kv.as_ref().unwrap().value, b"bar");
        let m: StreamMessage<WireWatchResponse> = serde_json::from_str(
            r#"{"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"3","watch_id":"-1"}}"#,
        )
        .unwrap();
        let r = m.result.unwrap();
        assert!(r.canceled && r.compact_revision == 3);
        let m: StreamMessage<WireWatchResponse> = serde_json::from_str(
            r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#,
        )
        .unwrap();
        let e = m.error.unwrap();
        assert_eq!((e.code, e.message.as_str()), (14, "etcdserver: no leader"));
        for bad in [
            r#"{"result":{"events":[{"type":"EXPLODE"}]}}"#,
            r#"{"result":{"events":[{"type":7}]}}"#,
            r#"{"result":{"compact_revision":"x"}}"#,
            r#"{"result":"x"}"#,
        ] {
            assert!(
                serde_json::from_str::<StreamMessage<WireWatchResponse>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_watch_is_created_in_the_gateways_json() {
        let body = serde_json::to_string(&WireWatchRequest {
            create_request: WireCreate {
                key: b"a",
                range_end: b"b",
                start_revision: 7,
                progress_notify: true,
                prev_kv: false,
            },
        })
        .unwrap();
        assert_eq!(
            body,
            r#"{"create_request":{"key":"YQ==","range_end":"Yg==","start_revision":"7","progress_notify":true}}"#
        );
    }

    #[test]
    fn cancel_reasons_become_errors() {
        assert!(matches!(
            cancel_error("rpc error: code = PermissionDenied desc = etcdserver: permission denied"),
            Error::Etcd {
                code: code::PERMISSION_DENIED,
                ..
            }
        ));
        assert!(matches!(
            cancel_error("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"),
            Error::Etcd {
                code: code::UNAUTHENTICATED,
                ..
            }
        ));
        assert!(matches!(
            cancel_error("something else"),
            Error::Etcd { code: 0, .. }
        ));
    }
}
