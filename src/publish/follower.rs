//! The replica's side (`serve --follow URL`, `sync --from-published`):
//! bootstrap from the newest snapshot, then apply segments in generation
//! order, each checked against the sha256 `latest.json` gives it; and the
//! lag and staleness figures a replica reports.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::layout::{self, Latest, ObjectRef};
use super::{age_secs, blocking, PublishError, Remote};
use crate::store::replica::StreamPosition;
use crate::store::Store;

/// How a replica follows.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Pause between reads of `latest.json`.
    pub poll: Duration,
    /// Stale (not ready) when `latest.json` is older than this: the writer
    /// has published nothing, not even a heartbeat, for that long.
    pub max_lag: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: Duration::from_secs(1),
            max_lag: Duration::from_secs(120),
        }
    }
}

/// What a replica knows about its progress; served by `/readyz` and
/// [`Follower::metrics_text`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct FollowStatus {
    /// The URL followed.
    pub url: String,
    /// Seq of the newest change applied locally.
    pub local_seq: u64,
    /// Generation of the newest object applied locally.
    pub local_generation: u64,
    /// Seq of the newest change published (as last read).
    pub published_seq: u64,
    /// When the writer last wrote `latest.json` (as last read).
    pub published_at: Option<String>,
    /// Whether the local copy has matched the published one at least once.
    pub caught_up_once: bool,
    /// Snapshots downloaded and loaded since start.
    pub snapshots_downloaded: u64,
    /// Segments applied since start.
    pub segments_applied: u64,
    /// Objects refused since start (sha256 or size mismatch, undecodable).
    pub refused_objects: u64,
    /// The last error, cleared by the next successful catch-up.
    pub last_error: Option<String>,
    #[serde(skip)]
    behind_since: Option<Instant>,
}

impl FollowStatus {
    /// Changes published and not applied here yet.
    pub fn lag_changes(&self) -> u64 {
        self.published_seq.saturating_sub(self.local_seq)
    }

    /// Seconds the copy has been behind the published tree (0 when caught up).
    pub fn lag_seconds(&self) -> u64 {
        self.behind_since.map_or(0, |t| t.elapsed().as_secs())
    }

    /// Seconds since the writer last wrote `latest.json`.
    pub fn published_age_seconds(&self) -> Option<u64> {
        self.published_at.as_deref().and_then(age_secs)
    }

    /// Why the replica should not get traffic, `None` when it is ready:
    /// never caught up, behind for longer than `max_lag`, or following a
    /// writer that has published nothing for longer than `max_lag`.
    pub fn not_ready(&self, max_lag: Duration) -> Option<String> {
        if !self.caught_up_once {
            return Some(format!(
                "catching up: at seq {} of {}{}",
                self.local_seq,
                self.published_seq,
                self.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
        if self.lag_seconds() > max_lag.as_secs() {
            return Some(format!(
                "behind the writer by {} changes for {} s",
                self.lag_changes(),
                self.lag_seconds()
            ));
        }
        match self.published_age_seconds() {
            Some(age) if age <= max_lag.as_secs() => None,
            Some(age) => Some(format!(
                "stale: the writer has published nothing for {age} s (--max-lag {} s)",
                max_lag.as_secs()
            )),
            None => Some("stale: no readable latest.json time".into()),
        }
    }
}

/// Follows one published tree into one store; cloning is shallow.
#[derive(Debug, Clone)]
pub struct Follower {
    store: Store,
    remote: Remote,
    options: FollowOptions,
    status: Arc<Mutex<FollowStatus>>,
    /// Serializes catch-ups (the loop and an on-demand sync).
    running: Arc<tokio::sync::Mutex<()>>,
}

impl Follower {
    /// A follower of `remote` writing into `store`.
    pub fn new(store: Store, remote: Remote, options: FollowOptions) -> Follower {
        let status = FollowStatus {
            url: remote.url().to_string(),
            ..FollowStatus::default()
        };
        Follower {
            store,
            remote,
            options,
            status: Arc::new(Mutex::new(status)),
            running: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The options it follows with.
    pub fn options(&self) -> &FollowOptions {
        &self.options
    }

    /// A copy of the current status.
    pub fn status(&self) -> FollowStatus {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, FollowStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the store up to the published tree once: a snapshot when the
    /// store is empty, from another tree, or older than the newest snapshot
    /// and no longer continued by the listed segments; then every newer
    /// segment in order. A refused object stops the catch-up (nothing of it
    /// applied); the next call retries.
    pub async fn catch_up(&self) -> Result<StreamPosition, PublishError> {
        let _running = self.running.lock().await;
        let result = self.catch_up_locked().await;
        let mut status = self.lock();
        match &result {
            Ok(position) => {
                status.local_seq = position.seq;
                status.local_generation = position.generation;
                status.last_error = None;
            }
            Err(e) => {
                if matches!(e, PublishError::Refused { .. } | PublishError::Bad { .. }) {
                    status.refused_objects += 1;
                }
                status.last_error = Some(e.to_string());
            }
        }
        if status.local_seq >= status.published_seq && status.published_at.is_some() {
            status.caught_up_once = true;
            status.behind_since = None;
        } else if status.behind_since.is_none() {
            status.behind_since = Some(Instant::now());
        }
        result
    }

    async fn catch_up_locked(&self) -> Result<StreamPosition, PublishError> {
        let bytes = self
            .remote
            .get(layout::LATEST)
            .await?
            .ok_or_else(|| PublishError::Empty {
                url: self.remote.url().to_string(),
            })?;
        let latest = Latest::decode(&bytes)?;
        {
            let mut status = self.lock();
            status.published_seq = latest.seq;
            status.published_at = Some(latest.written_at.clone());
        }
        let store = self.store.clone();
        let mut position = blocking(move || Ok(store.stream_position()?)).await?;
        if let Some(p) = position {
            let mut status = self.lock();
            status.local_seq = p.seq;
            status.local_generation = p.generation;
        }
        let needs_snapshot = match position {
            None => true,
            Some(p) => {
                p.generation < latest.snapshot.generation || p.generation > latest.generation
            }
        };
        if needs_snapshot {
            let loaded = self.load_snapshot(&latest.snapshot).await?;
            self.lock().snapshots_downloaded += 1;
            position = Some(loaded);
        }
        let mut position = position.unwrap_or(StreamPosition {
            generation: 0,
            seq: 0,
        });
        let from = position.generation;
        for segment in latest.segments.iter().filter(|s| s.generation > from) {
            position = self.apply_segment(segment).await?;
            let mut status = self.lock();
            status.segments_applied += 1;
            status.local_seq = position.seq;
            status.local_generation = position.generation;
        }
        Ok(position)
    }

    async fn fetch_verified(&self, object: &ObjectRef) -> Result<bytes::Bytes, PublishError> {
        let bytes = self
            .remote
            .get(&object.key)
            .await?
            .ok_or_else(|| PublishError::Refused {
                object: object.key.clone(),
                reason: "listed in latest.json but absent".into(),
            })?;
        layout::verify(object, &bytes)?;
        Ok(bytes)
    }

    async fn load_snapshot(&self, object: &ObjectRef) -> Result<StreamPosition, PublishError> {
        let bytes = self.fetch_verified(object).await?;
        let store = self.store.clone();
        let key = object.key.clone();
        let generation = object.generation;
        let position = blocking(move || {
            let temp = temp_path(&store, "snapshot");
            let loaded = layout::gunzip_to_file(&key, &bytes, &temp)
                .and_then(|()| Ok(store.load_snapshot(&temp)?));
            let _ = std::fs::remove_file(&temp);
            let position = loaded?;
            if position.generation != generation {
                return Err(PublishError::Bad {
                    object: key,
                    reason: format!(
                        "holds generation {}, latest.json says {generation}",
                        position.generation
                    ),
                });
            }
            Ok(position)
        })
        .await?;
        tracing::info!(object = %object.key, seq = position.seq, "loaded published snapshot");
        Ok(position)
    }

    async fn apply_segment(&self, object: &ObjectRef) -> Result<StreamPosition, PublishError> {
        let bytes = self.fetch_verified(object).await?;
        let store = self.store.clone();
        let object = object.clone();
        blocking(move || {
            let segment = layout::decode_segment(&object.key, &bytes)?;
            if segment.generation != object.generation
                || segment.rows.after != object.after
                || segment.rows.last != object.seq
            {
                return Err(PublishError::Bad {
                    object: object.key,
                    reason: "its header differs from its latest.json entry".into(),
                });
            }
            store.apply_change_rows(&segment.rows, segment.generation)?;
            Ok(StreamPosition {
                generation: segment.generation,
                seq: segment.rows.last,
            })
        })
        .await
    }

    /// Catches up every [`FollowOptions::poll`] until the task is aborted;
    /// failures are logged (and counted) and retried on the next tick.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let follower = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = follower.catch_up().await {
                    tracing::warn!(error = %e, "following failed; retrying");
                }
                tokio::time::sleep(follower.options.poll).await;
            }
        })
    }

    /// The replica's figures in the Prometheus text format, for `/metrics`.
    pub fn metrics_text(&self) -> String {
        let status = self.status();
        let ready = status.not_ready(self.options.max_lag).is_none();
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
            ));
        };
        gauge(
            "advisord_replica_lag_changes",
            "Changes published by the writer and not yet applied here.",
            status.lag_changes(),
        );
        gauge(
            "advisord_replica_lag_seconds",
            "Seconds this replica has been behind the published tree.",
            status.lag_seconds(),
        );
        if let Some(age) = status.published_age_seconds() {
            gauge(
                "advisord_replica_published_age_seconds",
                "Seconds since the writer last wrote latest.json.",
                age,
            );
        }
        gauge(
            "advisord_replica_local_seq",
            "Seq of the newest change applied here.",
            status.local_seq,
        );
        gauge(
            "advisord_replica_ready",
            "1 when caught up and the writer is publishing.",
            u64::from(ready),
        );
        gauge(
            "advisord_replica_snapshots_downloaded_total",
            "Snapshots downloaded since start.",
            status.snapshots_downloaded,
        );
        gauge(
            "advisord_replica_refused_objects_total",
            "Published objects refused since start.",
            status.refused_objects,
        );
        out
    }
}

/// A temporary file beside the store's database (same filesystem).
fn temp_path(store: &Store, what: &str) -> PathBuf {
    let name = store
        .path()
        .file_name()
        .map_or_else(|| "advisord".into(), |n| n.to_string_lossy().into_owned());
    store
        .path()
        .with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}
