//! Scale-out through object storage: one writer publishes its database as
//! immutable objects, any number of read replicas (and air-gapped sites)
//! apply them.
//!
//! The change log is the replication stream: it is gap-free and committed
//! with each record, so "everything after seq N" is exactly what a copy at
//! N lacks.
//!
//! - [`layout`]: object names, `latest.json`, segment and snapshot encoding.
//! - [`remote`]: the bucket prefix (`s3://`, `file://`) via `object_store`.
//! - [`writer`]: `serve --publish`: segments after each committed change,
//!   snapshots periodically and on demand, `latest.json` last.
//! - [`follower`]: `serve --follow` and `sync --from-published`: bootstrap
//!   from a snapshot, apply segments in order after checking each sha256,
//!   and the lag and staleness a replica reports.
//! - [`role`]: alone, writer or replica: the background task and routes.
//! - [`gate`]: what a replica's HTTP app does differently: `/readyz` from
//!   the follower, write and admin endpoints sent to the writer.

use std::path::PathBuf;

pub mod follower;
pub mod gate;
pub mod layout;
pub mod remote;
pub mod role;
pub mod writer;

pub use follower::{FollowOptions, FollowStatus, Follower};
pub use remote::{Remote, S3Settings};
pub use role::Role;
pub use writer::{PublishOptions, Publisher};

/// Errors of publishing and following, naming the object or URL.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The publish or follow URL is unusable.
    #[error("published location {url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// Object storage failed.
    #[error("object storage {operation} of {object}: {reason}")]
    Storage {
        /// `read` or `write`.
        operation: &'static str,
        /// Full object name.
        object: String,
        /// The storage error.
        reason: String,
    },
    /// An object does not match the sha256 or size `latest.json` gives it:
    /// refused, never applied.
    #[error("refused {object}: {reason}")]
    Refused {
        /// Object name.
        object: String,
        /// What differed.
        reason: String,
    },
    /// An object is malformed or inconsistent.
    #[error("published object {object} is unusable: {reason}")]
    Bad {
        /// Object name.
        object: String,
        /// Why.
        reason: String,
    },
    /// Nothing has been published at the location yet.
    #[error("nothing published at {url} yet (no latest.json)")]
    Empty {
        /// The URL.
        url: String,
    },
    /// Encoding an object failed.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was encoded.
        what: String,
        /// Why.
        reason: String,
    },
    /// A local file (temporary snapshot) failed.
    #[error("local file {path}: {source}")]
    Local {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database refused a read or a write.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PublishError> + Send + 'static,
) -> Result<T, PublishError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PublishError::Task(e.to_string()))?
}

/// Now as RFC 3339 (the format of every time in `latest.json`).
fn now_text() -> String {
    crate::model::Timestamp::now().to_string()
}

/// Seconds since the RFC 3339 time `text`, `None` when unreadable.
fn age_secs(text: &str) -> Option<u64> {
    let then =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let age = time::OffsetDateTime::now_utc() - then;
    Some(age.whole_seconds().max(0) as u64)
}
