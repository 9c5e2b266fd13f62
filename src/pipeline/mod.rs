//! Orchestration: moving records from upstream into the store.
//!
//! The arrows run one way, top to bottom: [`sync`] (the catalog kept current)
//! uses [`mirror`] (the offline copy for air gaps) and [`ingest`] (read ->
//! parse -> store for one batch); [`export`] writes the store as an osv.dev
//! bucket tree and reads one back through the same batch store;
//! [`redhat_vex`] keeps Red Hat's incremental CSAF VEX feed (baseline archive,
//! then change and deletion lists) for `sync`, the one feed that is a
//! single format by definition; `scratch` holds an ingest's temporary
//! files (downloads, an OVAL file's records until it has parsed). The
//! others know no format: that lives in
//! [`crate::formats`]; fetching and local file names live in [`crate::feeds`].

pub mod export;
pub mod ingest;
pub mod mirror;
pub mod redhat_vex;
mod scratch;
pub mod sync;
