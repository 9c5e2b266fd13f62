//! The HTTP API (axum): OSV-compatible query endpoints and health.
//!
//! [`router`] builds the whole app from an [`AppState`], so tests can drive it
//! directly; [`serve`] runs it on a listener until a shutdown future resolves.

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::query::QueryError;
use crate::store::Store;

mod feeds;
mod osv;

/// Largest request body accepted (a querybatch of 1,000 purls is ~100 KiB).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// Shared state of the handlers; cloning is shallow.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The open store.
    pub store: Store,
    /// Feed syncs (for `/v1/feeds`), when the catalog is loaded.
    pub sync: Option<std::sync::Arc<crate::sync::Syncer>>,
    /// The bearer token of admin endpoints (`ADVISORD_ADMIN_TOKEN`); unset disables them.
    pub admin_token: Option<String>,
}

impl AppState {
    /// State with only a store (no feed sync, no admin endpoints).
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            sync: None,
            admin_token: None,
        }
    }
}

/// The whole HTTP app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(osv::router())
        .merge(feeds::router())
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
}

/// Serves `router(state)` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Small JSON answers must not wait for Nagle's algorithm (40 ms stalls
    // per request with delayed ACKs on keep-alive connections).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// An API error: status plus an OSV.dev-style `{"code", "message"}` body.
/// Internal errors are logged in full and answered with a generic message.
#[derive(Debug)]
pub enum ApiError {
    /// The request is invalid (400).
    BadRequest(String),
    /// The id does not exist (404).
    NotFound(String),
    /// No or wrong credentials (401).
    Unauthorized(String),
    /// The endpoint is disabled (403).
    Forbidden(String),
    /// Something failed on our side (500); the detail stays in the log.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Codes follow google.rpc.Code as OSV.dev answers them.
        let (status, code, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, 3, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, 5, m),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, 16, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, 7, m),
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
