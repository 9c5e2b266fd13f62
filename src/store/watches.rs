//! Persisted inventory watches: each watch with its packages and current
//! findings, and its event log. Every write is one redb write transaction,
//! so a watch's findings never disagree with its events.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::subscriptions::{insert_subscription, Subscription};
use super::tables::*;
use super::{db_err, decode, decode_rows, encode, Store, StoreError};
use crate::model::{Finding, InventoryPackage};

/// An inventory watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// `watch_<hex>`.
    pub id: String,
    /// The name given at creation.
    pub name: String,
    /// Creation time.
    pub created: String,
    /// The inventory, normalized (stored in its own table).
    #[serde(skip)]
    pub packages: Vec<InventoryPackage>,
    /// Current findings (packages with at least one advisory).
    pub findings: Vec<Finding>,
    /// The change seq the findings reflect.
    pub as_of: u64,
    /// The subscription delivering this watch's events, if a webhook was given.
    #[serde(default)]
    pub subscription: Option<String>,
    /// Events emitted so far (= the last event seq).
    #[serde(default)]
    pub events: u64,
    /// The image this watch follows (its packages are the image's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<WatchedImage>,
    /// Fix statuses whose advisories the watch does not report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_status: Vec<crate::model::FixStatus>,
}

/// The image a watch follows: re-resolved on an interval, its packages
/// replaced when the manifest digest changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedImage {
    /// The reference as given (`docker://host/repo:tag`).
    pub reference: String,
    /// The manifest digest last indexed.
    pub digest: Option<String>,
    /// `os/arch[/variant]` picked from an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Pull over plain http.
    #[serde(default)]
    pub insecure: bool,
    /// When the reference was last resolved.
    pub checked: String,
}

/// What a change did to a watched package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchEventKind {
    /// An advisory now affects the package's version.
    NewlyAffected,
    /// An advisory still affects it and a fixed version became available.
    Fixed,
    /// An advisory no longer affects it (withdrawn, removed or ranges changed).
    NoLongerAffected,
    /// The watched image's tag now names another manifest (`image` says which).
    ImageChanged,
}

/// One event of a watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    /// Per-watch position, gap-free from 1.
    pub seq: u64,
    /// What happened.
    pub kind: WatchEventKind,
    /// The advisory.
    pub advisory: String,
    /// The watched package.
    pub package: InventoryPackage,
    /// Fixed versions known for this advisory and package (after the change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
    /// The change seq through which the watch was evaluated.
    pub change_seq: u64,
    /// For `image_changed`: the manifest digests before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageChange>,
    /// When the event was recorded.
    pub recorded: String,
}

/// A watched image's manifest digest change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    /// The image reference.
    pub reference: String,
    /// The digest indexed before.
    pub from: Option<String>,
    /// The digest indexed now.
    pub to: Option<String>,
}

/// A new evaluation of one watch, written by [`Store::commit_watch_updates`].
#[derive(Debug, Clone)]
pub struct WatchUpdate {
    /// The watch.
    pub id: String,
    /// The `as_of` the evaluation started from; the update is dropped when
    /// the stored watch no longer has it (deleted or re-created meanwhile).
    pub from: u64,
    /// The new `as_of`.
    pub as_of: u64,
    /// The new findings.
    pub findings: Vec<Finding>,
    /// Events to append (their `seq` is assigned here).
    pub events: Vec<WatchEvent>,
}

/// Appends `events` to `watch`'s log, numbering them after its last one.
fn append_events(
    table: &mut redb::Table<(&str, u64), &[u8]>,
    watch: &mut Watch,
    events: Vec<WatchEvent>,
) -> Result<(), StoreError> {
    for mut event in events {
        watch.events += 1;
        event.seq = watch.events;
        let bytes = encode(&watch.id, &event)?;
        table
            .insert((watch.id.as_str(), event.seq), bytes.as_slice())
            .map_err(db_err("append watch event"))?;
    }
    Ok(())
}

/// Applies `update` to its stored watch, appending its events (and
/// replacing its image when `image` is given); `None`, and nothing written,
/// when the watch is gone or was evaluated meanwhile (`from` differs).
/// Returns the watch as written (without its packages).
fn apply_update(
    watches: &mut redb::Table<&str, &[u8]>,
    events: &mut redb::Table<(&str, u64), &[u8]>,
    update: WatchUpdate,
    image: Option<WatchedImage>,
) -> Result<Option<Watch>, StoreError> {
    let current: Option<Watch> = watches
        .get(update.id.as_str())
        .map_err(db_err("read watch"))?
        .map(|v| decode(&update.id, v.value()))
        .transpose()?;
    let Some(mut watch) = current.filter(|w| w.as_of == update.from) else {
        return Ok(None);
    };
    append_events(events, &mut watch, update.events)?;
    watch.findings = update.findings;
    watch.as_of = update.as_of;
    if image.is_some() {
        watch.image = image;
    }
    let bytes = encode(&update.id, &watch)?;
    watches
        .insert(update.id.as_str(), bytes.as_slice())
        .map_err(db_err("write watch"))?;
    Ok(Some(watch))
}

/// Fills `watch`'s packages from their own table.
fn read_packages(
    packages: &impl ReadableTable<&'static str, &'static [u8]>,
    watch: &mut Watch,
) -> Result<(), StoreError> {
    let id = watch.id.as_str();
    if let Some(p) = packages.get(id).map_err(db_err("read watch packages"))? {
        watch.packages = decode(id, p.value())?;
    }
    Ok(())
}

impl Store {
    /// Stores a new watch and, if given, the subscription delivering its
    /// events, in one transaction.
    pub fn put_watch(&self, watch: &Watch, sub: Option<&Subscription>) -> Result<(), StoreError> {
        let bytes = encode(&watch.id, watch)?;
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut table = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
            table
                .insert(watch.id.as_str(), bytes.as_slice())
                .map_err(db_err("write watch"))?;
            let packages = encode(&watch.id, &watch.packages)?;
            let mut table = txn
                .open_table(WATCH_PACKAGES)
                .map_err(db_err("open watch packages"))?;
            table
                .insert(watch.id.as_str(), packages.as_slice())
                .map_err(db_err("write watch packages"))?;
            if let Some(sub) = sub {
                insert_subscription(&txn, sub)?;
            }
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(())
    }

    /// One watch.
    pub fn watch(&self, id: &str) -> Result<Option<Watch>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
        let packages = txn
            .open_table(WATCH_PACKAGES)
            .map_err(db_err("open watch packages"))?;
        let value = table.get(id).map_err(db_err("read watch"))?;
        let Some(mut watch) = value.map(|v| decode::<Watch>(id, v.value())).transpose()? else {
            return Ok(None);
        };
        read_packages(&packages, &mut watch)?;
        Ok(Some(watch))
    }

    /// Every watch, by id.
    pub fn watches(&self) -> Result<Vec<Watch>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
        let packages = txn
            .open_table(WATCH_PACKAGES)
            .map_err(db_err("open watch packages"))?;
        let mut out = Vec::new();
        for (_, mut watch) in decode_rows::<Watch>(&table, "scan watches")? {
            read_packages(&packages, &mut watch)?;
            out.push(watch);
        }
        Ok(out)
    }

    /// Deletes a watch, its events and its subscription; returns the
    /// deleted watch.
    pub fn delete_watch(&self, id: &str) -> Result<Option<Watch>, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let watch: Option<Watch>;
        {
            let mut table = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
            watch = table
                .remove(id)
                .map_err(db_err("delete watch"))?
                .map(|v| decode(id, v.value()))
                .transpose()?;
            txn.open_table(WATCH_PACKAGES)
                .map_err(db_err("open watch packages"))?
                .remove(id)
                .map_err(db_err("delete watch packages"))?;
            let mut events = txn
                .open_table(WATCH_EVENTS)
                .map_err(db_err("open watch events"))?;
            events
                .retain_in((id, 0)..=(id, u64::MAX), |_, _| false)
                .map_err(db_err("delete watch events"))?;
            if let Some(sub) = watch.as_ref().and_then(|w| w.subscription.as_deref()) {
                let mut subs = txn
                    .open_table(SUBSCRIPTIONS)
                    .map_err(db_err("open subscriptions"))?;
                subs.remove(sub).map_err(db_err("delete subscription"))?;
            }
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(watch)
    }

    /// Events of a watch with `seq > after`, at most `limit`.
    pub fn watch_events_after(
        &self,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<WatchEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn
            .open_table(WATCH_EVENTS)
            .map_err(db_err("open watch events"))?;
        let mut out = Vec::new();
        for row in table
            .range((id, after.saturating_add(1))..=(id, u64::MAX))
            .map_err(db_err("scan watch events"))?
            .take(limit)
        {
            let (_, value) = row.map_err(db_err("scan watch events"))?;
            out.push(decode(id, value.value())?);
        }
        Ok(out)
    }

    /// Replaces a watch's packages, findings and image after its image was
    /// re-indexed, appending `events`, in one transaction; skipped (returns
    /// `None`) when the watch is gone or was evaluated meanwhile (`from`).
    pub fn replace_watch_image(
        &self,
        update: WatchUpdate,
        packages: &[InventoryPackage],
        image: WatchedImage,
    ) -> Result<Option<Watch>, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let written;
        {
            let mut watches = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
            let mut events = txn
                .open_table(WATCH_EVENTS)
                .map_err(db_err("open watch events"))?;
            let id = update.id.clone();
            let Some(watch) = apply_update(&mut watches, &mut events, update, Some(image))? else {
                return Ok(None);
            };
            let encoded = encode(&id, &packages)?;
            txn.open_table(WATCH_PACKAGES)
                .map_err(db_err("open watch packages"))?
                .insert(id.as_str(), encoded.as_slice())
                .map_err(db_err("write watch packages"))?;
            written = watch;
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(Some(written))
    }

    /// Writes new evaluations of watches (findings, `as_of`, appended
    /// events) in one transaction. Updates whose watch is gone or was
    /// re-evaluated meanwhile (`from` differs) are skipped. Returns the
    /// stored watches that were updated (without their packages).
    pub fn commit_watch_updates(
        &self,
        updates: Vec<WatchUpdate>,
    ) -> Result<Vec<Watch>, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let mut written = Vec::new();
        {
            let mut watches = txn.open_table(WATCHES).map_err(db_err("open watches"))?;
            let mut events = txn
                .open_table(WATCH_EVENTS)
                .map_err(db_err("open watch events"))?;
            for update in updates {
                written.extend(apply_update(&mut watches, &mut events, update, None)?);
            }
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(written)
    }
}
