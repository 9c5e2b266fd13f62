//! `POST /v1/import?feed=NAME` (admin token): an osv.dev-style tree (from
//! `advisord export --osv` or osv.dev's bucket), uploaded as a tar, loaded
//! as one feed by [`crate::pipeline::export::import_tree_with`], as `import` does
//! offline. `import --server URL DIR` sends it.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::admin::AdminQuery;
use super::upload::{receive, Scratch};
use super::{ApiError, AppState};

/// What stands for the uploaded tree's root in the report's error texts
/// (`import --server` puts the directory it sent back in its place).
pub const TREE_ROOT: &str = "<tree>";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/import", post(import))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    /// The feed the records are attributed to.
    feed: String,
}

async fn import(
    State(state): State<AppState>,
    AdminQuery(params): AdminQuery<ImportParams>,
    body: Body,
) -> Result<Response, ApiError> {
    if params.feed.trim().is_empty() {
        return Err(ApiError::BadRequest("feed must not be empty".into()));
    }
    let scratch = Scratch::create().await?;
    let archive = scratch.0.join("tree.tar");
    receive(body, &archive).await?;
    let tree = scratch.0.join("tree");
    let store = state.store.clone();
    let root = tree.display().to_string();
    let shown_root = root.clone();
    let result = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&archive)
            .map_err(|e| ApiError::Internal(format!("opening the upload: {e}")))?;
        tar::Archive::new(file)
            .unpack(&tree)
            .map_err(|e| ApiError::BadRequest(format!("the body is not a tree tar: {e}")))?;
        crate::pipeline::export::import_tree_with(&store, &tree, &params.feed, false)
            .map_err(|e| ApiError::BadRequest(e.to_string().replace(&root, TREE_ROOT)))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    drop(scratch);
    let mut report = result?;
    for error in &mut report.errors {
        *error = error.replace(&shown_root, TREE_ROOT);
    }
    if let Some(seq) = report.outcome.last_seq {
        state.hub.publish(seq);
    }
    Ok(Json(report).into_response())
}
