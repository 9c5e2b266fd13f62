//! Webhook delivery: one task per subscription, in order, at least once.
//!
//! The task reads the items after the subscription's stored cursor (change
//! entries matching its filter, or its watch's events), POSTs them as one
//! signed batch, and advances the cursor only after a 2xx answer, so a crash
//! or restart repeats at most the batch in flight. Failures are retried with
//! exponential backoff; after `max_attempts` consecutive failures the
//! subscription is marked failing (and retried at the longest backoff).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::filter::CompiledFilter;
use super::Hub;
use crate::model::Timestamp;
use crate::store::subscriptions::{Subscription, SubscriptionState};
use crate::store::StoreError;

/// Header carrying `sha256=<hex HMAC-SHA256 of the body under the secret>`.
pub const SIGNATURE_HEADER: &str = "x-advisord-signature";

/// The signature header value of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header value in constant time.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// A batch ready to send: the body and the cursor it advances to.
struct Batch {
    body: Vec<u8>,
    items: u64,
    advance_to: u64,
    lost: u64,
}

/// Builds the next batch, or `Ok(None)` when nothing is pending. Entries the
/// filter rejects advance the cursor without a POST.
fn next_batch(hub: &Hub, sub: &Subscription) -> Result<Option<Batch>, StoreError> {
    let store = hub.store();
    let limit = hub.config().batch.max(1);
    if let Some(watch) = &sub.watch {
        let events = store.watch_events_after(watch, sub.cursor, limit)?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(None);
        };
        let body = serde_json::json!({"subscription": sub.id, "watch": watch, "events": events});
        return Ok(Some(Batch {
            body: serde_json::to_vec(&body).unwrap_or_default(),
            items: events.len() as u64,
            advance_to: last,
            lost: 0,
        }));
    }
    let snapshot = store.snapshot()?;
    let filter = CompiledFilter::compile(&sub.filter, &snapshot)?;
    // Scan ahead past non-matching entries, but bound the work per batch.
    let mut cursor = sub.cursor;
    let mut lost = 0;
    let mut picked = Vec::new();
    for _ in 0..100 {
        let page = snapshot.changes_after(cursor, limit * 10)?;
        let Some(first) = page.first() else { break };
        if first.seq > cursor + 1 {
            // Retention removed entries this subscriber never got.
            lost += first.seq - cursor - 1;
        }
        for change in page {
            if picked.len() == limit {
                break;
            }
            cursor = change.seq;
            if filter.matches(&change) {
                picked.push(change);
            }
        }
        if picked.len() == limit {
            break;
        }
    }
    if cursor == sub.cursor {
        return Ok(None);
    }
    let body = if picked.is_empty() {
        Vec::new()
    } else {
        serde_json::to_vec(&serde_json::json!({"subscription": sub.id, "changes": picked}))
            .unwrap_or_default()
    };
    Ok(Some(Batch {
        body,
        items: picked.len() as u64,
        advance_to: cursor,
        lost,
    }))
}

fn backoff(hub: &Hub, failures: u32) -> Duration {
    let config = hub.config();
    let factor = 1u32 << failures.saturating_sub(1).min(20);
    config
        .backoff_base
        .saturating_mul(factor)
        .min(config.backoff_max)
}

/// What a store step of the delivery loop came to.
enum Step<T> {
    /// The step's value.
    Done(T),
    /// The store failed (logged, and one poll interval waited): go round again.
    Retry,
    /// The blocking task died: the delivery stops.
    Stop,
}

/// Runs the store step `op` of subscription `id`'s delivery off the async
/// threads; a store error is logged as `what` and waited out.
async fn store_step<T: Send + 'static>(
    hub: &Hub,
    id: &str,
    what: &str,
    op: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Step<T> {
    match tokio::task::spawn_blocking(op).await {
        Ok(Ok(value)) => Step::Done(value),
        Ok(Err(e)) => {
            tracing::warn!(subscription = %id, error = %e, "{what}");
            tokio::time::sleep(hub.config().poll).await;
            Step::Retry
        }
        Err(_) => Step::Stop,
    }
}

/// Delivers subscription `id` until it is deleted (or the task aborted).
pub async fn run(hub: Hub, id: String) {
    let mut changes = hub.changes();
    let mut events = hub.events();
    loop {
        let store = hub.store().clone();
        let lookup = id.clone();
        let read = move || store.subscription(&lookup);
        let sub = match store_step(&hub, &id, "cannot read subscription", read).await {
            Step::Done(Some(sub)) => sub,
            Step::Done(None) | Step::Stop => return,
            Step::Retry => continue,
        };
        let h = hub.clone();
        let s = sub.clone();
        let read = move || next_batch(&h, &s);
        let batch = match store_step(&hub, &id, "cannot read pending changes", read).await {
            Step::Done(batch) => batch,
            Step::Stop => return,
            Step::Retry => continue,
        };
        let Some(batch) = batch else {
            // Nothing pending: wait for news (the poll timer covers a
            // notification sent between the read and this wait).
            tokio::select! {
                _ = changes.changed() => {}
                _ = events.changed() => {}
                () = tokio::time::sleep(hub.config().poll * 4) => {}
            }
            continue;
        };
        let outcome = if batch.items == 0 {
            Ok(())
        } else {
            post(&hub, &sub, &batch.body).await
        };
        let now = Timestamp::now().to_string();
        let max_attempts = hub.config().max_attempts.max(1);
        let store = hub.store().clone();
        let lookup = id.clone();
        let failed = outcome.is_err();
        let write = move || {
            store.update_subscription(&lookup, |s| match outcome {
                Ok(()) => {
                    s.cursor = s.cursor.max(batch.advance_to);
                    s.lost += batch.lost;
                    if batch.items > 0 {
                        s.delivered += batch.items;
                        s.failures = 0;
                        s.state = SubscriptionState::Active;
                        s.last_success = Some(now.clone());
                        s.last_attempt = Some(now);
                    }
                }
                Err(error) => {
                    s.failures = s.failures.saturating_add(1);
                    s.last_error = Some(error.to_string());
                    s.last_attempt = Some(now);
                    if s.failures >= max_attempts {
                        s.state = SubscriptionState::Failing;
                    }
                }
            })
        };
        match store_step(&hub, &id, "cannot store delivery state", write).await {
            Step::Done(Some(s)) if failed => tokio::time::sleep(backoff(&hub, s.failures)).await,
            Step::Done(Some(_)) | Step::Retry => {}
            Step::Done(None) | Step::Stop => return,
        }
    }
}

/// Why one delivery to a subscription's receiver failed (kept as the
/// subscription's `last_error`).
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    /// The URL is no longer an allowed target.
    #[error("refused: {0}")]
    Refused(#[from] super::target::TargetError),
    /// The request could not be sent or answered.
    #[error("request failed: {}", crate::feeds::http::cause_chain(.0))]
    Request(#[from] reqwest::Error),
    /// The receiver answered with a status other than 2xx.
    #[error("receiver answered {0}")]
    Status(reqwest::StatusCode),
}

async fn post(hub: &Hub, sub: &Subscription, body: &[u8]) -> Result<(), DeliveryError> {
    // Checked again at every delivery: IP literals here, names by the
    // client's resolver on the addresses it connects to.
    let url = super::target::check_url(&sub.url, hub.config().allow_private_webhooks)?;
    let response = hub
        .client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(&sub.secret, body))
        .header("x-advisord-subscription", sub.id.as_str())
        .body(body.to_vec())
        .send()
        .await?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify("Jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify("Jefe", b"what do ya want for nothing!", &sig));
        assert!(!verify("jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify("Jefe", b"x", "sha1=00"));
    }
}
