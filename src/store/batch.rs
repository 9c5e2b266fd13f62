//! One feed batch written as it is read: [`BatchWriter`] takes records one
//! at a time into the open write transaction of [`Store::write_batch`], so
//! memory holds the record at hand, not the batch. The batch is still all
//! or nothing: the transaction commits only when the whole batch was read.

use std::collections::HashMap;

use redb::{ReadableDatabase, ReadableTable};

use super::contribution::{self, Body};
use super::tables::{CONTRIBUTIONS, FEED_RECORDS, RECORDS, REMOVED};
use super::{
    codec_err, db_err, each_in_prefix, merge, BatchOutcome, ChangeEntry, ChangeKind, FeedState,
    Store, StoreError, Tables, Unreadable,
};
use crate::model::{Advisory, Timestamp};

/// What a batch did to one id it was given, kept so a later record of the
/// same id in the batch can take its place.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Whether anything was written for it.
    wrote: bool,
    /// Its change-log entry in this batch, if any.
    seq: Option<u64>,
    /// The kind of that entry.
    kind: Option<ChangeKind>,
}

/// The write side of one feed batch (see [`Store::write_batch`]).
///
/// Records are written as they are pushed: unchanged ones (same content
/// digest as this feed's stored contribution) are skipped, every created,
/// updated or withdrawn record gets exactly one change-log entry. An id
/// pushed twice keeps the last record, as if the earlier one had never been
/// given: it is put back as it was before the batch, so the same batch read
/// again changes nothing. Only the ids pushed are remembered.
pub struct BatchWriter<'txn> {
    t: Tables<'txn>,
    /// The database as it was before this batch (an id pushed twice is put
    /// back from it).
    before: redb::ReadTransaction,
    feed: String,
    state: FeedState,
    outcome: BatchOutcome,
    now: String,
    first_seq: u64,
    next_seq: u64,
    seen: HashMap<String, Slot>,
    pushed: u64,
    /// The JSON of the record at hand and its canonical form (the digest's
    /// input), kept across records so a batch does not allocate them anew
    /// for each.
    json: Vec<u8>,
    canonical: Vec<u8>,
}

impl Store {
    /// Writes one batch of `feed` in a single write transaction: `fill`
    /// pushes the records into the [`BatchWriter`] as it reads them and may
    /// adjust the feed's state. The batch commits only when `fill` returns
    /// `Ok`; on an error nothing is written and the previous state stays
    /// intact. Other writers wait while `fill` runs.
    pub fn write_batch<T, E: From<StoreError>>(
        &self,
        feed: &str,
        fill: impl FnOnce(&mut BatchWriter<'_>) -> Result<T, E>,
    ) -> Result<(T, BatchOutcome), E> {
        let txn = self.db.begin_write().map_err(db_err("begin write"))?;
        // Begun after the write transaction, which excludes other writers:
        // it sees exactly the state this batch starts from.
        let before = self.db.begin_read().map_err(db_err("begin read"))?;
        let (value, outcome) = {
            let t = Tables::open(&txn)?;
            let state = t.feed_state(feed)?;
            let first_seq = t.last_seq()? + 1;
            let mut writer = BatchWriter {
                t,
                before,
                feed: feed.to_string(),
                state,
                outcome: BatchOutcome::default(),
                now: Timestamp::now().to_string(),
                first_seq,
                next_seq: first_seq,
                seen: HashMap::new(),
                pushed: 0,
                json: Vec::new(),
                canonical: Vec::new(),
            };
            let value = fill(&mut writer)?;
            let outcome = writer.finish()?;
            (value, outcome)
        };
        txn.commit().map_err(db_err("commit"))?;
        Ok((value, outcome))
    }
}

impl BatchWriter<'_> {
    /// Writes one record of the batch (see [`BatchWriter`]).
    pub fn push(&mut self, record: Advisory) -> Result<(), StoreError> {
        self.pushed += 1;
        let id = record.id.to_string();
        if let Some(slot) = self.seen.get(&id).copied() {
            self.take_back(&id, slot)?;
        }
        for affected in &record.affected {
            if let Some(package) = &affected.package {
                if !self.state.ecosystems.contains(package.ecosystem.as_str()) {
                    self.state.ecosystems.insert(package.ecosystem.to_string());
                }
            }
        }
        let slot = self.write(&id, record)?;
        self.seen.insert(id, slot);
        Ok(())
    }

    /// Records pushed so far (an id pushed twice counts twice).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// What the batch did so far.
    pub fn outcome(&self) -> &BatchOutcome {
        &self.outcome
    }

    /// The feed's state, written with the batch.
    pub fn state_mut(&mut self) -> &mut FeedState {
        &mut self.state
    }

    /// Ends a full snapshot, after every record was pushed: every record
    /// this feed contributed before and that was not pushed loses this
    /// feed's contribution (a `removed` change when no other feed has it,
    /// an `updated` one otherwise), unless `unreadable` covers it: then it
    /// keeps its last good version.
    pub fn remove_absent(&mut self, unreadable: &Unreadable) -> Result<(), StoreError> {
        let gone: Vec<String> = self
            .t
            .feed_ids(&self.feed)?
            .into_iter()
            .filter(|id| !self.seen.contains_key(id))
            .collect();
        let feed = self.feed.clone();
        for id in gone {
            if self.contribution_unreadable(&id, unreadable)? {
                self.outcome.kept_unreadable += 1;
                continue;
            }
            self.t
                .contributions
                .remove((id.as_str(), feed.as_str()))
                .map_err(db_err("remove contribution"))?;
            self.t
                .feed_records
                .remove((feed.as_str(), id.as_str()))
                .map_err(db_err("remove feed record"))?;
            self.state.records = self.state.records.saturating_sub(1);
            self.outcome.removed += 1;
            let merged = self.merge_others(&id, None)?;
            let merged = merged
                .as_ref()
                .map(|(record, json)| (record, json.as_slice()));
            if let Some(change) = self.t.put_record(&id, &feed, merged)? {
                self.log(change)?;
            }
        }
        Ok(())
    }

    /// Writes the feed state; the caller commits.
    fn finish(mut self) -> Result<BatchOutcome, StoreError> {
        self.state.last_outcome = Some(self.outcome.clone());
        self.state.last_ingest = Some(self.now.clone());
        let bytes = serde_json::to_vec(&self.state).map_err(codec_err(&self.feed))?;
        self.t
            .feeds
            .insert(self.feed.as_str(), bytes.as_slice())
            .map_err(db_err("write feed state"))?;
        Ok(self.outcome)
    }

    /// Writes this feed's `record` of `id`: its contribution, and the
    /// served record rebuilt from every contribution.
    fn write(&mut self, id: &str, mut record: Advisory) -> Result<Slot, StoreError> {
        let digest = contribution::digest(&mut record, &mut self.canonical)?;
        let feed = self.feed.clone();
        let (old, others) = self.contributors(id, &digest)?;
        if old == Some(true) {
            self.outcome.unchanged += 1;
            return Ok(Slot {
                wrote: false,
                seq: None,
                kind: None,
            });
        }
        self.json.clear();
        serde_json::to_writer(&mut self.json, &record).map_err(codec_err(id))?;
        if old.is_none() {
            self.state.records += 1;
            self.t
                .feed_records
                .insert((feed.as_str(), id), ())
                .map_err(db_err("write feed record"))?;
        }
        let change = if others {
            let value = contribution::packed(&digest, &self.json);
            self.t
                .contributions
                .insert((id, feed.as_str()), value.as_slice())
                .map_err(db_err("write contribution"))?;
            let merged = self.merge_others(id, Some(record))?;
            let merged = merged
                .as_ref()
                .map(|(record, json)| (record, json.as_slice()));
            self.t.put_record(id, &feed, merged)?
        } else {
            self.t
                .contributions
                .insert((id, feed.as_str()), contribution::sole(&digest).as_slice())
                .map_err(db_err("write contribution"))?;
            self.t.put_record(id, &feed, Some((&record, &self.json)))?
        };
        let Some(change) = change else {
            self.outcome.unchanged += 1;
            return Ok(Slot {
                wrote: true,
                seq: None,
                kind: None,
            });
        };
        let kind = change.kind;
        match kind {
            ChangeKind::Created => self.outcome.created += 1,
            ChangeKind::Updated => self.outcome.updated += 1,
            ChangeKind::Withdrawn => self.outcome.withdrawn += 1,
            ChangeKind::Removed => {}
        }
        let seq = self.log(change)?;
        Ok(Slot {
            wrote: true,
            seq: Some(seq),
            kind: Some(kind),
        })
    }

    /// Appends `change` to the log; returns its seq.
    fn log(&mut self, mut change: ChangeEntry) -> Result<u64, StoreError> {
        change.seq = self.next_seq;
        change.recorded = self.now.clone();
        self.t.append_change(&change)?;
        self.outcome.last_seq = Some(self.next_seq);
        self.next_seq += 1;
        Ok(change.seq)
    }

    /// Who contributes to `id`, in one scan: whether this feed does (and
    /// then whether with content `digest`), and whether another feed does.
    fn contributors(&self, id: &str, digest: &[u8]) -> Result<(Option<bool>, bool), StoreError> {
        let (mut own, mut others) = (None, false);
        self.each_contribution(id, |feed, value| {
            if feed == self.feed {
                own = Some(contribution::digest_of(value) == digest);
            } else {
                others = true;
            }
        })?;
        Ok((own, others))
    }

    /// Calls `visit` with each (feed, stored contribution) of `id`.
    fn each_contribution(
        &self,
        id: &str,
        mut visit: impl FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        each_in_prefix(
            &self.t.contributions,
            id,
            "scan contributions",
            |f, value| {
                visit(f, value);
                Ok(())
            },
        )
    }

    /// The served record of `id` merged from the other feeds' contributions
    /// and `current` (this feed's, when it has one), with its JSON; `None`
    /// when no feed contributes any more. A contributor left alone is made
    /// sole again (its JSON becomes the served record, byte for byte); one
    /// that stops being alone is packed.
    fn merge_others(
        &mut self,
        id: &str,
        current: Option<Advisory>,
    ) -> Result<Option<(Advisory, Vec<u8>)>, StoreError> {
        let mut others: Vec<(String, Vec<u8>)> = Vec::new();
        self.each_contribution(id, |feed, value| {
            if feed != self.feed {
                others.push((feed.to_string(), value.to_vec()));
            }
        })?;
        let alone = current.is_none() && others.len() == 1;
        let mut parts = Vec::with_capacity(others.len() + 1);
        let mut last_json = Vec::new();
        for (feed, value) in &others {
            let key = format!("contribution {id}/{feed}");
            let json = match contribution::body(value, &key)? {
                Body::Sole => {
                    let json = self.record_json(id)?.unwrap_or_default();
                    if !alone {
                        let packed = contribution::packed(contribution::digest_of(value), &json);
                        self.t
                            .contributions
                            .insert((id, feed.as_str()), packed.as_slice())
                            .map_err(db_err("write contribution"))?;
                    }
                    json
                }
                Body::Packed(payload) => {
                    let json = contribution::unpack(payload, &key)?;
                    if alone {
                        let sole = contribution::sole_of(value);
                        self.t
                            .contributions
                            .insert((id, feed.as_str()), sole.as_slice())
                            .map_err(db_err("write contribution"))?;
                    }
                    json
                }
            };
            let part: Advisory = serde_json::from_slice(&json).map_err(codec_err(key))?;
            parts.push(part);
            last_json = json;
        }
        if alone {
            return Ok(parts.pop().map(|part| (part, last_json)));
        }
        parts.extend(current);
        let Some(merged) = merge(parts) else {
            return Ok(None);
        };
        let json = serde_json::to_vec(&merged).map_err(codec_err(id))?;
        Ok(Some((merged, json)))
    }

    /// The stored JSON of the served record `id`.
    fn record_json(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        super::record_json(&self.t.records, id)
    }

    /// Whether this feed's stored contribution to `id` is one `unreadable` covers.
    fn contribution_unreadable(
        &self,
        id: &str,
        unreadable: &Unreadable,
    ) -> Result<bool, StoreError> {
        if unreadable.ids.is_empty() && unreadable.sources.is_empty() {
            return Ok(false);
        }
        let key = format!("contribution {id}/{}", self.feed);
        let Some(value) = self
            .t
            .contributions
            .get((id, self.feed.as_str()))
            .map_err(db_err("read contribution"))?
            .map(|v| v.value().to_vec())
        else {
            return Ok(false);
        };
        let json = match contribution::body(&value, &key)? {
            Body::Sole => self.record_json(id)?.unwrap_or_default(),
            Body::Packed(payload) => contribution::unpack(payload, &key)?,
        };
        let part: Advisory = serde_json::from_slice(&json).map_err(codec_err(key))?;
        Ok(unreadable.covers(id, part.sources()))
    }

    /// Undoes what this batch wrote for `id` (an earlier record of the same
    /// id, now superseded): its contributions, served record, indexes and
    /// change-log entry are put back as they were before the batch. The
    /// log stays gap-free: the batch's last entry takes the freed seq.
    fn take_back(&mut self, id: &str, slot: Slot) -> Result<(), StoreError> {
        if !slot.wrote {
            return Ok(()); // counted unchanged, which a superseded record is
        }
        // Contributions (another feed's may have been packed) and feed_records.
        let mut stale: Vec<String> = Vec::new();
        self.each_contribution(id, |feed, _| stale.push(feed.to_string()))?;
        for f in &stale {
            self.t
                .contributions
                .remove((id, f.as_str()))
                .map_err(db_err("restore contribution"))?;
        }
        let before_contributions = self
            .before
            .open_table(CONTRIBUTIONS)
            .map_err(db_err("open contributions"))?;
        each_in_prefix(
            &before_contributions,
            id,
            "scan contributions",
            |f, value| {
                self.t
                    .contributions
                    .insert((id, f), value)
                    .map_err(db_err("restore contribution"))?;
                Ok(())
            },
        )?;
        let had_feed_record = self
            .before
            .open_table(FEED_RECORDS)
            .map_err(db_err("open feed records"))?
            .get((self.feed.as_str(), id))
            .map_err(db_err("read feed record"))?
            .is_some();
        if !had_feed_record {
            self.t
                .feed_records
                .remove((self.feed.as_str(), id))
                .map_err(db_err("restore feed record"))?;
            self.state.records = self.state.records.saturating_sub(1);
        }
        // The served record, its removed mark and its index rows.
        let now_removed = self
            .t
            .removed
            .get(id)
            .map_err(db_err("read removed"))?
            .is_some();
        if let Some(json) = self.record_json(id)? {
            if !now_removed {
                let current: Advisory = serde_json::from_slice(&json).map_err(codec_err(id))?;
                self.t.unindex(&current)?;
            }
        }
        let was_removed = self
            .before
            .open_table(REMOVED)
            .map_err(db_err("open removed"))?
            .get(id)
            .map_err(db_err("read removed"))?
            .is_some();
        let old_json = super::record_json(
            &self
                .before
                .open_table(RECORDS)
                .map_err(db_err("open records"))?,
            id,
        )?;
        match &old_json {
            Some(json) => {
                self.t.put_json(id, json)?;
                if !was_removed {
                    let old: Advisory = serde_json::from_slice(json).map_err(codec_err(id))?;
                    self.t.index(&old)?;
                }
            }
            None => {
                self.t
                    .records
                    .remove(id)
                    .map_err(db_err("restore record"))?;
            }
        }
        if was_removed {
            self.t
                .removed
                .insert(id, ())
                .map_err(db_err("mark removed"))?;
        } else {
            self.t
                .removed
                .remove(id)
                .map_err(db_err("unmark removed"))?;
        }
        // Its change-log entry and counts.
        let Some(seq) = slot.seq else {
            return Ok(()); // counted unchanged already
        };
        match slot.kind {
            Some(ChangeKind::Created) => self.outcome.created -= 1,
            Some(ChangeKind::Updated) => self.outcome.updated -= 1,
            Some(ChangeKind::Withdrawn) => self.outcome.withdrawn -= 1,
            Some(ChangeKind::Removed) | None => {}
        }
        self.outcome.unchanged += 1;
        let last = self.next_seq - 1;
        if seq != last {
            let moved = self
                .t
                .changes
                .get(last)
                .map_err(db_err("read change"))?
                .map(|v| v.value().to_vec())
                .unwrap_or_default();
            let mut moved: ChangeEntry = serde_json::from_slice(&moved).map_err(codec_err(id))?;
            moved.seq = seq;
            self.t.append_change(&moved)?;
            if let Some(other) = self.seen.get_mut(&moved.id) {
                other.seq = Some(seq);
            }
        }
        self.t
            .changes
            .remove(last)
            .map_err(db_err("remove change"))?;
        self.next_seq = last;
        self.outcome.last_seq = (last > self.first_seq).then_some(last - 1);
        Ok(())
    }
}
