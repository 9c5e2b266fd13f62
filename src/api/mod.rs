//! The HTTP API (axum): OSV-compatible query endpoints and health.
//!
//! [`router`] builds the whole app from an [`AppState`], so tests can drive it
//! directly; [`serve`] runs it on a listener until a shutdown future resolves,
//! within [`ServerLimits`] ([`serve_with`]).

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

use crate::query::QueryError;
use crate::store::Store;

mod admin;
mod catalog;
mod changes;
mod cves;
mod feeds;
mod import;
mod metrics;
mod mirror;
mod openapi;
mod osv;
mod page;
mod pool;
mod rejections;
mod request_id;
mod scans;
mod server;
mod subscriptions;
mod upload;
mod vex;
mod watches;

pub use import::TREE_ROOT as IMPORT_TREE_ROOT;
pub use metrics::{Metrics, MetricsSource};
pub use pool::HeavyPool;
pub use request_id::REQUEST_ID;
pub use server::ServerLimits;

/// Largest request body accepted (a querybatch of 1,000 purls is ~100 KiB).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// Shared state of the handlers; cloning is shallow.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The open store.
    pub store: Store,
    /// Change notification: polling, retention, webhooks, watches.
    pub hub: crate::notify::Hub,
    /// Feed syncs (for `/v1/feeds`), when the catalog is loaded.
    pub sync: Option<std::sync::Arc<crate::pipeline::sync::Syncer>>,
}

impl AppState {
    /// State over `store` with default notification settings, no feed sync
    /// and no admin token (subscriptions, watches and sync triggers disabled;
    /// no background tasks).
    pub fn new(store: Store) -> Result<AppState, crate::store::StoreError> {
        let hub = crate::notify::Hub::new(store.clone(), crate::notify::NotifyConfig::default())?;
        Ok(AppState {
            store,
            hub,
            sync: None,
        })
    }
}

/// The whole HTTP app, heavy routes behind a default [`HeavyPool`].
pub fn router(state: AppState) -> Router {
    let limits = ServerLimits::default();
    router_with(
        state,
        &HeavyPool::new(limits.heavy_workers, limits.heavy_queue),
    )
}

/// The whole HTTP app, heavy routes behind `pool`.
pub fn router_with(state: AppState, pool: &HeavyPool) -> Router {
    let metrics = Metrics::new(pool);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/openapi.json", get(openapi::document))
        .merge(osv::router(pool))
        .merge(cves::router())
        .merge(changes::router(pool))
        .merge(subscriptions::router())
        .merge(watches::router(pool))
        .merge(vex::router())
        .merge(
            scans::router().route_layer(axum::middleware::from_fn_with_state(
                pool.clone(),
                pool::admit,
            )),
        )
        .merge(feeds::router())
        .merge(upload::router())
        .merge(catalog::router())
        .merge(mirror::router())
        .merge(import::router())
        .merge(page::router())
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(rejections::refuse_oversized))
        .layer(axum::middleware::from_fn(rejections::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::tag))
}

/// Serves `router(state)` on `listener` with default [`ServerLimits`]
/// until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, &ServerLimits::default(), shutdown).await
}

/// Serves the app on `listener` within `limits` until `shutdown` resolves.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let pool = HeavyPool::new(limits.heavy_workers, limits.heavy_queue);
    server::run(listener, router_with(state, &pool), limits, shutdown).await
}

/// Serves an app built with [`router_with`] (and wrapped by the caller,
/// e.g. for a replica's role) on `listener` within `limits`.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::run(listener, app, limits, shutdown).await
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once every feed readiness waits for has synced once
/// (`--ready-feeds`, else every enabled catalog feed), 503 naming the
/// others until then, so a scanner is not sent to an empty database.
async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(sync) = state.sync.clone() else {
        return Ok(Json(serde_json::json!({"ready": true})).into_response());
    };
    let waiting = blocking(move || Ok(sync.not_ready()?)).await?;
    if waiting.is_empty() {
        return Ok(Json(serde_json::json!({"ready": true})).into_response());
    }
    let mut extra = serde_json::Map::new();
    extra.insert("ready".into(), false.into());
    extra.insert("never_synced".into(), waiting.clone().into());
    Err(ApiError::Status {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: 14,
        message: format!(
            "not ready: {} feeds have never synced: {}",
            waiting.len(),
            waiting.join(", ")
        ),
        extra,
    })
}

/// An API error: status plus an OSV.dev-style `{"code", "message"}` body.
/// Internal errors are logged in full and answered with a generic message.
#[derive(Debug)]
pub enum ApiError {
    /// The request is invalid (400).
    BadRequest(String),
    /// The id does not exist (404).
    NotFound(String),
    /// Something failed on our side (500); the detail stays in the log.
    Internal(String),
    /// Any other status, with its google.rpc code, message and extra fields
    /// merged into the body (410 with `oldest`, 401, 413...).
    Status {
        /// HTTP status.
        status: StatusCode,
        /// google.rpc.Code.
        code: i32,
        /// Human-readable message.
        message: String,
        /// Extra body fields.
        extra: serde_json::Map<String, serde_json::Value>,
    },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Codes follow google.rpc.Code as OSV.dev answers them.
        let (status, code, message) = match self {
            ApiError::Status {
                status,
                code,
                message,
                mut extra,
            } => {
                extra.insert("code".into(), code.into());
                extra.insert("message".into(), message.into());
                return (status, Json(serde_json::Value::Object(extra))).into_response();
            }
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, 3, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, 5, m),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    13,
                    "internal error".to_string(),
                )
            }
        };
        (
            status,
            Json(serde_json::json!({"code": code, "message": message})),
        )
            .into_response()
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Store(e) => ApiError::Internal(e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    /// An error with any status and extra body fields.
    pub fn status(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        ApiError::Status {
            status,
            code,
            message: message.into(),
            extra: serde_json::Map::new(),
        }
    }
}

/// Checks `Authorization: Bearer TOKEN` against the admin token (in
/// constant time); without a configured token the admin endpoints are off.
pub(crate) fn require_admin(
    hub: &crate::notify::Hub,
    headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    let Some(token) = hub.config().admin_token.as_deref() else {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            7,
            "admin endpoints are disabled: set ADVISORD_ADMIN_TOKEN",
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::status(
            StatusCode::UNAUTHORIZED,
            16,
            "missing or wrong admin token (Authorization: Bearer TOKEN)",
        ))
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}
