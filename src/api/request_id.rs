//! Request ids and the access log: every response carries `x-request-id`
//! (the client's own when it is sane, else a fresh one), and every request
//! is logged once, in a span carrying that id, with its route template,
//! status and latency (target `advisord::access`, so it can be filtered).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request id header, read from requests and set on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-given request id kept.
const MAX_ID_LEN: usize = 128;

/// The route of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Whether a client's request id can be kept: 1 to [`MAX_ID_LEN`] bytes of
/// letters, digits and `-_.:`, so it is safe in logs and headers.
fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware: picks the request id, runs the request in a span naming it,
/// logs the outcome and sets `x-request-id` on the response.
pub(super) async fn tag(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v));
    let id = match given {
        Some(id) => id.to_string(),
        None => crate::notify::new_id("req_"),
    };
    // `new_id` and sane ids are visible ASCII, always a valid header value.
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            target: "advisord::access",
            request_id = %id,
            route = %route,
            status = response.status().as_u16(),
            latency_ms,
            "request"
        );
    });
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn request_ids_that_are_kept_and_replaced() {
        assert!(is_sane("3f2a-77:b.c_d"));
        assert!(is_sane(&"a".repeat(128)));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(129)));
        assert!(!is_sane("has space"));
        assert!(!is_sane("new\nline"));
        assert!(!is_sane("quote\""));
    }
}
