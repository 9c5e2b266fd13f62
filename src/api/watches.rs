//! Inventory watches (admin token): `POST/GET /v1/watches`,
//! `GET/DELETE /v1/watches/{id}`, `GET /v1/watches/{id}/events`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::admin::{found, Admin, AdminJson};
use super::pool::{admit, HeavyPool};
use super::subscriptions::{check_webhook, new_subscription, view, WebhookBody};
use super::{blocking, ApiError, AppState};
use crate::inventory::{self, Inventory, InventoryError, ListFormat, PackageSpec};
use crate::model::Timestamp;
use crate::notify::new_id;
use crate::notify::watches;
use crate::store::subscriptions::ChangeFilter;
use crate::store::watches::Watch;

/// Largest watch request (a big image's dpkg status is a few MiB).
pub const MAX_WATCH_BODY: usize = 32 << 20;

pub(super) fn router(pool: &HeavyPool) -> Router<AppState> {
    // Registration computes every package's findings: a heavy request.
    let create = create.layer(axum::middleware::from_fn_with_state(pool.clone(), admit));
    Router::new()
        .route(
            "/v1/watches",
            post(create)
                .get(list)
                .layer(DefaultBodyLimit::max(MAX_WATCH_BODY)),
        )
        .route("/v1/watches/{id}", get(show).delete(remove))
        .route("/v1/watches/{id}/events", get(events))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    packages: Option<Vec<PackageSpec>>,
    #[serde(default)]
    sbom: Option<serde_json::Value>,
    #[serde(default)]
    package_list: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    webhook: Option<WebhookBody>,
    /// An image reference: the server pulls it and follows its tag.
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    insecure: bool,
    /// Fix statuses whose advisories the watch does not report.
    #[serde(default)]
    ignore_status: Vec<crate::model::FixStatus>,
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::TooMany(_) => {
                ApiError::status(StatusCode::PAYLOAD_TOO_LARGE, 8, e.to_string())
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// Reads the inventory of a watch request (exactly one form must be given).
fn inventory_of(body: &CreateBody) -> Result<Inventory, ApiError> {
    let forms = usize::from(body.packages.is_some())
        + usize::from(body.sbom.is_some())
        + usize::from(body.package_list.is_some());
    if forms != 1 {
        return Err(ApiError::BadRequest(
            "give exactly one of packages, sbom, image, or package_list (with format and ecosystem)"
                .into(),
        ));
    }
    if let Some(specs) = &body.packages {
        return Ok(inventory::from_specs(specs)?);
    }
    if let Some(sbom) = &body.sbom {
        // An SBOM sent as a JSON string (the file's text) is accepted too.
        let parsed;
        let sbom = match sbom.as_str() {
            Some(text) => {
                parsed = serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| ApiError::BadRequest(format!("sbom is not JSON: {e}")))?;
                &parsed
            }
            None => sbom,
        };
        if !sbom.is_object() {
            return Err(ApiError::BadRequest(
                "sbom must be a CycloneDX or SPDX JSON document".into(),
            ));
        }
        return Ok(inventory::from_sbom(sbom)?);
    }
    let text = body.package_list.as_deref().unwrap_or_default();
    let format: ListFormat = body
        .format
        .as_deref()
        .ok_or_else(|| {
            ApiError::BadRequest(
                "package_list needs format (dpkg-status, apk-installed or rpm-qa)".into(),
            )
        })?
        .parse()?;
    let ecosystem = body.ecosystem.as_deref().ok_or_else(|| {
        ApiError::BadRequest("package_list needs ecosystem (e.g. Debian:12)".into())
    })?;
    Ok(inventory::from_package_list(text, format, ecosystem)?)
}

/// The public view of a watch.
fn watch_view(watch: &Watch) -> serde_json::Value {
    serde_json::json!({
        "id": watch.id,
        "name": watch.name,
        "created": watch.created,
        "as_of": watch.as_of,
        "packages": watch.packages.len(),
        "events": watch.events,
        "subscription": watch.subscription,
        "findings": watch.findings,
        "image": watch.image,
    })
}

async fn create(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<CreateBody>,
) -> Result<Response, ApiError> {
    if body.name.trim().is_empty() {
        return Err(ApiError::BadRequest("name is empty".into()));
    }
    if let Some(w) = &body.webhook {
        check_webhook(&state.hub, &w.url, &w.secret).await?;
    }
    let image = match &body.image {
        Some(_)
            if body.packages.is_some() || body.sbom.is_some() || body.package_list.is_some() =>
        {
            return Err(ApiError::BadRequest(
                "give exactly one of packages, sbom, image, or package_list".into(),
            ))
        }
        Some(reference) => Some(
            super::scans::read_image(reference, body.platform.as_deref(), body.insecure).await?,
        ),
        None => None,
    };
    let store = state.store.clone();
    let (watch, sub, skipped, unevaluated) = blocking(move || {
        let inventory = match &image {
            Some(contents) => {
                let packages = watches::image::watch_packages(contents);
                Inventory {
                    unevaluated: inventory::unevaluated_versions(&packages),
                    packages,
                    skipped: contents.skipped.clone(),
                }
            }
            None => inventory_of(&body)?,
        };
        let snapshot = store.snapshot()?;
        let as_of = snapshot.last_seq()?;
        let findings = inventory::findings(&snapshot, &inventory.packages, &body.ignore_status)?
            .into_iter()
            .flatten()
            .collect();
        let id = new_id("watch_");
        let sub = body.webhook.map(|w| {
            new_subscription(
                w.url,
                w.secret,
                ChangeFilter::default(),
                Some(id.clone()),
                0,
            )
        });
        let watch = Watch {
            id,
            name: body.name,
            created: Timestamp::now().to_string(),
            packages: inventory.packages,
            findings,
            as_of,
            subscription: sub.as_ref().map(|s| s.id.clone()),
            events: 0,
            image: image
                .as_ref()
                .zip(body.image.as_deref())
                .map(|(contents, reference)| {
                    watches::image::watched(contents, reference, body.insecure)
                }),
            ignore_status: body.ignore_status,
        };
        store.put_watch(&watch, sub.as_ref())?;
        Ok((watch, sub, inventory.skipped, inventory.unevaluated))
    })
    .await?;
    state.hub.watches_changed();
    if let Some(sub) = &sub {
        state.hub.spawn_delivery(&sub.id);
    }
    let mut out = watch_view(&watch);
    if let Some(map) = out.as_object_mut() {
        map.insert("skipped".into(), skipped.into());
        if !unevaluated.is_empty() {
            map.insert("unevaluated_versions".into(), unevaluated.into());
        }
        if let Some(sub) = &sub {
            map.insert("webhook".into(), view(sub));
        }
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn list(State(state): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let watches = blocking(move || Ok(store.watches()?)).await?;
    let views: Vec<_> = watches
        .iter()
        .map(|w| {
            serde_json::json!({"id": w.id, "name": w.name, "packages": w.packages.len(),
                "affected_packages": w.findings.len(), "events": w.events, "as_of": w.as_of})
        })
        .collect();
    Ok(Json(serde_json::json!({ "watches": views })).into_response())
}

async fn show(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let watch = found(&state, "watch", id, |store, id| store.watch(id)).await?;
    Ok(Json(watch_view(&watch)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let watch = found(&state, "watch", id, |store, id| store.delete_watch(id)).await?;
    if let Some(sub) = &watch.subscription {
        state.hub.stop_delivery(sub);
    }
    state.hub.watches_changed();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventParams {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn events(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    query: Result<Query<EventParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(1000).clamp(1, 1000);
    let store = state.store.clone();
    let lookup = id.clone();
    let found = blocking(move || {
        let Some(watch) = store.watch(&lookup)? else {
            return Ok(None);
        };
        Ok(Some((
            watch.events,
            store.watch_events_after(&lookup, after, limit)?,
        )))
    })
    .await?;
    let Some((total, events)) = found else {
        return Err(ApiError::NotFound(format!("watch {id} not found")));
    };
    let next = events.last().map_or(after, |e| e.seq);
    Ok(Json(serde_json::json!({"events": events, "next": next, "last": total})).into_response())
}
