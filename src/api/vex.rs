//! `GET /v1/watches/{id}/vex` (admin token): the OpenVEX document of a
//! watch's inventory, with the watch's `ignore_status` (see [`crate::vex`]).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{blocking, require_admin, ApiError, AppState};
use crate::model::Timestamp;
use crate::vex::{self, VexSubject};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/watches/{id}/vex", get(watch_vex))
}

async fn watch_vex(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state.hub, &headers)?;
    let store = state.store.clone();
    let lookup = id.clone();
    let document = blocking(move || {
        let Some(watch) = store.watch(&lookup)? else {
            return Ok(None);
        };
        let name = format!("watch {}", watch.id);
        let now = Timestamp::now();
        let subject = VexSubject {
            name: &name,
            ignore: &watch.ignore_status,
            now: &now,
        };
        Ok(Some(vex::document(&store, &watch.packages, &subject)?))
    })
    .await?;
    match document {
        Some(document) => Ok(Json(document).into_response()),
        None => Err(ApiError::NotFound(format!("watch {id} not found"))),
    }
}
