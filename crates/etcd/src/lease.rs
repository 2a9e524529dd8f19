//! Leases: granted with a time to live, kept alive by the holder, and taking their keys with
//! them when they expire or are revoked.

use serde::{Deserialize, Serialize};

use crate::client::{Client, Resend};
use crate::error::{Error, Result};
use crate::json::int64;
use crate::kv::LeaseId;

/// The body of `/v3/lease/grant`: etcd picks the ID when it is 0.
#[derive(Serialize)]
struct LeaseGrantRequest {
    #[serde(rename = "TTL", with = "int64")]
    ttl: i64,
    #[serde(rename = "ID", with = "int64")]
    id: i64,
}

/// The answer to a grant.
#[derive(Deserialize)]
struct LeaseGrantResponse {
    #[serde(rename = "ID", default, with = "int64")]
    id: i64,
    #[serde(rename = "TTL", default, with = "int64")]
    ttl: i64,
    #[serde(default)]
    error: String,
}

/// The body of `/v3/lease/keepalive` and `/v3/lease/revoke`.
#[derive(Serialize)]
struct LeaseIdRequest {
    #[serde(rename = "ID", with = "int64")]
    id: i64,
}

/// One answer of the keep-alive stream.
#[derive(Deserialize)]
struct LeaseKeepAliveResponse {
    #[serde(rename = "TTL", default, with = "int64")]
    ttl: i64,
}

/// The answer to a revocation.
#[derive(Deserialize)]
struct LeaseRevokeResponse {}

impl Client {
    /// Grants a lease of `ttl` seconds; its ID and the time to live etcd granted (etcd
    /// raises a TTL below its minimum). A grant whose answer was lost is sent again; the
    /// lease granted first, unknown to the caller, then simply expires.
    pub async fn lease_grant(&self, ttl: i64) -> Result<(LeaseId, i64)> {
        let request = LeaseGrantRequest { ttl, id: 0 };
        let response: LeaseGrantResponse =
            self.call("/v3/lease/grant", &request, Resend::Safe).await?;
        if !response.error.is_empty() {
            return Err(Error::Protocol(format!("lease grant: {}", response.error)));
        }
        if response.id == 0 {
            return Err(Error::Protocol("lease grant: an answer without ID".into()));
        }
        Ok((LeaseId(response.id), response.ttl))
    }

    /// Renews the lease `id` once; the time to live it now has, in seconds, or 0 when it has
    /// already expired (its keys are gone).
    pub async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64> {
        let request = LeaseIdRequest { id: id.0 };
        let response: LeaseKeepAliveResponse = self
            .call_stream_once("/v3/lease/keepalive", &request)
            .await?;
        Ok(response.ttl.max(0))
    }

    /// Revokes the lease `id`, deleting its keys. An unknown lease is an
    /// [`Error::Etcd`] with code [`crate::code::NOT_FOUND`].
    pub async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        let request = LeaseIdRequest { id: id.0 };
        let _: LeaseRevokeResponse = self
            .call("/v3/lease/revoke", &request, Resend::Safe)
            .await?;
        Ok(())
    }
}
