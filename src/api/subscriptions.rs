//! Webhook subscriptions (admin token): `POST/GET /v1/subscriptions`,
//! `GET/DELETE /v1/subscriptions/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::admin::{found, Admin, AdminJson};
use super::{blocking, ApiError, AppState};
use crate::model::Timestamp;
use crate::notify::filter::validate;
use crate::notify::new_id;
use crate::store::subscriptions::{ChangeFilter, Subscription, SubscriptionState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/subscriptions", post(create).get(list))
        .route("/v1/subscriptions/{id}", get(show).delete(remove))
}

/// The webhook part of a subscription or watch request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookBody {
    pub url: String,
    pub secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    secret: String,
    #[serde(default)]
    filter: ChangeFilter,
    /// Deliver changes after this seq (default: only changes from now on).
    #[serde(default)]
    after: Option<u64>,
}

/// Checks a webhook target (a public http(s) URL unless internal receivers
/// are allowed; see [`crate::notify::target`]) and its secret.
pub(super) async fn check_webhook(
    hub: &crate::notify::Hub,
    url: &str,
    secret: &str,
) -> Result<(), ApiError> {
    crate::notify::target::check_target(url, hub.config().allow_private_webhooks)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if secret.is_empty() {
        return Err(ApiError::BadRequest("webhook secret is empty".into()));
    }
    Ok(())
}

/// A new subscription record.
pub(super) fn new_subscription(
    url: String,
    secret: String,
    filter: ChangeFilter,
    watch: Option<String>,
    cursor: u64,
) -> Subscription {
    Subscription {
        id: new_id("sub_"),
        url,
        secret,
        filter,
        watch,
        cursor,
        state: SubscriptionState::Active,
        failures: 0,
        last_error: None,
        last_attempt: None,
        last_success: None,
        delivered: 0,
        lost: 0,
        created: Timestamp::now().to_string(),
    }
}

/// The public view of a subscription: everything but the secret.
pub(super) fn view(sub: &Subscription) -> serde_json::Value {
    let mut value = serde_json::to_value(sub).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("secret");
    }
    value
}

async fn create(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<CreateBody>,
) -> Result<Response, ApiError> {
    check_webhook(&state.hub, &body.url, &body.secret).await?;
    validate(&body.filter).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let store = state.store.clone();
    let sub = blocking(move || {
        let cursor = match body.after {
            Some(after) => after,
            None => store.snapshot()?.last_seq()?,
        };
        let sub = new_subscription(body.url, body.secret, body.filter, None, cursor);
        store.put_subscription(&sub)?;
        Ok(sub)
    })
    .await?;
    state.hub.spawn_delivery(&sub.id);
    Ok((StatusCode::CREATED, Json(view(&sub))).into_response())
}

async fn list(State(state): State<AppState>, _: Admin) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let subs = blocking(move || Ok(store.subscriptions()?)).await?;
    let views: Vec<_> = subs.iter().map(view).collect();
    Ok(Json(serde_json::json!({ "subscriptions": views })).into_response())
}

async fn show(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sub = found(&state, "subscription", id, |store, id| {
        store.subscription(id)
    })
    .await?;
    Ok(Json(view(&sub)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Stop the task first so no new POST starts once we answer.
    state.hub.stop_delivery(&id);
    found(&state, "subscription", id, |store, id| {
        Ok(store.delete_subscription(id)?.then_some(()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
