//! The store's side of replication: reading what changed since a seq as
//! ready-to-store rows, applying such rows on a read copy, and copying the
//! served tables into (or out of) a standalone snapshot file.
//!
//! A read copy (a replica's database, or one fed by
//! `sync --from-published`) holds the served tables only: records, package
//! index, aliases, withdrawn and removed markers, feed states and the change
//! log. It has no per-feed contributions, so it cannot ingest feeds itself;
//! its position in the writer's stream is kept in `meta`.

use std::collections::BTreeSet;
use std::path::Path;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::tables::*;
use super::{alias_keys, codec_err, db_err, each_change_after, index_keys, StoreError, Tables};
use crate::model::Advisory;

/// `meta` key of the generation of the last published object applied.
const META_GENERATION: &str = "published.generation";
/// `meta` key of the change seq the read copy is at.
const META_SEQ: &str = "published.seq";

/// Where a read copy stands in the writer's published stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    /// The generation (publish counter) of the last snapshot or segment applied.
    pub generation: u64,
    /// The seq of the newest change applied.
    pub seq: u64,
}

/// One package-index row of a record, with its stored value bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRow {
    /// Base ecosystem (`Debian`).
    pub base: String,
    /// The package name as indexed.
    pub name: String,
    /// Full ecosystem (`Debian:12`).
    pub full: String,
    /// The stored index value (see `store::index`).
    pub value: Vec<u8>,
}

/// One record's complete served state: what a read copy stores for it,
/// so a change applies without decoding or re-indexing the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRows {
    /// The record id.
    pub id: String,
    /// The served OSV JSON bytes.
    pub json: Vec<u8>,
    /// Its package-index rows (none when withdrawn or removed).
    pub packages: Vec<PackageRow>,
    /// Its alias rows (none when removed).
    pub aliases: Vec<String>,
    /// Whether it is withdrawn.
    pub withdrawn: bool,
    /// Whether no feed publishes it any more.
    pub removed: bool,
}

/// Everything that changed after one seq, read in one read transaction:
/// the change-log entries, the final rows of every record they name and
/// the feed states. Applying it moves a read copy from `after` to `last`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRows {
    /// The seq the batch starts after.
    pub after: u64,
    /// The seq of its last change (`after` when it has none).
    pub last: u64,
    /// `(seq, stored change-log JSON)`, in seq order.
    pub changes: Vec<(u64, Vec<u8>)>,
    /// The rows of every record the changes name, once each.
    pub records: Vec<RecordRows>,
    /// `(feed, stored FeedState JSON)` of every feed.
    pub feeds: FeedRows,
}

/// `(feed, stored FeedState JSON)` rows.
pub type FeedRows = Vec<(String, Vec<u8>)>;

/// The tables a read copy holds, each copied whole into a snapshot.
macro_rules! served_tables {
    ($apply:ident!($($extra:tt)*)) => {
        $apply!($($extra)* RECORDS, "records");
        $apply!($($extra)* PACKAGES, "packages");
        $apply!($($extra)* ALIASES, "aliases");
        $apply!($($extra)* WITHDRAWN, "withdrawn");
        $apply!($($extra)* REMOVED, "removed");
        $apply!($($extra)* FEEDS, "feeds");
        $apply!($($extra)* CHANGES, "changes");
    };
}

/// Copies every row of `from` into `to`; returns the number copied.
fn copy_rows<K: redb::Key + 'static, V: redb::Value + 'static>(
    from: &impl ReadableTable<K, V>,
    to: &mut redb::Table<'_, K, V>,
) -> Result<u64, redb::Error> {
    let mut copied = 0;
    for row in from.iter()? {
        let (key, value) = row?;
        to.insert(key.value(), value.value())?;
        copied += 1;
    }
    Ok(copied)
}

impl super::Store {
    /// Where this read copy stands in the published stream, `None` when it
    /// was never fed from one.
    pub fn stream_position(&self) -> Result<Option<StreamPosition>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let meta = txn.open_table(META).map_err(db_err("open meta"))?;
        read_position(&meta)
    }

    /// Whether this database holds feed contributions of its own (it was
    /// ingested locally, so it is no read copy).
    pub fn has_contributions(&self) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let table = txn
            .open_table(CONTRIBUTIONS)
            .map_err(db_err("open contributions"))?;
        Ok(!table.is_empty().map_err(db_err("count contributions"))?)
    }

    /// The changes after `after` (at most `limit`), with the rows of every
    /// record they name and every feed state, all read in one read
    /// transaction so they are consistent with each other.
    pub fn change_rows(&self, after: u64, limit: usize) -> Result<ChangeRows, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        let changes = txn.open_table(CHANGES).map_err(db_err("open changes"))?;
        let records = txn.open_table(RECORDS).map_err(db_err("open records"))?;
        let packages = txn.open_table(PACKAGES).map_err(db_err("open packages"))?;
        let withdrawn = txn
            .open_table(WITHDRAWN)
            .map_err(db_err("open withdrawn"))?;
        let removed = txn.open_table(REMOVED).map_err(db_err("open removed"))?;
        let feeds = txn.open_table(FEEDS).map_err(db_err("open feeds"))?;
        let mut out = ChangeRows {
            after,
            last: after,
            ..ChangeRows::default()
        };
        let mut ids = BTreeSet::new();
        each_change_after(&changes, after, limit, |seq, json, entry| {
            ids.insert(entry.id);
            out.last = seq;
            out.changes.push((seq, json.to_vec()));
        })?;
        for id in ids {
            let Some(json) = super::record_json(&records, &id)? else {
                continue;
            };
            let is_removed = removed
                .get(id.as_str())
                .map_err(db_err("read removed"))?
                .is_some();
            let is_withdrawn = withdrawn
                .get(id.as_str())
                .map_err(db_err("read withdrawn"))?
                .is_some();
            let mut rows = RecordRows {
                id: id.clone(),
                json,
                packages: Vec::new(),
                aliases: Vec::new(),
                withdrawn: is_withdrawn,
                removed: is_removed,
            };
            if !is_removed {
                let record: Advisory =
                    serde_json::from_slice(&rows.json).map_err(codec_err(id.as_str()))?;
                rows.aliases = alias_keys(&record).into_iter().collect();
                for (base, name, full) in index_keys(&record) {
                    let key = (base.as_str(), name.as_str(), full.as_str(), id.as_str());
                    if let Some(value) = packages.get(key).map_err(db_err("read package row"))? {
                        rows.packages.push(PackageRow {
                            base: base.clone(),
                            name: name.clone(),
                            full: full.clone(),
                            value: value.value().to_vec(),
                        });
                    }
                }
            }
            out.records.push(rows);
        }
        for row in feeds.iter().map_err(db_err("scan feeds"))? {
            let (name, value) = row.map_err(db_err("scan feeds"))?;
            out.feeds
                .push((name.value().to_string(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Applies `rows` (published as `generation`) to this read copy in one
    /// write transaction, moving it from `rows.after` to `rows.last`.
    /// Refused, with nothing written, when the copy is not at `rows.after`
    /// or holds contributions of its own.
    pub fn apply_change_rows(&self, rows: &ChangeRows, generation: u64) -> Result<(), StoreError> {
        if self.has_contributions()? {
            return Err(StoreError::NotReadCopy {
                path: self.path.to_path_buf(),
            });
        }
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut meta = txn.open_table(META).map_err(db_err("open meta"))?;
            let at = read_position(&meta)?.map_or(0, |p| p.seq);
            if at != rows.after {
                return Err(StoreError::StreamGap {
                    at,
                    after: rows.after,
                });
            }
            let mut t = Tables::open(&txn)?;
            for (seq, json) in &rows.changes {
                t.changes
                    .insert(*seq, json.as_slice())
                    .map_err(db_err("append change"))?;
            }
            for record in &rows.records {
                apply_record(&mut t, record)?;
            }
            for (feed, state) in &rows.feeds {
                t.feeds
                    .insert(feed.as_str(), state.as_slice())
                    .map_err(db_err("write feed state"))?;
            }
            write_position(
                &mut meta,
                StreamPosition {
                    generation,
                    seq: rows.last,
                },
            )?;
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(())
    }

    /// Writes the served tables, as of one read transaction, into a new
    /// database at `path` marked as being at `generation`, then compacts it.
    /// Returns its position (the seq is the newest change it holds) and
    /// the `(feed, state JSON)` rows it holds.
    pub fn write_snapshot(
        &self,
        path: &Path,
        generation: u64,
    ) -> Result<(StreamPosition, FeedRows), StoreError> {
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let read = self.db.begin_read().map_err(db_err("begin read"))?;
        let mut copy = redb::Database::create(path).map_err(open)?;
        let position;
        let mut feed_rows = Vec::new();
        {
            let write = copy.begin_write().map_err(db_err("begin write"))?;
            macro_rules! copy_table {
                ($def:expr, $name:literal) => {{
                    let from = read.open_table($def).map_err(db_err("open table"))?;
                    let mut to = write.open_table($def).map_err(db_err("open table"))?;
                    copy_rows(&from, &mut to).map_err(db_err(concat!("copy ", $name)))?;
                }};
            }
            served_tables!(copy_table!());
            let changes = read.open_table(CHANGES).map_err(db_err("open changes"))?;
            let seq = changes
                .last()
                .map_err(db_err("read last change"))?
                .map_or(0, |(k, _)| k.value());
            position = StreamPosition { generation, seq };
            let feeds = read.open_table(FEEDS).map_err(db_err("open feeds"))?;
            for row in feeds.iter().map_err(db_err("scan feeds"))? {
                let (name, value) = row.map_err(db_err("scan feeds"))?;
                feed_rows.push((name.value().to_string(), value.value().to_vec()));
            }
            let mut meta = write.open_table(META).map_err(db_err("open meta"))?;
            meta.insert("schema", super::LAYOUT_VERSION)
                .map_err(db_err("write meta"))?;
            write_position(&mut meta, position)?;
            drop(meta);
            write.commit().map_err(db_err("commit"))?;
        }
        copy.compact().map_err(db_err("compact snapshot"))?;
        Ok((position, feed_rows))
    }

    /// Replaces this read copy's served tables with those of the snapshot
    /// database at `path`, in one write transaction; returns the snapshot's
    /// position. Refused when this database holds contributions of its own.
    pub fn load_snapshot(&self, path: &Path) -> Result<StreamPosition, StoreError> {
        if self.has_contributions()? {
            return Err(StoreError::NotReadCopy {
                path: self.path.to_path_buf(),
            });
        }
        let source = redb::ReadOnlyDatabase::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let read = source.begin_read().map_err(db_err("begin read"))?;
        let position = {
            let meta = read
                .open_table(META)
                .map_err(db_err("open snapshot meta"))?;
            read_position(&meta)?.ok_or_else(|| StoreError::NotSnapshot {
                path: path.to_path_buf(),
            })?
        };
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            macro_rules! replace_table {
                ($def:expr, $name:literal) => {{
                    txn.delete_table($def)
                        .map_err(db_err(concat!("clear ", $name)))?;
                    let from = read.open_table($def).map_err(db_err("open table"))?;
                    let mut to = txn.open_table($def).map_err(db_err("open table"))?;
                    copy_rows(&from, &mut to).map_err(db_err(concat!("copy ", $name)))?;
                }};
            }
            served_tables!(replace_table!());
            let mut meta = txn.open_table(META).map_err(db_err("open meta"))?;
            write_position(&mut meta, position)?;
        }
        txn.commit().map_err(db_err("commit"))?;
        Ok(position)
    }
}

/// Replaces the stored rows of one record with `rows`.
fn apply_record(t: &mut Tables<'_>, rows: &RecordRows) -> Result<(), StoreError> {
    let id = rows.id.as_str();
    let was_removed = t.removed.get(id).map_err(db_err("read removed"))?.is_some();
    let old = super::record_json(&t.records, id)?;
    if let (Some(old), false) = (old, was_removed) {
        let old: Advisory = serde_json::from_slice(&old).map_err(codec_err(id))?;
        t.unindex(&old)?;
    }
    t.put_json(id, &rows.json)?;
    if rows.removed {
        t.removed.insert(id, ()).map_err(db_err("mark removed"))?;
    } else if was_removed {
        t.removed.remove(id).map_err(db_err("unmark removed"))?;
    }
    if rows.withdrawn {
        t.withdrawn
            .insert(id, ())
            .map_err(db_err("index withdrawn"))?;
    }
    for alias in &rows.aliases {
        t.aliases
            .insert((alias.as_str(), id), ())
            .map_err(db_err("index alias"))?;
    }
    for row in &rows.packages {
        t.packages
            .insert(
                (row.base.as_str(), row.name.as_str(), row.full.as_str(), id),
                row.value.as_slice(),
            )
            .map_err(db_err("index package"))?;
    }
    Ok(())
}

fn read_position(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<StreamPosition>, StoreError> {
    let number = |key: &str| -> Result<Option<u64>, StoreError> {
        let Some(value) = meta.get(key).map_err(db_err("read meta"))? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = value.value().try_into().map_err(|_| StoreError::BadMeta {
            key: key.to_string(),
        })?;
        Ok(Some(u64::from_be_bytes(bytes)))
    };
    match (number(META_GENERATION)?, number(META_SEQ)?) {
        (Some(generation), Some(seq)) => Ok(Some(StreamPosition { generation, seq })),
        _ => Ok(None),
    }
}

fn write_position(
    meta: &mut redb::Table<'_, &'static str, &'static [u8]>,
    position: StreamPosition,
) -> Result<(), StoreError> {
    meta.insert(
        META_GENERATION,
        position.generation.to_be_bytes().as_slice(),
    )
    .map_err(db_err("write meta"))?;
    meta.insert(META_SEQ, position.seq.to_be_bytes().as_slice())
        .map_err(db_err("write meta"))?;
    Ok(())
}
