//! The redb store: records, package index, aliases, feed state and the
//! change log, all in one file.
//!
//! [`Store`] is a cheap-to-clone handle (cloning shares the open database).
//! Writes happen in [`Store::write_batch`] (records streamed in as they are
//! read, see [`batch`]) or [`Store::apply_batch`], one write transaction per
//! feed batch: either the whole batch lands with its change-log entries, or
//! nothing does and the previous state stays intact. Each served record is
//! stored once, compressed ([`compress`]); a feed's own version of it is a
//! digest, or a compressed copy only while several feeds share the id (see
//! [`contribution`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::{Advisory, Provenance, RangeKind};
use crate::version::{EvalRange, RangeSpec};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

pub mod batch;
mod compress;
mod contribution;
mod index;
mod key;
mod merge;
pub mod replica;
pub mod snapshot;
pub mod subscriptions;
pub mod tables;
pub mod watches;

use crate::version::packed::{Malformed, PackedSpecs};
pub use batch::BatchWriter;
pub use key::PackageKey;
use key::{row_key, RowKey};
pub use merge::merge;
use tables::*;

/// The layout version written to `meta.schema`; bumped on incompatible changes.
/// 2: a feed's contribution is a digest (sole contributor) or a compressed
/// copy (several feeds), no longer a second copy of the served JSON.
/// 3: served records and shared contributions are LZ4 blocks ([`compress`]).
const LAYOUT_VERSION: &[u8] = b"3";

/// The redb page cache of [`Store::open`] and `--db-cache-mib`: 16 MiB,
/// not redb's own 1 GiB. redb keeps the pages a write transaction writes
/// in this cache, so with 1 GiB a large ingest's RSS followed what it wrote
/// (x4 its input) and a server re-syncing feeds grew for as long as the
/// cache was filling. Pages past the cache are read from the file, which
/// the OS page cache keeps warm outside the process's RSS.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// Errors of the store, naming the file or operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database open.
    #[error("database {path} is in use by another advisord process (redb allows one process per file); stop it or use another --db")]
    AlreadyOpen {
        /// The database file.
        path: PathBuf,
    },
    /// The file could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: redb::DatabaseError,
    },
    /// The file was written by an incompatible advisord version.
    #[error("database {path} has layout version {found}, this advisord expects {expected}: move it aside and ingest or sync the feeds again into a new database")]
    Layout {
        /// The database file.
        path: PathBuf,
        /// Found layout version.
        found: String,
        /// Expected layout version.
        expected: String,
    },
    /// A redb operation failed.
    #[error("database {operation}: {source}")]
    Redb {
        /// What was being done.
        operation: &'static str,
        /// The cause.
        source: redb::Error,
    },
    /// A package-index value could not be encoded or decoded.
    #[error("package index value for {key}: {source}")]
    Index {
        /// The index row.
        key: String,
        /// The cause.
        source: Malformed,
    },
    /// A published change batch or snapshot was offered to a database
    /// that ingests feeds itself (see [`replica`]).
    #[error("database {path} holds feed contributions of its own: published data applies only to a read copy (use a new --db)")]
    NotReadCopy {
        /// The database file.
        path: PathBuf,
    },
    /// A published change batch does not continue where the read copy is.
    #[error("published changes start after seq {after} but this copy is at seq {at}")]
    StreamGap {
        /// The copy's seq.
        at: u64,
        /// The seq the batch starts after.
        after: u64,
    },
    /// A file offered as a snapshot carries no stream position.
    #[error("{path} is not a published snapshot (no stream position in its meta table)")]
    NotSnapshot {
        /// The file.
        path: PathBuf,
    },
    /// A `meta` value has the wrong size.
    #[error("database meta value {key} is malformed")]
    BadMeta {
        /// The key.
        key: String,
    },
    /// A stored record or contribution could not be read back (damaged
    /// compression, unknown form).
    #[error("database {key}: {source}")]
    Unpack {
        /// The value (a record id, or `contribution ID/FEED`).
        key: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored value could not be decoded or a record encoded.
    #[error("database value for {key}: {source}")]
    Codec {
        /// The key whose value is bad.
        key: String,
        /// The cause.
        source: serde_json::Error,
    },
}

fn db_err<E: Into<redb::Error>>(operation: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Redb {
        operation,
        source: e.into(),
    }
}

fn codec_err(key: impl Into<String>) -> impl FnOnce(serde_json::Error) -> StoreError {
    let key = key.into();
    move |source| StoreError::Codec { key, source }
}

/// A stored JSON value read back; errors name `key`.
fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(codec_err(key))
}

/// Every row of a table of JSON values by name, decoded, in key order;
/// `scan` names the walk in its errors.
fn decode_rows<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    scan: &'static str,
) -> Result<Vec<(String, T)>, StoreError> {
    let mut out = Vec::new();
    for row in table.iter().map_err(db_err(scan))? {
        let (key, value) = row.map_err(db_err(scan))?;
        out.push((key.value().to_string(), decode(key.value(), value.value())?));
    }
    Ok(out)
}

/// A value stored as JSON; errors name `key`.
fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(codec_err(key))
}

/// What happened to a record in a change-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The id was not in the store before.
    Created,
    /// The record's content changed.
    Updated,
    /// The record became withdrawn.
    Withdrawn,
    /// The record was removed from the store (its last feed dropped it).
    Removed,
}

/// A package touched by a change, so watchers can filter without decoding records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRef {
    /// Full ecosystem (`Debian:12`).
    pub ecosystem: String,
    /// Package name as published.
    pub name: String,
}

/// One change-log entry; sequence numbers are gap-free and start at 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEntry {
    /// Position in the log.
    pub seq: u64,
    /// The record id.
    pub id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The record's `modified` after the change.
    pub modified: String,
    /// The feed whose batch caused the change.
    pub feed: String,
    /// When the change was written.
    pub recorded: String,
    /// The packages the record affects (after the change, or before a removal).
    pub packages: Vec<PackageRef>,
}

/// What the store remembers about a feed between ingests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// Number of record ids this feed currently contributes.
    #[serde(default)]
    pub records: u64,
    /// When the last batch of this feed was written.
    #[serde(default)]
    pub last_ingest: Option<String>,
    /// Records rejected by the parser in the last batch.
    #[serde(default)]
    pub last_errors: u64,
    /// HTTP validators per source URL, for conditional GET.
    #[serde(default)]
    pub etags: std::collections::BTreeMap<String, String>,
    /// `Last-Modified` per source URL, for conditional GET.
    #[serde(default)]
    pub last_modified: std::collections::BTreeMap<String, String>,
    /// `sha256:<hex>` of the raw upstream file per source URL, as last
    /// ingested: identical bytes are not parsed again.
    #[serde(default)]
    pub digests: std::collections::BTreeMap<String, String>,
    /// When a sync of this feed was last attempted (successful or not).
    #[serde(default)]
    pub last_attempt: Option<String>,
    /// When a sync of this feed last completed (including "not modified").
    #[serde(default)]
    pub last_success: Option<String>,
    /// The error of the last attempt, `None` when it succeeded.
    #[serde(default)]
    pub last_error: Option<String>,
    /// How far an incremental feed has read its upstream change lists
    /// (RFC 3339; the Red Hat VEX feed in `pipeline::redhat_vex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// What the last batch written for this feed did.
    #[serde(default)]
    pub last_outcome: Option<BatchOutcome>,
    /// The first rejections of the last batch (feed, file, record, reason),
    /// so `feeds` can say why a record was not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_rejections: Vec<String>,
    /// Every full ecosystem (`Debian:12`) this feed's records have named:
    /// tells which feeds an answer for an ecosystem depends on (the
    /// `freshness` module reads it).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub ecosystems: std::collections::BTreeSet<String>,
}

/// What a full snapshot could not read: the records its per-record parse
/// errors name (our id or the upstream one, e.g. an OVAL definition id) and
/// the files or archive members that could not be read at all. A stored
/// record matching either is kept at its last good version, not removed.
#[derive(Debug, Clone, Default)]
pub struct Unreadable {
    /// Record ids or upstream ids named by per-record parse errors.
    pub ids: BTreeSet<String>,
    /// Files or archive members (`all.zip!GHSA-x.json`) unreadable as a whole.
    pub sources: BTreeSet<String>,
}

impl Unreadable {
    /// Whether a stored record (`id`, read from `sources`) may be one of the unreadable ones.
    fn covers(&self, id: &str, sources: &[Provenance]) -> bool {
        // The archive member name, which stays the same when the archive
        // is read from another path or URL.
        fn member(source: &str) -> &str {
            source.rsplit_once('!').map_or(source, |(_, m)| m)
        }
        self.ids.contains(id)
            || sources.iter().any(|p| {
                self.ids.contains(&p.upstream_id)
                    || self.sources.contains(&p.source)
                    || self.sources.iter().any(|s| member(s) == member(&p.source))
            })
    }
}

/// Counts of what one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// New ids.
    pub created: u64,
    /// Changed records.
    pub updated: u64,
    /// Records that became withdrawn.
    pub withdrawn: u64,
    /// Records this feed no longer publishes (full-snapshot feeds only):
    /// its contribution was dropped.
    #[serde(default)]
    pub removed: u64,
    /// Records identical to what was stored (nothing written).
    pub unchanged: u64,
    /// Records a full snapshot could not read this time (a parse error names
    /// them): kept at their last good version instead of removed.
    #[serde(default)]
    pub kept_unreadable: u64,
    /// The sequence number of the last change-log entry written, if any.
    pub last_seq: Option<u64>,
}

/// One package-index row as read, borrowed from the database page: what
/// matching needs of a record affecting the queried package.
#[derive(Debug, Clone, Copy)]
pub struct PackageRow<'a> {
    /// Full ecosystem of the affected entry (`Debian:12`).
    pub ecosystem: &'a str,
    /// The record id.
    pub id: &'a str,
    /// The record's `modified` (querybatch answers with it, no record decode).
    pub modified: &'a str,
    /// One packed range spec per affected entry of this package in the record.
    pub specs: PackedSpecs<'a>,
}

/// One package-index row, owned: a record affecting the queried package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedMatch {
    /// Full ecosystem of the affected entry (`Debian:12`).
    pub ecosystem: String,
    /// The record id.
    pub id: String,
    /// The record's `modified` (querybatch answers with it, no record decode).
    pub modified: String,
    /// One range spec per affected entry of this package in the record.
    pub specs: Vec<RangeSpec>,
}

/// Store-wide counts for `advisord stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Records stored (withdrawn included).
    pub records: u64,
    /// Withdrawn records.
    pub withdrawn: u64,
    /// Records no feed publishes any more (kept readable by id, never matched).
    pub removed: u64,
    /// Distinct (ecosystem, package) pairs in the index.
    pub packages: u64,
    /// Alias -> id pairs.
    pub aliases: u64,
    /// Change-log entries.
    pub changes: u64,
    /// Sequence number of the newest change, 0 when none.
    pub last_change_seq: u64,
    /// Per feed: number of records it contributes.
    pub feeds: std::collections::BTreeMap<String, u64>,
}

/// Called with each record's id and stored JSON by [`Store::for_each_record`].
pub type RecordVisitor<'a> = dyn FnMut(&str, &[u8]) -> Result<(), StoreError> + 'a;

/// A handle on the open database; cloning is shallow and shares it.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the database at `path` with a page cache of
    /// [`DEFAULT_CACHE_BYTES`]. Fails at once, without waiting, when
    /// another process has it open.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`: redb keeps up to
    /// that much of the file in memory, so it bounds the store's share of
    /// the process's RSS.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen {
                    path: path.to_path_buf(),
                },
                source => StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let store = Store {
            db: Arc::new(db),
            path: Arc::new(path.to_path_buf()),
        };
        store.init()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates every table and checks the layout version.
    fn init(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            txn.open_table(RECORDS).map_err(db_err("open records"))?;
            txn.open_table(CONTRIBUTIONS)
                .map_err(db_err("open contributions"))?;
            txn.open_table(PACKAGES).map_err(db_err("open packages"))?;
            txn.open_table(ALIASES).map_err(db_err("open aliases"))?;
            txn.open_table(WITHDRAWN)
                .map_err(db_err("open withdrawn"))?;
            txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
            txn.open_table(CHANGES).map_err(db_err("open changes"))?;
            txn.open_table(SUBSCRIPTIONS)
                .map_err(db_err("open subscriptions"))?;
            txn.open_table(WATCHES).map_err(db_err("open watches"))?;
            txn.open_table(WATCH_PACKAGES)
                .map_err(db_err("open watch packages"))?;
            txn.open_table(WATCH_EVENTS)
                .map_err(db_err("open watch events"))?;
            txn.open_table(REMOVED).map_err(db_err("open removed"))?;
            backfill_feed_records(&txn)?;
            let mut meta = txn.open_table(META).map_err(db_err("open meta"))?;
            let found = meta
                .get("schema")
                .map_err(db_err("read meta"))?
                .map(|v| v.value().to_vec());
            match found {
                None => {
                    meta.insert("schema", LAYOUT_VERSION)
                        .map_err(db_err("write meta"))?;
                }
                Some(v) if v == LAYOUT_VERSION => {}
                Some(v) => {
                    return Err(StoreError::Layout {
                        path: self.path.to_path_buf(),
                        found: String::from_utf8_lossy(&v).into_owned(),
                        expected: String::from_utf8_lossy(LAYOUT_VERSION).into_owned(),
                    })
                }
            }
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(())
    }

    /// Writes one feed's batch of records in a single write transaction:
    /// unchanged records (same content digest) are skipped, every created,
    /// updated or withdrawn record gets exactly one change-log entry, and
    /// `update_state` may adjust the feed's state in the same transaction.
    pub fn apply_batch(
        &self,
        feed: &str,
        records: Vec<Advisory>,
        update_state: impl FnOnce(&mut FeedState),
    ) -> Result<BatchOutcome, StoreError> {
        self.apply(feed, records, None, update_state)
    }

    /// Like [`Store::apply_batch`] for a feed that publishes a full snapshot
    /// each time: in the same transaction, every record this feed
    /// contributed before and is absent from `records` loses this feed's
    /// contribution (a `removed` change when no other feed has it, an
    /// `updated` one otherwise).
    pub fn apply_snapshot(
        &self,
        feed: &str,
        records: Vec<Advisory>,
        update_state: impl FnOnce(&mut FeedState),
    ) -> Result<BatchOutcome, StoreError> {
        self.apply(feed, records, Some(&Unreadable::default()), update_state)
    }

    /// [`Store::apply_snapshot`] for a snapshot some of whose records could
    /// not be read: an absent record that `unreadable` covers keeps its last
    /// good version (counted in [`BatchOutcome::kept_unreadable`]); only
    /// records really absent upstream are removed.
    pub fn apply_snapshot_keeping(
        &self,
        feed: &str,
        records: Vec<Advisory>,
        unreadable: &Unreadable,
        update_state: impl FnOnce(&mut FeedState),
    ) -> Result<BatchOutcome, StoreError> {
        self.apply(feed, records, Some(unreadable), update_state)
    }

    /// Writes only the feed's state (no records, no change-log entry).
    pub fn update_feed_state(
        &self,
        feed: &str,
        update_state: impl FnOnce(&mut FeedState),
    ) -> Result<FeedState, StoreError> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        let state = {
            let mut table = txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
            let mut state = match table.get(feed).map_err(db_err("read feed state"))? {
                Some(v) => serde_json::from_slice(v.value()).map_err(codec_err(feed))?,
                None => FeedState::default(),
            };
            update_state(&mut state);
            let bytes = serde_json::to_vec(&state).map_err(codec_err(feed))?;
            table
                .insert(feed, bytes.as_slice())
                .map_err(db_err("write feed state"))?;
            state
        };
        txn.commit().map_err(db_err("commit"))?;
        Ok(state)
    }

    /// The state of every feed ever written, by name.
    pub fn feed_states(&self) -> Result<std::collections::BTreeMap<String, FeedState>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
        Ok(decode_rows(&table, "scan feeds")?.into_iter().collect())
    }

    /// Every record id `feed` currently contributes, sorted.
    pub fn feed_record_ids(&self, feed: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn
            .open_table(FEED_RECORDS)
            .map_err(db_err("open feed records"))?;
        feed_ids_in(&table, feed)
    }

    /// Calls `visit` with the id and stored JSON of every record (removed
    /// ones excluded), in id order, inside one read transaction.
    pub fn for_each_record(&self, visit: &mut RecordVisitor<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let records = txn.open_table(RECORDS).map_err(db_err("open records"))?;
        let removed = txn.open_table(REMOVED).map_err(db_err("open removed"))?;
        for row in records.iter().map_err(db_err("scan records"))? {
            let (id, json) = row.map_err(db_err("scan records"))?;
            if removed
                .get(id.value())
                .map_err(db_err("read removed"))?
                .is_some()
            {
                continue;
            }
            visit(id.value(), &compress::decompress(json.value(), id.value())?)?;
        }
        Ok(())
    }

    /// Writes a batch given whole; `snapshot` is `Some` for a full
    /// snapshot (with what it could not read), `None` for a plain batch.
    fn apply(
        &self,
        feed: &str,
        records: Vec<Advisory>,
        snapshot: Option<&Unreadable>,
        update_state: impl FnOnce(&mut FeedState),
    ) -> Result<BatchOutcome, StoreError> {
        let ((), outcome) = self.write_batch(feed, |w| {
            for record in records {
                w.push(record)?;
            }
            if let Some(unreadable) = snapshot {
                w.remove_absent(unreadable)?;
            }
            update_state(w.state_mut());
            Ok::<_, StoreError>(())
        })?;
        Ok(outcome)
    }

    /// The stored OSV JSON of `id`, exactly as served.
    pub fn get_json(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(RECORDS).map_err(db_err("open records"))?;
        record_json(&table, id)
    }

    /// The stored JSON of several ids in one read transaction (missing ids are skipped).
    pub fn get_many_json(&self, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(RECORDS).map_err(db_err("open records"))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(json) = record_json(&table, id)? {
                out.push((id.clone(), json));
            }
        }
        Ok(out)
    }

    /// The decoded record of `id`.
    pub fn get(&self, id: &str) -> Result<Option<Advisory>, StoreError> {
        match self.get_json(id)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(codec_err(id)),
            None => Ok(None),
        }
    }

    /// The ids of records naming `alias` (as id, alias or upstream id).
    pub fn ids_for_alias(&self, alias: &str) -> Result<Vec<String>, StoreError> {
        self.snapshot()?.ids_for_alias(alias)
    }

    /// Index rows for a package (see [`PackageKey`]: one release, or every
    /// release when the key names none).
    pub fn lookup_package(&self, key: &PackageKey) -> Result<Vec<IndexedMatch>, StoreError> {
        let mut out = Vec::new();
        self.snapshot()?
            .visit_packages(std::slice::from_ref(key), |_, row| {
                out.push(IndexedMatch {
                    ecosystem: row.ecosystem.to_string(),
                    id: row.id.to_string(),
                    modified: row.modified.to_string(),
                    specs: row.specs.unpack()?,
                });
                Ok(())
            })?;
        Ok(out)
    }

    /// Whether the package index holds any row of base ecosystem `base`
    /// (spelled as stored): lets queries serve ecosystems advisord has no
    /// table entry for but has records of.
    pub fn has_ecosystem(&self, base: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(PACKAGES).map_err(db_err("open packages"))?;
        let mut rows = table
            .range((base, "", "", "")..)
            .map_err(db_err("scan packages"))?;
        match rows.next() {
            Some(row) => {
                let (key, _) = row.map_err(db_err("scan packages"))?;
                Ok(key.value().0 == base)
            }
            None => Ok(false),
        }
    }

    /// Change-log entries with `seq > after`, at most `limit`.
    pub fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        self.snapshot()?.changes_after(after, limit)
    }

    /// The state of `feed`, if it was ever ingested.
    pub fn feed_state(&self, feed: &str) -> Result<Option<FeedState>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
        match table.get(feed).map_err(db_err("read feed state"))? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(codec_err(feed)),
            None => Ok(None),
        }
    }

    /// Store-wide counts.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let records = txn.open_table(RECORDS).map_err(db_err("open records"))?;
        let withdrawn = txn
            .open_table(WITHDRAWN)
            .map_err(db_err("open withdrawn"))?;
        let packages = txn.open_table(PACKAGES).map_err(db_err("open packages"))?;
        let aliases = txn.open_table(ALIASES).map_err(db_err("open aliases"))?;
        let changes = txn.open_table(CHANGES).map_err(db_err("open changes"))?;
        let feeds = txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
        let removed = txn.open_table(REMOVED).map_err(db_err("open removed"))?;
        let mut distinct = 0u64;
        let mut previous: Option<(String, String)> = None;
        for row in packages.iter().map_err(db_err("scan packages"))? {
            let (key, _) = row.map_err(db_err("scan packages"))?;
            let (_, name, full, _) = key.value();
            let current = (full.to_string(), name.to_string());
            if previous.as_ref() != Some(&current) {
                distinct += 1;
                previous = Some(current);
            }
        }
        let per_feed = decode_rows::<FeedState>(&feeds, "scan feeds")?
            .into_iter()
            .map(|(name, state)| (name, state.records))
            .collect();
        let last_change_seq = changes
            .last()
            .map_err(db_err("read last change"))?
            .map_or(0, |(k, _)| k.value());
        Ok(Stats {
            records: records.len().map_err(db_err("count records"))?,
            withdrawn: withdrawn.len().map_err(db_err("count withdrawn"))?,
            removed: removed.len().map_err(db_err("count removed"))?,
            packages: distinct,
            aliases: aliases.len().map_err(db_err("count aliases"))?,
            changes: changes.len().map_err(db_err("count changes"))?,
            last_change_seq,
            feeds: per_feed,
        })
    }
}

/// Fills `feed_records` from `contributions` in a database written before
/// that table existed (a no-op when it already has rows or there is no data).
fn backfill_feed_records(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut feed_records = txn
        .open_table(FEED_RECORDS)
        .map_err(db_err("open feed records"))?;
    if !feed_records
        .is_empty()
        .map_err(db_err("count feed records"))?
    {
        return Ok(());
    }
    let contributions = txn
        .open_table(CONTRIBUTIONS)
        .map_err(db_err("open contributions"))?;
    for row in contributions.iter().map_err(db_err("scan contributions"))? {
        let (key, _) = row.map_err(db_err("scan contributions"))?;
        let (id, feed) = key.value();
        feed_records
            .insert((feed, id), ())
            .map_err(db_err("write feed record"))?;
    }
    Ok(())
}

/// The JSON of the served record `id` in `table` (table `records`).
fn record_json(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    match table.get(id).map_err(db_err("read record"))? {
        Some(stored) => compress::decompress(stored.value(), id).map(Some),
        None => Ok(None),
    }
}

/// Hands each index row of the package `wanted` to `visit`, borrowed from
/// the page it lies in.
fn visit_in(
    table: &impl ReadableTable<(&'static str, &'static str, &'static str, &'static str), &'static [u8]>,
    wanted: &PackageKey,
    mut visit: impl FnMut(&PackageRow<'_>) -> Result<(), Malformed>,
) -> Result<(), StoreError> {
    let (base, name, full) = (
        wanted.base.as_str(),
        wanted.name.as_str(),
        wanted.release.as_deref(),
    );
    let start = (base, name, full.unwrap_or(""), "");
    for row in table.range(start..).map_err(db_err("scan packages"))? {
        let (key, value) = row.map_err(db_err("scan packages"))?;
        let (b, n, f, id) = key.value();
        if b != base || n != name || full.is_some_and(|want| want != f) {
            break;
        }
        let damaged = |source| StoreError::Index {
            key: format!("{f}/{n}/{id}"),
            source,
        };
        let (modified, specs) = index::decode(value.value()).map_err(damaged)?;
        visit(&PackageRow {
            ecosystem: f,
            id,
            modified,
            specs,
        })
        .map_err(damaged)?;
    }
    Ok(())
}

/// The open tables of one write transaction.
struct Tables<'txn> {
    records: redb::Table<'txn, &'static str, &'static [u8]>,
    contributions: redb::Table<'txn, (&'static str, &'static str), &'static [u8]>,
    packages:
        redb::Table<'txn, (&'static str, &'static str, &'static str, &'static str), &'static [u8]>,
    aliases: redb::Table<'txn, (&'static str, &'static str), ()>,
    withdrawn: redb::Table<'txn, &'static str, ()>,
    feeds: redb::Table<'txn, &'static str, &'static [u8]>,
    changes: redb::Table<'txn, u64, &'static [u8]>,
    feed_records: redb::Table<'txn, (&'static str, &'static str), ()>,
    removed: redb::Table<'txn, &'static str, ()>,
    /// The value being written (a compressed record, an index row, a
    /// change-log entry), kept across writes: a batch encodes each into
    /// this one buffer instead of allocating one per value.
    value: Vec<u8>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            records: txn.open_table(RECORDS).map_err(db_err("open records"))?,
            contributions: txn
                .open_table(CONTRIBUTIONS)
                .map_err(db_err("open contributions"))?,
            packages: txn.open_table(PACKAGES).map_err(db_err("open packages"))?,
            aliases: txn.open_table(ALIASES).map_err(db_err("open aliases"))?,
            withdrawn: txn
                .open_table(WITHDRAWN)
                .map_err(db_err("open withdrawn"))?,
            feeds: txn.open_table(FEEDS).map_err(db_err("open feeds"))?,
            changes: txn.open_table(CHANGES).map_err(db_err("open changes"))?,
            feed_records: txn
                .open_table(FEED_RECORDS)
                .map_err(db_err("open feed records"))?,
            removed: txn.open_table(REMOVED).map_err(db_err("open removed"))?,
            value: Vec::new(),
        })
    }

    fn append_change(&mut self, change: &ChangeEntry) -> Result<(), StoreError> {
        self.value.clear();
        serde_json::to_writer(&mut self.value, change).map_err(codec_err(&change.id))?;
        self.changes
            .insert(change.seq, self.value.as_slice())
            .map_err(db_err("append change"))?;
        Ok(())
    }

    fn feed_ids(&self, feed: &str) -> Result<Vec<String>, StoreError> {
        feed_ids_in(&self.feed_records, feed)
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .changes
            .last()
            .map_err(db_err("read last change"))?
            .map_or(0, |(k, _)| k.value()))
    }

    fn feed_state(&self, feed: &str) -> Result<FeedState, StoreError> {
        match self.feeds.get(feed).map_err(db_err("read feed state"))? {
            Some(v) => serde_json::from_slice(v.value()).map_err(codec_err(feed)),
            None => Ok(FeedState::default()),
        }
    }

    /// Stores `merged` (the record rebuilt from `id`'s contributions, with
    /// its JSON) as the served record and updates the index, alias and
    /// withdrawn tables; `None`: no feed publishes `id` any more, so its
    /// last version stays readable by id, out of the indexes. Returns the
    /// change (without seq), or `None` when nothing changed.
    fn put_record(
        &mut self,
        id: &str,
        feed: &str,
        merged: Option<(&Advisory, &[u8])>,
    ) -> Result<Option<ChangeEntry>, StoreError> {
        let old: Option<Advisory> = match record_json(&self.records, id)? {
            Some(json) => Some(decode(id, &json)?),
            None => None,
        };
        let was_removed = self
            .removed
            .get(id)
            .map_err(db_err("read removed"))?
            .is_some();
        if let Some(old) = &old {
            if !was_removed {
                self.unindex(old)?;
            }
        }
        let Some((merged, json)) = merged else {
            // No feed publishes it any more: keep the last version readable
            // by id, out of the package and alias indexes.
            if was_removed {
                return Ok(None);
            }
            self.removed
                .insert(id, ())
                .map_err(db_err("mark removed"))?;
            return Ok(old.map(|old| change(&old, ChangeKind::Removed, feed)));
        };
        if was_removed {
            self.removed.remove(id).map_err(db_err("unmark removed"))?;
        }
        let kind = match &old {
            None => ChangeKind::Created,
            Some(_) if was_removed => ChangeKind::Created,
            Some(old) if merged.is_withdrawn() && !old.is_withdrawn() => ChangeKind::Withdrawn,
            Some(_) => ChangeKind::Updated,
        };
        self.put_json(id, json)?;
        self.index(merged)?;
        Ok(Some(change(merged, kind, feed)))
    }

    /// Stores `json` as the served record `id`, compressed.
    fn put_json(&mut self, id: &str, json: &[u8]) -> Result<(), StoreError> {
        compress::compress_into(json, &mut self.value);
        self.records
            .insert(id, self.value.as_slice())
            .map_err(db_err("write record"))?;
        Ok(())
    }

    fn unindex(&mut self, record: &Advisory) -> Result<(), StoreError> {
        let id = record.id.as_str();
        for (base, name, full) in index_keys(record) {
            self.packages
                .remove((base.as_str(), name.as_str(), full.as_str(), id))
                .map_err(db_err("unindex package"))?;
        }
        for alias in alias_keys(record) {
            self.aliases
                .remove((alias.as_str(), id))
                .map_err(db_err("unindex alias"))?;
        }
        self.withdrawn
            .remove(id)
            .map_err(db_err("unindex withdrawn"))?;
        Ok(())
    }

    fn index(&mut self, record: &Advisory) -> Result<(), StoreError> {
        let id = record.id.as_str();
        for alias in alias_keys(record) {
            self.aliases
                .insert((alias.as_str(), id), ())
                .map_err(db_err("index alias"))?;
        }
        if record.is_withdrawn() {
            self.withdrawn
                .insert(id, ())
                .map_err(db_err("index withdrawn"))?;
            return Ok(());
        }
        let modified = record.modified.to_string();
        for ((base, name, full), specs) in index_entries(record) {
            index::encode_into(&mut self.value, &modified, &specs);
            self.packages
                .insert(
                    (base.as_str(), name.as_str(), full.as_str(), id),
                    self.value.as_slice(),
                )
                .map_err(db_err("index package"))?;
        }
        Ok(())
    }
}

fn change(record: &Advisory, kind: ChangeKind, feed: &str) -> ChangeEntry {
    let packages: BTreeSet<PackageRef> = record
        .affected
        .iter()
        .filter_map(|a| a.package.as_ref())
        .map(|p| PackageRef {
            ecosystem: p.ecosystem.to_string(),
            name: p.name.clone(),
        })
        .collect();
    ChangeEntry {
        seq: 0,
        id: record.id.to_string(),
        kind,
        modified: record.modified.to_string(),
        feed: feed.to_string(),
        recorded: String::new(),
        packages: packages.into_iter().collect(),
    }
}

/// The ids a record is found under: its own, its aliases and its upstream
/// ids (a USN or an Ubuntu OSV record names its CVE as upstream).
fn alias_keys(record: &Advisory) -> BTreeSet<String> {
    std::iter::once(record.id.to_string())
        .chain(record.aliases.iter().map(ToString::to_string))
        .chain(record.upstream.iter().map(ToString::to_string))
        .collect()
}

fn index_keys(record: &Advisory) -> BTreeSet<RowKey> {
    record
        .affected
        .iter()
        .filter_map(|a| a.package.as_ref())
        .map(|p| row_key(&p.ecosystem, &p.name))
        .collect()
}

/// The package-index rows of a record: per package, one [`RangeSpec`] per
/// affected entry. `SEMVER` ranges use the semver scheme whatever the
/// ecosystem; `ECOSYSTEM` ranges the ecosystem's scheme (or none); `GIT`
/// ranges are not version ranges and are left out.
pub fn index_entries(record: &Advisory) -> std::collections::BTreeMap<RowKey, Vec<RangeSpec>> {
    let mut out: std::collections::BTreeMap<RowKey, Vec<RangeSpec>> = Default::default();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        // An entry with neither ranges nor versions states that the package
        // is not (or not yet known to be) affected: data, never a version
        // match. A `not_affected` one is indexed all the same, so a query
        // without version that does not ignore `not_affected` (and VEX) finds
        // the vendor's statement; others stay out of the index.
        if affected.ranges.is_empty()
            && affected.versions.is_empty()
            && affected.status() != Some(crate::model::FixStatus::NotAffected)
        {
            continue;
        }
        let ranges = affected
            .ranges
            .iter()
            .filter_map(|r| match r.kind {
                RangeKind::Git => None,
                RangeKind::Semver => Some(EvalRange::new(
                    Some(crate::version::VersionScheme::Semver),
                    r.events.clone(),
                )),
                RangeKind::Ecosystem => {
                    Some(EvalRange::new(package.ecosystem.scheme(), r.events.clone()))
                }
            })
            .collect();
        out.entry(row_key(&package.ecosystem, &package.name))
            .or_default()
            .push(RangeSpec {
                ranges,
                versions: affected.versions.clone(),
                status: affected.status(),
            });
    }
    out
}
/// Calls `visit` with the second half and the value of each row of `table`
/// whose composite key is `(first, _)`, in key order (read or write side
/// alike). Keys sort by their first half, so those rows are one run starting
/// at `(first, "")`: the scan stops at the first key past it. `operation`
/// names the scan in errors.
fn each_in_prefix<V: redb::Value + 'static>(
    table: &impl ReadableTable<(&'static str, &'static str), V>,
    first: &str,
    operation: &'static str,
    mut visit: impl FnMut(&str, V::SelfType<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for row in table.range((first, "")..).map_err(db_err(operation))? {
        let (key, value) = row.map_err(db_err(operation))?;
        let (f, second) = key.value();
        if f != first {
            break;
        }
        visit(second, value.value())?;
    }
    Ok(())
}

/// Calls `visit` with the sequence number, stored JSON and decoded entry
/// of each change-log entry with `seq > after`, at most `limit`, in order
/// (the change feed of the API and of replicas alike).
fn each_change_after(
    table: &impl ReadableTable<u64, &'static [u8]>,
    after: u64,
    limit: usize,
    mut visit: impl FnMut(u64, &[u8], ChangeEntry),
) -> Result<(), StoreError> {
    for row in table
        .range(after.saturating_add(1)..)
        .map_err(db_err("scan changes"))?
        .take(limit)
    {
        let (seq, value) = row.map_err(db_err("scan changes"))?;
        let entry: ChangeEntry = serde_json::from_slice(value.value())
            .map_err(codec_err(format!("change {}", seq.value())))?;
        visit(seq.value(), value.value(), entry);
    }
    Ok(())
}

/// The second halves of the keys `(first, _)` of a set-like table (feed ->
/// record ids, alias -> record ids), sorted.
fn seconds_in_prefix(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    first: &str,
    operation: &'static str,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    each_in_prefix(table, first, operation, |second, ()| {
        out.push(second.to_string());
        Ok(())
    })?;
    Ok(out)
}

/// The record ids of `feed` in the feed-records table, sorted (read or
/// write side alike).
fn feed_ids_in(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    feed: &str,
) -> Result<Vec<String>, StoreError> {
    seconds_in_prefix(table, feed, "scan feed records")
}
