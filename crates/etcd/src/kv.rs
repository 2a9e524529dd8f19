//! Keys and values: range (get), put, delete and compaction, with their requests and answers
//! in the gateway's JSON (etcd's `rpc.proto`: `RangeRequest`, `PutRequest`,
//! `DeleteRangeRequest`, `CompactionRequest`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::client::{Client, Resend};
use crate::error::Result;
use crate::json::{b64, int64, is_false, is_zero};

/// A lease's ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseId(pub i64);

/// An optional lease as the `int64` the protocol uses (0: none).
pub(crate) mod lease_field {
    use super::*;

    /// Writes the lease's ID as a decimal string.
    pub fn serialize<S: Serializer>(
        lease: &Option<LeaseId>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        int64::serialize(&lease.map_or(0, |l| l.0), s)
    }

    /// Reads an ID; 0 is no lease.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<LeaseId>, D::Error> {
        let id = int64::deserialize(d)?;
        Ok((id != 0).then_some(LeaseId(id)))
    }
}

/// A response header: the revision of the store when the request was served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// The store's revision.
    #[serde(default, with = "int64")]
    pub revision: i64,
}

/// One key and its value, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KeyValue {
    /// The key.
    #[serde(default, with = "b64")]
    pub key: Vec<u8>,
    /// The value (empty when only keys were asked for).
    #[serde(default, with = "b64")]
    pub value: Vec<u8>,
    /// The revision that created the key (since its last deletion).
    #[serde(default, with = "int64")]
    pub create_revision: i64,
    /// The revision of the last change to the key.
    #[serde(default, with = "int64")]
    pub mod_revision: i64,
    /// How many times the key was written since its creation (0: deleted).
    #[serde(default, with = "int64")]
    pub version: i64,
    /// The lease the key is attached to.
    #[serde(default, with = "lease_field")]
    pub lease: Option<LeaseId>,
}

/// The end of the range of keys starting with `prefix`: the prefix with its last byte below
/// 0xff increased and what follows dropped; `[0]` (every key from the start on) when there
/// is no such byte.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

/// The first key and the range end that cover every key starting with `prefix`: the empty
/// prefix (every key) is `[0]` to `[0]`, as etcd wants a key.
pub(crate) fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        (vec![0], vec![0])
    } else {
        (prefix.to_vec(), prefix_end(prefix))
    }
}

/// A read of one key or a range of keys (`RangeRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RangeRequest {
    /// The key, or the first key of the range.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// The end of the range, excluded; empty for the one key `key`; `[0]` for every key
    /// from `key` on.
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub range_end: Vec<u8>,
    /// The most keys answered (0: no limit); `more` tells whether some were left out.
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// The revision to read at (0: the latest).
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub revision: i64,
    /// Answer keys without their values.
    #[serde(skip_serializing_if = "is_false")]
    pub keys_only: bool,
    /// Answer only the count.
    #[serde(skip_serializing_if = "is_false")]
    pub count_only: bool,
    /// Read from the member's own copy without asking the leader (faster, possibly stale).
    #[serde(skip_serializing_if = "is_false")]
    pub serializable: bool,
}

impl RangeRequest {
    /// A read of the one key `key`.
    pub fn key(key: &[u8]) -> RangeRequest {
        RangeRequest {
            key: key.to_vec(),
            ..RangeRequest::default()
        }
    }

    /// A read of every key starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> RangeRequest {
        let (key, range_end) = prefix_range(prefix);
        RangeRequest {
            key,
            range_end,
            ..RangeRequest::default()
        }
    }

    /// The same request limited to `limit` keys.
    pub fn limit(self, limit: i64) -> RangeRequest {
        RangeRequest { limit, ..self }
    }

    /// The same request at `revision`.
    pub fn revision(self, revision: i64) -> RangeRequest {
        RangeRequest { revision, ..self }
    }

    /// The same request answering keys without values.
    pub fn keys_only(self) -> RangeRequest {
        RangeRequest {
            keys_only: true,
            ..self
        }
    }
}

/// The answer to a range read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct RangeResponse {
    /// The revision the read was served at.
    #[serde(default)]
    pub header: Header,
    /// The keys found, in key order.
    #[serde(default)]
    pub kvs: Vec<KeyValue>,
    /// Whether more keys in the range were left out by the limit.
    #[serde(default)]
    pub more: bool,
    /// How many keys the range holds.
    #[serde(default, with = "int64")]
    pub count: i64,
}

/// A write of one key (`PutRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PutRequest {
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// The value.
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub value: Vec<u8>,
    /// The lease to attach the key to: the key goes when the lease expires.
    #[serde(with = "lease_field", skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseId>,
    /// Answer the key as it was before.
    #[serde(skip_serializing_if = "is_false")]
    pub prev_kv: bool,
}

impl PutRequest {
    /// A write of `value` to `key`, with no lease.
    pub fn new(key: &[u8], value: &[u8]) -> PutRequest {
        PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            ..PutRequest::default()
        }
    }
}

/// The answer to a put.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PutResponse {
    /// The revision of the write.
    #[serde(default)]
    pub header: Header,
    /// The key as it was before, when asked for and present.
    #[serde(default)]
    pub prev_kv: Option<KeyValue>,
}

/// A deletion of one key or a range of keys (`DeleteRangeRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeleteRequest {
    /// The key, or the first key of the range.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// The end of the range, excluded; empty for the one key `key`.
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub range_end: Vec<u8>,
    /// Answer the deleted keys as they were.
    #[serde(skip_serializing_if = "is_false")]
    pub prev_kv: bool,
}

impl DeleteRequest {
    /// A deletion of the one key `key`.
    pub fn key(key: &[u8]) -> DeleteRequest {
        DeleteRequest {
            key: key.to_vec(),
            ..DeleteRequest::default()
        }
    }

    /// A deletion of every key starting with `prefix`.
    pub fn prefix(prefix: &[u8]) -> DeleteRequest {
        let (key, range_end) = prefix_range(prefix);
        DeleteRequest {
            key,
            range_end,
            prev_kv: false,
        }
    }

    /// The same deletion answering the deleted keys.
    pub fn with_prev_kv(self) -> DeleteRequest {
        DeleteRequest {
            prev_kv: true,
            ..self
        }
    }
}

/// The answer to a deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct DeleteResponse {
    /// The revision of the deletion.
    #[serde(default)]
    pub header: Header,
    /// How many keys were deleted.
    #[serde(default, with = "int64")]
    pub deleted: i64,
    /// The deleted keys as they were, when asked for.
    #[serde(default)]
    pub prev_kvs: Vec<KeyValue>,
}

/// The body of `/v3/kv/compaction`.
#[derive(Serialize)]
struct CompactionRequest {
    #[serde(with = "int64")]
    revision: i64,
    physical: bool,
}

/// The answer to a compaction.
#[derive(Deserialize)]
struct CompactionResponse {
    #[serde(default)]
    header: Header,
}

impl Client {
    /// The key `key`, if it exists.
    pub async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>> {
        let response = self.range(RangeRequest::key(key)).await?;
        Ok(response.kvs.into_iter().next())
    }

    /// A range read.
    pub async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        self.call("/v3/kv/range", &request, Resend::Safe).await
    }

    /// Writes `value` to `key`, attached to `lease` if given; the header carries the write's
    /// revision.
    ///
    /// Writes and deletions are sent again on another endpoint when their answer is lost, so
    /// one may be applied twice: the same value at two revisions (two watch events).
    pub async fn put(&self, key: &[u8], value: &[u8], lease: Option<LeaseId>) -> Result<Header> {
        let request = PutRequest {
            lease,
            ..PutRequest::new(key, value)
        };
        Ok(self.put_with(request).await?.header)
    }

    /// A write with every option of `PutRequest`.
    pub async fn put_with(&self, request: PutRequest) -> Result<PutResponse> {
        self.call("/v3/kv/put", &request, Resend::Safe).await
    }

    /// Deletes the key `key`.
    pub async fn delete(&self, key: &[u8]) -> Result<DeleteResponse> {
        self.delete_range(DeleteRequest::key(key)).await
    }

    /// Deletes every key starting with `prefix`.
    pub async fn delete_prefix(&self, prefix: &[u8]) -> Result<DeleteResponse> {
        self.delete_range(DeleteRequest::prefix(prefix)).await
    }

    /// A deletion with every option of `DeleteRequest`.
    pub async fn delete_range(&self, request: DeleteRequest) -> Result<DeleteResponse> {
        self.call("/v3/kv/deleterange", &request, Resend::Safe)
            .await
    }

    /// Compacts the store's history up to `revision`, physically (the call returns once the
    /// space is reclaimed): reads and watches at older revisions fail after it. Compacting
    /// a revision already compacted is an error whose [`crate::Error::is_compacted`] is true.
    pub async fn compact(&self, revision: i64) -> Result<Header> {
        let request = CompactionRequest {
            revision,
            physical: true,
        };
        let response: CompactionResponse = self
            .call("/v3/kv/compaction", &request, Resend::Safe)
            .await?;
        Ok(response.header)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn prefix_ends_follow_etcds_rule() {
        assert_eq!(prefix_end(b"abc"), b"abd");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), [0]);
        assert_eq!(prefix_end(b""), [0]);
        assert_eq!(prefix_range(b""), (vec![0], vec![0]));
        assert_eq!(prefix_range(b"a"), (b"a".to_vec(), b"b".to_vec()));
    }

    #[test]
    fn requests_are_written_in_the_gateways_json() {
        let r = RangeRequest::prefix(b"foo")
            .limit(10)
            .revision(7)
            .keys_only();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"key":"Zm9v","range_end":"Zm9w","limit":"10","revision":"7","keys_only":true}"#
        );
        let p = PutRequest {
            lease: Some(LeaseId(-5)),
            ..PutRequest::new(b"k", b"")
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"key":"aw==","lease":"-5"}"#
        );
        let d = DeleteRequest::key(b"k").with_prev_kv();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"key":"aw==","prev_kv":true}"#
        );
    }

    #[test]
    fn answers_are_read_from_the_gateways_json() {
        let r: RangeResponse = serde_json::from_str(
            r#"{"header":{"cluster_id":"1","member_id":"2","revision":"4","raft_term":"2"},
                "kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"Yg==","lease":"9"}],
                "more":true,"count":"3"}"#,
        )
        .unwrap();
        assert_eq!(r.header.revision, 4);
        assert!(r.more);
        assert_eq!(r.count, 3);
        assert_eq!(
            r.kvs,
            [KeyValue {
                key: b"foo".to_vec(),
                value: b"b".to_vec(),
                create_revision: 2,
                mod_revision: 3,
                version: 2,
                lease: Some(LeaseId(9)),
            }]
        );
        let empty: RangeResponse = serde_json::from_str(r#"{"header":{"revision":"2"}}"#).unwrap();
        assert!(empty.kvs.is_empty() && !empty.more);
        for bad in [
            r#"{"kvs":[{"key":"%%%"}]}"#,
            r#"{"kvs":{"key":"Zm9v"}}"#,
            r#"{"header":{"revision":"four"}}"#,
            r#"{"more":"yes"}"#,
        ] {
            assert!(serde_json::from_str::<RangeResponse>(bad).is_err(), "{bad}");
        }
    }
}
