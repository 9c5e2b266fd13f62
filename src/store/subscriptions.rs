//! Persisted webhook subscriptions (with the change filter they deliver
//! by) and change-log retention.
//!
//! Every write here is one redb write transaction, so a crash leaves either
//! the old or the new state (a delivery cursor never runs ahead of what the
//! receiver acknowledged, a watch's findings never disagree with its events).

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::tables::*;
use super::{db_err, decode, decode_rows, encode, ChangeEntry, Store, StoreError};

/// Which change-log entries a subscription or stream wants; every set field
/// must match (an empty filter matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeFilter {
    /// Ecosystem, with release (`Debian:12`) or without (`Debian` = every release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Package name (compared in the ecosystem's index form, e.g. PEP 503 for PyPI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Package URL; its ecosystem and name must match a touched package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Feed name that caused the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// An id or alias (`CVE-...`) the changed record has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// Health of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionState {
    /// Deliveries succeed (or have not failed often enough to worry).
    Active,
    /// The last `max_attempts` or more deliveries failed; retries go on at the
    /// longest backoff, and one success makes it active again.
    Failing,
}

/// A webhook subscription and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// `sub_<hex>`.
    pub id: String,
    /// Where batches are POSTed (http or https).
    pub url: String,
    /// HMAC-SHA256 key for `X-Advisord-Signature` (never shown by the API).
    pub secret: String,
    /// Which changes to deliver (ignored for watch subscriptions).
    #[serde(default)]
    pub filter: ChangeFilter,
    /// Set for a watch's webhook: deliver that watch's events, not changes.
    #[serde(default)]
    pub watch: Option<String>,
    /// Last change seq (or watch event seq) the receiver acknowledged.
    pub cursor: u64,
    /// Health.
    pub state: SubscriptionState,
    /// Consecutive failed attempts.
    #[serde(default)]
    pub failures: u32,
    /// The last failure (status or transport error).
    #[serde(default)]
    pub last_error: Option<String>,
    /// When the last attempt happened.
    #[serde(default)]
    pub last_attempt: Option<String>,
    /// When the last successful delivery happened.
    #[serde(default)]
    pub last_success: Option<String>,
    /// Items (changes or events) delivered so far.
    #[serde(default)]
    pub delivered: u64,
    /// Change-log entries that were pruned by retention before delivery.
    #[serde(default)]
    pub lost: u64,
    /// Creation time.
    pub created: String,
}

/// Writes (creates or replaces) `sub` in the write transaction `txn`.
pub(super) fn insert_subscription(
    txn: &redb::WriteTransaction,
    sub: &Subscription,
) -> Result<(), StoreError> {
    let bytes = encode(&sub.id, sub)?;
    txn.open_table(SUBSCRIPTIONS)
        .map_err(db_err("open subscriptions"))?
        .insert(sub.id.as_str(), bytes.as_slice())
        .map_err(db_err("write subscription"))?;
    Ok(())
}

impl Store {
    /// Removes old change-log entries: keeps at most `keep_last` entries and
    /// none recorded before `older_than`, but never an entry with
    /// `seq > floor` (not yet consumed by a watch or healthy subscription)
    /// and never the newest entry (it carries the sequence counter).
    /// Returns the number of entries removed.
    pub fn prune_changes(
        &self,
        keep_last: Option<u64>,
        older_than: Option<time::OffsetDateTime>,
        floor: u64,
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let removed;
        {
            let mut table = txn.open_table(CHANGES).map_err(db_err("open changes"))?;
            let last = table
                .last()
                .map_err(db_err("read last change"))?
                .map_or(0, |(k, _)| k.value());
            let ceiling = floor.min(last.saturating_sub(1));
            let count_cut = keep_last.map_or(0, |keep| last.saturating_sub(keep.max(1)));
            let mut age_cut = 0;
            if let Some(limit) = older_than {
                // Entries are recorded in seq order, so the first young entry
                // ends the old prefix.
                for row in table.range(..=ceiling).map_err(db_err("scan changes"))? {
                    let (seq, value) = row.map_err(db_err("scan changes"))?;
                    let entry: ChangeEntry = decode("change", value.value())?;
                    let young = entry
                        .recorded
                        .parse::<crate::model::Timestamp>()
                        .map_or(true, |t| t.instant() >= limit);
                    if young {
                        break;
                    }
                    age_cut = seq.value();
                }
            }
            let cutoff = ceiling.min(count_cut.max(age_cut));
            let mut n = 0u64;
            table
                .retain_in(..=cutoff, |_, _| {
                    n += 1;
                    false
                })
                .map_err(db_err("prune changes"))?;
            removed = n;
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(removed)
    }

    /// Stores (creates or replaces) a subscription.
    pub fn put_subscription(&self, sub: &Subscription) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        insert_subscription(&txn, sub)?;
        txn.commit().map_err(db_err("commit"))?;
        Ok(())
    }

    /// One subscription.
    pub fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn
            .open_table(SUBSCRIPTIONS)
            .map_err(db_err("open subscriptions"))?;
        let value = table.get(id).map_err(db_err("read subscription"))?;
        value.map(|v| decode(id, v.value())).transpose()
    }

    /// Every subscription, by id.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn
            .open_table(SUBSCRIPTIONS)
            .map_err(db_err("open subscriptions"))?;
        let rows = decode_rows(&table, "scan subscriptions")?;
        Ok(rows.into_iter().map(|(_, sub)| sub).collect())
    }

    /// Read-modify-write of one subscription in one transaction; `None`
    /// (and nothing written) when it no longer exists, so a delivery that
    /// finishes after a delete cannot bring it back.
    pub fn update_subscription(
        &self,
        id: &str,
        change: impl FnOnce(&mut Subscription),
    ) -> Result<Option<Subscription>, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let updated;
        {
            let mut table = txn
                .open_table(SUBSCRIPTIONS)
                .map_err(db_err("open subscriptions"))?;
            let current: Option<Subscription> = table
                .get(id)
                .map_err(db_err("read subscription"))?
                .map(|v| decode(id, v.value()))
                .transpose()?;
            let Some(mut sub) = current else {
                return Ok(None);
            };
            change(&mut sub);
            let bytes = encode(id, &sub)?;
            table
                .insert(id, bytes.as_slice())
                .map_err(db_err("write subscription"))?;
            updated = sub;
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(Some(updated))
    }

    /// Deletes a subscription; false when it did not exist.
    pub fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let existed;
        {
            let mut table = txn
                .open_table(SUBSCRIPTIONS)
                .map_err(db_err("open subscriptions"))?;
            existed = table
                .remove(id)
                .map_err(db_err("delete subscription"))?
                .is_some();
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(existed)
    }
}
