//! A request on one key: served here, waited for while its key is still arriving, or
//! forwarded to its owner; and the calls between nodes.

use super::*;

/// A request on one key, as it travels from node to node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// `GET /kv/{key}`.
    Get,
    /// `PUT /kv/{key}`.
    Put(PutRequest),
    /// `DELETE /kv/{key}`.
    Delete,
}

/// The answer to a `/kv/` request, wherever it was served.
#[derive(Debug, Clone, PartialEq)]
pub struct KvReply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body (an entry, a delete, or an error).
    pub body: serde_json::Value,
    /// The node that served it.
    pub served_by: NodeId,
    /// How many times it was forwarded.
    pub hops: u32,
}

impl Node {
    // ANCHOR: kv
    /// Serves a `/kv/` request that has been forwarded `hops` times: here if this node
    /// owns the key, after the key's pull if it is still moving here, else at its owner.
    pub async fn kv(&self, key: &str, op: KvOp, hops: u32) -> Result<KvReply, ApiError> {
        let deadline = Instant::now() + self.config.move_wait;
        loop {
            let mut changed = self.changed.subscribe();
            let membership = self.membership.read().await;
            match membership.route(key, hops) {
                Route::Local => {
                    // The synchronous half runs under the read lock; the wait does not.
                    let reply = match op {
                        KvOp::Get => {
                            let (found, durable) = self.store.begin_read(key);
                            drop(membership);
                            durable.await.map_err(|e| store_error(key, e))?;
                            let found = found.ok_or_else(|| ApiError::NotFound {
                                key: key.to_string(),
                            })?;
                            json(&Entry {
                                key: key.to_string(),
                                value: found.value,
                                version: found.version,
                            })
                        }
                        KvOp::Put(put) => {
                            let value = put.value.clone();
                            let pending = self
                                .store
                                .begin_write(key, Some(put.value), put.if_version)
                                .map_err(|e| store_error(key, e))?;
                            drop(membership);
                            let version =
                                pending.durable().await.map_err(|e| store_error(key, e))?;
                            json(&Entry {
                                key: key.to_string(),
                                value,
                                version,
                            })
                        }
                        KvOp::Delete => {
                            let pending = self
                                .store
                                .begin_write(key, None, None)
                                .map_err(|e| store_error(key, e))?;
                            drop(membership);
                            let version =
                                pending.durable().await.map_err(|e| store_error(key, e))?;
                            json(&DeleteResponse {
                                key: key.to_string(),
                                version,
                            })
                        }
                    };
                    return Ok(KvReply {
                        status: StatusCode::OK,
                        body: reply,
                        served_by: self.id,
                        hops,
                    });
                }
                Route::Wait { from } => {
                    drop(membership);
                    if let Some(fault) = self.fault() {
                        return Err(fault_error(fault));
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if tokio::time::timeout(left, changed.changed()).await.is_err() {
                        return Err(ApiError::Unavailable(format!(
                            "key {key:?} is moving to node {} from node {from} and has not \
                             arrived within {:?}; nothing was written: retry shortly",
                            self.id, self.config.move_wait
                        )));
                    }
                }
                Route::Forward(owner) => {
                    drop(membership);
                    return self.forward(&owner, key, op, hops + 1).await;
                }
                Route::TooManyHops { hops } => {
                    return Err(ApiError::Unavailable(format!(
                        "the request was forwarded {hops} times without reaching the key's \
                         owner: the nodes disagree about the ring while a change spreads; retry"
                    )));
                }
                Route::NoCluster => {
                    return Err(ApiError::Unavailable(format!(
                        "node {} is not in a cluster yet: start it with --member, or add it \
                         with `chapter4 join`",
                        self.id
                    )));
                }
            }
        }
    }
    // ANCHOR_END: kv

    /// Sends a `/kv/` request on to `owner` and relays its answer.
    pub(super) async fn forward(
        &self,
        owner: &Member,
        key: &str,
        op: KvOp,
        hops: u32,
    ) -> Result<KvReply, ApiError> {
        let url = format!("{}/kv/{}", owner.url, encode_segment(key));
        let request = match &op {
            KvOp::Get => self.http.get(&url),
            KvOp::Put(put) => self.http.put(&url).json(put),
            KvOp::Delete => self.http.delete(&url),
        };
        let response = request
            .header(crate::api::HOPS, hops)
            .send()
            .await
            .map_err(|e| self.peer_failure(owner, key, &op, &e))?;
        let status = response.status();
        let served_by = header_number(&response, crate::api::SERVED_BY).unwrap_or(owner.id);
        let hops = header_number(&response, crate::api::HOPS)
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(hops);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.peer_failure(owner, key, &op, &e))?;
        let body = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::Internal(format!(
                "node {} answered {status} with a body that is not JSON",
                owner.id
            ))
        })?;
        Ok(KvReply {
            status,
            body,
            served_by,
            hops,
        })
    }

    pub(super) fn peer_failure(
        &self,
        owner: &Member,
        key: &str,
        op: &KvOp,
        e: &reqwest::Error,
    ) -> ApiError {
        if e.is_connect() || matches!(op, KvOp::Get) {
            ApiError::Unavailable(format!(
                "node {} at {}, the owner of key {key:?}, could not be reached ({e}); \
                 nothing was written",
                owner.id, owner.url
            ))
        } else {
            ApiError::Unknown(format!(
                "node {} at {}, the owner of key {key:?}, did not answer ({e}): the write \
                 may or may not have happened; read the key before retrying",
                owner.id, owner.url
            ))
        }
    }

    /// A JSON call to a peer's internal route; a refusal comes back as its API error.
    pub async fn call_peer<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        peer: &Member,
        path: &str,
        body: &Req,
    ) -> Result<Resp, ApiError> {
        let response = self
            .http
            .post(format!("{}{path}", peer.url))
            .json(body)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("node {} at {}: {e}", peer.id, peer.url)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiError::Unavailable(format!("node {} at {}: {e}", peer.id, peer.url)))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::Internal(format!(
                    "node {}'s answer to {path} is not valid: {e}",
                    peer.id
                ))
            })
        } else {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            let code = body.as_ref().map(|b| b.error.clone()).unwrap_or_default();
            let message = body
                .map(|b| b.message)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            let message = format!("node {} refused {path} ({status}): {message}", peer.id);
            Err(match (status, code.as_str()) {
                (StatusCode::CONFLICT, _) => ApiError::Conflict(message),
                (_, "not_implemented") => ApiError::NotImplemented(message),
                (StatusCode::INTERNAL_SERVER_ERROR, _) => ApiError::Internal(message),
                _ => ApiError::Unavailable(message),
            })
        }
    }
}
