//! `POST /v1/mirror/sync` (admin token): ingest a directory written by
//! `advisord mirror pull` into the running server, as `sync --from-mirror`
//! does offline. The body is either JSON `{"dir": "/path"}` naming a
//! directory the server can read, or the mirror directory as a tar (what
//! `sync --from-mirror DIR --server URL` sends). `?feeds=a,b` picks feeds.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::admin::AdminQuery;
use super::upload::{receive, Scratch};
use super::{ApiError, AppState};
use crate::pipeline::sync::SyncError;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/mirror/sync", post(sync))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncParams {
    /// Comma-separated feed names (default: every mirrored feed).
    #[serde(default)]
    feeds: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirBody {
    /// A mirror directory on the server's file system.
    dir: std::path::PathBuf,
}

/// Largest JSON body (a path).
const MAX_JSON: usize = 64 << 10;

async fn sync(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminQuery(params): AdminQuery<SyncParams>,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(syncer) = state.sync.clone() else {
        return Err(ApiError::NotFound("feed sync is not available".into()));
    };
    let feeds: Vec<String> = params
        .feeds
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut _scratch = None;
    let dir = if is_json {
        let bytes = axum::body::to_bytes(body, MAX_JSON)
            .await
            .map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        let body: DirBody = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
        body.dir
    } else {
        let scratch = Scratch::create().await?;
        let archive = scratch.0.join("mirror.tar");
        receive(body, &archive).await?;
        let dir = scratch.0.join("mirror");
        let target = dir.clone();
        tokio::task::spawn_blocking(move || unpack(&archive, &target))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
        _scratch = Some(scratch);
        dir
    };
    match syncer.sync_from_mirror(&dir, &feeds).await {
        Ok(reports) => Ok(Json(reports).into_response()),
        Err(SyncError::UnknownFeed(m)) => Err(ApiError::NotFound(m)),
        Err(e @ SyncError::Mirror(_)) => Err(ApiError::BadRequest(e.to_string())),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

/// Unpacks the uploaded tar into `dir` (the tar crate refuses members
/// that would land outside it).
fn unpack(archive: &std::path::Path, dir: &std::path::Path) -> Result<(), ApiError> {
    let file = std::fs::File::open(archive)
        .map_err(|e| ApiError::Internal(format!("opening the upload: {e}")))?;
    tar::Archive::new(file)
        .unpack(dir)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a mirror tar: {e}")))
}
