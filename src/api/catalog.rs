//! `POST /v1/catalog/reload` (admin token): re-read the `--catalog`
//! directories, so a feed file added while the server runs becomes
//! syncable (`POST /v1/feeds/{name}/sync`) without a restart. SIGHUP does
//! the same (see `advisord serve`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::{ApiError, AppState};
use crate::pipeline::sync::SyncError;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/catalog/reload", post(reload))
}

async fn reload(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    super::require_admin(&state.hub, &headers)?;
    let Some(syncer) = state.sync.clone() else {
        return Err(ApiError::NotFound("feed sync is not available".into()));
    };
    let result = tokio::task::spawn_blocking(move || syncer.reload_catalog())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match result {
        Ok(reload) => Ok(Json(reload).into_response()),
        Err(SyncError::NoCatalogSource) => Err(ApiError::NotFound(
            "this server cannot reload its catalog".into(),
        )),
        // A broken feed file is the operator's to fix; the catalog in use stays.
        Err(e @ SyncError::Catalog(_)) => Err(ApiError::status(
            StatusCode::UNPROCESSABLE_ENTITY,
            9,
            e.to_string(),
        )),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
