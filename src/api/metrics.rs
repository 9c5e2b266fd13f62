//! `GET /metrics`: the server's state in the Prometheus (OpenMetrics) text
//! format, encoded by the `prometheus-client` crate.
//!
//! Two kinds of metrics. Live ones (HTTP requests by route template, method
//! and status with a latency histogram; querybatch queries; 503 rejections)
//! are counted by the [`track`] middleware as responses pass. The rest
//! (feeds, change log, subscriptions, watches, heavy-request pool, database
//! size) are read from the store and the syncer at scrape time, so they can
//! never drift from what `/v1/feeds` shows.
//!
//! Labels have bounded cardinality: route templates (`/v1/vulns/{id}`, never
//! the path), the method, the status code and feed names (from the catalog
//! or the store, a few dozen). Subscriptions and watches are aggregated by
//! kind and state, never labelled by id.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::pool::HeavyPool;
use super::{blocking, ApiError, AppState};
use crate::store::subscriptions::SubscriptionState;

/// The `Content-Type` of the exposition (Prometheus accepts OpenMetrics).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (404s of unknown paths).
const UNMATCHED: &str = "unmatched";

/// The number of queries a `/v1/querybatch` request carried, put into the
/// response's extensions by the handler for [`track`] to count.
#[derive(Debug, Clone, Copy)]
pub struct BatchQueries(pub u64);

/// Labels of one HTTP request: route template, method, status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

/// Labels of a request's latency: route template and method.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

/// Labels of a per-feed metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    feed: String,
}

/// Labels of an aggregate over subscriptions: `changes` or `watch`, and
/// `active` or `failing`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubscriptionLabels {
    kind: &'static str,
    state: &'static str,
}

/// Labels of an aggregate over subscriptions by kind only.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Latency buckets: 1 ms to ~33 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The live counters of one server; cloning is shallow.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<LiveMetrics>);

#[derive(Debug)]
struct LiveMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    rejected: Family<RouteLabels, Counter>,
    batch_queries: Counter,
    pool: HeavyPool,
}

impl Metrics {
    /// Fresh counters for a server whose heavy routes run behind `pool`.
    pub fn new(pool: &HeavyPool) -> Metrics {
        Metrics(Arc::new(LiveMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            rejected: Family::default(),
            batch_queries: Counter::default(),
            pool: pool.clone(),
        }))
    }
}

/// Families from a part of the process the API does not own (a read
/// replica's lag), in the Prometheus text format, added to every scrape
/// when the app carries one as an extension.
#[derive(Clone)]
pub struct MetricsSource(pub Arc<dyn Fn() -> String + Send + Sync>);

/// Middleware counting every request by route template, method and status,
/// timing it (to the response head; a stream's body is not waited for),
/// and counting 503 rejections and querybatch queries. It also hands the
/// [`Metrics`] to the `/metrics` handler through the request extensions.
pub(super) async fn track(
    State(metrics): State<Metrics>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method()).to_string();
    request.extensions_mut().insert(metrics.clone());
    let live = &metrics.0;
    live.in_flight.inc();
    let started = Instant::now();
    let response = next.run(request).await;
    live.in_flight.dec();
    let labels = RouteLabels { route, method };
    live.latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        live.rejected.get_or_create(&labels).inc();
    }
    if let Some(BatchQueries(n)) = response.extensions().get::<BatchQueries>() {
        live.batch_queries.inc_by(*n);
    }
    live.requests
        .get_or_create(&RequestLabels {
            route: labels.route,
            method: labels.method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// A bounded method label: the standard methods, else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`.
pub(super) async fn scrape(
    State(state): State<AppState>,
    Extension(metrics): Extension<Metrics>,
    more: Option<Extension<MetricsSource>>,
) -> Result<Response, ApiError> {
    let mut text = blocking(move || encode(&state, &metrics)).await?;
    if let Some(Extension(more)) = more {
        // OpenMetrics ends at `# EOF`: further families go before it.
        let end = text.rfind("# EOF").unwrap_or(text.len());
        text.insert_str(end, &(more.0)());
    }
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

/// One scrape: the live families plus gauges read from the state now.
fn encode(state: &AppState, metrics: &Metrics) -> Result<String, ApiError> {
    let live = &metrics.0;
    let mut registry = Registry::with_prefix("advisord");
    registry.register(
        "http_requests",
        "HTTP requests answered, by route template, method and status",
        live.requests.clone(),
    );
    registry.register_with_unit(
        "http_request_duration",
        "Time to answer a request (to the response head), by route template and method",
        Unit::Seconds,
        live.latency.clone(),
    );
    registry.register(
        "http_requests_in_flight",
        "HTTP requests being answered now",
        live.in_flight.clone(),
    );
    registry.register(
        "http_rejected",
        "Requests answered 503 (heavy-request queue full, or not ready), by route template and method",
        live.rejected.clone(),
    );
    registry.register(
        "querybatch_queries",
        "Queries received in /v1/querybatch requests",
        live.batch_queries.clone(),
    );
    register_gauge(
        &mut registry,
        "heavy_running",
        "Heavy requests (querybatch, change scans, watch registration) running now",
        live.pool.running(),
    );
    register_gauge(
        &mut registry,
        "heavy_waiting",
        "Heavy requests waiting for a worker now",
        live.pool.waiting(),
    );
    register_feeds(&mut registry, state)?;
    register_change_log(&mut registry, state)?;
    register_subscriptions(&mut registry, state)?;
    if let Ok(meta) = std::fs::metadata(state.store.path()) {
        let size = Gauge::<i64>::default();
        size.set(i64::try_from(meta.len()).unwrap_or(i64::MAX));
        registry.register_with_unit(
            "database_size",
            "Size of the redb database file",
            Unit::Bytes,
            size,
        );
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    Ok(text)
}

fn register_gauge(registry: &mut Registry, name: &str, help: &str, value: usize) {
    let gauge = Gauge::<i64>::default();
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    registry.register(name, help, gauge);
}

/// Per feed: last success, age, records, last sync duration, failures, staleness.
fn register_feeds(registry: &mut Registry, state: &AppState) -> Result<(), ApiError> {
    let views = match &state.sync {
        Some(syncer) => syncer.views()?,
        None => Vec::new(),
    };
    let last_success = Family::<FeedLabels, Gauge<i64>>::default();
    let age = Family::<FeedLabels, Gauge<i64>>::default();
    let records = Family::<FeedLabels, Gauge<i64>>::default();
    let duration = Family::<FeedLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let failures = Family::<FeedLabels, Gauge<i64>>::default();
    let stale = Family::<FeedLabels, Gauge<i64>>::default();
    for view in &views {
        let labels = FeedLabels {
            feed: view.name.clone(),
        };
        // A sync or an ingest, whichever is later: what `age` counts from.
        let synced = [&view.last_success, &view.last_ingest]
            .into_iter()
            .filter_map(|t| t.as_deref().and_then(unix_seconds))
            .max();
        if let Some(at) = synced {
            last_success.get_or_create(&labels).set(at);
        }
        if let Some(secs) = view.age_secs {
            age.get_or_create(&labels)
                .set(i64::try_from(secs).unwrap_or(i64::MAX));
        }
        records
            .get_or_create(&labels)
            .set(i64::try_from(view.records).unwrap_or(i64::MAX));
        if let Some(secs) = view.last_duration_secs {
            duration.get_or_create(&labels).set(secs);
        }
        failures
            .get_or_create(&labels)
            .set(i64::try_from(view.failures).unwrap_or(i64::MAX));
        stale.get_or_create(&labels).set(i64::from(view.stale));
    }
    registry.register_with_unit(
        "feed_last_success_timestamp",
        "When the feed last synced or was ingested without error (Unix time; the later of the two)",
        Unit::Seconds,
        last_success,
    );
    registry.register_with_unit(
        "feed_age",
        "Seconds since the feed's last successful sync or ingest",
        Unit::Seconds,
        age,
    );
    registry.register("feed_records", "Records the feed contributes", records);
    registry.register_with_unit(
        "feed_last_sync_duration",
        "Wall time of the feed's last sync by this process",
        Unit::Seconds,
        duration,
    );
    registry.register(
        "feed_sync_failures",
        "Syncs of the feed that failed since the process started",
        failures,
    );
    registry.register(
        "feed_stale",
        "1 when the feed never synced or is older than its max age",
        stale,
    );
    Ok(())
}

/// The change log's head and retention floor.
fn register_change_log(registry: &mut Registry, state: &AppState) -> Result<(), ApiError> {
    let snapshot = state.store.snapshot()?;
    let head = snapshot.last_seq()?;
    let floor = snapshot.oldest_seq()?.unwrap_or(head);
    let head_gauge = Gauge::<i64>::default();
    head_gauge.set(i64::try_from(head).unwrap_or(i64::MAX));
    let floor_gauge = Gauge::<i64>::default();
    floor_gauge.set(i64::try_from(floor).unwrap_or(i64::MAX));
    registry.register(
        "change_log_head_seq",
        "Sequence number of the newest change-log entry",
        head_gauge,
    );
    registry.register(
        "change_log_oldest_seq",
        "Sequence number of the oldest change-log entry retention kept (the floor a cursor may resume from)",
        floor_gauge,
    );
    Ok(())
}

/// Subscriptions and watches, aggregated by kind and state.
fn register_subscriptions(registry: &mut Registry, state: &AppState) -> Result<(), ApiError> {
    let head = state.store.snapshot()?.last_seq()?;
    let watches = state.store.watches()?;
    let subscriptions = state.store.subscriptions()?;
    let count = Family::<SubscriptionLabels, Gauge<i64>>::default();
    let lag = Family::<KindLabels, Gauge<i64>>::default();
    let failures = Family::<KindLabels, Gauge<i64>>::default();
    for kind in ["changes", "watch"] {
        for state in ["active", "failing"] {
            count
                .get_or_create(&SubscriptionLabels { kind, state })
                .set(0);
        }
        lag.get_or_create(&KindLabels { kind }).set(0);
        failures.get_or_create(&KindLabels { kind }).set(0);
    }
    for sub in &subscriptions {
        let (kind, position) = match &sub.watch {
            Some(watch) => (
                "watch",
                watches
                    .iter()
                    .find(|w| &w.id == watch)
                    .map_or(sub.cursor, |w| w.events),
            ),
            None => ("changes", head),
        };
        let state = match sub.state {
            SubscriptionState::Active => "active",
            SubscriptionState::Failing => "failing",
        };
        count
            .get_or_create(&SubscriptionLabels { kind, state })
            .inc();
        let behind = i64::try_from(position.saturating_sub(sub.cursor)).unwrap_or(i64::MAX);
        let max = lag.get_or_create(&KindLabels { kind });
        if behind > max.get() {
            max.set(behind);
        }
        failures
            .get_or_create(&KindLabels { kind })
            .inc_by(i64::from(sub.failures));
    }
    registry.register(
        "subscriptions",
        "Webhook subscriptions by kind (changes or a watch's events) and state",
        count,
    );
    registry.register(
        "subscription_cursor_lag_max",
        "Largest number of items a subscription of this kind has not yet had acknowledged",
        lag,
    );
    registry.register(
        "subscription_delivery_failures",
        "Consecutive failed deliveries, summed over the subscriptions of this kind",
        failures,
    );
    let watch_count = Family::<KindLabels, Gauge<i64>>::default();
    let findings = Gauge::<i64>::default();
    let watch_lag = Gauge::<i64>::default();
    for kind in ["inventory", "image"] {
        watch_count.get_or_create(&KindLabels { kind }).set(0);
    }
    for watch in &watches {
        let kind = if watch.image.is_some() {
            "image"
        } else {
            "inventory"
        };
        watch_count.get_or_create(&KindLabels { kind }).inc();
        findings.inc_by(i64::try_from(watch.findings.len()).unwrap_or(i64::MAX));
        let behind = i64::try_from(head.saturating_sub(watch.as_of)).unwrap_or(i64::MAX);
        if behind > watch_lag.get() {
            watch_lag.set(behind);
        }
    }
    registry.register(
        "watches",
        "Watches by kind (inventory or image)",
        watch_count,
    );
    registry.register(
        "watch_findings",
        "Findings (packages with an advisory) over all watches",
        findings,
    );
    registry.register(
        "watch_lag_max",
        "Largest number of change-log entries a watch's findings are behind the head",
        watch_lag,
    );
    Ok(())
}

/// An RFC 3339 timestamp as Unix seconds.
fn unix_seconds(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}
