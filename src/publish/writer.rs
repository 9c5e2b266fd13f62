//! The writer's side (`serve --publish URL`): after committed changes,
//! publish a delta segment and then `latest.json`; take a snapshot at
//! start, periodically and on demand.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::layout::{self, Latest, ObjectRef, SegmentFile};
use super::{blocking, now_text, PublishError, Remote};
use crate::store::Store;

/// Most change-log entries in one segment (a larger backlog is published
/// as several segments in a row).
pub const MAX_CHANGES_PER_SEGMENT: usize = 20_000;

/// How often and when the writer publishes.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Pause between checks for new changes (the batching window).
    pub interval: Duration,
    /// `latest.json` is rewritten at least this often, changes or not, so
    /// replicas can tell a quiet writer from a dead one.
    pub heartbeat: Duration,
    /// A new snapshot after this long...
    pub snapshot_every: Duration,
    /// ...or once this many segments follow the newest snapshot.
    pub snapshot_after_segments: usize,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            interval: Duration::from_secs(2),
            heartbeat: Duration::from_secs(15),
            snapshot_every: Duration::from_secs(6 * 3600),
            snapshot_after_segments: 500,
        }
    }
}

/// What one publishing step wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Objects written besides `latest.json`, with their sizes.
    pub objects: Vec<ObjectRef>,
    /// Bytes of `latest.json` written (0 when not rewritten).
    pub latest_bytes: u64,
}

impl Published {
    /// Every byte written to storage in this step.
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.bytes).sum::<u64>() + self.latest_bytes
    }
}

struct WriterState {
    /// The published root, once read or written.
    latest: Option<Latest>,
    /// sha256 of each feed state as last published.
    feed_digests: HashMap<String, String>,
    last_snapshot: Instant,
    last_latest: Instant,
}

/// Publishes one store to one location; cloning is shallow.
#[derive(Clone)]
pub struct Publisher {
    store: Store,
    remote: Remote,
    options: PublishOptions,
    state: Arc<Mutex<WriterState>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("remote", &self.remote.url())
            .finish()
    }
}

impl Publisher {
    /// A publisher of `store` to `remote`.
    pub fn new(store: Store, remote: Remote, options: PublishOptions) -> Publisher {
        Publisher {
            store,
            remote,
            options,
            state: Arc::new(Mutex::new(WriterState {
                latest: None,
                feed_digests: HashMap::new(),
                last_snapshot: Instant::now(),
                last_latest: Instant::now(),
            })),
        }
    }

    /// Publishes what is new: a snapshot when nothing (or nothing
    /// continuing this database) is published yet or one is due, segments
    /// for the committed changes and feed-state updates since the last
    /// publish, and `latest.json` when anything was written or the
    /// heartbeat is due.
    pub async fn publish(&self) -> Result<Published, PublishError> {
        let mut state = self.state.lock().await;
        let mut done = Published::default();
        self.read_latest(&mut state).await?;
        let local_seq = {
            let store = self.store.clone();
            blocking(move || Ok(store.stats()?.last_change_seq)).await?
        };
        let continues = state
            .latest
            .as_ref()
            .is_some_and(|latest| latest.seq <= local_seq);
        if !continues {
            // Nothing published, or another database was: start afresh.
            if state.latest.is_some() {
                tracing::warn!(
                    url = self.remote.url(),
                    "published tree is ahead of this database; publishing a new snapshot"
                );
            }
            self.snapshot_locked(&mut state, &mut done).await?;
        }
        while let Some(latest) = state.latest.clone() {
            let rows = {
                let store = self.store.clone();
                blocking(move || Ok(store.change_rows(latest.seq, MAX_CHANGES_PER_SEGMENT)?))
                    .await?
            };
            // Entries pruned before they were published: the chain would
            // have a gap, so a snapshot carries the state instead.
            if rows
                .changes
                .first()
                .is_some_and(|(seq, _)| *seq != latest.seq + 1)
            {
                self.snapshot_locked(&mut state, &mut done).await?;
                continue;
            }
            let mut rows = rows;
            let digests: Vec<(String, String)> = rows
                .feeds
                .iter()
                .map(|(feed, bytes)| (feed.clone(), layout::sha256_hex(bytes)))
                .collect();
            rows.feeds.retain(|(feed, bytes)| {
                state.feed_digests.get(feed) != Some(&layout::sha256_hex(bytes))
            });
            if rows.changes.is_empty() && rows.feeds.is_empty() {
                break;
            }
            let full = rows.changes.len() == MAX_CHANGES_PER_SEGMENT;
            let generation = latest.generation + 1;
            let key = layout::segment_key(generation, rows.after, rows.last);
            let (after, last) = (rows.after, rows.last);
            let bytes = blocking(move || {
                layout::encode_segment(&SegmentFile {
                    format: layout::FORMAT,
                    generation,
                    rows,
                })
            })
            .await?;
            let object = ObjectRef {
                key: key.clone(),
                generation,
                after,
                seq: last,
                sha256: layout::sha256_hex(&bytes),
                bytes: bytes.len() as u64,
                published: now_text(),
            };
            self.remote.put(&key, bytes).await?;
            let mut next = latest;
            next.generation = generation;
            next.seq = last;
            next.segments.push(object.clone());
            done.latest_bytes += self.write_latest(&mut state, next).await?;
            done.objects.push(object);
            state.feed_digests = digests.into_iter().collect();
            if !full {
                break;
            }
        }
        let due = state
            .latest
            .as_ref()
            .is_some_and(|l| l.segments.len() >= self.options.snapshot_after_segments)
            || state.last_snapshot.elapsed() >= self.options.snapshot_every;
        if due {
            self.snapshot_locked(&mut state, &mut done).await?;
        }
        if done.latest_bytes == 0 && state.last_latest.elapsed() >= self.options.heartbeat {
            if let Some(latest) = state.latest.clone() {
                done.latest_bytes += self.write_latest(&mut state, latest).await?;
            }
        }
        Ok(done)
    }

    /// Reads the published `latest.json` once, when this process has not
    /// seen it yet (`None` stays when nothing is published).
    async fn read_latest(&self, state: &mut WriterState) -> Result<(), PublishError> {
        if state.latest.is_none() {
            state.latest = match self.remote.get(layout::LATEST).await? {
                Some(bytes) => Some(Latest::decode(&bytes)?),
                None => None,
            };
        }
        Ok(())
    }

    /// Takes and publishes a snapshot now (then `latest.json`).
    pub async fn snapshot(&self) -> Result<Published, PublishError> {
        let mut state = self.state.lock().await;
        let mut done = Published::default();
        self.read_latest(&mut state).await?;
        self.snapshot_locked(&mut state, &mut done).await?;
        Ok(done)
    }

    async fn snapshot_locked(
        &self,
        state: &mut WriterState,
        done: &mut Published,
    ) -> Result<(), PublishError> {
        let generation = state.latest.as_ref().map_or(0, |l| l.generation) + 1;
        let store = self.store.clone();
        let dir = store
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let temp = dir.join(format!(
            ".{}.snapshot-{generation}",
            store
                .path()
                .file_name()
                .map_or("advisord".into(), |n| n.to_string_lossy())
        ));
        let (position, bytes, feeds) = blocking(move || {
            let _ = std::fs::remove_file(&temp);
            let written = store.write_snapshot(&temp, generation);
            let result = written
                .map_err(PublishError::from)
                .and_then(|(position, feeds)| {
                    let raw = std::fs::read(&temp).map_err(|source| PublishError::Local {
                        path: temp.clone(),
                        source,
                    })?;
                    Ok((position, layout::gzip(&raw)?, feeds))
                });
            let _ = std::fs::remove_file(&temp);
            result
        })
        .await?;
        let key = layout::snapshot_key(generation, position.seq);
        let object = ObjectRef {
            key: key.clone(),
            generation,
            after: position.seq,
            seq: position.seq,
            sha256: layout::sha256_hex(&bytes),
            bytes: bytes.len() as u64,
            published: now_text(),
        };
        self.remote.put(&key, bytes).await?;
        let latest = Latest {
            format: layout::FORMAT,
            generation,
            seq: position.seq,
            written_at: String::new(),
            snapshot: object.clone(),
            segments: Vec::new(),
        };
        done.latest_bytes += self.write_latest(state, latest).await?;
        done.objects.push(object);
        // The snapshot holds these feed states: segments carry only changes.
        state.feed_digests = feeds
            .into_iter()
            .map(|(feed, bytes)| (feed, layout::sha256_hex(&bytes)))
            .collect();
        state.last_snapshot = Instant::now();
        tracing::info!(
            url = self.remote.url(),
            generation,
            seq = position.seq,
            "published snapshot"
        );
        Ok(())
    }

    async fn write_latest(
        &self,
        state: &mut WriterState,
        mut latest: Latest,
    ) -> Result<u64, PublishError> {
        latest.written_at = now_text();
        let bytes = serde_json::to_vec_pretty(&latest).map_err(|e| PublishError::Encode {
            what: layout::LATEST.into(),
            reason: e.to_string(),
        })?;
        let size = bytes.len() as u64;
        self.remote.put(layout::LATEST, bytes).await?;
        state.latest = Some(latest);
        state.last_latest = Instant::now();
        Ok(size)
    }

    /// Publishes every [`PublishOptions::interval`] until the task is
    /// aborted; a failed step is logged and retried on the next tick.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let publisher = self.clone();
        tokio::spawn(async move {
            loop {
                match publisher.publish().await {
                    Ok(done) if !done.objects.is_empty() => {
                        tracing::debug!(
                            objects = done.objects.len(),
                            bytes = done.total_bytes(),
                            "published"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "publishing failed; retrying"),
                }
                tokio::time::sleep(publisher.options.interval).await;
            }
        })
    }
}
