//! Error answers made outside our handlers (unknown route 404, wrong method
//! 405, body over the limit 413, ...) rewritten into the API's JSON error
//! shape `{"code", "message"}`, so clients parse every error one way; and
//! bodies declared over their route's limit refused before they are read.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Longest plain-text error body kept as the message.
const MAX_TEXT: usize = 4096;

/// Middleware: any 4xx/5xx answer that is not JSON becomes one, keeping its
/// status and headers (`Allow`, `Retry-After`).
pub(super) async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    // Pages (`/records/{id}` not found) answer their errors in HTML.
    if !(status.is_client_error() || status.is_server_error())
        || is_json(&response)
        || is_html(&response)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::NOT_FOUND => format!("no such endpoint: {method} {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("method {method} is not allowed on {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => too_large(&path),
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut out = ApiError::status(status, rpc_code(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Middleware: a request whose declared `Content-Length` is over its
/// route's limit is refused with 413 before any of its body is read.
pub(super) async fn refuse_oversized(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = body_limit(path);
    match declared {
        Some(length) if length > limit as u64 => {
            ApiError::status(StatusCode::PAYLOAD_TOO_LARGE, 8, too_large(path)).into_response()
        }
        _ => next.run(request).await,
    }
}

fn too_large(path: &str) -> String {
    format!(
        "request body too large: {path} accepts at most {} bytes",
        body_limit(path)
    )
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_json(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE)
        == Some(&HeaderValue::from_static("application/json"))
}

/// The body limit of the route at `path`.
fn body_limit(path: &str) -> usize {
    if path.starts_with("/v1/watches") {
        super::watches::MAX_WATCH_BODY
    } else if matches!(path, "/v1/ingest" | "/v1/mirror/sync" | "/v1/import") {
        usize::try_from(super::upload::MAX_UPLOAD_BYTES).unwrap_or(usize::MAX)
    } else {
        super::MAX_BODY_BYTES
    }
}

/// The google.rpc.Code OSV.dev pairs with an HTTP status.
fn rpc_code(status: StatusCode) -> i32 {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
        StatusCode::NOT_FOUND => 5,
        StatusCode::FORBIDDEN => 7,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED => 12,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::UNAUTHORIZED => 16,
        s if s.is_server_error() => 13,
        _ => 2,
    }
}
