//! Keeping the store current from the feed catalog: fetch each feed's files
//! (conditionally), parse them only when their bytes changed, and write the
//! feed's records as one batch (one write transaction, one change-log entry
//! per created, updated, withdrawn or removed record).
//!
//! The same [`Syncer`] serves `advisord sync`, the scheduler inside
//! `advisord serve`, `POST /v1/feeds/{name}/sync` and `sync --from-mirror`.
//!
//! Downloaded files are kept in a cache directory (by default next to the
//! database) so a feed with several files can be re-parsed whole when only
//! one of them changed while the others answered 304.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::feeds::catalog::{Catalog, FeedSpec};
use crate::feeds::http::{self, FetchOptions, FetchOutcome, Fetcher, Validators};
use crate::feeds::naming::{cache_file_name, safe_name};
use crate::formats::{Format, ReadOptions};
use crate::freshness::{FeedFreshness, Freshness};
use crate::model::Timestamp;
use crate::pipeline::ingest::{self, IngestReport};
use crate::store::{BatchOutcome, FeedState, Store, StoreError};

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Download policy (timeouts, retries, size limit).
    pub fetch: FetchOptions,
    /// Where downloaded files are kept between syncs.
    pub cache_dir: PathBuf,
    /// Feeds synced at once.
    pub jobs: usize,
    /// Parse and write even when no file changed.
    pub force: bool,
    /// The feeds that must have synced once before the server is ready
    /// (`GET /readyz`); `None`: every enabled catalog feed.
    pub ready_feeds: Option<Vec<String>>,
}

impl SyncOptions {
    /// Defaults with the cache beside the database (`advisord.redb` ->
    /// `advisord.cache/`).
    pub fn for_db(db: &Path) -> SyncOptions {
        SyncOptions {
            fetch: FetchOptions::default(),
            cache_dir: db.with_extension("cache"),
            jobs: 4,
            force: false,
            ready_feeds: None,
        }
    }
}

/// How a feed's sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncStatus {
    /// Every file answered 304: nothing parsed, nothing written.
    NotModified,
    /// Files were downloaded but their bytes are what was last ingested:
    /// nothing parsed, only the HTTP validators were updated.
    Unchanged,
    /// The files were parsed and the batch written (possibly with no record change).
    Ingested,
    /// The sync failed; the store's records are as before.
    Failed,
    /// An OSV feed whose ecosystem the bucket's `ecosystems.txt` does not
    /// list: nothing was fetched, the store's records are as before.
    NotPublished,
}

/// What one feed's sync did (also the answer of the sync endpoints, read
/// back by `sync --from-mirror --server`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FeedReport {
    /// The feed.
    pub feed: String,
    /// How it ended.
    pub status: SyncStatus,
    /// Files of the feed.
    pub files: u64,
    /// Files that answered 304 (or, from a mirror, were as last ingested).
    pub not_modified: u64,
    /// Bytes transferred.
    pub downloaded_bytes: u64,
    /// Records parsed (0 when nothing was parsed).
    pub records: u64,
    /// Records the parser rejected.
    pub record_errors: u64,
    /// The first few rejections, for the log.
    pub first_errors: Vec<String>,
    /// What the store write did.
    pub outcome: BatchOutcome,
    /// Why it failed.
    pub error: Option<String>,
    /// Why nothing was fetched (not published upstream).
    pub note: Option<String>,
    /// Wall time of the sync.
    pub seconds: f64,
}

impl FeedReport {
    fn new(feed: &str) -> FeedReport {
        FeedReport {
            feed: feed.to_string(),
            status: SyncStatus::Failed,
            files: 0,
            not_modified: 0,
            downloaded_bytes: 0,
            records: 0,
            record_errors: 0,
            first_errors: Vec::new(),
            outcome: BatchOutcome::default(),
            error: None,
            note: None,
            seconds: 0.0,
        }
    }

    /// One log line.
    pub fn summary(&self) -> String {
        let o = &self.outcome;
        match self.status {
            SyncStatus::Failed => format!(
                "feed {}: FAILED: {}",
                self.feed,
                self.error.as_deref().unwrap_or("unknown error")
            ),
            SyncStatus::NotPublished => format!(
                "feed {}: {}",
                self.feed,
                self.note.as_deref().unwrap_or("not published upstream")
            ),
            SyncStatus::NotModified => format!(
                "feed {}: not modified ({} files, {:.2}s)",
                self.feed, self.files, self.seconds
            ),
            SyncStatus::Unchanged => format!(
                "feed {}: unchanged ({} files, {} bytes downloaded, {:.2}s)",
                self.feed, self.files, self.downloaded_bytes, self.seconds
            ),
            SyncStatus::Ingested => format!(
                "feed {}: {} files, {} bytes downloaded, {} records, {} rejected; {} created, {} updated, {} withdrawn, {} removed, {} unchanged ({:.2}s)",
                self.feed,
                self.files,
                self.downloaded_bytes,
                self.records,
                self.record_errors,
                o.created,
                o.updated,
                o.withdrawn,
                o.removed,
                o.unchanged,
                self.seconds
            ) + &kept_note(o),
        }
    }
}

/// The summary's note on records a snapshot could not read and kept.
fn kept_note(outcome: &BatchOutcome) -> String {
    match outcome.kept_unreadable {
        0 => String::new(),
        n => format!("; {n} unreadable kept at their last good version"),
    }
}

/// Why a sync could not even start.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] http::FetchError),
    /// A mirror directory is unusable.
    #[error(transparent)]
    Mirror(#[from] crate::pipeline::mirror::MirrorError),
    /// A feed name is not in the catalog.
    #[error("{0}")]
    UnknownFeed(String),
    /// The catalog could not be re-read; the one in use stays.
    #[error("reloading the catalog: {0}")]
    Catalog(#[from] crate::feeds::catalog::CatalogError),
    /// This syncer was not told where its catalog comes from.
    #[error("this process cannot reload its catalog")]
    NoCatalogSource,
}

/// Why one feed's sync failed: kept as its `last_error`, while its
/// records stay as they were.
#[derive(Debug, thiserror::Error)]
pub enum FeedSyncError {
    /// The feed names a format this build has no parser for.
    #[error("format {0:?} is not supported by this build")]
    UnsupportedFormat(String),
    /// The feed's OVAL dialect is unknown.
    #[error(transparent)]
    Dialect(#[from] crate::formats::UnknownDialect),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be downloaded.
    #[error(transparent)]
    Fetch(#[from] http::FetchError),
    /// A Red Hat VEX feed lists no base URL.
    #[error("feed {0}: no base URL")]
    NoBaseUrl(String),
    /// A Red Hat VEX feed failed.
    #[error(transparent)]
    RedhatVex(#[from] crate::pipeline::redhat_vex::VexFeedError),
    /// The cached copy of a file that answered 304 cannot be read.
    #[error("reading cached copy {path}: {source}")]
    CachedCopy {
        /// The cached copy.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The cached copy of a file that answered 304 is not what was ingested.
    #[error("cached copy of {0} does not match the ingested digest; run sync again (it will download it)")]
    CachedCopyChanged(String),
    /// A file could not be opened or unpacked.
    #[error(transparent)]
    Read(#[from] crate::feeds::FeedError),
    /// A file could not be read into the store's batch.
    #[error(transparent)]
    Stream(#[from] ingest::StreamError),
    /// The parser or store task panicked or was cancelled.
    #[error("{task} task failed: {source}")]
    Task {
        /// `parser` or `store`.
        task: &'static str,
        /// The cause.
        source: tokio::task::JoinError,
    },
    /// A snapshot file could not be read as a whole.
    #[error("{origin}: the file could not be read as a whole ({reason}); refusing to apply a partial snapshot")]
    PartialSnapshot {
        /// The file.
        origin: String,
        /// Why it could not be read.
        reason: String,
    },
    /// A snapshot with no readable record would remove every stored one.
    #[error("the feed's files hold no readable record ({rejected} rejected); refusing to remove its {stored} records")]
    EmptySnapshot {
        /// Records rejected.
        rejected: u64,
        /// Records stored for the feed.
        stored: u64,
    },
    /// Every record was rejected.
    #[error("every record was rejected ({count}), nothing written; first: {first}")]
    AllRejected {
        /// Records rejected.
        count: usize,
        /// The first rejection.
        first: String,
    },
}

/// Re-reads the catalog from where it was loaded (`--catalog` directories,
/// built-in feeds, `--osv-ecosystem`); see [`Syncer::set_catalog_source`].
#[derive(Clone)]
pub struct CatalogSource(Arc<CatalogLoader>);

type CatalogLoader = dyn Fn() -> Result<Catalog, crate::feeds::catalog::CatalogError> + Send + Sync;

impl CatalogSource {
    /// A source that calls `load` for each reload.
    pub fn new(
        load: impl Fn() -> Result<Catalog, crate::feeds::catalog::CatalogError> + Send + Sync + 'static,
    ) -> CatalogSource {
        CatalogSource(Arc::new(load))
    }
}

impl std::fmt::Debug for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogSource")
    }
}

/// What a catalog reload changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogReload {
    /// Feeds the new catalog has and the old did not.
    pub added: Vec<String>,
    /// Feeds the old catalog had and the new does not.
    pub removed: Vec<String>,
    /// Feeds in the catalog now.
    pub feeds: usize,
}

/// One local copy of a feed file, ready to parse.
#[derive(Debug, Clone)]
pub(crate) struct LocalFile {
    /// The upstream URL (records name it as their source).
    pub url: String,
    /// The local copy.
    pub path: PathBuf,
    /// `sha256:<hex>` of the copy, when known without reading it.
    pub sha256: Option<String>,
    /// The HTTP validators of the copy.
    pub validators: Validators,
    /// When the copy was fetched.
    pub fetched: Timestamp,
    /// The server answered 304 for it.
    pub not_modified: bool,
    /// A new download to move over `final_path` once the batch is committed.
    pub pending: Option<PathBuf>,
}

/// In-memory status of the feeds synced by this process (a 304 writes
/// nothing to the store, so its time is only known here).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStatus {
    /// When a sync last started.
    pub last_attempt: Option<String>,
    /// When a sync last ended without error.
    pub last_success: Option<String>,
    /// How the last sync ended.
    pub last_status: Option<SyncStatus>,
    /// The last error, cleared by a success.
    pub last_error: Option<String>,
    /// Wall time of the last sync, in seconds.
    pub last_seconds: Option<f64>,
    /// Syncs that failed since this process started.
    pub failures: u64,
}

/// A feed as `advisord feeds` and `GET /v1/feeds` show it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    /// The feed name.
    pub name: String,
    /// Its format.
    pub format: Option<String>,
    /// Whether the scheduler syncs it.
    pub enabled: bool,
    /// Interval (`6h`).
    pub interval: Option<String>,
    /// Whether this build has its parser.
    pub supported: bool,
    /// When the publisher ended support for the release (catalog `end_of_life`).
    pub end_of_life: Option<String>,
    /// Why upstream does not publish the feed, from the last `ecosystems.txt` read.
    pub not_published: Option<String>,
    /// Records it contributes.
    pub records: u64,
    /// When a sync last started.
    pub last_attempt: Option<String>,
    /// When a sync last ended without error.
    pub last_success: Option<String>,
    /// When its records were last written.
    pub last_ingest: Option<String>,
    /// The last error (`None` after a success).
    pub last_error: Option<String>,
    /// Records rejected by the parser in the last batch.
    pub last_rejected: u64,
    /// The first of those rejections (feed, file, record, reason).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub last_rejections: Vec<String>,
    /// What the last batch did.
    pub last_outcome: Option<BatchOutcome>,
    /// Seconds since its last successful sync or ingest (`None`: never).
    pub age_secs: Option<u64>,
    /// The age past which answers depending on it are stale (`3d`);
    /// enabled catalog feeds only.
    pub max_age: Option<String>,
    /// Never synced, or older than `max_age` (see [`crate::freshness`]).
    pub stale: bool,
    /// HTTP validators per URL.
    pub etags: BTreeMap<String, String>,
    /// `Last-Modified` per URL.
    pub last_modified: BTreeMap<String, String>,
    /// Wall time of this process's last sync of it, in seconds.
    pub last_duration_secs: Option<f64>,
    /// Syncs of it that failed since this process started.
    pub failures: u64,
}

/// Called with each feed's report as it finishes.
pub type ProgressHook = Arc<dyn Fn(&FeedReport) + Send + Sync>;

/// Runs feed syncs against one store; shared by the CLI, the scheduler and the API.
#[derive(Debug)]
pub struct Syncer {
    store: Store,
    catalog: std::sync::RwLock<Arc<Catalog>>,
    catalog_source: Mutex<Option<CatalogSource>>,
    options: SyncOptions,
    fetcher: Fetcher,
    permits: Arc<Semaphore>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    status: Mutex<BTreeMap<String, RunStatus>>,
    /// The OSV buckets' `ecosystems.txt`, by URL, as last read.
    osv_indexes: tokio::sync::Mutex<HashMap<String, IndexCopy>>,
    /// The last freshness assessment and when it was made.
    freshness: Mutex<Option<(std::time::Instant, Arc<Freshness>)>>,
}

/// One `ecosystems.txt` as read by this process.
#[derive(Debug, Clone)]
struct IndexCopy {
    /// The listed ecosystems; `None` when the bucket has no index.
    listed: Option<BTreeSet<String>>,
    read_at: std::time::Instant,
}

/// How long an `ecosystems.txt` read serves the feeds synced after it
/// (one read for the ~40 OSV feeds of a sync run).
const INDEX_FRESH: Duration = Duration::from_secs(300);

/// Largest `ecosystems.txt` accepted.
const INDEX_MAX_BYTES: u64 = 1 << 20;

/// How long a freshness assessment is reused by queries (a sync's end
/// discards it at once).
const FRESHNESS_TTL: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Syncer {
    /// A syncer for `store` over `catalog`.
    pub fn new(
        store: Store,
        catalog: Catalog,
        options: SyncOptions,
    ) -> Result<Arc<Syncer>, SyncError> {
        let fetcher = Fetcher::new(options.fetch.clone())?;
        Ok(Arc::new(Syncer {
            store,
            catalog: std::sync::RwLock::new(Arc::new(catalog)),
            catalog_source: Mutex::new(None),
            permits: Arc::new(Semaphore::new(options.jobs.max(1))),
            options,
            fetcher,
            locks: Mutex::new(HashMap::new()),
            status: Mutex::new(BTreeMap::new()),
            osv_indexes: tokio::sync::Mutex::new(HashMap::new()),
            freshness: Mutex::new(None),
        }))
    }

    /// The catalog in use (a reload swaps it; syncs running keep theirs).
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(
            &self
                .catalog
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Tells the syncer how to re-read its catalog ([`Syncer::reload_catalog`]).
    pub fn set_catalog_source(&self, source: CatalogSource) {
        *lock(&self.catalog_source) = Some(source);
    }

    /// Re-reads the catalog (`POST /v1/catalog/reload`, SIGHUP): a feed
    /// file added to a `--catalog` directory becomes syncable without a
    /// restart. On error the catalog in use stays.
    pub fn reload_catalog(&self) -> Result<CatalogReload, SyncError> {
        let source = lock(&self.catalog_source)
            .clone()
            .ok_or(SyncError::NoCatalogSource)?;
        let fresh = (source.0)()?;
        let old: BTreeSet<String> = self.catalog().feeds().map(|f| f.name.clone()).collect();
        let new: BTreeSet<String> = fresh.feeds().map(|f| f.name.clone()).collect();
        let reload = CatalogReload {
            added: new.difference(&old).cloned().collect(),
            removed: old.difference(&new).cloned().collect(),
            feeds: new.len(),
        };
        *self
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        *lock(&self.freshness) = None;
        tracing::info!(added = ?reload.added, removed = ?reload.removed, feeds = reload.feeds, "catalog reloaded");
        Ok(reload)
    }

    /// The feeds that have not yet synced once and that readiness waits
    /// for (`--ready-feeds`, else every enabled catalog feed).
    pub fn not_ready(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .freshness()?
            .never_synced(self.options.ready_feeds.as_deref()))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How fresh every feed is, assessed at most once per [`FRESHNESS_TTL`]
    /// (queries ask on every answer).
    pub fn freshness(&self) -> Result<Arc<Freshness>, StoreError> {
        let mut cached = lock(&self.freshness);
        if let Some((at, freshness)) = cached.as_ref() {
            if at.elapsed() < FRESHNESS_TTL {
                return Ok(Arc::clone(freshness));
            }
        }
        let states = self.store.feed_states()?;
        let freshness = Arc::new(Freshness::assess(
            self.catalog().feeds(),
            &states,
            time::OffsetDateTime::now_utc(),
        ));
        *cached = Some((std::time::Instant::now(), Arc::clone(&freshness)));
        Ok(freshness)
    }

    fn feed_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.locks)
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    fn note(&self, name: &str, update: impl FnOnce(&mut RunStatus)) {
        update(lock(&self.status).entry(name.to_string()).or_default());
    }

    /// Syncs the feed called `name` now (waiting for a sync of it already running).
    pub async fn sync_named(&self, name: &str) -> Result<FeedReport, SyncError> {
        let spec = self
            .catalog()
            .get(name)
            .cloned()
            .ok_or_else(|| SyncError::UnknownFeed(format!("no feed named {name:?}")))?;
        Ok(self.sync_spec(&spec).await)
    }

    /// Syncs `specs`, at most `jobs` at once; reports in the order given.
    pub async fn sync_all(self: &Arc<Self>, specs: Vec<FeedSpec>) -> Vec<FeedReport> {
        self.sync_all_with(specs, None).await
    }

    /// Like [`Syncer::sync_all`], calling `on_done` as each feed finishes
    /// (for progress display).
    pub async fn sync_all_with(
        self: &Arc<Self>,
        specs: Vec<FeedSpec>,
        on_done: Option<ProgressHook>,
    ) -> Vec<FeedReport> {
        let mut set = tokio::task::JoinSet::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let this = Arc::clone(self);
            let on_done = on_done.clone();
            set.spawn(async move {
                let report = this.sync_spec(&spec).await;
                if let Some(hook) = on_done {
                    hook(&report);
                }
                (index, report)
            });
        }
        let mut reports = Vec::new();
        while let Some(done) = set.join_next().await {
            match done {
                Ok(pair) => reports.push(pair),
                Err(e) => tracing::error!(error = %e, "sync task failed"),
            }
        }
        reports.sort_by_key(|(i, _)| *i);
        reports.into_iter().map(|(_, r)| r).collect()
    }

    /// Syncs one feed: never panics, never returns early without a report.
    pub async fn sync_spec(&self, spec: &FeedSpec) -> FeedReport {
        let feed_lock = self.feed_lock(&spec.name);
        let _running = feed_lock.lock().await;
        let _permit = self.permits.acquire().await;
        let started = std::time::Instant::now();
        let attempt = Timestamp::now().to_string();
        self.note(&spec.name, |s| s.last_attempt = Some(attempt.clone()));
        tracing::info!(feed = %spec.name, "sync started");
        let mut report = FeedReport::new(&spec.name);
        let result = self.sync_inner(spec, &mut report).await;
        report.seconds = started.elapsed().as_secs_f64();
        self.finish(&spec.name, &attempt, result, report)
    }

    fn finish(
        &self,
        feed: &str,
        attempt: &str,
        result: Result<SyncStatus, FeedSyncError>,
        mut report: FeedReport,
    ) -> FeedReport {
        match result {
            Ok(status) => {
                report.status = status;
                let now = Timestamp::now().to_string();
                // An ingest wrote its success with its records; a 304 or
                // unchanged bytes must be remembered too, or the feed's
                // data would look older than it is (see `freshness`).
                if status != SyncStatus::Ingested {
                    if let Err(e) = self.store.update_feed_state(feed, |state| {
                        state.last_attempt = Some(attempt.to_string());
                        state.last_success = Some(now.clone());
                        state.last_error = None;
                    }) {
                        tracing::error!(%feed, error = %e, "cannot record the success");
                    }
                }
                self.note(feed, |s| {
                    s.last_success = Some(now);
                    s.last_status = Some(status);
                    s.last_error = None;
                    s.last_seconds = Some(report.seconds);
                });
                tracing::info!("{}", report.summary());
            }
            Err(error) => {
                let error = error.to_string();
                report.status = SyncStatus::Failed;
                report.error = Some(error.clone());
                self.note(feed, |s| {
                    s.last_status = Some(SyncStatus::Failed);
                    s.last_error = Some(error.clone());
                    s.last_seconds = Some(report.seconds);
                    s.failures += 1;
                });
                // Only the feed's bookkeeping is written; its records stay as they were.
                if let Err(e) = self.store.update_feed_state(feed, |state| {
                    state.last_attempt = Some(attempt.to_string());
                    state.last_error = Some(error.clone());
                }) {
                    tracing::error!(%feed, error = %e, "cannot record the failure");
                }
                tracing::warn!("{}", report.summary());
            }
        }
        *lock(&self.freshness) = None;
        report
    }

    async fn sync_inner(
        &self,
        spec: &FeedSpec,
        report: &mut FeedReport,
    ) -> Result<SyncStatus, FeedSyncError> {
        let format = spec
            .format()
            .map_err(|_| FeedSyncError::UnsupportedFormat(spec.format.clone()))?;
        if spec.dialect.as_deref() == Some(crate::pipeline::redhat_vex::DIALECT) {
            return self.sync_redhat_vex(spec, report).await;
        }
        let read = ReadOptions::for_feed(format, spec.dialect.as_deref())?;
        if let Some(export) = spec.osv_export() {
            let listed = self.osv_listing(&export.index_url).await;
            if listed.is_some_and(|l| !l.contains(&export.ecosystem)) {
                report.note = Some(export.not_published());
                return Ok(SyncStatus::NotPublished);
            }
        }
        let state = self.store.feed_state(&spec.name)?.unwrap_or_default();
        let urls = spec.expanded_urls(time::OffsetDateTime::now_utc());
        let dir = self.options.cache_dir.join(safe_name(&spec.name));
        let mut files = Vec::new();
        let result = self
            .fetch_files(spec, &state, &urls, &dir, &mut files, report)
            .await;
        let outcome = match result {
            Ok(()) => {
                let batch = Batch {
                    feed: &spec.name,
                    read,
                    snapshot: spec.snapshot,
                    force: self.options.force,
                };
                batch.ingest(&self.store, &state, &files, report).await
            }
            Err(e) => Err(e),
        };
        // New downloads replace the cached copies only once their batch is
        // committed (or recognized as identical); otherwise they are dropped.
        for file in &files {
            if let Some(pending) = &file.pending {
                if outcome.is_ok() {
                    if let Err(e) = std::fs::rename(pending, &file.path) {
                        tracing::warn!(path = %file.path.display(), error = %e, "cannot update the cached copy");
                    }
                } else {
                    let _ = std::fs::remove_file(pending);
                }
            }
        }
        outcome
    }

    /// An incremental Red Hat CSAF VEX feed (see [`crate::pipeline::redhat_vex`]).
    async fn sync_redhat_vex(
        &self,
        spec: &FeedSpec,
        report: &mut FeedReport,
    ) -> Result<SyncStatus, FeedSyncError> {
        let base = spec
            .urls
            .first()
            .ok_or_else(|| FeedSyncError::NoBaseUrl(spec.name.clone()))?;
        let dir = self.options.cache_dir.join(safe_name(&spec.name));
        let done = crate::pipeline::redhat_vex::sync(
            &self.store,
            &self.options.fetch,
            &spec.name,
            base,
            &dir,
        )
        .await?;
        report.records = done.documents;
        report.record_errors = done.errors.len() as u64;
        report.first_errors = done.errors.iter().take(5).cloned().collect();
        report.outcome = done.outcome;
        Ok(if done.not_modified {
            SyncStatus::NotModified
        } else {
            SyncStatus::Ingested
        })
    }

    /// The ecosystems the OSV bucket's `index_url` lists, read at most once
    /// per [`INDEX_FRESH`] and conditionally (the copy and its validators
    /// are kept in the cache directory). `None` when the bucket has no index
    /// (a mirror may not): the feeds are then fetched as named. When the
    /// index cannot be fetched, the last copy read is used.
    async fn osv_listing(&self, index_url: &str) -> Option<BTreeSet<String>> {
        let mut indexes = self.osv_indexes.lock().await;
        if let Some(copy) = indexes.get(index_url) {
            if copy.read_at.elapsed() < INDEX_FRESH {
                return copy.listed.clone();
            }
        }
        let path = self.index_path(index_url);
        let meta = http::with_suffix(&path, ".validators.json");
        let validators = std::fs::read(&meta)
            .ok()
            .filter(|_| path.is_file())
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .map(|v| Validators {
                etag: v["etag"].as_str().map(str::to_string),
                last_modified: v["last_modified"].as_str().map(str::to_string),
            })
            .unwrap_or_default();
        let pending = http::with_suffix(&path, ".new");
        let fetched = self
            .fetcher
            .fetch_to_file(
                index_url,
                &pending,
                &validators,
                false,
                Some(INDEX_MAX_BYTES),
            )
            .await;
        match fetched {
            Ok(FetchOutcome::NotModified) => {}
            Ok(FetchOutcome::Downloaded(d)) => {
                let saved = std::fs::rename(&d.path, &path).and_then(|()| {
                    let v = serde_json::json!({
                        "etag": d.validators.etag,
                        "last_modified": d.validators.last_modified,
                    });
                    std::fs::write(&meta, v.to_string())
                });
                if let Err(e) = saved {
                    tracing::warn!(url = %index_url, error = %e, "cannot keep the ecosystems index");
                }
            }
            Err(http::FetchError::Status { status, .. }) if status == 404 || status == 410 => {
                tracing::info!(url = %index_url, "no ecosystems index: OSV feeds are fetched as named");
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => {
                tracing::warn!(url = %index_url, error = %e, "cannot read the ecosystems index; using the last copy, if any");
            }
        }
        let listed = std::fs::read_to_string(&path)
            .ok()
            .map(|text| crate::feeds::catalog::parse_ecosystem_index(&text));
        indexes.insert(
            index_url.to_string(),
            IndexCopy {
                listed: listed.clone(),
                read_at: std::time::Instant::now(),
            },
        );
        listed
    }

    /// Where the copy of an `ecosystems.txt` is kept (a directory no feed
    /// name can take: feed names never start with a dot).
    fn index_path(&self, index_url: &str) -> PathBuf {
        self.options
            .cache_dir
            .join(".osv-ecosystems")
            .join(cache_file_name(index_url))
    }

    /// "Not published upstream" for an OSV feed whose ecosystem the last
    /// copy of its bucket's index (on disk, so `feeds` sees what `sync` read)
    /// does not list.
    fn cached_not_published(&self, spec: &FeedSpec) -> Option<String> {
        let export = spec.osv_export()?;
        let text = std::fs::read_to_string(self.index_path(&export.index_url)).ok()?;
        let listed = crate::feeds::catalog::parse_ecosystem_index(&text);
        (!listed.contains(&export.ecosystem)).then(|| export.not_published())
    }

    async fn fetch_files(
        &self,
        spec: &FeedSpec,
        state: &FeedState,
        urls: &[String],
        dir: &Path,
        files: &mut Vec<LocalFile>,
        report: &mut FeedReport,
    ) -> Result<(), FeedSyncError> {
        for url in urls {
            let path = dir.join(cache_file_name(url));
            let pending = http::with_suffix(&path, ".new");
            let have_copy = path.is_file() && state.digests.contains_key(url);
            let validators = if have_copy && !self.options.force {
                Validators {
                    etag: state.etags.get(url).cloned(),
                    last_modified: state.last_modified.get(url).cloned(),
                }
            } else {
                Validators::default()
            };
            let fetched = Timestamp::now();
            let outcome = self
                .fetcher
                .fetch_to_file(url, &pending, &validators, false, spec.max_bytes)
                .await?;
            report.files += 1;
            match outcome {
                FetchOutcome::NotModified => {
                    report.not_modified += 1;
                    files.push(LocalFile {
                        url: url.clone(),
                        path,
                        sha256: None,
                        validators,
                        fetched,
                        not_modified: true,
                        pending: None,
                    });
                }
                FetchOutcome::Downloaded(d) => {
                    report.downloaded_bytes += d.transferred;
                    files.push(LocalFile {
                        url: url.clone(),
                        path: path.clone(),
                        sha256: Some(d.sha256),
                        validators: d.validators,
                        fetched,
                        not_modified: false,
                        pending: Some(d.path),
                    });
                }
            }
        }
        Ok(())
    }

    /// Ingests the feeds of a mirror directory (see [`crate::pipeline::mirror`]) with
    /// no network: every file's sha256 is verified before anything is read.
    pub async fn sync_from_mirror(
        &self,
        dir: &Path,
        names: &[String],
    ) -> Result<Vec<FeedReport>, SyncError> {
        let dir_owned = dir.to_path_buf();
        let manifest =
            tokio::task::spawn_blocking(move || crate::pipeline::mirror::load_verified(&dir_owned))
                .await
                .map_err(|e| {
                    SyncError::Mirror(crate::pipeline::mirror::MirrorError::Io {
                        path: dir.display().to_string(),
                        source: std::io::Error::other(e),
                    })
                })??;
        let selected: Vec<&String> = if names.is_empty() {
            manifest.feeds.keys().collect()
        } else {
            for n in names {
                if !manifest.feeds.contains_key(n) {
                    return Err(SyncError::UnknownFeed(format!(
                        "feed {n:?} is not in the mirror {}",
                        dir.display()
                    )));
                }
            }
            names.iter().collect()
        };
        let mut reports = Vec::new();
        for name in selected {
            let Some(feed) = manifest.feeds.get(name) else {
                continue;
            };
            let feed_lock = self.feed_lock(name);
            let _running = feed_lock.lock().await;
            let started = std::time::Instant::now();
            let attempt = Timestamp::now().to_string();
            let mut report = FeedReport::new(name);
            let result = async {
                let format: Format = feed
                    .format
                    .parse()
                    .map_err(|_| FeedSyncError::UnsupportedFormat(feed.format.clone()))?;
                let read = ReadOptions::for_feed(format, feed.dialect.as_deref())?;
                let state = self.store.feed_state(name)?.unwrap_or_default();
                let files: Vec<LocalFile> = manifest
                    .files
                    .iter()
                    .filter(|f| &f.feed == name)
                    .map(|f| LocalFile {
                        url: f.url.clone(),
                        path: dir.join(&f.path),
                        sha256: Some(f.sha256.clone()),
                        validators: Validators {
                            etag: f.etag.clone(),
                            last_modified: f.last_modified.clone(),
                        },
                        fetched: f.fetched.parse().unwrap_or_else(|_| Timestamp::now()),
                        not_modified: false,
                        pending: None,
                    })
                    .collect();
                report.files = files.len() as u64;
                let batch = Batch {
                    feed: name,
                    read,
                    snapshot: feed.snapshot,
                    force: self.options.force,
                };
                batch.ingest(&self.store, &state, &files, &mut report).await
            }
            .await;
            report.seconds = started.elapsed().as_secs_f64();
            reports.push(self.finish(name, &attempt, result, report));
        }
        Ok(reports)
    }

    /// Every catalog feed and every feed the store knows, with their state.
    pub fn views(&self) -> Result<Vec<FeedView>, StoreError> {
        let states = self.store.feed_states()?;
        let catalog = self.catalog();
        let freshness =
            Freshness::assess(catalog.feeds(), &states, time::OffsetDateTime::now_utc());
        let status = lock(&self.status).clone();
        let mut names: Vec<String> = catalog.feeds().map(|f| f.name.clone()).collect();
        names.extend(states.keys().cloned());
        names.sort();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|name| {
                let spec = catalog.get(&name);
                let state = states.get(&name).cloned().unwrap_or_default();
                let run = status.get(&name).cloned().unwrap_or_default();
                let not_published = spec.and_then(|s| self.cached_not_published(s));
                view(
                    &name,
                    spec,
                    state,
                    run,
                    not_published,
                    freshness.feed(&name),
                )
            })
            .collect())
    }

    /// Starts one task per enabled, supported feed that syncs it every
    /// `interval` (the first run when the feed is due: never synced, or its
    /// last sync is older than the interval). Tasks end with the runtime.
    pub fn spawn_scheduler(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = Vec::new();
        let catalog = self.catalog();
        for spec in catalog.feeds().filter(|f| f.enabled) {
            if spec.format().is_err() {
                tracing::warn!(feed = %spec.name, format = %spec.format, "not scheduled: format not supported by this build");
                continue;
            }
            let this = Arc::clone(self);
            let spec = spec.clone();
            handles.push(tokio::spawn(async move {
                let mut wait = this.initial_wait(&spec);
                loop {
                    tokio::time::sleep(wait).await;
                    let report = this.sync_spec(&spec).await;
                    wait = if report.status == SyncStatus::Failed {
                        spec.interval.min(Duration::from_secs(900))
                    } else {
                        spec.interval
                    };
                    wait += jitter(wait / 20);
                }
            }));
        }
        tracing::info!(feeds = handles.len(), "sync scheduler started");
        handles
    }

    fn initial_wait(&self, spec: &FeedSpec) -> Duration {
        let last = self
            .store
            .feed_state(&spec.name)
            .ok()
            .flatten()
            .and_then(|s| s.last_success.or(s.last_ingest))
            .and_then(|t| t.parse::<Timestamp>().ok());
        let Some(last) = last else {
            return jitter(Duration::from_secs(1));
        };
        let elapsed = time::OffsetDateTime::now_utc() - last.instant();
        let elapsed = Duration::try_from(elapsed).unwrap_or_default();
        spec.interval.saturating_sub(elapsed) + jitter(Duration::from_secs(1))
    }
}

fn view(
    name: &str,
    spec: Option<&FeedSpec>,
    state: FeedState,
    run: RunStatus,
    not_published: Option<String>,
    freshness: Option<&FeedFreshness>,
) -> FeedView {
    let later = |a: Option<String>, b: Option<String>| match (a, b) {
        (Some(a), Some(b)) => Some(if a >= b { a } else { b }),
        (a, b) => a.or(b),
    };
    // A success more recent than the stored error clears it.
    let last_success = later(state.last_success.clone(), run.last_success.clone());
    let last_attempt = later(state.last_attempt.clone(), run.last_attempt.clone());
    let last_error = match (&run.last_status, run.last_error.clone()) {
        (Some(SyncStatus::Failed), e) => e,
        (Some(_), _) => None,
        (None, _) => state.last_error.clone(),
    };
    FeedView {
        name: name.to_string(),
        format: spec.map(|s| s.format.clone()),
        enabled: spec.is_some_and(|s| s.enabled),
        interval: spec.map(|s| crate::feeds::catalog::format_duration(s.interval)),
        supported: spec.is_some_and(|s| s.format().is_ok()),
        end_of_life: spec.and_then(|s| s.end_of_life.clone()),
        not_published,
        records: state.records,
        last_attempt,
        last_success,
        last_ingest: state.last_ingest,
        last_error,
        last_rejected: state.last_errors,
        last_rejections: state.last_rejections,
        last_outcome: state.last_outcome,
        age_secs: freshness.and_then(|f| f.age_secs),
        max_age: freshness
            .and_then(|f| f.max_age_secs)
            .map(|secs| crate::feeds::catalog::format_duration(Duration::from_secs(secs))),
        stale: freshness.is_some_and(FeedFreshness::stale),
        etags: state.etags,
        last_modified: state.last_modified,
        last_duration_secs: run.last_seconds,
        failures: run.failures,
    }
}

/// One feed's parse-and-write step, shared by HTTP and mirror syncs.
struct Batch<'a> {
    feed: &'a str,
    /// The format, and for OVAL the catalog's dialect.
    read: ReadOptions,
    snapshot: bool,
    force: bool,
}

impl Batch<'_> {
    async fn ingest(
        &self,
        store: &Store,
        state: &FeedState,
        files: &[LocalFile],
        report: &mut FeedReport,
    ) -> Result<SyncStatus, FeedSyncError> {
        let same_urls = files.len() == state.digests.len()
            && files.iter().all(|f| state.digests.contains_key(&f.url));
        let unchanged =
            |f: &LocalFile| f.not_modified || f.sha256.as_ref() == state.digests.get(&f.url);
        if !self.force && same_urls && files.iter().all(unchanged) {
            if files.iter().all(|f| f.not_modified) {
                return Ok(SyncStatus::NotModified);
            }
            // Same bytes under new validators: remember them, parse nothing.
            let validators_changed = files.iter().any(|f| {
                !f.not_modified
                    && (state.etags.get(&f.url) != f.validators.etag.as_ref()
                        || state.last_modified.get(&f.url) != f.validators.last_modified.as_ref())
            });
            if validators_changed {
                let files = files.to_vec();
                store.update_feed_state(self.feed, |s| {
                    set_validators(s, &files);
                    s.last_success = Some(Timestamp::now().to_string());
                    s.last_error = None;
                })?;
            }
            return Ok(SyncStatus::Unchanged);
        }
        // Parse every file of the feed (a snapshot needs all of them) on
        // the blocking pool, each file's records written into one store
        // batch as it is parsed; the batch commits only when every check
        // below passes (an `Err` leaves the store as it was). A 304 file is
        // read from the cached copy, whose digest must still be the one
        // ingested.
        let feed = self.feed.to_string();
        let read = self.read;
        let to_parse = files.to_vec();
        let digests = state.digests.clone();
        let snapshot = self.snapshot;
        let known_records = state.records;
        let store = store.clone();
        let written = tokio::task::spawn_blocking(move || {
            store.write_batch(&feed, |writer| {
                let mut parsed = IngestReport::default();
                let mut files = to_parse;
                ingest::sink_for(read.format, writer, |sink| {
                    for file in &mut files {
                        let path = file.pending.clone().unwrap_or_else(|| file.path.clone());
                        if file.sha256.is_none() {
                            let (digest, _) = http::sha256_file(&path).map_err(|source| {
                                FeedSyncError::CachedCopy {
                                    path: path.display().to_string(),
                                    source,
                                }
                            })?;
                            if digests.get(&file.url) != Some(&digest) {
                                return Err(SyncAbort::from(FeedSyncError::CachedCopyChanged(
                                    file.url.clone(),
                                )));
                            }
                            file.sha256 = Some(digest);
                        }
                        let part = ingest::stream_download(
                            &read,
                            &feed,
                            &file.url,
                            &path,
                            file.fetched.clone(),
                            sink,
                        )
                        .map_err(FeedSyncError::from)?;
                        parsed.files += part.files;
                        parsed.records += part.records;
                        parsed.errors.extend(part.errors);
                    }
                    Ok(())
                })?;
                let record_errors = parsed.errors.len() as u64;
                // A file that holds many records (OVAL, secdb, tracker, CSAF,
                // mail) and could not be read as a whole would drop all of
                // them from a snapshot: fail the sync and keep what is
                // stored. (An OSV file is one record; it counts as a
                // rejected record.)
                if snapshot && read.format != Format::Osv {
                    if let Some(broken) = parsed.errors.iter().find(|e| e.is_whole_file()) {
                        let error = FeedSyncError::PartialSnapshot {
                            origin: broken.origin.clone(),
                            reason: broken.reason.clone(),
                        };
                        return Err(SyncAbort::after_parse(error, parsed));
                    }
                }
                // An empty snapshot is far more likely a broken upstream (or
                // a format change the parser rejects wholesale) than a feed
                // that withdrew everything: refuse to remove every record
                // on its word.
                let empty = writer.pushed() == 0;
                if snapshot && empty && known_records > 0 {
                    let error = FeedSyncError::EmptySnapshot {
                        rejected: record_errors,
                        stored: known_records,
                    };
                    return Err(SyncAbort::after_parse(error, parsed));
                }
                // Every record rejected: a failure, not an empty feed.
                if let (true, Some(first)) = (empty, parsed.errors.first()) {
                    let error = FeedSyncError::AllRejected {
                        count: parsed.errors.len(),
                        first: first.to_string(),
                    };
                    return Err(SyncAbort::after_parse(error, parsed));
                }
                if snapshot {
                    // Records a snapshot could not read keep their last good
                    // version: those a per-record error names, and those of
                    // a file that could not be read as a whole (an OSV file
                    // is one record: any error about it puts the file in
                    // doubt).
                    let one_record_files = read.format == Format::Osv;
                    let unreadable = crate::store::Unreadable {
                        ids: parsed
                            .errors
                            .iter()
                            .filter(|e| !e.is_whole_file())
                            .map(|e| e.record.clone())
                            .collect(),
                        sources: parsed
                            .errors
                            .iter()
                            .filter(|e| e.is_whole_file() || one_record_files)
                            .map(|e| e.origin.clone())
                            .collect(),
                    };
                    writer.remove_absent(&unreadable)?;
                }
                let now = Timestamp::now().to_string();
                let s = writer.state_mut();
                set_validators(s, &files);
                s.digests = files
                    .iter()
                    .filter_map(|f| f.sha256.clone().map(|d| (f.url.clone(), d)))
                    .collect();
                s.last_errors = record_errors;
                s.last_rejections = parsed
                    .errors
                    .iter()
                    .take(10)
                    .map(|e| e.to_string())
                    .collect();
                s.last_attempt = Some(now.clone());
                s.last_success = Some(now);
                s.last_error = None;
                Ok(parsed)
            })
        })
        .await
        .map_err(|source| FeedSyncError::Task {
            task: "store",
            source,
        })?;
        let fill = |report: &mut FeedReport, parsed: &IngestReport| {
            report.records = parsed.records;
            report.record_errors = parsed.errors.len() as u64;
            report.first_errors = parsed
                .errors
                .iter()
                .take(10)
                .map(|e| e.to_string())
                .collect();
        };
        let (parsed, outcome) = match written {
            Ok(written) => written,
            Err(abort) => {
                if let Some(parsed) = &abort.parsed {
                    fill(report, parsed);
                }
                return Err(abort.error);
            }
        };
        fill(report, &parsed);
        report.outcome = outcome;
        Ok(SyncStatus::Ingested)
    }
}

/// Why a sync's store batch was abandoned (nothing written): the error
/// the sync fails with.
struct SyncAbort {
    error: FeedSyncError,
    /// What was parsed, when the batch was refused after the parse.
    parsed: Option<Box<IngestReport>>,
}

impl SyncAbort {
    fn after_parse(error: FeedSyncError, parsed: IngestReport) -> Self {
        SyncAbort {
            error,
            parsed: Some(Box::new(parsed)),
        }
    }
}

impl<E: Into<FeedSyncError>> From<E> for SyncAbort {
    fn from(e: E) -> Self {
        SyncAbort {
            error: e.into(),
            parsed: None,
        }
    }
}

/// Sets the HTTP validators of `files` in `state` (URLs no longer fetched are dropped).
fn set_validators(state: &mut FeedState, files: &[LocalFile]) {
    let mut etags = BTreeMap::new();
    let mut last_modified = BTreeMap::new();
    for f in files {
        let (etag, lm) = if f.not_modified {
            (
                state.etags.get(&f.url).cloned(),
                state.last_modified.get(&f.url).cloned(),
            )
        } else {
            (
                f.validators.etag.clone(),
                f.validators.last_modified.clone(),
            )
        };
        if let Some(e) = etag {
            etags.insert(f.url.clone(), e);
        }
        if let Some(l) = lm {
            last_modified.insert(f.url.clone(), l);
        }
    }
    state.etags = etags;
    state.last_modified = last_modified;
}

fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let max_ms = max.as_millis() as u64;
    Duration::from_millis(nanos % (max_ms + 1))
}
