//! Telling people about changes: the change-log watcher, retention,
//! webhook delivery and inventory watches.
//!
//! A [`Hub`] is shared by the API handlers and the background tasks it
//! starts ([`Hub::start`]): a poller publishes the newest change seq (the log
//! may be written by another handle or, between restarts, another process),
//! a pruner applies retention, one task per subscription delivers webhooks
//! ([`webhook`]), and the watch engine ([`watches::engine`]) turns changes into
//! watch events. All state that must survive a restart lives in the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::store::{Store, StoreError};

pub mod filter;
pub mod target;
pub mod watches;
pub mod webhook;

/// Settings of the notification machinery.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Bearer token for subscriptions and watches; `None` disables them.
    pub admin_token: Option<String>,
    /// How often the change log is polled for new entries.
    pub poll: Duration,
    /// Keep at most this many change-log entries.
    pub retain_changes: Option<u64>,
    /// Keep change-log entries at most this long.
    pub retain_age: Option<Duration>,
    /// How often retention runs.
    pub prune_every: Duration,
    /// Failed attempts after which a subscription is marked failing.
    pub max_attempts: u32,
    /// First retry delay; doubles per failure up to `backoff_max`.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Timeout of one webhook POST.
    pub delivery_timeout: Duration,
    /// Most changes (or events) in one webhook POST.
    pub batch: usize,
    /// Interval of SSE heartbeat comments.
    pub heartbeat: Duration,
    /// How often watched image references are re-resolved.
    pub image_poll: Duration,
    /// Let webhooks reach loopback, private and other internal addresses
    /// (see [`target`]); off by default.
    pub allow_private_webhooks: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            admin_token: None,
            poll: Duration::from_millis(500),
            retain_changes: None,
            retain_age: None,
            prune_every: Duration::from_secs(60),
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            delivery_timeout: Duration::from_secs(10),
            batch: 100,
            heartbeat: Duration::from_secs(15),
            image_poll: Duration::from_secs(3600),
            allow_private_webhooks: false,
        }
    }
}

/// Shared notification state; cloning is shallow.
#[derive(Clone)]
pub struct Hub(Arc<HubInner>);

struct HubInner {
    store: Store,
    config: NotifyConfig,
    last_seq: watch::Sender<u64>,
    events: watch::Sender<u64>,
    watches: watch::Sender<u64>,
    tasks: Mutex<HashMap<String, AbortHandle>>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("store", &self.0.store)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub over `store`; nothing runs until [`Hub::start`].
    pub fn new(store: Store, config: NotifyConfig) -> Result<Hub, StoreError> {
        let last = store.snapshot()?.last_seq()?;
        // No redirects and no proxy: the address checked is the one reached.
        let mut builder = reqwest::Client::builder()
            .timeout(config.delivery_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if !config.allow_private_webhooks {
            builder = builder.dns_resolver(target::PublicOnlyResolver);
        }
        let client = builder.build().unwrap_or_default();
        Ok(Hub(Arc::new(HubInner {
            store,
            config,
            last_seq: watch::Sender::new(last),
            events: watch::Sender::new(0),
            watches: watch::Sender::new(0),
            tasks: Mutex::new(HashMap::new()),
            client,
        })))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The settings.
    pub fn config(&self) -> &NotifyConfig {
        &self.0.config
    }

    /// Notified with the newest change seq whenever it grows.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.0.last_seq.subscribe()
    }

    /// Tells waiters that the change log now ends at `seq` (for writers in
    /// this process; the poller finds other writes).
    pub fn publish(&self, seq: u64) {
        self.0.last_seq.send_if_modified(|current| {
            let grew = seq > *current;
            if grew {
                *current = seq;
            }
            grew
        });
    }

    /// Notified whenever watch events were appended.
    pub(crate) fn events(&self) -> watch::Receiver<u64> {
        self.0.events.subscribe()
    }

    pub(crate) fn events_appended(&self) {
        self.0.events.send_modify(|n| *n += 1);
    }

    /// Notified whenever watches were created or deleted.
    pub(crate) fn watch_set(&self) -> watch::Receiver<u64> {
        self.0.watches.subscribe()
    }

    /// Tells the watch engine that watches were created or deleted.
    pub fn watches_changed(&self) {
        self.0.watches.send_modify(|n| *n += 1);
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.0.client
    }

    /// Starts the poller, the pruner, the watch engine and one delivery
    /// task per stored subscription (on the current tokio runtime).
    pub fn start(&self) -> Result<(), StoreError> {
        let hub = self.clone();
        tokio::spawn(async move { hub.poll_loop().await });
        let hub = self.clone();
        tokio::spawn(async move { hub.prune_loop().await });
        let hub = self.clone();
        tokio::spawn(async move { watches::engine::run(hub).await });
        let hub = self.clone();
        tokio::spawn(async move { watches::image::run(hub).await });
        for sub in self.0.store.subscriptions()? {
            self.spawn_delivery(&sub.id);
        }
        Ok(())
    }

    /// Starts (or restarts) the delivery task of subscription `id`.
    pub fn spawn_delivery(&self, id: &str) {
        let hub = self.clone();
        let owned = id.to_string();
        let handle = tokio::spawn(async move { webhook::run(hub, owned).await });
        let mut tasks = self.0.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = tasks.insert(id.to_string(), handle.abort_handle()) {
            old.abort();
        }
    }

    /// Stops the delivery task of subscription `id` at once (an in-flight
    /// POST is abandoned; its cursor is not advanced).
    pub fn stop_delivery(&self, id: &str) {
        let mut tasks = self.0.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = tasks.remove(id) {
            handle.abort();
        }
    }

    async fn poll_loop(&self) {
        loop {
            tokio::time::sleep(self.0.config.poll).await;
            let store = self.0.store.clone();
            let last = tokio::task::spawn_blocking(move || store.snapshot()?.last_seq()).await;
            match last {
                Ok(Ok(seq)) => self.publish(seq),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the change log"),
                Err(e) => tracing::warn!(error = %e, "change-log poll failed"),
            }
        }
    }

    /// Runs retention once: returns the number of entries removed.
    pub fn prune_once(&self) -> Result<u64, StoreError> {
        let config = &self.0.config;
        if config.retain_changes.is_none() && config.retain_age.is_none() {
            return Ok(0);
        }
        let store = &self.0.store;
        // Never prune what a watch or a healthy change subscription still needs.
        let mut floor = u64::MAX;
        for watch in store.watches()? {
            floor = floor.min(watch.as_of);
        }
        for sub in store.subscriptions()? {
            if sub.watch.is_none()
                && sub.state == crate::store::subscriptions::SubscriptionState::Active
            {
                floor = floor.min(sub.cursor);
            }
        }
        let older_than = config.retain_age.and_then(|age| {
            let age = time::Duration::try_from(age).ok()?;
            time::OffsetDateTime::now_utc().checked_sub(age)
        });
        let removed = store.prune_changes(config.retain_changes, older_than, floor)?;
        if removed > 0 {
            tracing::info!(removed, "change log pruned by retention");
        }
        Ok(removed)
    }

    async fn prune_loop(&self) {
        loop {
            let hub = self.clone();
            match tokio::task::spawn_blocking(move || hub.prune_once()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "retention failed"),
                Err(e) => tracing::warn!(error = %e, "retention task failed"),
            }
            tokio::time::sleep(self.0.config.prune_every).await;
        }
    }
}

/// A fresh random-looking id with `prefix` (`sub_3f2a...`): hashed from the
/// clock, the process id and a counter, so unique without a RNG crate.
pub fn new_id(prefix: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = Sha256::new();
    hasher.update(
        time::OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes(),
    );
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hasher.finalize();
    format!("{prefix}{}", hex::encode(&digest[..10]))
}
