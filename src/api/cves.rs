//! `GET /v1/cves/{id}`: every source's statement about one CVE, grouped by
//! ecosystem release and package, with agreement (see [`crate::cves`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{blocking, ApiError, AppState};
use crate::cves::CveView;
use crate::model::{AdvisoryId, IdKind};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/cves/{id}", get(cve))
}

async fn cve(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let is_cve = id
        .parse::<AdvisoryId>()
        .is_ok_and(|parsed| parsed.kind() == IdKind::Cve);
    if !is_cve {
        return Err(ApiError::BadRequest(format!(
            "{id:?} is not a CVE id (CVE-YYYY-NNNN)"
        )));
    }
    let store = state.store.clone();
    let lookup = id.clone();
    let view = blocking(move || Ok(CveView::read(&store, &lookup)?)).await?;
    match view {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(ApiError::NotFound(format!("no record names {id}"))),
    }
}
