//! The routed client: each request goes straight to the key's owner, by the cluster's
//! map, instead of through one entry node.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crate::api::{ClusterView, Entry};
use crate::client::{Client, ClientError};
use crate::ring::{NodeId, Placement, Ring};

/// A client that routes each request straight to the key's owner, by the cluster's map
/// (`GET /cluster`), instead of through one entry node: no forwarding hop. If the map is
/// out of date the old owner still forwards, so a stale map costs a hop, not an error;
/// [`ClusterClient::refresh`] fetches it again.
#[derive(Debug)]
pub struct ClusterClient {
    seed: Client,
    http: reqwest::Client,
    routes: RwLock<(Ring, Vec<(NodeId, Client)>)>,
}

impl ClusterClient {
    /// Fetches the map from the node at `seed`.
    pub async fn connect(seed: &str) -> anyhow::Result<Self> {
        let seed = Client::new(seed)?;
        let client = Self {
            seed,
            http: plumbing::http::client(Duration::from_secs(10))?,
            routes: RwLock::new((Ring::empty(Placement::ModN), Vec::new())),
        };
        client.refresh().await?;
        Ok(client)
    }

    /// Fetches the map again.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let view: ClusterView = self
            .http
            .get(format!("{}/cluster", self.seed.base()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::ensure!(
            !view.ring.members().is_empty(),
            "node {} is not in a cluster",
            view.me
        );
        let clients = view
            .ring
            .members()
            .iter()
            .map(|m| Ok((m.id, Client::new(&m.url)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        *self.routes.write().unwrap_or_else(PoisonError::into_inner) = (view.ring, clients);
        Ok(())
    }

    /// The epoch of the map it routes by.
    pub fn epoch(&self) -> u64 {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .epoch()
    }

    /// The client of `key`'s owner, by the map.
    pub fn client_for(&self, key: &str) -> Client {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let (ring, clients) = &*routes;
        ring.owner(key)
            .and_then(|owner| clients.iter().find(|(id, _)| *id == owner.id))
            .map_or_else(|| self.seed.clone(), |(_, client)| client.clone())
    }

    /// [`Client::get`] at the key's owner.
    pub async fn get(&self, key: &str) -> Result<Option<Entry>, ClientError> {
        self.client_for(key).get(key).await
    }

    /// [`Client::put`] at the key's owner.
    pub async fn put(&self, key: &str, value: &str) -> Result<Entry, ClientError> {
        self.client_for(key).put(key, value).await
    }

    /// [`Client::delete`] at the key's owner.
    pub async fn delete(&self, key: &str) -> Result<u64, ClientError> {
        self.client_for(key).delete(key).await
    }
}
