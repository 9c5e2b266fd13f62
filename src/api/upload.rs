//! `POST /v1/ingest?format=F&feed=NAME`: local files into a running server
//! (admin token). redb allows one process per file, so while the server
//! runs the CLI's `ingest --server URL` sends its sources here instead.
//!
//! The body is one file or archive (the CLI packs several sources or a
//! directory into one tar). It is streamed to a temporary file, then read by
//! [`crate::pipeline::ingest::ingest`] exactly as the offline command reads a path:
//! the same readers, the same limits, one write transaction.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::admin::AdminQuery;
use super::{ApiError, AppState};
use crate::formats::oval::Dialect;
use crate::formats::Format;
use crate::formats::ReadOptions;
use crate::pipeline::ingest::{self, IngestError, Input};

/// Largest upload accepted (what the readers then unpack is capped by
/// `max_decompressed`, as for the offline command).
pub const MAX_UPLOAD_BYTES: u64 = 4 << 30;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/ingest", post(upload))
}

/// The query string of `POST /v1/ingest`; the CLI's `ingest` flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadParams {
    /// The upstream format (`osv`, `oval`, ...).
    format: String,
    /// The feed records are attributed to.
    feed: String,
    /// The uploaded file's name (readers look at names inside trees).
    #[serde(default)]
    name: Option<String>,
    /// OVAL only: the dialect.
    #[serde(default)]
    dialect: Option<String>,
    /// Most bytes one decompressed file or archive member may hold.
    #[serde(default)]
    max_decompressed: Option<u64>,
    /// Most bytes one document may hold (past it, that file is refused).
    #[serde(default)]
    max_document: Option<u64>,
}

/// A temporary directory removed when dropped.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    /// A new empty directory under the system's temporary directory.
    pub(super) async fn create() -> Result<Scratch, ApiError> {
        let scratch = Scratch(std::env::temp_dir().join(crate::notify::new_id("advisord-upload-")));
        tokio::fs::create_dir_all(&scratch.0)
            .await
            .map_err(|e| ApiError::Internal(format!("creating {}: {e}", scratch.0.display())))?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "cannot remove an upload's directory");
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    AdminQuery(params): AdminQuery<UploadParams>,
    body: Body,
) -> Result<Response, ApiError> {
    let format: Format = params
        .format
        .parse()
        .map_err(|e: crate::formats::UnknownFormat| ApiError::BadRequest(e.to_string()))?;
    let dialect = match params.dialect.as_deref() {
        Some(name) if format != Format::Oval => {
            return Err(ApiError::BadRequest(format!(
                "dialect {name} applies to format oval only, not {}",
                format.name()
            )))
        }
        Some(name) => {
            Some(Dialect::parse_name(name).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        }
        None => None,
    };
    if params.feed.trim().is_empty() {
        return Err(ApiError::BadRequest("feed must not be empty".into()));
    }
    let name = file_name(params.name.as_deref());
    let scratch = Scratch::create().await?;
    let path = scratch.0.join(&name);
    receive(body, &path).await?;
    let read = ReadOptions {
        format,
        dialect,
        max_decompressed: params.max_decompressed,
        max_document: params.max_document,
        follow_symlinks: false,
    };
    tracing::info!(feed = %params.feed, format = format.name(), file = %name, "ingesting an upload");
    let mut result = ingest::ingest(&state.store, read, &params.feed, &[Input::Path(path)]).await;
    // Errors name files as the client sent them, not where we kept them.
    let prefix = format!("{}/", scratch.0.display());
    match &mut result {
        Ok(report) => relative_origins(report, &prefix),
        Err(IngestError::AllRejected(report)) => relative_origins(report, &prefix),
        Err(_) => {}
    }
    drop(scratch);
    match result {
        Ok(report) => {
            // Streams and watches hear of the new changes at once.
            if let Some(seq) = report.outcome.last_seq {
                state.hub.publish(seq);
            }
            Ok(Json(report).into_response())
        }
        // As the CLI: the rejections are the answer, and nothing was written.
        Err(IngestError::AllRejected(report)) => {
            let message = format!(
                "feed {}: every record was rejected ({}), nothing written",
                report.feed,
                report.errors.len()
            );
            let mut extra = serde_json::Map::new();
            extra.insert(
                "report".into(),
                serde_json::to_value(&*report).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            Err(ApiError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: 3,
                message,
                extra,
            })
        }
        Err(IngestError::Store { feed, source }) => {
            Err(ApiError::Internal(format!("feed {feed}: {source}")))
        }
        // The upload could not be read (bad archive, over a cap): the
        // client's input, named.
        Err(e @ IngestError::Source { .. }) => {
            Err(ApiError::BadRequest(e.to_string().replace(&prefix, "")))
        }
    }
}

/// Makes the files rejections name relative to the upload's directory.
fn relative_origins(report: &mut ingest::IngestReport, prefix: &str) {
    for error in &mut report.errors {
        if let Some(rest) = error.origin.strip_prefix(prefix) {
            error.origin = rest.to_string();
        }
    }
}

/// A safe file name for the upload: the base name given, else `upload`.
fn file_name(given: Option<&str>) -> String {
    let base = given
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .unwrap_or("")
        .trim();
    if base.is_empty() || base == "." || base == ".." {
        "upload".to_string()
    } else {
        base.to_string()
    }
}

/// Streams `body` into a new file at `path`, at most [`MAX_UPLOAD_BYTES`].
pub(super) async fn receive(body: Body, path: &std::path::Path) -> Result<(), ApiError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| ApiError::Internal(format!("creating {}: {e}", path.display())))?;
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the upload: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_UPLOAD_BYTES {
            return Err(ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                8,
                format!("upload too large: at most {MAX_UPLOAD_BYTES} bytes"),
            ));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("writing {}: {e}", path.display())))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(())
}
