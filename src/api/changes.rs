//! The change feed: `GET /v1/changes` (cursor pages) and
//! `GET /v1/changes/stream` (server-sent events).
//!
//! Both read the gap-free change log after a cursor. A cursor older than
//! retention (entries after it were pruned) answers 410 with the oldest
//! seq still kept, so a consumer knows it must resynchronize.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use serde::Deserialize;

use super::pool::{admit, HeavyPool};
use super::{blocking, ApiError, AppState};
use crate::notify::filter::{validate, CompiledFilter};
use crate::notify::Hub;
use crate::store::subscriptions::ChangeFilter;
use crate::store::ChangeEntry;

/// Default and largest page of `/v1/changes`.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page of `/v1/changes`.
pub const MAX_LIMIT: usize = 1000;
/// Most entries scanned for one filtered page (the `next` cursor moves on
/// past them even when none matched).
const SCAN_LIMIT: usize = 100_000;
/// Change entries one SSE stream reads (and holds) at a time: what a client
/// that stops reading can pin in memory besides the connection's buffer.
const STREAM_PAGE: usize = 100;

pub(super) fn router(pool: &HeavyPool) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/changes",
            get(changes).route_layer(axum::middleware::from_fn_with_state(pool.clone(), admit)),
        )
        .route("/v1/changes/stream", get(stream))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    feed: Option<String>,
    #[serde(default)]
    alias: Option<String>,
}

impl Params {
    fn filter(&self) -> Result<ChangeFilter, ApiError> {
        let filter = ChangeFilter {
            ecosystem: self.ecosystem.clone(),
            package: self.package.clone(),
            purl: self.purl.clone(),
            feed: self.feed.clone(),
            alias: self.alias.clone(),
        };
        validate(&filter).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(filter)
    }
}

fn params(query: Result<Query<Params>, QueryRejection>) -> Result<Params, ApiError> {
    query
        .map(|Query(p)| p)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// The 410 answer for a cursor older than retention.
fn gone(after: u64, oldest: u64) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("oldest".into(), oldest.into());
    ApiError::Status {
        status: StatusCode::GONE,
        code: 11,
        message: format!(
            "cursor {after} is older than retention: the oldest change kept is {oldest}; resynchronize (e.g. query the packages you track) and continue from after={}",
            oldest - 1
        ),
        extra,
    }
}

/// Checks a client's cursor against the log: 410 when entries after it were
/// pruned, 400 when it is past the newest change (a cursor from another
/// database, or a typo), which would otherwise wait forever.
fn check_cursor(after: u64, snapshot: &crate::store::snapshot::Snapshot) -> Result<(), ApiError> {
    if let Some(oldest) = pruned_after(after, snapshot.oldest_seq()?) {
        return Err(gone(after, oldest));
    }
    let last = snapshot.last_seq()?;
    if after > last {
        return Err(ApiError::BadRequest(format!(
            "cursor {after} is past the newest change {last}"
        )));
    }
    Ok(())
}

/// Whether entries after `after` were pruned: `Some(oldest)` if so.
fn pruned_after(after: u64, oldest: Option<u64>) -> Option<u64> {
    oldest.filter(|&oldest| oldest > after.saturating_add(1))
}

async fn changes(
    State(state): State<AppState>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let filter = params.filter()?;
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let store = state.store.clone();
    let (picked, next, last) = blocking(move || {
        let snapshot = store.snapshot()?;
        check_cursor(after, &snapshot)?;
        let last = snapshot.last_seq()?;
        let filter = CompiledFilter::compile(&filter, &snapshot)?;
        let mut picked: Vec<ChangeEntry> = Vec::new();
        let mut cursor = after;
        let mut scanned = 0;
        'scan: while scanned < SCAN_LIMIT {
            let page = snapshot.changes_after(cursor, limit.max(1000))?;
            if page.is_empty() {
                break;
            }
            for change in page {
                scanned += 1;
                cursor = change.seq;
                if filter.matches(&change) {
                    picked.push(change);
                    if picked.len() == limit {
                        break 'scan;
                    }
                }
            }
        }
        Ok((picked, cursor, last))
    })
    .await?;
    Ok(Json(serde_json::json!({"changes": picked, "next": next, "last": last})).into_response())
}

/// The SSE stream's state between events.
struct StreamState {
    hub: Hub,
    cursor: u64,
    filter: ChangeFilter,
    buffer: VecDeque<Event>,
    changes: tokio::sync::watch::Receiver<u64>,
    done: bool,
}

/// One read of the stream: the next entries, or the oldest seq when the
/// cursor fell behind retention.
enum Read {
    Entries(Vec<Event>, u64),
    Gone(u64),
}

fn read_after(hub: &Hub, cursor: u64, filter: &ChangeFilter) -> Result<Read, ApiError> {
    let snapshot = hub.store().snapshot()?;
    if let Some(oldest) = pruned_after(cursor, snapshot.oldest_seq()?) {
        return Ok(Read::Gone(oldest));
    }
    let compiled = CompiledFilter::compile(filter, &snapshot)?;
    let page = snapshot.changes_after(cursor, STREAM_PAGE)?;
    let mut last = cursor;
    let mut events = Vec::new();
    for change in page {
        last = change.seq;
        if compiled.matches(&change) {
            let data =
                serde_json::to_string(&change).map_err(|e| ApiError::Internal(e.to_string()))?;
            events.push(
                Event::default()
                    .id(change.seq.to_string())
                    .event("change")
                    .data(data),
            );
        }
    }
    Ok(Read::Entries(events, last))
}

fn event_stream(state: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.buffer.pop_front() {
                return Some((Ok(event), st));
            }
            if st.done {
                return None;
            }
            let hub = st.hub.clone();
            let cursor = st.cursor;
            let filter = st.filter.clone();
            let read = blocking(move || read_after(&hub, cursor, &filter)).await;
            match read {
                Ok(Read::Entries(_, last)) if last == cursor => {
                    let poll = st.hub.config().poll * 4;
                    tokio::select! {
                        _ = st.changes.changed() => {}
                        () = tokio::time::sleep(poll) => {}
                    }
                }
                Ok(Read::Entries(events, last)) => {
                    st.cursor = last;
                    st.buffer.extend(events);
                }
                Ok(Read::Gone(oldest)) => {
                    // The client fell behind retention while connected.
                    st.buffer.push_back(
                        Event::default()
                            .event("gone")
                            .data(serde_json::json!({"oldest": oldest}).to_string()),
                    );
                    st.done = true;
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "change stream read failed");
                    st.done = true;
                }
            }
        }
    })
}

async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let filter = params.filter()?;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be a change seq".into()))?,
        ),
        None => None,
    };
    let hub = state.hub.clone();
    let store = state.store.clone();
    let start = resume.or(params.after);
    let cursor = blocking(move || {
        let snapshot = store.snapshot()?;
        match start {
            Some(after) => {
                check_cursor(after, &snapshot)?;
                Ok(after)
            }
            // No cursor: from now on.
            None => Ok(snapshot.last_seq()?),
        }
    })
    .await?;
    let heartbeat = hub.config().heartbeat;
    let state = StreamState {
        changes: hub.changes(),
        hub,
        cursor,
        filter,
        buffer: VecDeque::new(),
        done: false,
    };
    Ok(Sse::new(event_stream(state))
        .keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"))
        .into_response())
}
