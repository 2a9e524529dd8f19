//! The few etcd operations the directory is made of, over the `etcd` crate: one place that
//! knows the client's API, so the rest of the crate speaks of mailboxes and servers.

use etcd::{
    Client, Compare, DeleteRequest, KeyValue, Op, OpResponse, PutRequest, RangeRequest, Txn,
};

/// A key's value and the revision it was last written at (for compare-and-swap).
#[derive(Clone, Debug)]
pub struct Versioned {
    pub value: Vec<u8>,
    pub mod_revision: i64,
}

impl From<KeyValue> for Versioned {
    fn from(kv: KeyValue) -> Versioned {
        Versioned {
            value: kv.value,
            mod_revision: kv.mod_revision,
        }
    }
}

/// The outcome of a compare-and-swap: done, or the key's value now (`None`: absent).
pub enum Swap {
    Done,
    Conflict(Option<Versioned>),
}

/// Reads many keys at once: one transaction of gets per `GETS_PER_TXN` keys (etcd's default
/// `--max-txn-ops` is 128). Answers each key's value, in the order asked.
pub async fn get_many(
    client: &Client,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<Versioned>>, etcd::Error> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(GETS_PER_TXN) {
        let txn = Txn {
            compare: Vec::new(),
            success: chunk
                .iter()
                .map(|k| Op::Get(RangeRequest::key(k)))
                .collect(),
            failure: Vec::new(),
        };
        let response = client.txn(txn).await?;
        if response.responses.len() != chunk.len() {
            return Err(etcd::Error::Protocol(format!(
                "{} answers to {} reads",
                response.responses.len(),
                chunk.len()
            )));
        }
        for r in response.responses {
            found.push(match r {
                OpResponse::Get(range) => range.kvs.into_iter().next().map(Versioned::from),
                _ => None,
            });
        }
    }
    Ok(found)
}

/// Keys read per transaction by [`get_many`].
const GETS_PER_TXN: usize = 128;

/// The directory's etcd client.
#[derive(Clone)]
pub struct Kv {
    client: Client,
}

impl Kv {
    pub fn new(client: Client) -> Kv {
        Kv { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn get(&self, key: &[u8]) -> Result<Option<Versioned>, etcd::Error> {
        Ok(self.client.get(key).await?.map(Versioned::from))
    }

    /// Writes `value` at `key` if the key is absent (`expect: None`) or still at revision
    /// `expect`; otherwise answers what is there.
    pub async fn swap(
        &self,
        key: &[u8],
        expect: Option<i64>,
        value: Option<Vec<u8>>,
        also: Vec<Op>,
    ) -> Result<Swap, etcd::Error> {
        let compare = match expect {
            None => Compare::absent(key),
            Some(rev) => Compare::mod_revision_is(key, rev),
        };
        let action = match value {
            Some(v) => Op::Put(PutRequest::new(key, &v)),
            None => Op::Delete(DeleteRequest::key(key)),
        };
        let mut success = vec![action];
        success.extend(also);
        let txn = Txn {
            compare: vec![compare],
            success,
            failure: vec![Op::Get(RangeRequest::key(key))],
        };
        let response = self.client.txn(txn).await?;
        if response.succeeded {
            return Ok(Swap::Done);
        }
        let now = response
            .responses
            .into_iter()
            .find_map(|r| match r {
                OpResponse::Get(range) => range.kvs.into_iter().next(),
                _ => None,
            })
            .map(Versioned::from);
        Ok(Swap::Conflict(now))
    }
}
