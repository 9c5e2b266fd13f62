//! The part one `serve` process plays: alone, the publishing writer, or a
//! read replica; it starts the matching background task and adds what the
//! role changes to the HTTP app.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::gate::{replica_front, ReplicaGate};
use super::Publisher;
use crate::api::{require_admin, ApiError};
use crate::notify::Hub;

/// What a serving process is in a scaled-out deployment.
#[derive(Debug, Clone)]
pub enum Role {
    /// One process, nothing published.
    Alone,
    /// Syncs feeds and publishes them (`--publish`).
    Writer(Publisher),
    /// Follows a writer (`--follow`), serves reads only.
    Replica(ReplicaGate),
}

impl Role {
    /// Whether this process syncs feeds itself (replicas get every change
    /// from the writer instead).
    pub fn syncs_feeds(&self) -> bool {
        !matches!(self, Role::Replica(_))
    }

    /// A replica's lag, position and refusals in the Prometheus text
    /// format, for `/metrics`; `None` unless this is a replica.
    pub fn metrics_text(&self) -> Option<String> {
        match self {
            Role::Replica(gate) => Some(gate.follower.metrics_text()),
            _ => None,
        }
    }

    /// Starts publishing or following in the background.
    pub fn start(&self) -> Option<tokio::task::JoinHandle<()>> {
        match self {
            Role::Alone => None,
            Role::Writer(publisher) => Some(publisher.spawn()),
            Role::Replica(gate) => Some(gate.follower.spawn()),
        }
    }

    /// `app` as this role serves it: a replica's front on a replica, the
    /// on-demand snapshot endpoint (`POST /v1/publish/snapshot`, admin
    /// token) on the writer.
    pub fn wrap(&self, app: Router, hub: Hub) -> Router {
        match self {
            Role::Alone => app,
            Role::Writer(publisher) => app.merge(
                Router::new()
                    .route("/v1/publish/snapshot", post(snapshot_now))
                    .with_state((publisher.clone(), hub)),
            ),
            Role::Replica(gate) => app.layer(axum::middleware::from_fn_with_state(
                gate.clone(),
                replica_front,
            )),
        }
    }
}

/// `POST /v1/publish/snapshot`: publish a snapshot now (admin).
async fn snapshot_now(
    State((publisher, hub)): State<(Publisher, Hub)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&hub, &headers)?;
    match publisher.snapshot().await {
        Ok(done) => Ok((
            StatusCode::OK,
            Json(serde_json::json!({
                "objects": done.objects,
                "bytes": done.total_bytes(),
            })),
        )
            .into_response()),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
