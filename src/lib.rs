//! advisord: security advisory feeds normalized into one OSV-compatible
//! record store, served over HTTP.
//!
//! # Layout
//!
//! Data flows one way: feed -> format -> model -> store -> api, and imports
//! follow it (no module imports one that imports it back:
//! `python3 ../shared/tools/modcycles.py src` checks).
//!
//! - [`model`]: the unified record ([`model::Advisory`]), typed ids (and the
//!   one CVE-syntax test), ecosystems, the version scheme tag and the
//!   ecosystem -> scheme table, release names, inventory packages and
//!   findings.
//! - [`version`]: one comparator per version scheme, the OSV range evaluator,
//!   and per-scheme order keys (`version::key`) stored beside each range so
//!   matching compares bytes instead of parsing; `version::packed` is a
//!   package's specs as the index stores them, matched where they lie.
//! - [`formats`]: pure parsers from upstream bytes to records (no I/O), and
//!   the one entry point orchestration calls (`formats::read_bytes`,
//!   `read_path`, `Format::reads_member`): each format's knowledge lives
//!   here; `formats::stream` caps each document while it is read,
//!   `formats::values` the values one JSON or YAML document may hold,
//!   `formats::Syntax` JSON or YAML (OSV and secdb, told and capped alike).
//!   `formats::oval` keeps its shared core (xml, criteria, identity, record,
//!   normalize, error) apart from one file per dialect.
//! - [`feeds`]: getting upstream bytes: files, directories, archives, HTTP
//!   (one client per `Fetcher`), the feed catalog, local file names.
//! - [`store`]: the redb file: records (each stored once, LZ4-compressed;
//!   per-feed contributions as digests or compressed parts), package index
//!   (`store::PackageKey`, rows in `store::index`), streamed batch writes,
//!   aliases, feed state, change log; `store::snapshot` (a consistent read
//!   view), `store::subscriptions`, `store::watches`.
//! - [`query`]: matching a package and version against the store, one
//!   query or a batch (`query::match_batch`, the one batch path of
//!   querybatch, single queries, findings and VEX); [`cves`]: every source's
//!   statement about one CVE, side by side.
//! - [`inventory`]: inventories (SBOM, dpkg, apk, rpm lists) and their findings.
//! - [`image`]: container images: references, registry pull, layers, OS
//!   detection, installed-package databases, reports.
//! - [`notify`]: change-log poller, retention, webhook delivery, and inventory
//!   watches at work (`notify::watches`: the engine and the image follower).
//! - [`api`]: the OSV-compatible HTTP API (axum); admin endpoints check the
//!   token through one extractor (`api::admin`).
//! - [`pipeline`]: orchestration, arrows one way: [`pipeline::sync`] keeps
//!   the feed catalog current (conditional fetch, scheduled sync, per-record
//!   diff) using [`pipeline::mirror`] (the offline mirror for air gaps) and
//!   [`pipeline::ingest`] (read -> parse -> store for one batch, naming no
//!   format; an OVAL file's records wait in a scratch file until it has
//!   parsed); [`pipeline::export`]: the store as an osv.dev bucket tree and back.
//! - [`freshness`]: which feeds have synced and how old they are, so an
//!   outdated or empty database never answers a silent "not affected".
//! - [`vex`]: OpenVEX documents of an inventory's statuses.
//! - [`publish`]: scale-out: the writer publishes segments and snapshots
//!   to object storage, read replicas and air-gapped sites apply them.
//! - [`cli`]: the command line (clap; option groups such as `cli::ReadArgs`
//!   declared once and flattened); [`commands`]: one function per
//!   subcommand; [`remote`]: the same through a running server's admin API.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod cves;
pub mod feeds;
pub mod formats;
pub mod freshness;
pub mod image;
pub mod inventory;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod publish;
pub mod query;
pub mod remote;
pub mod store;
pub mod version;
pub mod vex;
