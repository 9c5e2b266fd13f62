//! What a replica's HTTP app does differently from the writer's: `/readyz`
//! answers from the follower first, and write and admin endpoints (which
//! only the writer can serve) answer 307 to `--writer-url`, or 503 when
//! none is set. Every read endpoint is served locally.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Follower;

/// The replica's front: its follower and where writes go.
#[derive(Debug, Clone)]
pub struct ReplicaGate {
    /// The follower whose status `/readyz` reports.
    pub follower: Follower,
    /// Base URL of the writer (`http://writer:8080`), for redirects.
    pub writer_url: Option<String>,
}

/// POST endpoints that only read: answered by the replica itself.
const READ_POSTS: &[&str] = &["/v1/query", "/v1/querybatch", "/v1/scans"];

/// Paths (and their subpaths) whose state lives on the writer only.
const WRITER_ONLY: &[&str] = &["/v1/subscriptions", "/v1/watches"];

/// Whether a request must be served by the writer.
pub fn is_writer_only(method: &Method, path: &str) -> bool {
    let under = |base: &str| path == base || path.starts_with(&format!("{base}/"));
    if WRITER_ONLY.iter().any(|base| under(base)) {
        return true;
    }
    !(method == Method::GET
        || method == Method::HEAD
        || method == Method::OPTIONS
        || READ_POSTS.contains(&path))
}

/// Axum middleware: see the module doc.
pub async fn replica_front(
    State(gate): State<ReplicaGate>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path == "/readyz" {
        let status = gate.follower.status();
        if let Some(reason) = status.not_ready(gate.follower.options().max_lag) {
            let mut body = serde_json::to_value(&status).unwrap_or_default();
            if let Some(object) = body.as_object_mut() {
                object.insert("ready".into(), false.into());
                object.insert("code".into(), 14.into());
                object.insert(
                    "message".into(),
                    format!("replica not ready: {reason}").into(),
                );
            }
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
        return next.run(request).await;
    }
    if is_writer_only(request.method(), &path) {
        let Some(writer) = &gate.writer_url else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({
                    "code": 14,
                    "message": format!("{path} is served by the writer only and this replica knows no --writer-url"),
                })),
            )
                .into_response();
        };
        let target = format!(
            "{}{}",
            writer.trim_end_matches('/'),
            request
                .uri()
                .path_and_query()
                .map_or(path.as_str(), |p| p.as_str())
        );
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stay_and_writes_go_to_the_writer() {
        assert!(!is_writer_only(&Method::POST, "/v1/querybatch"));
        assert!(!is_writer_only(&Method::GET, "/v1/vulns/GO-2020-0001"));
        assert!(!is_writer_only(&Method::GET, "/v1/changes/stream"));
        assert!(is_writer_only(&Method::POST, "/v1/feeds/osv-go/sync"));
        assert!(is_writer_only(&Method::GET, "/v1/subscriptions"));
        assert!(is_writer_only(&Method::DELETE, "/v1/watches/w1"));
        assert!(!is_writer_only(&Method::GET, "/v1/watchesque"));
    }
}
