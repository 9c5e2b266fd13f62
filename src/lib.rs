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
//! - [`pipeline`]: orchestration, arrows one way: [`pipeline::sync`] keeps
//!   the feed catalog current (conditional fetch, scheduled sync, per-record
//!   diff) using [`pipeline::mirror`] (the offline mirror for air gaps) and
//!   [`pipeline::ingest`] (feed -> format -> store for one batch);
//!   [`pipeline::export`]: the store as an osv.dev bucket tree and back.
//! - [`freshness`]: which feeds have synced and how old they are, so an
//!   outdated or empty database never answers a silent "not affected".
//! - [`cli`]: the command line (clap); [`commands`]: what each subcommand does.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod feeds;
pub mod formats;
pub mod freshness;
pub mod image;
pub mod inventory;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod query;
pub mod store;
pub mod version;
