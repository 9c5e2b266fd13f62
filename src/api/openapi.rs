//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, its
//! request and response schemas and the error shape.
//!
//! The document is `schemas/openapi.json`, compiled in. A test holds it to
//! the code: every `.route(...)` under `src/api/` (path and methods) must be
//! in it and nothing else, every operation in it must be served, and it
//! must validate with openapi-spec-validator.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The OpenAPI document as served.
pub const DOCUMENT: &str = include_str!("../../schemas/openapi.json");

/// `GET /openapi.json`.
pub(super) async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}
