//! Feed endpoints: `GET /v1/feeds` (each feed's state) and
//! `POST /v1/feeds/{name}/sync` (run a feed's sync now; admin token required).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{ApiError, AppState};
use crate::pipeline::sync::SyncError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/feeds", get(list))
        .route("/v1/feeds/{name}/sync", post(sync_now))
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let views = match &state.sync {
        Some(syncer) => {
            let syncer = syncer.clone();
            tokio::task::spawn_blocking(move || syncer.views())
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??
        }
        None => Vec::new(),
    };
    Ok(Json(serde_json::json!({ "feeds": views })).into_response())
}

async fn sync_now(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    super::require_admin(&state.hub, &headers)?;
    let Some(syncer) = state.sync.clone() else {
        return Err(ApiError::NotFound("feed sync is not available".into()));
    };
    match syncer.sync_named(&name).await {
        Ok(report) => Ok(Json(report).into_response()),
        Err(SyncError::UnknownFeed(m)) => Err(ApiError::NotFound(m)),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
