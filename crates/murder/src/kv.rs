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
    ) -> Result<Swap, etcd::Error> {
        let compare = match expect {
            None => Compare::absent(key),
            Some(rev) => Compare::mod_revision_is(key, rev),
        };
        let action = match value {
            Some(v) => Op::Put(PutRequest::new(key, &v)),
            None => Op::Delete(DeleteRequest::key(key)),
        };
        let txn = Txn {
            compare: vec![compare],
            success: vec![action],
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
