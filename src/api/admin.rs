//! Admin-only requests, checked once: the extractors that demand the admin
//! token ([`Admin`], [`AdminQuery`] which also reads the query parameters,
//! and [`AdminJson`] which also reads a JSON body), and
//! the store lookup that answers 404 naming what was not found.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::{blocking, require_admin, ApiError, AppState};
use crate::store::{Store, StoreError};

/// Proof that the request carries the admin token (see [`require_admin`]).
pub(super) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require_admin(&state.hub, &parts.headers)?;
        Ok(Admin)
    }
}

/// The query parameters of an admin request: the token is checked first,
/// then the query parsed (one that does not fit is a 400 with axum's text).
pub(super) struct AdminQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for AdminQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require_admin(&state.hub, &parts.headers)?;
        let Query(params) = Query::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        Ok(AdminQuery(params))
    }
}

/// The JSON body of an admin request. The body is read first (an
/// oversized one is refused as before), then the token is checked, then
/// the body is parsed (`invalid request body: ...` when it does not fit).
pub(super) struct AdminJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AdminJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        require_admin(&state.hub, &headers).map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(AdminJson)
            .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")).into_response())
    }
}

/// Runs `op` on the store off the async threads; `None` (no such id)
/// becomes a 404 `"{kind} {id} not found"`.
pub(super) async fn found<T: Send + 'static>(
    state: &AppState,
    kind: &str,
    id: String,
    op: impl FnOnce(&Store, &str) -> Result<Option<T>, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    let lookup = id.clone();
    blocking(move || Ok(op(&store, &lookup)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{kind} {id} not found")))
}
