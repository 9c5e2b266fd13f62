//! advisord: security advisory feeds normalized into one OSV-compatible
//! record store, served over HTTP.
//!
//! # Layout
//!
//! Data flows one way: feed -> format -> model -> store -> api.
//!
//! - [`model`]: the unified record ([`model::Advisory`]), typed ids,
//!   ecosystems and the ecosystem -> version scheme table.
//! - [`version`]: one comparator per version scheme and the OSV range evaluator.
//! - [`formats`]: pure parsers from upstream bytes to records (no I/O).
//! - [`feeds`]: getting upstream bytes: files, directories, archives, HTTP.
//! - [`store`]: the redb file: records, package index, aliases, feed state,
//!   change log.
//! - [`query`]: matching a package and version against the store.
//! - [`api`]: the OSV-compatible HTTP API (axum).
//! - [`ingest`]: orchestration of feed -> format -> store for one batch.
//! - [`sync`]: the feed catalog kept current: conditional fetch, scheduled
//!   sync, per-record diff; [`mirror`]: the offline mirror for air gaps;
//!   [`export`]: the store as an osv.dev bucket tree and back;
//!   [`freshness`]: which feeds have synced and how old they are, so an
//!   outdated or empty database never answers a silent "not affected".
//! - [`publish`]: scale-out: the writer publishes segments and snapshots
//!   to object storage, read replicas and air-gapped sites apply them.
//! - [`cli`]: the command line (clap); [`commands`]: what each subcommand does.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod export;
pub mod feeds;
pub mod formats;
pub mod freshness;
pub mod image;
pub mod ingest;
pub mod inventory;
pub mod mirror;
pub mod model;
pub mod notify;
pub mod publish;
pub mod query;
pub mod store;
pub mod sync;
pub mod version;
