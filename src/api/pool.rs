//! Back-pressure for heavy requests (querybatch, change scans, watch
//! registration): a bounded number run at once, a bounded queue waits in
//! front of them, and only when that queue is full too is the answer
//! 503 with `Retry-After`.
//!
//! Admission happens before the request body is read, so waiting requests
//! hold no body in memory. Routes without this layer (`/healthz`,
//! `/readyz`, single lookups) never wait behind it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::ApiError;

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

/// The heavy-request gate; cloning is shallow.
#[derive(Debug, Clone)]
pub struct HeavyPool {
    /// Running plus waiting requests.
    admitted: Arc<Semaphore>,
    /// Running requests.
    running: Arc<Semaphore>,
    /// Requests allowed to run at once.
    workers: usize,
    /// Requests allowed to run or wait at once.
    capacity: usize,
}

impl HeavyPool {
    /// A gate letting `workers` requests run and `queue` more wait.
    pub fn new(workers: usize, queue: usize) -> HeavyPool {
        let workers = workers.clamp(1, 4096);
        let queue = queue.min(1 << 20);
        HeavyPool {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            workers,
            capacity: workers + queue,
        }
    }

    /// Heavy requests running now.
    pub fn running(&self) -> usize {
        self.workers
            .saturating_sub(self.running.available_permits())
    }

    /// Heavy requests waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.capacity
            .saturating_sub(self.admitted.available_permits())
            .saturating_sub(self.running())
    }
}

/// The middleware putting a route behind the gate:
/// `from_fn_with_state(pool.clone(), admit)`.
pub(super) async fn admit(State(pool): State<HeavyPool>, request: Request, next: Next) -> Response {
    let Ok(_admitted) = pool.admitted.clone().try_acquire_owned() else {
        return busy(request).await;
    };
    // The semaphore is never closed, so waiting cannot fail.
    let Ok(_running) = pool.running.acquire().await else {
        return busy(request).await;
    };
    next.run(request).await
}

/// Most request bytes read and dropped before a 503.
const MAX_DISCARD: usize = 64 << 20;

/// 503 with `Retry-After`, in the API's error shape. The request body is
/// read and dropped first (not kept): a client still sending it would see
/// the connection cut instead of the answer.
async fn busy(request: Request) -> Response {
    use futures_util::StreamExt;
    let mut body = request.into_body().into_data_stream();
    let mut discarded = 0;
    while let Some(Ok(chunk)) = body.next().await {
        discarded += chunk.len();
        if discarded > MAX_DISCARD {
            break;
        }
    }
    let mut response = ApiError::status(
        StatusCode::SERVICE_UNAVAILABLE,
        14,
        "the server is busy with heavy requests and its queue is full; retry later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}
