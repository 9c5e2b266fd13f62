//! `POST /v1/scans` (admin token): scan an image reference without
//! registering a watch. Admin-only because it makes the server fetch.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::admin::AdminJson;
use super::{blocking, ApiError, AppState};
use crate::image::{report, ImageContents, ImageError, ImageRef};
use crate::notify::watches;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/scans", post(create))
}

/// An image to read: reference, platform, plain http.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    image: String,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    insecure: bool,
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> Self {
        match e {
            // The registry the server was sent to could not be reached or refused.
            ImageError::Registry(_) => ApiError::status(StatusCode::BAD_GATEWAY, 14, e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// Reads the image `reference` off the async threads.
pub(super) async fn read_image(
    reference: &str,
    platform: Option<&str>,
    insecure: bool,
) -> Result<ImageContents, ApiError> {
    let reference: ImageRef =
        reference
            .parse()
            .map_err(|e: crate::image::reference::InvalidReference| {
                ApiError::BadRequest(e.to_string())
            })?;
    let options = watches::image::options(platform, insecure)?;
    let handle = tokio::runtime::Handle::current();
    blocking(move || {
        Ok(crate::image::read_image(
            &reference,
            &options,
            Some(&handle),
        )?)
    })
    .await
}

async fn create(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<ScanBody>,
) -> Result<Response, ApiError> {
    let contents = read_image(&body.image, body.platform.as_deref(), body.insecure).await?;
    let store = state.store.clone();
    let value = blocking(move || {
        let snapshot = store.snapshot()?;
        let findings = report::image_findings(&snapshot, &contents, &[])?;
        Ok(report::json_report(
            &contents,
            &findings,
            snapshot.last_seq()?,
        ))
    })
    .await?;
    Ok(Json(value).into_response())
}
