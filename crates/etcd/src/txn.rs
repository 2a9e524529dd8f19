//! Transactions (`TxnRequest`): compare, then the success or the failure operations, applied
//! atomically at one revision.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::client::{Client, Resend};
use crate::error::{Error, Result};
use crate::json::encode_b64;
use crate::kv::{
    DeleteRequest, DeleteResponse, Header, LeaseId, PutRequest, PutResponse, RangeRequest,
    RangeResponse,
};

/// What a comparison looks at, and the value it compares with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    /// The key's version (0: the key does not exist).
    Version(i64),
    /// The key's create revision (0: the key does not exist).
    CreateRevision(i64),
    /// The key's last modification revision.
    ModRevision(i64),
    /// The key's value.
    Value(Vec<u8>),
    /// The key's lease (`None`: no lease).
    Lease(Option<LeaseId>),
}

/// How the key's field must relate to the target's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareResult {
    /// Equal to it.
    Equal,
    /// Greater than it.
    Greater,
    /// Less than it.
    Less,
    /// Different from it.
    NotEqual,
}

impl CompareResult {
    /// The protocol's name of the relation.
    fn name(self) -> &'static str {
        match self {
            CompareResult::Equal => "EQUAL",
            CompareResult::Greater => "GREATER",
            CompareResult::Less => "LESS",
            CompareResult::NotEqual => "NOT_EQUAL",
        }
    }
}

/// One condition of a transaction: `key`'s `target` field relates to the target's value as
/// `result` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    /// The key compared.
    pub key: Vec<u8>,
    /// The field compared and the value compared with.
    pub target: CompareTarget,
    /// The relation that must hold.
    pub result: CompareResult,
}

impl Compare {
    /// `key`'s `target` relates to its value as `result`.
    pub fn new(key: &[u8], target: CompareTarget, result: CompareResult) -> Compare {
        Compare {
            key: key.to_vec(),
            target,
            result,
        }
    }

    /// `key` does not exist (its create revision is 0).
    pub fn absent(key: &[u8]) -> Compare {
        Compare::new(key, CompareTarget::CreateRevision(0), CompareResult::Equal)
    }

    /// `key` was last modified at `revision`.
    pub fn mod_revision_is(key: &[u8], revision: i64) -> Compare {
        Compare::new(
            key,
            CompareTarget::ModRevision(revision),
            CompareResult::Equal,
        )
    }

    /// `key` holds `value`.
    pub fn value_is(key: &[u8], value: &[u8]) -> Compare {
        Compare::new(
            key,
            CompareTarget::Value(value.to_vec()),
            CompareResult::Equal,
        )
    }
}

impl Serialize for Compare {
    /// `{"key", "result", "target", <the target's field>}`, every value written even when it
    /// is the default, so the comparison always has its operand.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("key", &encode_b64(&self.key))?;
        map.serialize_entry("result", self.result.name())?;
        match &self.target {
            CompareTarget::Version(v) => {
                map.serialize_entry("target", "VERSION")?;
                map.serialize_entry("version", &v.to_string())?;
            }
            CompareTarget::CreateRevision(v) => {
                map.serialize_entry("target", "CREATE")?;
                map.serialize_entry("create_revision", &v.to_string())?;
            }
            CompareTarget::ModRevision(v) => {
                map.serialize_entry("target", "MOD")?;
                map.serialize_entry("mod_revision", &v.to_string())?;
            }
            CompareTarget::Value(v) => {
                map.serialize_entry("target", "VALUE")?;
                map.serialize_entry("value", &encode_b64(v))?;
            }
            CompareTarget::Lease(v) => {
                map.serialize_entry("target", "LEASE")?;
                map.serialize_entry("lease", &v.map_or(0, |l| l.0).to_string())?;
            }
        }
        map.end()
    }
}

/// One operation of a transaction (`RequestOp`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// A write.
    #[serde(rename = "request_put")]
    Put(PutRequest),
    /// A read.
    #[serde(rename = "request_range")]
    Get(RangeRequest),
    /// A deletion.
    #[serde(rename = "request_delete_range")]
    Delete(DeleteRequest),
}

/// A transaction: if every comparison holds, the success operations, otherwise the failure
/// operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Txn {
    /// The conditions, all of which must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<Compare>,
    /// The operations applied when they hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub success: Vec<Op>,
    /// The operations applied when one does not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure: Vec<Op>,
}

/// The answer to one operation of a transaction, in the order of the operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResponse {
    /// The answer to a write.
    Put(PutResponse),
    /// The answer to a read.
    Get(RangeResponse),
    /// The answer to a deletion.
    Delete(DeleteResponse),
}

/// The answer to a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnResponse {
    /// Whether the comparisons held (and the success operations were applied).
    pub succeeded: bool,
    /// The store's revision after the transaction.
    pub revision: i64,
    /// The answers of the operations applied.
    pub responses: Vec<OpResponse>,
}

/// `TxnResponse` as the gateway writes it.
#[derive(Deserialize)]
struct WireTxnResponse {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    succeeded: bool,
    #[serde(default)]
    responses: Vec<WireResponseOp>,
}

/// `ResponseOp`: one of its fields is set.
#[derive(Deserialize)]
struct WireResponseOp {
    response_put: Option<PutResponse>,
    response_range: Option<RangeResponse>,
    response_delete_range: Option<DeleteResponse>,
}

impl TryFrom<WireTxnResponse> for TxnResponse {
    type Error = Error;

    fn try_from(wire: WireTxnResponse) -> Result<TxnResponse> {
        let responses = wire
            .responses
            .into_iter()
            .map(
                |op| match (op.response_put, op.response_range, op.response_delete_range) {
                    (Some(p), None, None) => Ok(OpResponse::Put(p)),
                    (None, Some(r), None) => Ok(OpResponse::Get(r)),
                    (None, None, Some(d)) => Ok(OpResponse::Delete(d)),
                    _ => Err(Error::Protocol(
                        "a transaction answer that is not exactly one of put, range, delete".into(),
                    )),
                },
            )
            .collect::<Result<Vec<_>>>()?;
        Ok(TxnResponse {
            succeeded: wire.succeeded,
            revision: wire.header.revision,
            responses,
        })
    }
}

impl Client {
    /// Runs a transaction. It is sent again on another endpoint only when it certainly did
    /// not reach etcd; when its answer is lost after sending, the result is
    /// [`Error::Indeterminate`].
    pub async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        let wire: WireTxnResponse = self.call("/v3/kv/txn", &txn, Resend::OnlyIfUnsent).await?;
        TxnResponse::try_from(wire)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_transaction_is_written_in_the_gateways_json() {
        let txn = Txn {
            compare: vec![
                Compare::absent(b"k"),
                Compare::new(
                    b"k",
                    CompareTarget::Value(b"v".to_vec()),
                    CompareResult::NotEqual,
                ),
                Compare::new(b"k", CompareTarget::Lease(None), CompareResult::Greater),
            ],
            success: vec![Op::Put(PutRequest::new(b"k", b"v"))],
            failure: vec![
                Op::Get(RangeRequest::key(b"k")),
                Op::Delete(DeleteRequest::key(b"x")),
            ],
        };
        let json: serde_json::Value = serde_json::to_value(&txn).unwrap();
        let expected = serde_json::json!({
            "compare": [
                {"key": "aw==", "result": "EQUAL", "target": "CREATE", "create_revision": "0"},
                {"key": "aw==", "result": "NOT_EQUAL", "target": "VALUE", "value": "dg=="},
                {"key": "aw==", "result": "GREATER", "target": "LEASE", "lease": "0"}
            ],
            "success": [{"request_put": {"key": "aw==", "value": "dg=="}}],
            "failure": [{"request_range": {"key": "aw=="}}, {"request_delete_range": {"key": "eA=="}}]
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn a_transaction_answer_is_read_and_checked() {
        let wire: WireTxnResponse = serde_json::from_str(
            r#"{"header":{"revision":"2"},"responses":[
                {"response_range":{"header":{"revision":"2"},"kvs":[{"key":"aw=="}],"count":"1"}},
                {"response_delete_range":{"header":{"revision":"2"}}},
                {"response_put":{}}]}"#,
        )
        .unwrap();
        let r = TxnResponse::try_from(wire).unwrap();
        assert!(!r.succeeded);
        assert_eq!(r.revision, 2);
        assert!(matches!(&r.responses[0], OpResponse::Get(g) if g.kvs[0].key == b"k"));
        assert!(matches!(&r.responses[1], OpResponse::Delete(d) if d.deleted == 0));
        assert!(matches!(&r.responses[2], OpResponse::Put(_)));
        let wire: WireTxnResponse =
            serde_json::from_str(r#"{"succeeded":true,"responses":[{}]}"#).unwrap();
        assert!(TxnResponse::try_from(wire).is_err());
    }
}
